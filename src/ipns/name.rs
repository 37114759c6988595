//! IPNS names: the identity (peer ID) of the key that signs the records.
//! Written as a CIDv1 with the `libp2p-key` codec in base36 (`k51…`);
//! a base58 peer ID (`12D3Koo…`, `Qm…`) or the CID in another base names
//! the same key.

use std::fmt;

use libp2p_identity::{PeerId, PublicKey};

use crate::codec::cid::{Cid, LIBP2P_KEY, Mh};

/// Multihash code of the identity hash: the key itself is the digest.
const IDENTITY: u64 = 0x00;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Name(PeerId);

#[derive(Debug, thiserror::Error)]
#[error("{text:?} is not an IPNS name (a k51… key CID or a peer ID): {reason}")]
pub struct BadName {
    text: String,
    reason: String,
}

impl Name {
    pub fn of_key(key: &PublicKey) -> Self {
        Name(key.to_peer_id())
    }

    pub fn peer_id(&self) -> PeerId {
        self.0
    }

    /// The name of the key behind `peer`.
    pub fn of_peer(peer: PeerId) -> Self {
        Name(peer)
    }

    pub fn parse(text: &str) -> Result<Self, BadName> {
        let bad = |reason: String| BadName {
            text: text.to_string(),
            reason,
        };
        if let Ok(peer) = text.parse::<PeerId>() {
            return Ok(Name(peer));
        }
        let cid = Cid::try_from(text).map_err(|e| bad(e.to_string()))?;
        if cid.codec() != LIBP2P_KEY {
            return Err(bad(format!(
                "its CID has codec 0x{:x}, not libp2p-key (0x72)",
                cid.codec()
            )));
        }
        PeerId::from_bytes(&cid.hash().to_bytes())
            .map(Name)
            .map_err(|e| bad(e.to_string()))
    }

    /// The multihash of the key, as the DHT keys records by.
    pub fn multihash_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// The DHT key of the name's records: `/ipns/` and the key's multihash.
    pub fn routing_key(&self) -> Vec<u8> {
        let mut key = b"/ipns/".to_vec();
        key.extend(self.multihash_bytes());
        key
    }

    /// The public key, when the name holds it (Ed25519 keys are small
    /// enough to be inlined with the identity hash; RSA keys are not).
    pub fn inlined_key(&self) -> Option<PublicKey> {
        let mh = Mh::from_bytes(&self.multihash_bytes()).ok()?;
        if mh.code() != IDENTITY {
            return None;
        }
        PublicKey::try_decode_protobuf(mh.digest()).ok()
    }

    /// The name as a CID in `base` (Kubo's `--ipns-base`).
    pub fn to_string_of_base(&self, base: multibase::Base) -> String {
        self.cid()
            .and_then(|cid| cid.to_string_of_base(base).ok())
            .unwrap_or_else(|| self.0.to_string())
    }

    fn cid(&self) -> Option<Cid> {
        Mh::from_bytes(&self.multihash_bytes())
            .ok()
            .map(|mh| Cid::new_v1(LIBP2P_KEY, mh))
    }
}

impl fmt::Display for Name {
    /// Base36 CIDv1, as Kubo prints names.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_of_base(multibase::Base::Base36Lower))
    }
}

impl std::str::FromStr for Name {
    type Err = BadName;
    fn from_str(text: &str) -> Result<Self, BadName> {
        Name::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p_identity::Keypair;

    #[test]
    fn an_ed25519_name_reads_in_every_form_and_inlines_its_key() {
        let key = Keypair::generate_ed25519();
        let name = Name::of_key(&key.public());
        let text = name.to_string();
        assert!(text.starts_with("k51"), "{text}");
        assert_eq!(Name::parse(&text).unwrap(), name);
        assert_eq!(Name::parse(&name.peer_id().to_base58()).unwrap(), name);
        let base32 = name
            .cid()
            .unwrap()
            .to_string_of_base(multibase::Base::Base32Lower)
            .unwrap();
        assert_eq!(Name::parse(&base32).unwrap(), name);
        assert_eq!(name.inlined_key(), Some(key.public()));
        assert!(name.routing_key().starts_with(b"/ipns/"));
    }

    #[test]
    fn other_cids_and_garbage_are_not_names() {
        for text in ["", "k51", "bafkqaaa", "../etc", "k51qzi5uqu5dl\0"] {
            assert!(Name::parse(text).is_err(), "{text:?}");
        }
    }
}
