//! The node identity: a key pair (ed25519 unless rotated to RSA) in
//! `keys/id.pri` and `keys/id.pub` (libp2p protobuf encodings), mirrored in
//! config as Kubo stores it.

use std::path::Path;

use libp2p_identity::Keypair;

use super::private_key::{KeySpec, PrivateKey};
use super::{RepoError, Result, write_atomic};

pub struct Identity {
    pub peer_id: String,
    pub private_key_base64: String,
}

pub fn generate(keys_dir: &Path) -> Result<Identity> {
    let key = PrivateKey::generate(KeySpec::Ed25519).map_err(|e| RepoError::Key(e.to_string()))?;
    write(keys_dir, &key)
}

/// Makes `key` the identity in `keys/`; the caller updates the config.
pub fn write(keys_dir: &Path, key: &PrivateKey) -> Result<Identity> {
    let public = key.keypair().public().encode_protobuf();
    write_private(&keys_dir.join("id.pri"), key.encoded())?;
    write_atomic(&keys_dir.join("id.pub"), &public)?;
    Ok(Identity {
        peer_id: key.keypair().public().to_peer_id().to_base58(),
        private_key_base64: multibase::encode(multibase::Base::Base64Pad, key.encoded())[1..]
            .to_string(),
    })
}

/// The identity as stored, with its encoding (to keep it as a named key).
pub fn load_private(keys_dir: &Path) -> Result<PrivateKey> {
    let path = keys_dir.join("id.pri");
    let bytes = zeroize::Zeroizing::new(std::fs::read(&path).map_err(super::io_err(&path))?);
    PrivateKey::decode(&bytes).map_err(|e| RepoError::Key(format!("{}: {e}", path.display())))
}

/// Written owner-only from the start: the secret never sits in a file
/// others can read, not even for a moment.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(super::io_err(&tmp))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(super::io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(super::io_err(path))?;
    set_owner_only(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(super::io_err(dir))
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
