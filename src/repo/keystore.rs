//! Named keys for IPNS in `keystore/`, laid out as Kubo lays it out: one
//! file per key, `key_` and the lowercase unpadded base32 of the name,
//! holding the libp2p protobuf encoding of the private key, mode 0600.
//! `self` is the node's identity (`keys/id.pri`) and is never stored here.
//! No key is ever printed or logged; only names and their IPNS names are.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use libp2p_identity::Keypair;
use zeroize::Zeroizing;

use super::private_key::{KeyDecodeError, KeyGenError, KeySpec, MAX_ENCODED_BYTES, PrivateKey};

pub const SELF: &str = "self";
const PREFIX: &str = "key_";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key name {0:?} is not allowed: {1}")]
    BadName(String, &'static str),
    #[error("no key named {0:?}")]
    NotFound(String),
    #[error("a key named {0:?} already exists")]
    Exists(String),
    #[error("the key {0:?} is the node's identity and cannot be changed or removed")]
    IsSelf(String),
    #[error(transparent)]
    Spec(#[from] KeyGenError),
    #[error("the key {name:?} is not a valid libp2p private key: {reason}")]
    Malformed {
        name: String,
        reason: KeyDecodeError,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

type Result<T> = std::result::Result<T, KeyError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A key's name and the key (no Debug: it holds the secret).
#[derive(Clone)]
pub struct KeyInfo {
    pub name: String,
    pub key: Keypair,
}

pub struct Keystore {
    dir: PathBuf,
    /// The node's identity, answered for `self`.
    identity: Keypair,
}

/// The file name of a key, refusing names Kubo refuses and any a path
/// could be made of.
pub fn file_name(name: &str) -> Result<String> {
    let bad = |why| Err(KeyError::BadName(name.to_string(), why));
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.contains('/') || name.contains('\0') {
        return bad("it holds '/' or NUL");
    }
    if name.starts_with('.') {
        return bad("it starts with '.'");
    }
    if name == SELF {
        return Err(KeyError::IsSelf(name.to_string()));
    }
    // Multibase base32 is RFC 4648, lowercase, unpadded, after its 'b'.
    let encoded = multibase::encode(multibase::Base::Base32Lower, name.as_bytes());
    Ok(format!("{PREFIX}{}", &encoded[1..]))
}

fn name_of(file_name: &str) -> Option<String> {
    let encoded = file_name.strip_prefix(PREFIX)?.to_lowercase();
    let (_, bytes) = multibase::decode(format!("b{encoded}")).ok()?;
    String::from_utf8(bytes).ok()
}

impl Keystore {
    pub fn new(dir: PathBuf, identity: Keypair) -> Self {
        Keystore { dir, identity }
    }

    fn path(&self, name: &str) -> Result<PathBuf> {
        Ok(self.dir.join(file_name(name)?))
    }

    /// Makes a new key of type `kind` (Kubo's default size); the name
    /// must be free.
    pub fn generate(&self, name: &str, kind: &str) -> Result<KeyInfo> {
        self.generate_key(name, KeySpec::parse(kind, None)?)
    }

    /// Makes a new key as `spec` says; the name must be free.
    pub fn generate_key(&self, name: &str, spec: KeySpec) -> Result<KeyInfo> {
        // A bad or taken name is refused before a slow RSA key is made.
        let path = self.path(name)?;
        if path.exists() {
            return Err(KeyError::Exists(name.to_string()));
        }
        let key = PrivateKey::generate(spec)?;
        self.import(name, &key)?;
        Ok(KeyInfo {
            name: name.to_string(),
            key: key.into_keypair(),
        })
    }

    /// Stores `key` under a free name.
    pub fn import(&self, name: &str, key: &PrivateKey) -> Result<()> {
        let path = self.path(name)?;
        self.ensure_dir()?;
        write_private(&path, key.encoded(), name)
    }

    pub fn get(&self, name: &str) -> Result<Keypair> {
        if name == SELF {
            return Ok(self.identity.clone());
        }
        Ok(self.get_private(name)?.into_keypair())
    }

    /// A named key with its encoding, for `key export`. Not `self`: the
    /// identity is exported as Kubo does, never through the keystore.
    pub fn get_private(&self, name: &str) -> Result<PrivateKey> {
        let path = self.path(name)?;
        let bytes = match std::fs::File::open(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyError::NotFound(name.to_string()));
            }
            Err(e) => return Err(io(&path)(e)),
            Ok(file) => {
                use std::io::Read;
                let mut bytes = Zeroizing::new(Vec::new());
                file.take(MAX_ENCODED_BYTES as u64 + 1)
                    .read_to_end(&mut bytes)
                    .map_err(io(&path))?;
                bytes
            }
        };
        PrivateKey::decode(&bytes).map_err(|reason| KeyError::Malformed {
            name: name.to_string(),
            reason,
        })
    }

    /// Every key, `self` first, then by name.
    pub fn list(&self) -> Result<Vec<KeyInfo>> {
        let mut keys = vec![KeyInfo {
            name: SELF.to_string(),
            key: self.identity.clone(),
        }];
        let entries = match std::fs::read_dir(&self.dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(keys),
            other => other.map_err(io(&self.dir))?,
        };
        let mut named = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io(&self.dir))?;
            let Some(name) = entry.file_name().to_str().and_then(name_of) else {
                continue; // not a key file (a temp file, say)
            };
            named.push(KeyInfo {
                key: self.get(&name)?,
                name,
            });
        }
        named.sort_by(|a, b| a.name.cmp(&b.name));
        keys.extend(named);
        Ok(keys)
    }

    pub fn remove(&self, name: &str) -> Result<Keypair> {
        let key = self.get(name)?;
        let path = self.path(name)?;
        std::fs::remove_file(&path).map_err(io(&path))?;
        sync_dir(&self.dir)?;
        Ok(key)
    }

    /// Renames a key; with `force`, over an existing one.
    pub fn rename(&self, old: &str, new: &str, force: bool) -> Result<Keypair> {
        let key = self.get(old)?;
        let (from, to) = (self.path(old)?, self.path(new)?);
        if !force && to.exists() {
            return Err(KeyError::Exists(new.to_string()));
        }
        std::fs::rename(&from, &to).map_err(io(&to))?;
        sync_dir(&self.dir)?;
        Ok(key)
    }

    fn ensure_dir(&self) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io(&self.dir))
    }
}

/// Writes a new key file, readable by its owner only from the start.
fn write_private(path: &Path, bytes: &[u8], name: &str) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".new-key-{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    file.write_all(bytes).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    // Linked under its name only if the name is still free.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(KeyError::Exists(name.to_string()))
        }
        other => other.map_err(io(path)),
    }?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keystore() -> (tempfile::TempDir, Keystore) {
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::new(dir.path().join("keystore"), Keypair::generate_ed25519());
        (dir, store)
    }

    #[test]
    fn file_names_are_kubos() {
        // Kubo: "key_" + lowercase unpadded base32 of the name.
        assert_eq!(file_name("mykey").unwrap(), "key_nv4wwzlz");
        assert_eq!(name_of("key_nv4wwzlz").as_deref(), Some("mykey"));
        for bad in ["", "a/b", "../x", ".hidden", "nul\0"] {
            assert!(
                matches!(file_name(bad), Err(KeyError::BadName(..))),
                "{bad:?}"
            );
        }
        assert!(matches!(file_name("self"), Err(KeyError::IsSelf(_))));
    }

    #[test]
    fn keys_are_made_listed_renamed_and_removed_with_owner_only_files() {
        let (_dir, store) = keystore();
        let made = store.generate("site", "ed25519").unwrap();
        let path = store.path("site").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(&store.dir).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        assert!(matches!(
            store.generate("site", "ed25519"),
            Err(KeyError::Exists(_))
        ));
        assert!(matches!(
            store.generate("big", "dsa"),
            Err(KeyError::Spec(KeyGenError::UnknownType(_)))
        ));
        store.generate("blog", "ed25519").unwrap();
        let names: Vec<String> = store.list().unwrap().into_iter().map(|k| k.name).collect();
        assert_eq!(names, ["self", "blog", "site"]);
        assert_eq!(store.get("site").unwrap().public(), made.key.public());

        assert!(matches!(
            store.rename("site", "blog", false),
            Err(KeyError::Exists(_))
        ));
        store.rename("site", "www", false).unwrap();
        assert_eq!(store.get("www").unwrap().public(), made.key.public());
        assert!(matches!(store.get("site"), Err(KeyError::NotFound(_))));
        assert!(matches!(store.remove("self"), Err(KeyError::IsSelf(_))));
        store.remove("www").unwrap();
        assert!(matches!(store.remove("www"), Err(KeyError::NotFound(_))));
        // A damaged key file is an error naming the key, not a panic.
        std::fs::write(store.path("blog").unwrap(), b"garbage").unwrap();
        assert!(matches!(store.get("blog"), Err(KeyError::Malformed { .. })));
    }

    #[test]
    fn rsa_keys_are_stored_in_kubos_form_and_read_back() {
        let (_dir, store) = keystore();
        let made = store
            .generate_key("old-school", KeySpec::Rsa { bits: 2048 })
            .unwrap();
        let bytes = std::fs::read(store.path("old-school").unwrap()).unwrap();
        assert_eq!(
            &bytes[..2],
            &[0x08, 0x00],
            "Type RSA, written as Go writes it"
        );
        assert_eq!(store.get("old-school").unwrap().public(), made.key.public());
        assert_eq!(
            store.get_private("old-school").unwrap().encoded(),
            &bytes[..]
        );
        assert!(matches!(
            store.get_private("self"),
            Err(KeyError::IsSelf(_))
        ));
        // A taken name is refused before any key is made.
        assert!(matches!(
            store.generate_key("old-school", KeySpec::Rsa { bits: 2048 }),
            Err(KeyError::Exists(_))
        ));
    }
}
