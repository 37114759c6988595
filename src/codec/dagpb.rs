//! DAG-PB (codec 0x70): the canonical encoder Kubo's CIDs depend on (Links
//! before Data; Hash, Name, Tsize inside each link) and a strict decoder.

use super::CodecError;
use super::cid::{Cid, cid_from_bytes};
use super::wire::{self, LEN, Reader, VARINT};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PbLink {
    pub cid: Cid,
    /// Kubo writes a name on every link, even an empty one.
    pub name: Option<String>,
    /// Cumulative size of the linked sub-DAG.
    pub tsize: Option<u64>,
}

impl PbLink {
    pub fn new(cid: Cid, name: impl Into<String>, tsize: u64) -> Self {
        PbLink {
            cid,
            name: Some(name.into()),
            tsize: Some(tsize),
        }
    }

    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    pub fn tsize(&self) -> u64 {
        self.tsize.unwrap_or(0)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PbNode {
    pub links: Vec<PbLink>,
    pub data: Option<Vec<u8>>,
}

impl PbNode {
    /// Canonical order: by name bytes, stable for equal names.
    pub fn sort_links(&mut self) {
        self.links
            .sort_by(|a, b| a.name().as_bytes().cmp(b.name().as_bytes()));
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        for link in &self.links {
            wire::put_tag(&mut out, 2, LEN);
            wire::put_varint(&mut out, link_len(link) as u64);
            encode_link(&mut out, link);
        }
        if let Some(data) = &self.data {
            wire::put_bytes(&mut out, 1, data);
        }
        out
    }

    pub fn encoded_len(&self) -> usize {
        let links: usize = self
            .links
            .iter()
            .map(|l| {
                let n = link_len(l);
                1 + wire::varint_len(n as u64) + n
            })
            .sum();
        let data = self
            .data
            .as_ref()
            .map_or(0, |d| 1 + wire::varint_len(d.len() as u64) + d.len());
        links + data
    }

    /// Strict decode per the DAG-PB spec: no unknown fields, no duplicates,
    /// link fields in order, Data allowed before or after the Links run.
    pub fn decode(bytes: &[u8]) -> Result<PbNode, CodecError> {
        let (links, data) = decode_parts(bytes).map_err(CodecError::DagPb)?;
        Ok(PbNode {
            links,
            data: data.map(<[u8]>::to_vec),
        })
    }

    /// `decode`, with the Data bytes left in `bytes` rather than copied.
    pub fn decode_borrowed(bytes: &[u8]) -> Result<(Vec<PbLink>, Option<&[u8]>), CodecError> {
        decode_parts(bytes).map_err(CodecError::DagPb)
    }

    /// Sum of link Tsizes plus the block's own length: the value a parent
    /// writes as this node's Tsize.
    pub fn cumulative_size(&self, block_len: usize) -> u64 {
        cumulative_size(&self.links, block_len)
    }
}

/// A node's Tsize from its links and its own block length.
pub fn cumulative_size(links: &[PbLink], block_len: usize) -> u64 {
    links
        .iter()
        .fold(block_len as u64, |acc, l| acc.saturating_add(l.tsize()))
}

fn link_len(link: &PbLink) -> usize {
    let hash = link.cid.encoded_len();
    let mut n = 1 + wire::varint_len(hash as u64) + hash;
    if let Some(name) = &link.name {
        n += 1 + wire::varint_len(name.len() as u64) + name.len();
    }
    if let Some(tsize) = link.tsize {
        n += 1 + wire::varint_len(tsize);
    }
    n
}

fn encode_link(out: &mut Vec<u8>, link: &PbLink) {
    wire::put_bytes(out, 1, &link.cid.to_bytes());
    if let Some(name) = &link.name {
        wire::put_bytes(out, 2, name.as_bytes());
    }
    if let Some(tsize) = link.tsize {
        wire::put_uint(out, 3, tsize);
    }
}

type Parts<'a> = (Vec<PbLink>, Option<&'a [u8]>);

fn decode_parts(bytes: &[u8]) -> Result<Parts<'_>, String> {
    let mut r = Reader::new(bytes);
    let mut links = Vec::new();
    let mut data = None;
    let mut links_done = false;
    let mut in_links = false;
    while !r.is_empty() {
        let (field, wire_type) = r.tag()?;
        if wire_type != LEN {
            return Err(format!(
                "PBNode field {field} has wire type {wire_type}, expected 2"
            ));
        }
        match field {
            1 => {
                if data.is_some() {
                    return Err("duplicate Data field".into());
                }
                data = Some(r.bytes()?);
                if in_links {
                    links_done = true;
                    in_links = false;
                }
            }
            2 => {
                if links_done {
                    return Err("duplicate Links section".into());
                }
                in_links = true;
                links.push(decode_link(r.bytes()?)?);
            }
            other => return Err(format!("unknown PBNode field {other}")),
        }
    }
    Ok((links, data))
}

fn decode_link(bytes: &[u8]) -> Result<PbLink, String> {
    let mut r = Reader::new(bytes);
    let mut cid = None;
    let mut name = None;
    let mut tsize = None;
    let mut last_field = 0;
    while !r.is_empty() {
        let (field, wire_type) = r.tag()?;
        if field <= last_field {
            return Err(format!("PBLink field {field} out of order or duplicated"));
        }
        last_field = field;
        match (field, wire_type) {
            (1, LEN) => {
                cid = Some(cid_from_bytes(r.bytes()?).map_err(|e| format!("link Hash: {e}"))?)
            }
            (2, LEN) => {
                let raw = r.bytes()?;
                name = Some(
                    String::from_utf8(raw.to_vec())
                        .map_err(|_| "link Name is not UTF-8".to_string())?,
                );
            }
            (3, VARINT) => tsize = Some(r.varint()?),
            (f, w) => {
                return Err(format!(
                    "PBLink field {f} with wire type {w} is not allowed"
                ));
            }
        }
    }
    let cid = cid.ok_or("PBLink without Hash")?;
    Ok(PbLink { cid, name, tsize })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::cid::{CidBuilder, DAG_PB, cid_string, parse_cid};

    fn file_a_newline() -> Vec<u8> {
        // UnixFS File "a\n": 08 02 12 02 61 0a 18 02
        let data = vec![0x08, 0x02, 0x12, 0x02, b'a', b'\n', 0x18, 0x02];
        PbNode {
            links: vec![],
            data: Some(data),
        }
        .encode()
    }

    #[test]
    fn directory_with_one_entry_matches_spec_vector() {
        let file = file_a_newline();
        assert_eq!(file.len(), 10);
        let file_cid = CidBuilder::default().cid_of(DAG_PB, &file);
        let dir = PbNode {
            links: vec![PbLink::new(file_cid, "a.txt", 10)],
            data: Some(vec![0x08, 0x01]),
        };
        let bytes = dir.encode();
        assert_eq!(bytes.len(), dir.encoded_len());
        assert_eq!(&bytes[..2], &[0x12, 0x2d]);
        let cid = CidBuilder::default().cid_of(DAG_PB, &bytes);
        assert_eq!(
            cid_string(&cid),
            "QmVtXd8Q5RgQaFMtVjPpgGymfDhNwC1EaTPj2yqPvuejPf"
        );
        assert_eq!(PbNode::decode(&bytes).unwrap(), dir);
    }

    #[test]
    fn empty_block_is_a_valid_node() {
        assert_eq!(PbNode::decode(&[]).unwrap(), PbNode::default());
        let cid = CidBuilder::default().cid_of(DAG_PB, &[]);
        assert_eq!(
            cid_string(&cid),
            "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n"
        );
    }

    #[test]
    fn empty_name_and_zero_tsize_are_written() {
        let cid = parse_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap();
        let node = PbNode {
            links: vec![PbLink::new(cid, "", 0)],
            data: None,
        };
        let bytes = node.encode();
        assert!(bytes.ends_with(&[0x12, 0x00, 0x18, 0x00]));
    }

    #[test]
    fn accepts_data_before_links_and_keeps_order() {
        let cid = parse_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap();
        let mut bytes = vec![0x0a, 0x02, 0x08, 0x01];
        let links = PbNode {
            links: vec![PbLink::new(cid, "b", 1), PbLink::new(cid, "a", 2)],
            data: None,
        };
        bytes.extend(links.encode());
        let node = PbNode::decode(&bytes).unwrap();
        assert_eq!(node.links[0].name(), "b");
        assert_eq!(node.data.as_deref(), Some(&[0x08, 0x01][..]));
    }

    #[test]
    fn rejects_malformed_nodes() {
        let cid = parse_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap();
        let one = PbNode {
            links: vec![PbLink::new(cid, "x", 1)],
            data: None,
        }
        .encode();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("two data", vec![0x0a, 0x00, 0x0a, 0x00]),
            ("unknown field", vec![0x1a, 0x00]),
            ("wrong wire type", vec![0x08, 0x01]),
            ("truncated length", vec![0x0a, 0x05, 0x01]),
            ("link without hash", vec![0x12, 0x02, 0x18, 0x01]),
            ("bad cid", vec![0x12, 0x04, 0x0a, 0x02, 0x12, 0x20]),
            ("name before hash", {
                let mut v = vec![0x12, 0x26, 0x12, 0x01, b'x', 0x0a, 0x22];
                v.extend(cid.to_bytes());
                v
            }),
            ("links after data", {
                let mut v = one.clone();
                v.extend([0x0a, 0x00]);
                v.extend(&one);
                v
            }),
        ];
        for (what, bytes) in cases {
            assert!(PbNode::decode(&bytes).is_err(), "{what} should be rejected");
        }
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics() {
        use proptest::prelude::*;
        proptest!(|(bytes in proptest::collection::vec(any::<u8>(), 0..300))| {
            if let Ok(node) = PbNode::decode(&bytes) {
                // Whatever decodes must re-encode and decode to the same node.
                let again = PbNode::decode(&node.encode()).unwrap();
                prop_assert_eq!(again, node);
            }
        });
    }
}
