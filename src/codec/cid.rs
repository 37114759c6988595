//! CID helpers: the one `Cid` type the crate uses, hashing blocks into CIDs,
//! text forms as Kubo prints them, and parsing `/ipfs/<cid>/path` arguments.

use multihash::Multihash;
use sha2::{Digest, Sha256, Sha512};

use super::CodecError;

/// Identity digests may be up to 128 bytes (boxo's `verifcid` limit), so the
/// crate-wide CID type carries room for them.
pub const MAX_DIGEST: usize = 128;
pub type Cid = cid::CidGeneric<MAX_DIGEST>;
pub type Mh = Multihash<MAX_DIGEST>;
pub use cid::Version;

pub const DAG_PB: u64 = 0x70;
pub const RAW: u64 = 0x55;
pub const DAG_CBOR: u64 = 0x71;
pub const LIBP2P_KEY: u64 = 0x72;

pub const IDENTITY: u64 = 0x00;
pub const SHA2_256: u64 = 0x12;
pub const SHA2_512: u64 = 0x13;

/// Hash functions rsipfs can produce and verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashFn {
    Sha2_256,
    Sha2_512,
}

impl HashFn {
    pub fn code(self) -> u64 {
        match self {
            HashFn::Sha2_256 => SHA2_256,
            HashFn::Sha2_512 => SHA2_512,
        }
    }

    pub fn parse(name: &str) -> Result<Self, CodecError> {
        match name {
            "sha2-256" => Ok(HashFn::Sha2_256),
            "sha2-512" => Ok(HashFn::Sha2_512),
            other => Err(CodecError::UnsupportedHash(other.to_string())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HashFn::Sha2_256 => "sha2-256",
            HashFn::Sha2_512 => "sha2-512",
        }
    }

    pub fn digest(self, data: &[u8]) -> Mh {
        let wrapped = match self {
            HashFn::Sha2_256 => Mh::wrap(SHA2_256, &Sha256::digest(data)),
            HashFn::Sha2_512 => Mh::wrap(SHA2_512, &Sha512::digest(data)),
        };
        wrapped.expect("sha2 digests fit in a multihash")
    }
}

/// How new blocks get their CIDs: version, hash function and the inline rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CidBuilder {
    pub version: Version,
    pub hash: HashFn,
    /// Blocks whose encoded length is at most this get an identity CIDv1.
    pub inline_limit: Option<usize>,
}

impl CidBuilder {
    /// Kubo's rule for `--cid-version` with `--hash`: CIDv0 only with
    /// sha2-256; without a version, v0 for sha2-256 and v1 for the others.
    pub fn for_version(version: Option<u64>, hash: HashFn) -> Result<CidBuilder, String> {
        let version = match (version, hash) {
            (Some(0) | None, HashFn::Sha2_256) => Version::V0,
            (Some(0), _) => {
                return Err(format!(
                    "CIDv0 only supports sha2-256; use --cid-version 1 with --hash {}",
                    hash.name()
                ));
            }
            (Some(1) | None, _) => Version::V1,
            (Some(v), _) => return Err(format!("unknown CID version {v}")),
        };
        Ok(CidBuilder {
            version,
            hash,
            inline_limit: None,
        })
    }
}

impl Default for CidBuilder {
    fn default() -> Self {
        CidBuilder {
            version: Version::V0,
            hash: HashFn::Sha2_256,
            inline_limit: None,
        }
    }
}

impl CidBuilder {
    pub fn v1() -> Self {
        CidBuilder {
            version: Version::V1,
            ..Default::default()
        }
    }

    /// The CID of `data` encoded with `codec`. Raw blocks and non-sha2-256
    /// hashes are always CIDv1, as go-cid's prefix rules make them.
    pub fn cid_of(&self, codec: u64, data: &[u8]) -> Cid {
        if let Some(limit) = self.inline_limit
            && data.len() <= limit
        {
            let mh = Mh::wrap(IDENTITY, data).expect("inline limit is below the digest capacity");
            return Cid::new_v1(codec, mh);
        }
        let mh = self.hash.digest(data);
        if self.version == Version::V0 && codec == DAG_PB && self.hash == HashFn::Sha2_256 {
            Cid::new_v0(mh).expect("sha2-256 multihash makes a valid CIDv0")
        } else {
            Cid::new_v1(codec, mh)
        }
    }
}

/// True when the CID's bytes are its own data (identity multihash).
pub fn is_identity(cid: &Cid) -> bool {
    cid.hash().code() == IDENTITY
}

/// Checks that `data` hashes to `cid`'s multihash.
pub fn verify(cid: &Cid, data: &[u8]) -> Result<(), CodecError> {
    let mh = cid.hash();
    let ok = match mh.code() {
        IDENTITY => mh.digest() == data,
        SHA2_256 => mh.digest() == Sha256::digest(data).as_slice(),
        SHA2_512 => mh.digest() == Sha512::digest(data).as_slice(),
        code => {
            return Err(CodecError::UnsupportedHash(format!(
                "multihash code 0x{code:x}"
            )));
        }
    };
    if ok {
        Ok(())
    } else {
        Err(CodecError::HashMismatch(cid_string(cid)))
    }
}

/// Kubo's text form: base58btc for v0, base32 lower-case for v1.
pub fn cid_string(cid: &Cid) -> String {
    cid.to_string()
}

/// Parses a CID in any multibase (and v0 base58).
pub fn parse_cid(text: &str) -> Result<Cid, CodecError> {
    Cid::try_from(text).map_err(|e| CodecError::InvalidCid(format!("{text}: {e}")))
}

pub fn cid_from_bytes(bytes: &[u8]) -> Result<Cid, CodecError> {
    Cid::try_from(bytes).map_err(|e| CodecError::InvalidCid(format!("{e}")))
}

/// The CIDv1 form of a CID (v0 dag-pb becomes `bafy…`).
pub fn to_v1(cid: &Cid) -> Cid {
    Cid::new_v1(cid.codec(), *cid.hash())
}

/// Lower-case hex of the multihash bytes: the key blocks are stored under.
pub fn multihash_hex(mh: &Mh) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let bytes = mh.to_bytes();
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        hex.push(DIGITS[usize::from(byte >> 4)] as char);
        hex.push(DIGITS[usize::from(byte & 0xf)] as char);
    }
    hex
}

/// An `/ipfs/<cid>/a/b`, `<cid>/a/b` or bare `<cid>` argument, split into the
/// root CID and its path components (no empty, `.` or `..` components).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IpfsPath {
    pub root: Cid,
    pub components: Vec<String>,
}

impl IpfsPath {
    pub fn parse(text: &str) -> Result<Self, CodecError> {
        let rest = text
            .strip_prefix("/ipfs/")
            .or_else(|| text.strip_prefix("/ipld/"))
            .unwrap_or(text);
        if rest.starts_with('/') || rest.is_empty() {
            return Err(CodecError::InvalidPath(text.to_string()));
        }
        let mut parts = rest.split('/');
        let root = parse_cid(parts.next().unwrap_or_default())?;
        let mut components: Vec<String> = Vec::new();
        for part in parts {
            match part {
                "" | "." => {}
                ".." => {
                    if components.pop().is_none() {
                        return Err(CodecError::InvalidPath(format!(
                            "{text}: '..' climbs above the root CID"
                        )));
                    }
                }
                name => components.push(name.to_string()),
            }
        }
        Ok(IpfsPath { root, components })
    }
}

impl std::fmt::Display for IpfsPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "/ipfs/{}", cid_string(&self.root))?;
        for c in &self.components {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_test_vector_as_cidv1_raw() {
        let cid = CidBuilder::v1().cid_of(RAW, b"test");
        assert_eq!(
            cid_string(&cid),
            "bafkreie7q3iidccmpvszul7kudcvvuavuo7u6gzlbobczuk5nqk3b4akba"
        );
    }

    #[test]
    fn empty_directory_v0_and_v1() {
        let block = [0x0a, 0x02, 0x08, 0x01];
        let v0 = CidBuilder::default().cid_of(DAG_PB, &block);
        assert_eq!(
            cid_string(&v0),
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
        );
        assert_eq!(
            cid_string(&to_v1(&v0)),
            "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"
        );
    }

    #[test]
    fn raw_under_v0_is_still_v1() {
        let cid = CidBuilder::default().cid_of(RAW, b"hello world");
        assert_eq!(
            cid_string(&cid),
            "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
        );
    }

    #[test]
    fn inline_uses_identity() {
        let b = CidBuilder {
            inline_limit: Some(32),
            ..CidBuilder::v1()
        };
        assert_eq!(cid_string(&b.cid_of(RAW, b"")), "bafkqaaa");
        assert_eq!(
            cid_string(&b.cid_of(RAW, b"jkD98jkD975hkD8\n")),
            "bafkqaedknncdsodknncdsnzvnbvuioak"
        );
    }

    #[test]
    fn verify_detects_mismatch() {
        let cid = CidBuilder::default().cid_of(DAG_PB, b"abc");
        assert!(verify(&cid, b"abc").is_ok());
        assert!(matches!(
            verify(&cid, b"abd"),
            Err(CodecError::HashMismatch(_))
        ));
    }

    #[test]
    fn parses_paths() {
        let p = IpfsPath::parse("/ipfs/QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn/a//b/./c/..")
            .unwrap();
        assert_eq!(p.components, vec!["a", "b"]);
        assert!(
            IpfsPath::parse("/ipfs/QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn/..").is_err()
        );
        assert!(IpfsPath::parse("/ipfs/notacid").is_err());
        let v1 =
            IpfsPath::parse("bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354").unwrap();
        assert!(v1.components.is_empty());
    }

    #[test]
    fn multihash_hex_of_empty_dir() {
        let v0 = parse_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap();
        assert_eq!(
            multihash_hex(v0.hash()),
            "122059948439065f29619ef41280cbb932be52c56d99c5966b65e0111239f098bbef"
        );
    }
}
