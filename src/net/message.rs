//! Bitswap's wire message (`message.proto` of bitswap 1.0–1.2), its framing
//! (an unsigned-varint length before each message) and the CID prefixes
//! that 1.1+ sends beside each block.

use bytes::Bytes;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use prost::Message as _;

use crate::codec::cid::Cid;

/// Messages larger than this are refused (and the stream closed).
pub const MAX_MESSAGE: usize = 4 << 20;
/// Blocks larger than this are neither served nor accepted.
pub const MAX_BLOCK: usize = 2 << 20;

#[derive(Clone, PartialEq, prost::Message)]
pub struct Message {
    #[prost(message, optional, tag = "1")]
    pub wantlist: Option<Wantlist>,
    /// Bitswap 1.0.0: raw blocks of CIDv0.
    #[prost(bytes = "bytes", repeated, tag = "2")]
    pub blocks: Vec<Bytes>,
    #[prost(message, repeated, tag = "3")]
    pub payload: Vec<Block>,
    #[prost(message, repeated, tag = "4")]
    pub block_presences: Vec<BlockPresence>,
    #[prost(int32, tag = "5")]
    pub pending_bytes: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Wantlist {
    #[prost(message, repeated, tag = "1")]
    pub entries: Vec<Entry>,
    #[prost(bool, tag = "2")]
    pub full: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Entry {
    /// The CID's bytes.
    #[prost(bytes = "vec", tag = "1")]
    pub block: Vec<u8>,
    #[prost(int32, tag = "2")]
    pub priority: i32,
    #[prost(bool, tag = "3")]
    pub cancel: bool,
    #[prost(int32, tag = "4")]
    pub want_type: i32,
    #[prost(bool, tag = "5")]
    pub send_dont_have: bool,
}

pub const WANT_BLOCK: i32 = 0;
pub const WANT_HAVE: i32 = 1;
pub const HAVE: i32 = 0;
pub const DONT_HAVE: i32 = 1;

#[derive(Clone, PartialEq, prost::Message)]
pub struct Block {
    #[prost(bytes = "vec", tag = "1")]
    pub prefix: Vec<u8>,
    /// Decoded as a slice of the message's buffer, not a copy.
    #[prost(bytes = "bytes", tag = "2")]
    pub data: Bytes,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BlockPresence {
    #[prost(bytes = "vec", tag = "1")]
    pub cid: Vec<u8>,
    #[prost(int32, tag = "2")]
    pub r#type: i32,
}

/// The prefix of `cid`: version, codec, hash function and digest length.
pub fn prefix_of(cid: &Cid) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [
        cid.version() as u64,
        cid.codec(),
        cid.hash().code(),
        cid.hash().size() as u64,
    ] {
        crate::codec::wire::put_varint(&mut out, v);
    }
    out
}

/// The CID `data` has under `prefix` (hashing it), if the prefix is one we
/// can compute.
pub fn cid_for(prefix: &[u8], data: &[u8]) -> Option<Cid> {
    let mut reader = crate::codec::wire::Reader::new(prefix);
    let version = reader.varint().ok()?;
    let codec = reader.varint().ok()?;
    let hash = reader.varint().ok()?;
    let _len = reader.varint().ok()?;
    let hash = match hash {
        crate::codec::cid::SHA2_256 => crate::codec::cid::HashFn::Sha2_256,
        crate::codec::cid::SHA2_512 => crate::codec::cid::HashFn::Sha2_512,
        _ => return None,
    };
    let version = match version {
        0 => cid::Version::V0,
        1 => cid::Version::V1,
        _ => return None,
    };
    let builder = crate::codec::cid::CidBuilder {
        version,
        hash,
        inline_limit: None,
    };
    Some(builder.cid_of(codec, data))
}

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("message of {0} bytes is over the limit")]
    TooLarge(usize),
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads one length-prefixed message; `None` at a clean end of stream.
pub async fn read_message(
    stream: &mut (impl AsyncRead + Unpin),
) -> Result<Option<Message>, WireError> {
    let mut len: u64 = 0;
    for shift in (0..).step_by(7).take(10) {
        let mut byte = [0u8];
        match stream.read(&mut byte).await? {
            0 if shift == 0 => return Ok(None),
            0 => return Err(WireError::Malformed("stream ended inside a length".into())),
            _ => {}
        }
        len |= u64::from(byte[0] & 0x7f) << shift;
        if byte[0] & 0x80 == 0 {
            break;
        }
    }
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len > MAX_MESSAGE {
        return Err(WireError::TooLarge(len));
    }
    let mut buf = vec![0u8; len];
    stream.read_exact(&mut buf).await?;
    Message::decode(Bytes::from(buf))
        .map(Some)
        .map_err(|e| WireError::Malformed(e.to_string()))
}

pub async fn write_message(
    stream: &mut (impl AsyncWrite + Unpin),
    message: &Message,
) -> Result<(), WireError> {
    write_frame(stream, &encode(message)).await
}

/// The message with its length before it, as it goes on the wire.
pub fn encode(message: &Message) -> Vec<u8> {
    // prost writes the length as a minimal unsigned varint: the framing.
    message.encode_length_delimited_to_vec()
}

/// Writes a frame from [`encode`].
pub async fn write_frame(
    stream: &mut (impl AsyncWrite + Unpin),
    frame: &[u8],
) -> Result<(), WireError> {
    stream.write_all(frame).await?;
    stream.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_rebuild_the_cid() {
        let data = b"hello bitswap".to_vec();
        for builder in [
            crate::codec::cid::CidBuilder::default(),
            crate::codec::cid::CidBuilder {
                version: cid::Version::V1,
                ..Default::default()
            },
        ] {
            let cid = builder.cid_of(crate::codec::cid::RAW, &data);
            let cid = if cid.version() == cid::Version::V0 {
                builder.cid_of(crate::codec::cid::DAG_PB, &data)
            } else {
                cid
            };
            assert_eq!(cid_for(&prefix_of(&cid), &data), Some(cid));
        }
        assert_eq!(cid_for(&[1, 0x55, 0x99, 32], b"x"), None);
    }

    #[test]
    fn messages_round_trip_through_framing_and_refuse_garbage() {
        let message = Message {
            wantlist: Some(Wantlist {
                entries: vec![Entry {
                    block: vec![1, 2, 3],
                    priority: 1,
                    cancel: false,
                    want_type: WANT_HAVE,
                    send_dont_have: true,
                }],
                full: false,
            }),
            payload: vec![Block {
                prefix: vec![1, 0x55, 0x12, 32],
                data: Bytes::from_static(b"data"),
            }],
            ..Message::default()
        };
        futures::executor::block_on(async {
            let mut buf = Vec::new();
            write_message(&mut buf, &message).await.unwrap();
            write_message(&mut buf, &Message::default()).await.unwrap();
            let mut reader = futures::io::Cursor::new(buf);
            assert_eq!(read_message(&mut reader).await.unwrap(), Some(message));
            assert_eq!(
                read_message(&mut reader).await.unwrap(),
                Some(Message::default())
            );
            assert_eq!(read_message(&mut reader).await.unwrap(), None);
            let mut huge = futures::io::Cursor::new(vec![0xff, 0xff, 0xff, 0x7f]);
            assert!(matches!(
                read_message(&mut huge).await,
                Err(WireError::TooLarge(_))
            ));
            let mut junk = futures::io::Cursor::new(vec![3, 0xff, 0xff, 0xff]);
            assert!(read_message(&mut junk).await.is_err());
        });
    }
}
