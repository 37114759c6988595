//! DAG-CBOR: a strict decoder into the IPLD data model, a canonical encoder
//! (map keys sorted by length, then bytes; shortest integer heads; 64-bit
//! floats; links as tag 42), link extraction and the CAR header.
//! Never panics on bad input.

use super::CodecError;
use super::cid::{Cid, cid_from_bytes};

const MAX_DEPTH: usize = 64;
const CID_TAG: u64 = 42;

fn err(reason: impl Into<String>) -> CodecError {
    CodecError::Cbor(reason.into())
}

/// A value of the IPLD data model.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Uint(u64),
    /// The integer -1 - n.
    NegInt(u64),
    Float(f64),
    Bool(bool),
    Null,
    Bytes(Vec<u8>),
    Text(String),
    Link(Cid),
    List(Vec<Item>),
    Map(Vec<(String, Item)>),
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

    /// (major type, additional info, argument); indefinite lengths are not DAG-CBOR.
    fn head(&mut self) -> Result<(u8, u8, u64), CodecError> {
        let first = self.byte()?;
        let (major, info) = (first >> 5, first & 0x1f);
        let arg = match info {
            0..=23 => info as u64,
            24 => self.byte()? as u64,
            25 => u16::from_be_bytes(self.take(2)?.try_into().expect("2 bytes")) as u64,
            26 => u32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes")) as u64,
            27 => u64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")),
            _ => return Err(err("indefinite or reserved CBOR length")),
        };
        Ok((major, info, arg))
    }

    fn text(&mut self, len: u64) -> Result<String, CodecError> {
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| err("CBOR text is not UTF-8"))
    }

    fn item(&mut self, depth: usize) -> Result<Item, CodecError> {
        if depth > MAX_DEPTH {
            return Err(err("CBOR nested too deeply"));
        }
        let (major, info, arg) = self.head()?;
        Ok(match major {
            0 => Item::Uint(arg),
            1 => Item::NegInt(arg),
            2 => Item::Bytes(self.take(arg)?.to_vec()),
            3 => Item::Text(self.text(arg)?),
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
                    let (key_major, _, key_len) = self.head()?;
                    if key_major != 3 {
                        return Err(err("DAG-CBOR map keys must be strings"));
                    }
                    let key = self.text(key_len)?;
                    pairs.push((key, self.item(depth + 1)?));
                }
                Item::Map(pairs)
            }
            6 if arg == CID_TAG => {
                let (inner, _, len) = self.head()?;
                if inner != 2 {
                    return Err(err("CID tag on something other than bytes"));
                }
                match self.take(len)?.split_first() {
                    Some((0, cid)) => Item::Link(cid_from_bytes(cid)?),
                    _ => return Err(err("CID bytes lack the 0x00 multibase prefix")),
                }
            }
            6 => return Err(err(format!("CBOR tag {arg} is not allowed in DAG-CBOR"))),
            _ => match info {
                20 => Item::Bool(false),
                21 => Item::Bool(true),
                22 => Item::Null,
                25 => Item::Float(half_to_f64(arg as u16)),
                26 => Item::Float(f32::from_bits(arg as u32) as f64),
                27 => Item::Float(f64::from_bits(arg)),
                _ => {
                    return Err(err(format!(
                        "CBOR simple value {info} is not allowed in DAG-CBOR"
                    )));
                }
            },
        })
    }
}

fn half_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = (bits >> 10) & 0x1f;
    let frac = (bits & 0x3ff) as f64;
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e as i32 - 15),
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
        Item::Map(pairs) => pairs.iter().for_each(|(_, v)| links(v, out)),
        _ => {}
    }
}

/// The value under a key of a map.
pub fn map_get<'a>(item: &'a Item, key: &str) -> Option<&'a Item> {
    match item {
        Item::Map(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
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

/// Canonical DAG-CBOR bytes of `item`.
pub fn encode(item: &Item) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(&mut out, item);
    out
}

fn encode_into(out: &mut Vec<u8>, item: &Item) {
    match item {
        Item::Uint(n) => put_head(out, 0, *n),
        Item::NegInt(n) => put_head(out, 1, *n),
        Item::Float(f) => {
            out.push(0xfb);
            out.extend(f.to_bits().to_be_bytes());
        }
        Item::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
        Item::Null => out.push(0xf6),
        Item::Bytes(b) => {
            put_head(out, 2, b.len() as u64);
            out.extend_from_slice(b);
        }
        Item::Text(t) => {
            put_head(out, 3, t.len() as u64);
            out.extend_from_slice(t.as_bytes());
        }
        Item::Link(cid) => {
            let bytes = cid.to_bytes();
            put_head(out, 6, CID_TAG);
            put_head(out, 2, bytes.len() as u64 + 1);
            out.push(0);
            out.extend_from_slice(&bytes);
        }
        Item::List(items) => {
            put_head(out, 4, items.len() as u64);
            items.iter().for_each(|i| encode_into(out, i));
        }
        Item::Map(pairs) => {
            let mut sorted: Vec<&(String, Item)> = pairs.iter().collect();
            sorted.sort_by(|a, b| {
                a.0.len()
                    .cmp(&b.0.len())
                    .then_with(|| a.0.as_bytes().cmp(b.0.as_bytes()))
            });
            put_head(out, 5, sorted.len() as u64);
            for (key, value) in sorted {
                put_head(out, 3, key.len() as u64);
                out.extend_from_slice(key.as_bytes());
                encode_into(out, value);
            }
        }
    }
}

/// `{"roots": [...], "version": 1}`, the CARv1 header.
pub fn car_header(roots: &[Cid]) -> Vec<u8> {
    encode(&Item::Map(vec![
        (
            "roots".into(),
            Item::List(roots.iter().map(|c| Item::Link(*c)).collect()),
        ),
        ("version".into(), Item::Uint(1)),
    ]))
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
    fn encodes_canonically_and_round_trips() {
        let item = Item::Map(vec![
            (
                "bb".into(),
                Item::List(vec![
                    Item::NegInt(9),
                    Item::Float(1.5),
                    Item::Null,
                    Item::Bool(true),
                ]),
            ),
            ("a".into(), Item::Bytes(vec![1, 2, 3])),
            ("c".into(), Item::Text("x".into())),
        ]);
        let bytes = encode(&item);
        assert_eq!(&bytes[..4], &[0xa3, 0x61, b'a', 0x43], "shorter keys first");
        let Item::Map(pairs) = decode(&bytes).unwrap() else {
            panic!("a map")
        };
        assert_eq!(
            pairs.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["a", "c", "bb"]
        );
        assert_eq!(
            decode(&[0xf9, 0x3c, 0x00]).unwrap(),
            Item::Float(1.0),
            "half floats read"
        );
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
        assert!(decode(&[0xa1, 0x01, 0x01]).is_err(), "integer map key");
        assert!(decode(&[0x01, 0x01]).is_err(), "trailing bytes");
    }

    #[test]
    fn never_panics_and_reencodes_what_it_reads() {
        use proptest::prelude::*;
        proptest!(|(bytes in proptest::collection::vec(any::<u8>(), 0..200))| {
            if let Ok(item) = decode(&bytes) {
                let again = decode(&encode(&item)).unwrap();
                // NaN != NaN, so compare encodings.
                prop_assert_eq!(encode(&again), encode(&item));
            }
        });
    }
}
