//! IPNS records: the `IpnsEntry` protobuf, its DAG-CBOR `data`, signing
//! (V2 over `"ipns-signature:" ‖ data`, and V1 for older readers) and
//! validation exactly as the spec orders it.

use std::time::{Duration, SystemTime};

use libp2p_identity::{Keypair, PublicKey};
use prost::Message;

use super::Name;
use super::eol;
use crate::codec::cbor::{self, Item};

/// Larger records are refused unread.
pub const MAX_RECORD_BYTES: usize = 10 * 1024;
const SIGNATURE_V2_PREFIX: &[u8] = b"ipns-signature:";
/// The one validity type: an end-of-life time.
const EOL: u64 = 0;

/// The wire form, field numbers as the spec gives them.
#[derive(Clone, PartialEq, Eq, Message)]
pub struct IpnsEntry {
    #[prost(bytes = "vec", optional, tag = "1")]
    pub value: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub signature_v1: Option<Vec<u8>>,
    #[prost(uint64, optional, tag = "3")]
    pub validity_type: Option<u64>,
    #[prost(bytes = "vec", optional, tag = "4")]
    pub validity: Option<Vec<u8>>,
    #[prost(uint64, optional, tag = "5")]
    pub sequence: Option<u64>,
    #[prost(uint64, optional, tag = "6")]
    pub ttl: Option<u64>,
    #[prost(bytes = "vec", optional, tag = "7")]
    pub pub_key: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "8")]
    pub signature_v2: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "9")]
    pub data: Option<Vec<u8>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("the record is {0} bytes, more than the {MAX_RECORD_BYTES} allowed")]
    TooLarge(usize),
    #[error("the record is not an IpnsEntry protobuf: {0}")]
    Malformed(String),
    #[error("the record has no V2 signature (V1-only records are no longer valid)")]
    NoSignatureV2,
    #[error("the record has no signed data")]
    NoData,
    #[error("the record's signed data is not valid: {0}")]
    BadData(String),
    #[error("the record's {0} differs between the protobuf and the signed data")]
    Mismatch(&'static str),
    #[error("the record holds no public key and the name does not inline one")]
    NoPublicKey,
    #[error("the record's public key is not valid: {0}")]
    BadPublicKey(String),
    #[error("the record's public key is not the key of {0}")]
    WrongKey(String),
    #[error("the record's signature does not verify")]
    BadSignature,
    #[error("the record's validity type {0} is not known (only 0, EOL)")]
    UnknownValidityType(u64),
    #[error("the record's validity {0:?} is not an RFC 3339 time")]
    BadValidity(String),
    #[error("the record expired at {0}")]
    Expired(String),
    #[error("signing the record failed: {0}")]
    Signing(String),
}

/// A record's contents, read from its signed data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The content path it points to (`/ipfs/…`, `/ipns/…`).
    pub value: Vec<u8>,
    pub sequence: u64,
    /// How long resolvers may cache it.
    pub ttl: Duration,
    /// The validity (end of life) as written.
    pub validity: String,
    pub eol: Option<SystemTime>,
    /// Whether it carries a V2 signature (every valid record does).
    pub signed_v2: bool,
    entry: IpnsEntry,
}

/// What a new record says.
#[derive(Clone, Debug)]
pub struct NewRecord<'a> {
    pub value: &'a str,
    pub sequence: u64,
    pub eol: SystemTime,
    pub ttl: Duration,
    /// Also write the V1 fields and signature, for readers older than V2
    /// (Kubo's `--v1compat`, its default).
    pub v1_compat: bool,
}

fn data_item(value: &[u8], validity: &[u8], sequence: u64, ttl: u64) -> Item {
    Item::Map(vec![
        ("TTL".into(), Item::Uint(ttl)),
        ("Value".into(), Item::Bytes(value.to_vec())),
        ("Sequence".into(), Item::Uint(sequence)),
        ("Validity".into(), Item::Bytes(validity.to_vec())),
        ("ValidityType".into(), Item::Uint(EOL)),
    ])
}

/// The bytes a V1 signature covers: value, validity and "EOL".
fn v1_signed_bytes(value: &[u8], validity: &[u8]) -> Vec<u8> {
    [value, validity, b"EOL"].concat()
}

fn v2_signed_bytes(data: &[u8]) -> Vec<u8> {
    [SIGNATURE_V2_PREFIX, data].concat()
}

fn ttl_nanos(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_nanos()).unwrap_or(u64::MAX)
}

impl Record {
    /// Makes and signs a record with `key`. The public key is written in
    /// the record only when the name cannot inline it (RSA).
    pub fn create(key: &Keypair, new: &NewRecord) -> Result<Record, RecordError> {
        let value = new.value.as_bytes();
        let validity = eol::format(new.eol);
        let ttl = ttl_nanos(new.ttl);
        let data = cbor::encode(&data_item(value, validity.as_bytes(), new.sequence, ttl));
        let sign = |bytes: &[u8]| {
            key.sign(bytes)
                .map_err(|e| RecordError::Signing(e.to_string()))
        };
        let public = key.public();
        let mut entry = IpnsEntry {
            signature_v2: Some(sign(&v2_signed_bytes(&data))?),
            data: Some(data),
            pub_key: Name::of_key(&public)
                .inlined_key()
                .is_none()
                .then(|| public.encode_protobuf()),
            ..IpnsEntry::default()
        };
        if new.v1_compat {
            entry.signature_v1 = Some(sign(&v1_signed_bytes(value, validity.as_bytes()))?);
            entry.value = Some(value.to_vec());
            entry.validity_type = Some(EOL);
            entry.validity = Some(validity.into_bytes());
            entry.sequence = Some(new.sequence);
            entry.ttl = Some(ttl);
        }
        Record::from_entry(entry)
    }

    /// Reads a record without judging it (for `name inspect`): only its
    /// protobuf and signed data must be well formed.
    pub fn decode(bytes: &[u8]) -> Result<Record, RecordError> {
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(RecordError::TooLarge(bytes.len()));
        }
        let entry = IpnsEntry::decode(bytes).map_err(|e| RecordError::Malformed(e.to_string()))?;
        Record::from_entry(entry)
    }

    fn from_entry(entry: IpnsEntry) -> Result<Record, RecordError> {
        let signed_v2 = entry.signature_v2.as_ref().is_some_and(|s| !s.is_empty());
        let Some(data) = entry.data.as_deref().filter(|d| !d.is_empty()) else {
            // V1 only: what it says is in the protobuf fields.
            let validity =
                String::from_utf8_lossy(entry.validity.as_deref().unwrap_or_default()).into_owned();
            return Ok(Record {
                value: entry.value.clone().unwrap_or_default(),
                sequence: entry.sequence.unwrap_or(0),
                ttl: Duration::from_nanos(entry.ttl.unwrap_or(0)),
                eol: eol::parse(&validity).ok(),
                validity,
                signed_v2,
                entry,
            });
        };
        let fields = SignedData::read(data)?;
        let validity = String::from_utf8(fields.validity)
            .map_err(|_| RecordError::BadData("Validity is not UTF-8".into()))?;
        Ok(Record {
            value: fields.value,
            sequence: fields.sequence,
            ttl: Duration::from_nanos(fields.ttl),
            eol: (fields.validity_type == EOL)
                .then(|| eol::parse(&validity).ok())
                .flatten(),
            validity,
            signed_v2,
            entry,
        })
    }

    /// Reads and validates a record for `name` at time `now`, in the
    /// spec's order: size, V2 signature and data present, V1 fields
    /// agreeing with the data, the key belonging to the name, the
    /// signature, the validity.
    pub fn validate(bytes: &[u8], name: &Name, now: SystemTime) -> Result<Record, RecordError> {
        let record = Record::decode(bytes)?;
        let entry = &record.entry;
        let signature = entry
            .signature_v2
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or(RecordError::NoSignatureV2)?;
        let data = entry
            .data
            .as_deref()
            .filter(|d| !d.is_empty())
            .ok_or(RecordError::NoData)?;
        let fields = SignedData::read(data)?;
        fields.agrees_with(entry)?;
        let key = record.public_key(name)?;
        if !key.verify(&v2_signed_bytes(data), signature) {
            return Err(RecordError::BadSignature);
        }
        if fields.validity_type != EOL {
            return Err(RecordError::UnknownValidityType(fields.validity_type));
        }
        let eol = record
            .eol
            .ok_or_else(|| RecordError::BadValidity(record.validity.clone()))?;
        if eol <= now {
            return Err(RecordError::Expired(record.validity.clone()));
        }
        Ok(record)
    }

    /// The key that signed it: the one in the record, which must be the
    /// name's, or the one the name inlines.
    fn public_key(&self, name: &Name) -> Result<PublicKey, RecordError> {
        match self.entry.pub_key.as_deref().filter(|k| !k.is_empty()) {
            Some(bytes) => {
                let key = PublicKey::try_decode_protobuf(bytes)
                    .map_err(|e| RecordError::BadPublicKey(e.to_string()))?;
                if Name::of_key(&key) != *name {
                    return Err(RecordError::WrongKey(name.to_string()));
                }
                Ok(key)
            }
            None => name.inlined_key().ok_or(RecordError::NoPublicKey),
        }
    }

    /// Of two valid records of a name, whether this one wins: V2 over
    /// V1-only, then the higher sequence, then the later end of life.
    pub fn better_than(&self, other: &Record) -> bool {
        (self.signed_v2, self.sequence, self.eol) > (other.signed_v2, other.sequence, other.eol)
    }

    pub fn value_text(&self) -> String {
        String::from_utf8_lossy(&self.value).into_owned()
    }

    /// Whether it carries the V1 fields and signature.
    pub fn has_v1(&self) -> bool {
        self.entry
            .signature_v1
            .as_ref()
            .is_some_and(|s| !s.is_empty())
    }

    /// The public key written in the record, if any.
    pub fn embedded_key(&self) -> Option<&[u8]> {
        self.entry.pub_key.as_deref()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.entry.encode_to_vec()
    }
}

/// The fields of a record's DAG-CBOR `data`.
struct SignedData {
    value: Vec<u8>,
    validity: Vec<u8>,
    validity_type: u64,
    sequence: u64,
    ttl: u64,
}

impl SignedData {
    fn read(data: &[u8]) -> Result<SignedData, RecordError> {
        let item = cbor::decode(data).map_err(|e| RecordError::BadData(e.to_string()))?;
        let bytes = |key: &str| match cbor::map_get(&item, key) {
            Some(Item::Bytes(b)) => Ok(b.clone()),
            _ => Err(RecordError::BadData(format!(
                "{key} is missing or not bytes"
            ))),
        };
        let uint = |key: &str| match cbor::map_get(&item, key) {
            Some(Item::Uint(n)) => Ok(*n),
            _ => Err(RecordError::BadData(format!(
                "{key} is missing or not a number"
            ))),
        };
        Ok(SignedData {
            value: bytes("Value")?,
            validity: bytes("Validity")?,
            validity_type: uint("ValidityType")?,
            sequence: uint("Sequence")?,
            ttl: uint("TTL")?,
        })
    }

    /// The V1 protobuf fields, where present, must say what the data says.
    fn agrees_with(&self, entry: &IpnsEntry) -> Result<(), RecordError> {
        let same = |field: &'static str, agrees: bool| {
            if agrees {
                Ok(())
            } else {
                Err(RecordError::Mismatch(field))
            }
        };
        if let Some(value) = &entry.value {
            same("value", *value == self.value)?;
        }
        if let Some(validity) = &entry.validity {
            same("validity", *validity == self.validity)?;
        }
        if let Some(kind) = entry.validity_type {
            same("validity type", kind == self.validity_type)?;
        }
        if let Some(sequence) = entry.sequence {
            same("sequence", sequence == self.sequence)?;
        }
        if let Some(ttl) = entry.ttl {
            same("TTL", ttl == self.ttl)?;
        }
        Ok(())
    }
}
