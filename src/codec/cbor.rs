//! Just enough DAG-CBOR: walk any item to collect its CID links (tag 42),
//! read the CAR header map, and write a one-root CAR header. Strict about
//! lengths and nesting; never panics on bad input.

use super::CodecError;
use super::cid::{Cid, cid_from_bytes};

const MAX_DEPTH: usize = 64;
const CID_TAG: u64 = 42;

fn err(reason: impl Into<String>) -> CodecError {
    CodecError::Cbor(reason.into())
}

/// A decoded item of the subset we care about.
#[derive(Debug, PartialEq)]
pub enum Item {
    Uint(u64),
    Other,
    Text(String),
    Link(Cid),
    List(Vec<Item>),
    Map(Vec<(Item, Item)>),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, CodecError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| err("truncated CBOR"))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], CodecError> {
        let remaining = (self.buf.len() - self.pos) as u64;
        if n > remaining {
            return Err(err(format!("CBOR length {n} runs past the end")));
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.buf[start..self.pos])
    }

    /// (major type, argument); indefinite lengths are not DAG-CBOR.
    fn head(&mut self) -> Result<(u8, u64), CodecError> {
        let first = self.byte()?;
        let major = first >> 5;
        let info = first & 0x1f;
        let arg = match info {
            0..=23 => info as u64,
            24 => self.byte()? as u64,
            25 => u16::from_be_bytes(self.take(2)?.try_into().expect("2 bytes")) as u64,
            26 => u32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes")) as u64,
            27 => u64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")),
            _ => return Err(err("indefinite or reserved CBOR length")),
        };
        Ok((major, arg))
    }

    fn item(&mut self, depth: usize) -> Result<Item, CodecError> {
        if depth > MAX_DEPTH {
            return Err(err("CBOR nested too deeply"));
        }
        let (major, arg) = self.head()?;
        Ok(match major {
            0 => Item::Uint(arg),
            1 => Item::Other,
            2 => {
                self.take(arg)?;
                Item::Other
            }
            3 => Item::Text(
                String::from_utf8(self.take(arg)?.to_vec())
                    .map_err(|_| err("CBOR text is not UTF-8"))?,
            ),
            4 => {
                let mut items = Vec::new();
                for _ in 0..arg {
                    items.push(self.item(depth + 1)?);
                }
                Item::List(items)
            }
            5 => {
                let mut pairs = Vec::new();
                for _ in 0..arg {
                    let key = self.item(depth + 1)?;
                    pairs.push((key, self.item(depth + 1)?));
                }
                Item::Map(pairs)
            }
            6 if arg == CID_TAG => {
                let (inner, len) = self.head()?;
                if inner != 2 {
                    return Err(err("CID tag on something other than bytes"));
                }
                let bytes = self.take(len)?;
                match bytes.split_first() {
                    Some((0, cid)) => Item::Link(cid_from_bytes(cid)?),
                    _ => return Err(err("CID bytes lack the 0x00 multibase prefix")),
                }
            }
            6 => {
                self.item(depth + 1)?;
                Item::Other
            }
            _ => Item::Other, // simple values and floats; their bytes were consumed by `head`
        })
    }
}

/// Decodes one whole item; trailing bytes are an error.
pub fn decode(bytes: &[u8]) -> Result<Item, CodecError> {
    let mut reader = Reader { buf: bytes, pos: 0 };
    let item = reader.item(0)?;
    if reader.pos != bytes.len() {
        return Err(err("trailing bytes after the CBOR item"));
    }
    Ok(item)
}

/// Every CID link in `item`, in document order.
pub fn links(item: &Item, out: &mut Vec<Cid>) {
    match item {
        Item::Link(cid) => out.push(*cid),
        Item::List(items) => items.iter().for_each(|i| links(i, out)),
        Item::Map(pairs) => pairs.iter().for_each(|(k, v)| {
            links(k, out);
            links(v, out);
        }),
        _ => {}
    }
}

/// The value under a text key of a map.
pub fn map_get<'a>(item: &'a Item, key: &str) -> Option<&'a Item> {
    match item {
        Item::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| matches!(k, Item::Text(t) if t == key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn put_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    match arg {
        0..=23 => out.push(m | arg as u8),
        24..=0xff => out.extend([m | 24, arg as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((arg as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend((arg as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend(arg.to_be_bytes());
        }
    }
}

/// `{"roots": [...], "version": 1}` in DAG-CBOR (keys sorted by length).
pub fn car_header(roots: &[Cid]) -> Vec<u8> {
    let mut out = Vec::new();
    put_head(&mut out, 5, 2);
    put_head(&mut out, 3, 5);
    out.extend_from_slice(b"roots");
    put_head(&mut out, 4, roots.len() as u64);
    for root in roots {
        let bytes = root.to_bytes();
        put_head(&mut out, 6, CID_TAG);
        put_head(&mut out, 2, bytes.len() as u64 + 1);
        out.push(0);
        out.extend_from_slice(&bytes);
    }
    put_head(&mut out, 3, 7);
    out.extend_from_slice(b"version");
    put_head(&mut out, 0, 1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::cid::parse_cid;

    #[test]
    fn header_round_trips() {
        let root =
            parse_cid("bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy").unwrap();
        let bytes = car_header(&[root]);
        assert_eq!(
            &bytes[..8],
            &[0xa2, 0x65, b'r', b'o', b'o', b't', b's', 0x81]
        );
        let item = decode(&bytes).unwrap();
        assert_eq!(map_get(&item, "version"), Some(&Item::Uint(1)));
        let mut found = Vec::new();
        links(&item, &mut found);
        assert_eq!(found, vec![root]);
    }

    #[test]
    fn hostile_input_is_an_error() {
        assert!(decode(&[0x9f]).is_err(), "indefinite list");
        assert!(
            decode(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err(),
            "huge length"
        );
        assert!(decode(&[0x81; 200]).is_err(), "deep nesting");
        assert!(
            decode(&[0xd8, 0x2a, 0x41, 0x01]).is_err(),
            "CID without prefix"
        );
    }

    #[test]
    fn never_panics() {
        use proptest::prelude::*;
        proptest!(|(bytes in proptest::collection::vec(any::<u8>(), 0..200))| {
            let _ = decode(&bytes);
        });
    }
}
