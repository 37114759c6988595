//! The node identity: an ed25519 key pair in `keys/id.pri` and `keys/id.pub`
//! (libp2p protobuf encodings), mirrored in config as Kubo stores it.

use std::path::Path;

use libp2p_identity::Keypair;

use super::{RepoError, Result, write_atomic};

pub struct Identity {
    pub peer_id: String,
    pub private_key_base64: String,
}

pub fn generate(keys_dir: &Path) -> Result<Identity> {
    let keypair = Keypair::generate_ed25519();
    let private = keypair
        .to_protobuf_encoding()
        .map_err(|e| RepoError::Key(e.to_string()))?;
    let public = keypair.public().encode_protobuf();
    write_atomic(&keys_dir.join("id.pri"), &private)?;
    set_owner_only(&keys_dir.join("id.pri"))?;
    write_atomic(&keys_dir.join("id.pub"), &public)?;
    Ok(Identity {
        peer_id: keypair.public().to_peer_id().to_base58(),
        private_key_base64: multibase::encode(multibase::Base::Base64Pad, &private)[1..]
            .to_string(),
    })
}

/// Loads `keys/id.pri`.
pub fn load(keys_dir: &Path) -> Result<Keypair> {
    let path = keys_dir.join("id.pri");
    let bytes = std::fs::read(&path).map_err(super::io_err(&path))?;
    Keypair::from_protobuf_encoding(&bytes)
        .map_err(|e| RepoError::Key(format!("{}: {e}", path.display())))
}

fn set_owner_only(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(super::io_err(path))
}

#[cfg(test)]
mod tests {
    #[test]
    fn peer_id_matches_the_stored_key() {
        let dir = tempfile::tempdir().unwrap();
        let identity = super::generate(dir.path()).unwrap();
        let keypair = super::load(dir.path()).unwrap();
        assert_eq!(keypair.public().to_peer_id().to_base58(), identity.peer_id);
        let public = std::fs::read(dir.path().join("id.pub")).unwrap();
        let decoded = libp2p_identity::PublicKey::try_decode_protobuf(&public).unwrap();
        assert_eq!(decoded, keypair.public());
    }
}
