//! Private keys in libp2p's protobuf form (`PrivateKey { Type, Data }`),
//! byte for byte as go-libp2p writes them, so keys move between Kubo and
//! rsipfs: Ed25519 as the 64-byte seed and public key, RSA as PKCS#1 DER.
//!
//! libp2p-identity signs with these keys but cannot make RSA keys nor
//! write them back out, so the encoded bytes are kept beside the key pair
//! and RSA keys are made with the `rsa` crate. Signing stays with
//! libp2p-identity (ring), which takes RSA moduli of 2048 to 4096 bits.

use libp2p_identity::Keypair;
use prost::Message;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts;
use zeroize::Zeroizing;

/// Kubo's default RSA size (`DefaultRSALen`).
pub const DEFAULT_RSA_BITS: usize = 2048;
/// go-libp2p's floor (`MinRsaKeyBits`).
pub const MIN_RSA_BITS: usize = 2048;
/// The signer's ceiling (go-libp2p's is 8192).
pub const MAX_RSA_BITS: usize = 4096;
const ED25519_BITS: usize = 256;
/// No key file is this large; anything larger is refused unread.
pub const MAX_ENCODED_BYTES: usize = 16 * 1024;

/// libp2p's `KeyType` enum.
const TYPE_RSA: i32 = 0;
const TYPE_ED25519: i32 = 1;
const TYPE_SECP256K1: i32 = 2;
const TYPE_ECDSA: i32 = 3;

/// The wire form; both fields are proto2 `required`, so both are always
/// written (an RSA key starts `08 00`, as Go writes it).
#[derive(Clone, PartialEq, Message)]
struct PbPrivateKey {
    #[prost(int32, required, tag = "1")]
    key_type: i32,
    #[prost(bytes = "vec", required, tag = "2")]
    data: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyDecodeError {
    #[error("it is {0} bytes, more than a key file can be")]
    TooLarge(usize),
    #[error("it is not a libp2p PrivateKey protobuf: {0}")]
    NotProtobuf(String),
    #[error("{0} keys are not supported (only ed25519 and rsa)")]
    UnsupportedType(&'static str),
    #[error("its key type {0} is not one libp2p knows")]
    UnknownType(i32),
    #[error("its RSA key is not PKCS#1 DER: {0}")]
    BadRsa(String),
    #[error("rsa keys must be >= {MIN_RSA_BITS} bits to be useful (this one has {0})")]
    RsaTooSmall(usize),
    #[error("rsa keys over {MAX_RSA_BITS} bits cannot sign here (this one has {0})")]
    RsaTooBig(usize),
    #[error("its {kind} key is not valid: {reason}")]
    Invalid { kind: &'static str, reason: String },
    #[error("it is not a PKCS#8 private key: {0}")]
    BadPkcs8(String),
    #[error("it is not a PEM \"PRIVATE KEY\" block: {0}")]
    BadPem(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyGenError {
    #[error("unrecognized key type: {0} (ed25519 or rsa)")]
    UnknownType(String),
    #[error("invalid key size {0}: ed25519 keys are always {ED25519_BITS} bits")]
    FixedSize(usize),
    #[error("rsa keys must be >= {MIN_RSA_BITS} bits to be useful")]
    RsaTooSmall,
    #[error("rsa keys must be <= {MAX_RSA_BITS} bits here (the signer stops there)")]
    RsaTooBig,
    #[error("generating the key failed: {0}")]
    Failed(String),
}

/// What kind of key to make: `--type` and `--size` as Kubo takes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySpec {
    Ed25519,
    Rsa { bits: usize },
}

impl KeySpec {
    pub fn parse(kind: &str, size: Option<usize>) -> Result<KeySpec, KeyGenError> {
        match (kind.to_ascii_lowercase().as_str(), size) {
            ("ed25519", None | Some(ED25519_BITS)) => Ok(KeySpec::Ed25519),
            ("ed25519", Some(other)) => Err(KeyGenError::FixedSize(other)),
            ("rsa", bits) => {
                let bits = bits.unwrap_or(DEFAULT_RSA_BITS);
                if bits < MIN_RSA_BITS {
                    Err(KeyGenError::RsaTooSmall)
                } else if bits > MAX_RSA_BITS {
                    Err(KeyGenError::RsaTooBig)
                } else {
                    Ok(KeySpec::Rsa { bits })
                }
            }
            _ => Err(KeyGenError::UnknownType(kind.to_string())),
        }
    }

    /// How Kubo announces the key it makes (`key rotate`, `init`).
    pub fn describe(&self) -> String {
        match self {
            KeySpec::Ed25519 => "ED25519".to_string(),
            KeySpec::Rsa { bits } => format!("{bits}-bit RSA"),
        }
    }
}

/// A private key with its libp2p protobuf encoding. No Debug, no Display:
/// it holds the secret, and the encoding is wiped when dropped.
#[derive(Clone)]
pub struct PrivateKey {
    keypair: Keypair,
    encoded: Zeroizing<Vec<u8>>,
}

impl PrivateKey {
    pub fn generate(spec: KeySpec) -> Result<PrivateKey, KeyGenError> {
        match spec {
            KeySpec::Ed25519 => {
                let keypair = Keypair::generate_ed25519();
                let encoded = keypair
                    .to_protobuf_encoding()
                    .map_err(|e| KeyGenError::Failed(e.to_string()))?;
                Ok(PrivateKey {
                    keypair,
                    encoded: Zeroizing::new(encoded),
                })
            }
            KeySpec::Rsa { bits } => {
                let key = rsa::PrivateKey::new(&mut getrandom::SysRng, bits)
                    .map_err(|e| KeyGenError::Failed(e.to_string()))?;
                let der = key
                    .to_pkcs1_der()
                    .map_err(|e| KeyGenError::Failed(e.to_string()))?;
                PrivateKey::from_rsa_pkcs1(der.as_bytes())
                    .map_err(|e| KeyGenError::Failed(e.to_string()))
            }
        }
    }

    /// Reads a key as Kubo's keystore and `key export` hold it. Never
    /// panics, whatever the bytes.
    pub fn decode(bytes: &[u8]) -> Result<PrivateKey, KeyDecodeError> {
        if bytes.len() > MAX_ENCODED_BYTES {
            return Err(KeyDecodeError::TooLarge(bytes.len()));
        }
        let pb =
            PbPrivateKey::decode(bytes).map_err(|e| KeyDecodeError::NotProtobuf(e.to_string()))?;
        let data = Zeroizing::new(pb.data);
        match pb.key_type {
            TYPE_ED25519 => {
                let keypair = Keypair::from_protobuf_encoding(bytes).map_err(|e| {
                    KeyDecodeError::Invalid {
                        kind: "ed25519",
                        reason: e.to_string(),
                    }
                })?;
                // Written again in the one form go-libp2p writes.
                let encoded =
                    keypair
                        .to_protobuf_encoding()
                        .map_err(|e| KeyDecodeError::Invalid {
                            kind: "ed25519",
                            reason: e.to_string(),
                        })?;
                Ok(PrivateKey {
                    keypair,
                    encoded: Zeroizing::new(encoded),
                })
            }
            TYPE_RSA => PrivateKey::from_rsa_pkcs1(&data),
            TYPE_SECP256K1 => Err(KeyDecodeError::UnsupportedType("secp256k1")),
            TYPE_ECDSA => Err(KeyDecodeError::UnsupportedType("ecdsa")),
            other => Err(KeyDecodeError::UnknownType(other)),
        }
    }

    fn from_rsa_pkcs1(der: &[u8]) -> Result<PrivateKey, KeyDecodeError> {
        let parsed = rsa::PrivateKey::from_pkcs1_der(der)
            .map_err(|e| KeyDecodeError::BadRsa(e.to_string()))?;
        let bits = parsed.size() * 8;
        if bits < MIN_RSA_BITS {
            return Err(KeyDecodeError::RsaTooSmall(bits));
        }
        if bits > MAX_RSA_BITS {
            return Err(KeyDecodeError::RsaTooBig(bits));
        }
        let encoded = Zeroizing::new(
            PbPrivateKey {
                key_type: TYPE_RSA,
                data: der.to_vec(),
            }
            .encode_to_vec(),
        );
        let keypair =
            Keypair::from_protobuf_encoding(&encoded).map_err(|e| KeyDecodeError::Invalid {
                kind: "rsa",
                reason: e.to_string(),
            })?;
        Ok(PrivateKey { keypair, encoded })
    }

    /// From PKCS#8 DER (`--format=pem-pkcs8-cleartext`, after the PEM).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<PrivateKey, KeyDecodeError> {
        if let Ok(rsa_key) = rsa::PrivateKey::from_pkcs8_der(der) {
            let pkcs1 = rsa_key
                .to_pkcs1_der()
                .map_err(|e| KeyDecodeError::BadRsa(e.to_string()))?;
            return PrivateKey::from_rsa_pkcs1(pkcs1.as_bytes());
        }
        let seed = ed25519_seed_of_pkcs8(der)?;
        let mut seed = Zeroizing::new(seed);
        let keypair =
            Keypair::ed25519_from_bytes(&mut *seed).map_err(|e| KeyDecodeError::Invalid {
                kind: "ed25519",
                reason: e.to_string(),
            })?;
        let encoded = keypair
            .to_protobuf_encoding()
            .map_err(|e| KeyDecodeError::BadPkcs8(e.to_string()))?;
        Ok(PrivateKey {
            keypair,
            encoded: Zeroizing::new(encoded),
        })
    }

    /// PKCS#8 DER, as Go's `x509.MarshalPKCS8PrivateKey` writes it.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyDecodeError> {
        let pb = PbPrivateKey::decode(&self.encoded[..])
            .map_err(|e| KeyDecodeError::NotProtobuf(e.to_string()))?;
        let data = Zeroizing::new(pb.data);
        match pb.key_type {
            TYPE_RSA => {
                let key = rsa::PrivateKey::from_pkcs1_der(&data)
                    .map_err(|e| KeyDecodeError::BadRsa(e.to_string()))?;
                let der = key
                    .to_pkcs8_der()
                    .map_err(|e| KeyDecodeError::BadPkcs8(e.to_string()))?;
                Ok(der.to_bytes())
            }
            TYPE_ED25519 if data.len() >= 32 => {
                Ok(Zeroizing::new([ED25519_PKCS8_PREFIX, &data[..32]].concat()))
            }
            other => Err(KeyDecodeError::UnknownType(other)),
        }
    }

    pub fn from_pem(text: &str) -> Result<PrivateKey, KeyDecodeError> {
        let der = Zeroizing::new(pem_decode(text)?);
        PrivateKey::from_pkcs8_der(&der)
    }

    pub fn to_pem(&self) -> Result<Zeroizing<String>, KeyDecodeError> {
        Ok(pem_encode(&self.to_pkcs8_der()?))
    }

    pub fn keypair(&self) -> &Keypair {
        &self.keypair
    }

    pub fn into_keypair(self) -> Keypair {
        self.keypair
    }

    /// The libp2p protobuf bytes (what `key export` writes).
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }
}

/// RFC 8410's PKCS#8 for an Ed25519 key: version 0, algorithm 1.3.101.112,
/// then the 32-byte seed in an OCTET STRING inside the private key OCTET
/// STRING. Go writes exactly these 16 bytes before the seed.
const ED25519_PKCS8_PREFIX: &[u8] = &[
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

fn ed25519_seed_of_pkcs8(der: &[u8]) -> Result<Vec<u8>, KeyDecodeError> {
    match der.strip_prefix(ED25519_PKCS8_PREFIX) {
        Some(seed) if seed.len() == 32 => Ok(seed.to_vec()),
        _ => Err(KeyDecodeError::BadPkcs8(
            "neither an RSA nor an Ed25519 private key".into(),
        )),
    }
}

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

fn pem_encode(der: &[u8]) -> Zeroizing<String> {
    let base64 = Zeroizing::new(multibase::encode(multibase::Base::Base64Pad, der));
    let body = &base64[1..];
    let mut out = Zeroizing::new(String::with_capacity(body.len() + 80));
    out.push_str(PEM_BEGIN);
    out.push('\n');
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(PEM_END);
    out.push('\n');
    out
}

fn pem_decode(text: &str) -> Result<Vec<u8>, KeyDecodeError> {
    let bad = |why: &str| KeyDecodeError::BadPem(why.to_string());
    let start = text
        .find(PEM_BEGIN)
        .ok_or_else(|| bad("no \"-----BEGIN PRIVATE KEY-----\" line"))?;
    let body = &text[start + PEM_BEGIN.len()..];
    let end = body
        .find(PEM_END)
        .ok_or_else(|| bad("no \"-----END PRIVATE KEY-----\" line"))?;
    let base64: Zeroizing<String> = Zeroizing::new(
        body[..end]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect(),
    );
    multibase::Base::Base64Pad
        .decode(&*base64)
        .map_err(|e| bad(&e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn specs_are_kubos() {
        assert_eq!(KeySpec::parse("ed25519", None), Ok(KeySpec::Ed25519));
        assert_eq!(KeySpec::parse("ed25519", Some(256)), Ok(KeySpec::Ed25519));
        assert_eq!(
            KeySpec::parse("ed25519", Some(2048)),
            Err(KeyGenError::FixedSize(2048))
        );
        assert_eq!(KeySpec::parse("rsa", None), Ok(KeySpec::Rsa { bits: 2048 }));
        assert_eq!(
            KeySpec::parse("RSA", Some(3072)),
            Ok(KeySpec::Rsa { bits: 3072 })
        );
        assert_eq!(
            KeySpec::parse("rsa", Some(1024)),
            Err(KeyGenError::RsaTooSmall)
        );
        assert_eq!(
            KeySpec::parse("rsa", Some(8192)),
            Err(KeyGenError::RsaTooBig)
        );
        assert!(matches!(
            KeySpec::parse("dsa", None),
            Err(KeyGenError::UnknownType(_))
        ));
    }

    #[test]
    fn an_rsa_key_is_written_as_go_libp2p_writes_it_and_signs() {
        let key = PrivateKey::generate(KeySpec::Rsa { bits: 2048 }).unwrap();
        let bytes = key.encoded();
        // Type RSA (0) written explicitly, then Data: PKCS#1 DER, a SEQUENCE.
        assert_eq!(&bytes[..3], &[0x08, 0x00, 0x12]);
        let der_at = bytes.iter().skip(3).position(|b| b & 0x80 == 0).unwrap() + 4;
        assert_eq!(bytes[der_at], 0x30, "PKCS#1 DER starts with a SEQUENCE");
        let again = PrivateKey::decode(bytes).unwrap();
        assert_eq!(again.encoded(), bytes);
        assert_eq!(again.keypair().public(), key.keypair().public());
        let signature = key.keypair().sign(b"hello").unwrap();
        assert!(key.keypair().public().verify(b"hello", &signature));
        // RSA peer IDs hash the key (Qm…): it is too big to inline.
        assert!(
            key.keypair()
                .public()
                .to_peer_id()
                .to_base58()
                .starts_with("Qm")
        );

        let pem = key.to_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let from_pem = PrivateKey::from_pem(&pem).unwrap();
        assert_eq!(from_pem.encoded(), bytes);
    }

    #[test]
    fn an_ed25519_key_round_trips_through_protobuf_and_pem() {
        let key = PrivateKey::generate(KeySpec::Ed25519).unwrap();
        let bytes = key.encoded();
        assert_eq!(&bytes[..4], &[0x08, 0x01, 0x12, 0x40]);
        assert_eq!(PrivateKey::decode(bytes).unwrap().encoded(), bytes);
        let pem = key.to_pem().unwrap();
        let back = PrivateKey::from_pem(&pem).unwrap();
        assert_eq!(back.encoded(), bytes);
        assert!(matches!(
            PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"),
            Err(KeyDecodeError::BadPkcs8(_))
        ));
    }

    #[test]
    fn other_types_and_small_rsa_keys_are_refused_by_name() {
        let secp = PbPrivateKey {
            key_type: TYPE_SECP256K1,
            data: vec![1; 32],
        }
        .encode_to_vec();
        assert_eq!(
            PrivateKey::decode(&secp).err(),
            Some(KeyDecodeError::UnsupportedType("secp256k1"))
        );
        let unknown = PbPrivateKey {
            key_type: 9,
            data: vec![],
        }
        .encode_to_vec();
        assert_eq!(
            PrivateKey::decode(&unknown).err(),
            Some(KeyDecodeError::UnknownType(9))
        );
        let small = rsa::PrivateKey::new(&mut getrandom::SysRng, 1024).unwrap();
        let small = PbPrivateKey {
            key_type: TYPE_RSA,
            data: small.to_pkcs1_der().unwrap().as_bytes().to_vec(),
        }
        .encode_to_vec();
        assert_eq!(
            PrivateKey::decode(&small).err(),
            Some(KeyDecodeError::RsaTooSmall(1024))
        );
        assert!(matches!(
            PrivateKey::decode(&vec![0; MAX_ENCODED_BYTES + 1]),
            Err(KeyDecodeError::TooLarge(_))
        ));
    }

    /// A key made once for the fuzz tests below (RSA generation is slow).
    fn sample_keys() -> &'static [Vec<u8>; 2] {
        static KEYS: std::sync::OnceLock<[Vec<u8>; 2]> = std::sync::OnceLock::new();
        KEYS.get_or_init(|| {
            [KeySpec::Ed25519, KeySpec::Rsa { bits: 2048 }]
                .map(|spec| PrivateKey::generate(spec).unwrap().encoded().to_vec())
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = PrivateKey::decode(&bytes);
            let _ = PrivateKey::from_pkcs8_der(&bytes);
            let _ = PrivateKey::from_pem(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn truncated_and_flipped_keys_never_panic(which in 0usize..2, cut in 0usize..1300, flip in 0usize..1300, bit in 0u8..8) {
            let key = &sample_keys()[which];
            let cut = cut.min(key.len());
            let _ = PrivateKey::decode(&key[..cut]);
            let mut flipped = key.clone();
            let at = flip % flipped.len();
            flipped[at] ^= 1 << bit;
            if let Ok(decoded) = PrivateKey::decode(&flipped) {
                // Whatever is accepted signs correctly or refuses to sign.
                if let Ok(signature) = decoded.keypair().sign(b"x") {
                    prop_assert!(decoded.keypair().public().verify(b"x", &signature));
                }
            }
        }
    }
}
