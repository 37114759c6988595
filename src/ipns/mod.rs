//! IPNS: names derived from public keys, and the signed records that say
//! what a name points to (specs.ipfs.tech/ipns/ipns-record).
//!
//! The sync core: names, records (made, signed, validated, compared) and
//! their validity times. Keys, routing and resolution build on it.

pub mod eol;
pub mod name;
pub mod record;

pub use name::Name;
pub use record::{Record, RecordError};
