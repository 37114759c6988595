//! The UnixFS v1 `Data` message carried in a DAG-PB node's Data field.
//! Encoded by hand: fields in number order, `blocksizes` unpacked, optional
//! fields only when set (what boxo's proto2 marshalling writes).

use bytes::Bytes;

use super::CodecError;
use super::wire::{self, FIXED32, LEN, Reader, VARINT};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataType {
    Raw = 0,
    Directory = 1,
    File = 2,
    Metadata = 3,
    Symlink = 4,
    HamtShard = 5,
}

impl DataType {
    fn from_u64(v: u64) -> Option<Self> {
        Some(match v {
            0 => DataType::Raw,
            1 => DataType::Directory,
            2 => DataType::File,
            3 => DataType::Metadata,
            4 => DataType::Symlink,
            5 => DataType::HamtShard,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnixTime {
    pub seconds: i64,
    /// 1..=999_999_999 when present; zero is never written.
    pub nanos: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnixfsData {
    pub data_type: DataType,
    /// Shared with the block it was decoded from (see `decode_shared`).
    pub data: Option<Bytes>,
    pub filesize: Option<u64>,
    pub blocksizes: Vec<u64>,
    pub hash_type: Option<u64>,
    pub fanout: Option<u64>,
    pub mode: Option<u32>,
    pub mtime: Option<UnixTime>,
}

impl UnixfsData {
    pub fn new(data_type: DataType) -> Self {
        UnixfsData {
            data_type,
            data: None,
            filesize: None,
            blocksizes: Vec::new(),
            hash_type: None,
            fanout: None,
            mode: None,
            mtime: None,
        }
    }

    pub fn directory() -> Self {
        Self::new(DataType::Directory)
    }

    /// A file node (leaf or internal); `filesize` is always written for files.
    pub fn file(data: Option<Vec<u8>>, filesize: u64, blocksizes: Vec<u64>) -> Self {
        UnixfsData {
            data: data.filter(|d| !d.is_empty()).map(Bytes::from),
            filesize: Some(filesize),
            blocksizes,
            ..Self::new(DataType::File)
        }
    }

    pub fn symlink(target: &[u8]) -> Self {
        UnixfsData {
            data: Some(Bytes::copy_from_slice(target)),
            ..Self::new(DataType::Symlink)
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        wire::put_uint(&mut out, 1, self.data_type as u64);
        if let Some(data) = &self.data {
            wire::put_bytes(&mut out, 2, data);
        }
        if let Some(size) = self.filesize {
            wire::put_uint(&mut out, 3, size);
        }
        for size in &self.blocksizes {
            wire::put_uint(&mut out, 4, *size);
        }
        if let Some(h) = self.hash_type {
            wire::put_uint(&mut out, 5, h);
        }
        if let Some(f) = self.fanout {
            wire::put_uint(&mut out, 6, f);
        }
        if let Some(mode) = self.mode {
            wire::put_uint(&mut out, 7, mode as u64);
        }
        if let Some(t) = self.mtime {
            let mut inner = Vec::new();
            wire::put_uint(&mut inner, 1, t.seconds as u64);
            if t.nanos != 0 {
                wire::put_tag(&mut inner, 2, FIXED32);
                inner.extend_from_slice(&t.nanos.to_le_bytes());
            }
            wire::put_bytes(&mut out, 8, &inner);
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        decode(bytes, &Bytes::copy_from_slice).map_err(CodecError::Unixfs)
    }

    /// `decode`, with Data left in `bytes`' buffer rather than copied: a
    /// file leaf's content then costs no copy from block to reader.
    pub fn decode_shared(bytes: &Bytes) -> Result<Self, CodecError> {
        decode(bytes, &|part| bytes.slice_ref(part)).map_err(CodecError::Unixfs)
    }

    /// Bytes of file content below this node (files and raw leaves).
    pub fn file_size(&self) -> u64 {
        self.filesize
            .unwrap_or_else(|| self.data.as_ref().map_or(0, |d| d.len() as u64))
    }

    /// Permission bits, masked as readers must.
    pub fn permissions(&self) -> Option<u32> {
        self.mode.map(|m| m & 0o7777)
    }
}

fn decode(bytes: &[u8], keep: &dyn Fn(&[u8]) -> Bytes) -> Result<UnixfsData, String> {
    let mut r = Reader::new(bytes);
    let mut data_type = None;
    let mut out = UnixfsData::new(DataType::Raw);
    while !r.is_empty() {
        let (field, wire_type) = r.tag()?;
        match (field, wire_type) {
            (1, VARINT) => {
                let v = r.varint()?;
                data_type = Some(DataType::from_u64(v).ok_or(format!("unknown UnixFS type {v}"))?);
            }
            (2, LEN) => out.data = Some(keep(r.bytes()?)),
            (3, VARINT) => out.filesize = Some(r.varint()?),
            (4, VARINT) => out.blocksizes.push(r.varint()?),
            (4, LEN) => {
                // Accept the packed form other writers may produce.
                let mut packed = Reader::new(r.bytes()?);
                while !packed.is_empty() {
                    out.blocksizes.push(packed.varint()?);
                }
            }
            (5, VARINT) => out.hash_type = Some(r.varint()?),
            (6, VARINT) => out.fanout = Some(r.varint()?),
            (7, VARINT) => out.mode = Some(r.varint()? as u32),
            (8, LEN) => out.mtime = Some(decode_time(r.bytes()?)?),
            (f, w) if f > 8 => r.skip(w)?,
            (f, w) => return Err(format!("UnixFS field {f} with wire type {w}")),
        }
    }
    out.data_type = data_type.ok_or("UnixFS Data without Type")?;
    Ok(out)
}

fn decode_time(bytes: &[u8]) -> Result<UnixTime, String> {
    let mut r = Reader::new(bytes);
    let mut t = UnixTime::default();
    while !r.is_empty() {
        match r.tag()? {
            (1, VARINT) => t.seconds = r.varint()? as i64,
            (2, FIXED32) => {
                let nanos = r.fixed32()?;
                if nanos == 0 || nanos > 999_999_999 {
                    return Err(format!("mtime nanoseconds {nanos} out of range"));
                }
                t.nanos = nanos;
            }
            (_, w) => r.skip(w)?,
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_world_leaf_bytes() {
        let d = UnixfsData::file(Some(b"Hello World!\n".to_vec()), 13, vec![]);
        let mut expected = vec![0x08, 0x02, 0x12, 0x0d];
        expected.extend_from_slice(b"Hello World!\n");
        expected.extend([0x18, 0x0d]);
        assert_eq!(d.encode(), expected);
        assert_eq!(UnixfsData::decode(&expected).unwrap(), d);
    }

    #[test]
    fn empty_file_and_directory() {
        assert_eq!(
            UnixfsData::file(None, 0, vec![]).encode(),
            [0x08, 0x02, 0x18, 0x00]
        );
        assert_eq!(
            UnixfsData::file(Some(vec![]), 0, vec![]).encode(),
            [0x08, 0x02, 0x18, 0x00]
        );
        assert_eq!(UnixfsData::directory().encode(), [0x08, 0x01]);
    }

    #[test]
    fn blocksizes_are_unpacked() {
        let d = UnixfsData::file(None, 262145, vec![262144, 1]);
        assert_eq!(
            d.encode(),
            [
                0x08, 0x02, 0x18, 0x81, 0x80, 0x10, 0x20, 0x80, 0x80, 0x10, 0x20, 0x01
            ]
        );
    }

    #[test]
    fn metadata_round_trips() {
        let mut d = UnixfsData::directory();
        d.mode = Some(0o755);
        d.mtime = Some(UnixTime {
            seconds: -5,
            nanos: 7,
        });
        assert_eq!(UnixfsData::decode(&d.encode()).unwrap(), d);
        d.mtime = Some(UnixTime {
            seconds: 1,
            nanos: 0,
        });
        assert_eq!(d.encode().last(), Some(&0x01));
    }

    #[test]
    fn rejects_bad_messages() {
        assert!(UnixfsData::decode(&[0x12, 0x00]).is_err(), "missing type");
        assert!(UnixfsData::decode(&[0x08, 0x09]).is_err(), "unknown type");
        assert!(
            UnixfsData::decode(&[0x08, 0x02, 0x12, 0x05]).is_err(),
            "truncated"
        );
        assert!(
            UnixfsData::decode(&[0x08, 0x02, 0x1a, 0x00]).is_err(),
            "filesize as bytes"
        );
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics() {
        use proptest::prelude::*;
        proptest!(|(bytes in proptest::collection::vec(any::<u8>(), 0..200))| {
            let _ = UnixfsData::decode(&bytes);
        });
    }
}
