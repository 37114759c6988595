//! CAR files (SPEC-NOTES §8): a streaming reader for v1 and v2 that verifies
//! every block against its CID, and a v1 writer.

use std::io::{Read, Write};

use super::CodecError;
use super::cbor::{self, Item};
use super::cid::{Cid, cid_string, verify};

/// Sections larger than this are refused (blocks are at most 2 MiB).
pub const MAX_SECTION: u64 = 8 << 20;
const MAX_HEADER: u64 = 1 << 20;
const V2_PRAGMA: [u8; 11] = [
    0x0a, 0xa1, 0x67, b'v', b'e', b'r', b's', b'i', b'o', b'n', 0x02,
];

#[derive(Debug, thiserror::Error)]
pub enum CarError {
    #[error("CAR truncated at byte {0}")]
    Truncated(u64),
    #[error("malformed CAR at byte {offset}: {reason}")]
    Malformed { offset: u64, reason: String },
    #[error("block {cid} at byte {offset} does not match its CID")]
    HashMismatch { cid: String, offset: u64 },
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

pub struct CarReader<R: Read> {
    reader: R,
    offset: u64,
    /// For v2: where the embedded v1 payload ends.
    end: Option<u64>,
    roots: Vec<Cid>,
}

impl<R: Read> CarReader<R> {
    pub fn new(reader: R) -> Result<Self, CarError> {
        let mut car = CarReader {
            reader,
            offset: 0,
            end: None,
            roots: Vec::new(),
        };
        let header = car.read_header()?;
        let version = cbor::map_get(&header, "version");
        match version {
            Some(Item::Uint(1)) => car.roots = roots_of(&header, car.offset)?,
            Some(Item::Uint(2)) if car.offset == V2_PRAGMA.len() as u64 => {
                let mut fixed = [0u8; 40];
                car.read_exact(&mut fixed)?;
                let data_offset = u64::from_le_bytes(fixed[16..24].try_into().expect("8 bytes"));
                let data_size = u64::from_le_bytes(fixed[24..32].try_into().expect("8 bytes"));
                if data_offset < car.offset {
                    return Err(car.malformed("CARv2 data offset points into the header"));
                }
                car.skip(data_offset - car.offset)?;
                car.end = Some(
                    data_offset
                        .checked_add(data_size)
                        .ok_or_else(|| car.malformed("CARv2 data size overflows"))?,
                );
                let inner = car.read_header()?;
                if cbor::map_get(&inner, "version") != Some(&Item::Uint(1)) {
                    return Err(car.malformed("CARv2 payload is not a CARv1"));
                }
                car.roots = roots_of(&inner, car.offset)?;
            }
            _ => return Err(car.malformed("unsupported CAR version")),
        }
        Ok(car)
    }

    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// The next verified block, or None at the end.
    pub fn next_block(&mut self) -> Result<Option<(Cid, Vec<u8>)>, CarError> {
        if self.end.is_some_and(|end| self.offset >= end) {
            return Ok(None);
        }
        let start = self.offset;
        let Some(len) = self.read_varint(true)? else {
            return Ok(None);
        };
        if len == 0 {
            // go-car treats a zero-length section as padding at the end of a v2 payload.
            return if self.end.is_some() {
                Ok(None)
            } else {
                Err(self.malformed("empty section"))
            };
        }
        if len > MAX_SECTION {
            return Err(self.malformed(&format!("section of {len} bytes is too large")));
        }
        if self.end.is_some_and(|end| self.offset + len > end) {
            return Err(self.malformed("section runs past the CARv2 payload"));
        }
        let mut section = vec![0u8; len as usize];
        self.read_exact(&mut section)?;
        let mut cursor = &section[..];
        let cid = Cid::read_bytes(&mut cursor).map_err(|e| CarError::Malformed {
            offset: start,
            reason: format!("bad CID: {e}"),
        })?;
        let data = cursor.to_vec();
        if verify(&cid, &data).is_err() {
            return Err(CarError::HashMismatch {
                cid: cid_string(&cid),
                offset: start,
            });
        }
        Ok(Some((cid, data)))
    }

    fn malformed(&self, reason: &str) -> CarError {
        CarError::Malformed {
            offset: self.offset,
            reason: reason.to_string(),
        }
    }

    fn read_header(&mut self) -> Result<Item, CarError> {
        let len = self
            .read_varint(false)?
            .ok_or(CarError::Truncated(self.offset))?;
        if len == 0 || len > MAX_HEADER {
            return Err(self.malformed(&format!("header length {len}")));
        }
        let mut bytes = vec![0u8; len as usize];
        self.read_exact(&mut bytes)?;
        Ok(cbor::decode(&bytes)?)
    }

    /// A minimal unsigned varint; `None` on a clean end of input when allowed.
    fn read_varint(&mut self, eof_ok: bool) -> Result<Option<u64>, CarError> {
        let mut value = 0u64;
        for i in 0..9 {
            let mut byte = [0u8; 1];
            let n = read_some(&mut self.reader, &mut byte)?;
            if n == 0 {
                return if i == 0 && eof_ok {
                    Ok(None)
                } else {
                    Err(CarError::Truncated(self.offset))
                };
            }
            self.offset += 1;
            value |= ((byte[0] & 0x7f) as u64) << (7 * i);
            if byte[0] & 0x80 == 0 {
                if byte[0] == 0 && i > 0 {
                    return Err(self.malformed("varint is not minimal"));
                }
                return Ok(Some(value));
            }
        }
        Err(self.malformed("varint longer than 9 bytes"))
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), CarError> {
        let mut filled = 0;
        while filled < buf.len() {
            let n = read_some(&mut self.reader, &mut buf[filled..])?;
            if n == 0 {
                return Err(CarError::Truncated(self.offset + filled as u64));
            }
            filled += n;
        }
        self.offset += buf.len() as u64;
        Ok(())
    }

    fn skip(&mut self, mut n: u64) -> Result<(), CarError> {
        let mut scratch = [0u8; 8192];
        while n > 0 {
            let step = n.min(scratch.len() as u64) as usize;
            self.read_exact(&mut scratch[..step])?;
            n -= step as u64;
        }
        Ok(())
    }
}

fn read_some(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize, CarError> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return Ok(other?),
        }
    }
}

fn roots_of(header: &Item, offset: u64) -> Result<Vec<Cid>, CarError> {
    let Some(Item::List(items)) = cbor::map_get(header, "roots") else {
        return Err(CarError::Malformed {
            offset,
            reason: "header has no roots list".into(),
        });
    };
    items
        .iter()
        .map(|item| match item {
            Item::Link(cid) => Ok(*cid),
            _ => Err(CarError::Malformed {
                offset,
                reason: "a root is not a CID".into(),
            }),
        })
        .collect()
}

pub struct CarWriter<W: Write> {
    writer: W,
}

impl<W: Write> CarWriter<W> {
    pub fn new(mut writer: W, roots: &[Cid]) -> Result<Self, CarError> {
        let header = cbor::car_header(roots);
        write_varint(&mut writer, header.len() as u64)?;
        writer.write_all(&header)?;
        Ok(CarWriter { writer })
    }

    pub fn write_block(&mut self, cid: &Cid, data: &[u8]) -> Result<(), CarError> {
        let cid_bytes = cid.to_bytes();
        write_varint(&mut self.writer, (cid_bytes.len() + data.len()) as u64)?;
        self.writer.write_all(&cid_bytes)?;
        self.writer.write_all(data)?;
        Ok(())
    }

    pub fn finish(mut self) -> Result<W, CarError> {
        self.writer.flush()?;
        Ok(self.writer)
    }
}

fn write_varint(writer: &mut impl Write, value: u64) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(10);
    super::wire::put_varint(&mut buf, value);
    writer.write_all(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::cid::{CidBuilder, RAW};

    fn sample() -> (Vec<u8>, Vec<(Cid, Vec<u8>)>) {
        let blocks: Vec<(Cid, Vec<u8>)> = (0..4u8)
            .map(|i| {
                let data = vec![i; 10 + i as usize];
                (CidBuilder::v1().cid_of(RAW, &data), data)
            })
            .collect();
        let mut writer = CarWriter::new(Vec::new(), &[blocks[0].0]).unwrap();
        for (cid, data) in &blocks {
            writer.write_block(cid, data).unwrap();
        }
        (writer.finish().unwrap(), blocks)
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<(Cid, Vec<u8>)>, CarError> {
        let mut reader = CarReader::new(bytes)?;
        let mut out = Vec::new();
        while let Some(block) = reader.next_block()? {
            out.push(block);
        }
        Ok(out)
    }

    #[test]
    fn round_trips() {
        let (bytes, blocks) = sample();
        assert_eq!(read_all(&bytes).unwrap(), blocks);
        assert_eq!(CarReader::new(&bytes[..]).unwrap().roots(), &[blocks[0].0]);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let (bytes, _) = sample();
        for len in 0..bytes.len() {
            let result = read_all(&bytes[..len]);
            // A cut exactly between sections is a valid, shorter CAR.
            if let Ok(blocks) = result {
                assert!(len > 0 && blocks.len() < 4, "prefix {len} read as complete");
            }
        }
    }

    #[test]
    fn flipped_bytes_never_yield_a_wrong_block() {
        let (bytes, _) = sample();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x41;
            if let Ok(read) = read_all(&bad) {
                for (cid, data) in read {
                    assert!(verify(&cid, &data).is_ok());
                }
            }
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        use proptest::prelude::*;
        proptest!(|(bytes in proptest::collection::vec(any::<u8>(), 0..400))| {
            let _ = read_all(&bytes);
        });
    }
}
