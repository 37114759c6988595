//! `key` commands (Kubo's `ipfs key`) on the repository's keystore, with
//! Kubo's answers: `{Name, Id}`, `{Keys: [...]}`, `{Was, Now, Id, Overwrite}`.
//! Keys are only ever read from and written to the keystore; no answer and
//! no error carries one.

use libp2p_identity::PublicKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{CommandError, Core, bad_argument, failed};
use crate::ipns::Name;
use crate::repo::Repo;
use crate::repo::keystore::{KeyError, Keystore, SELF};
use crate::repo::private_key::{KeyDecodeError, KeySpec, PrivateKey};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyOutput {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Id")]
    pub id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyList {
    #[serde(rename = "Keys")]
    pub keys: Vec<KeyOutput>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRenamed {
    #[serde(rename = "Was")]
    pub was: String,
    #[serde(rename = "Now")]
    pub now: String,
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Overwrite")]
    pub overwrite: bool,
}

/// How key IDs are written (Kubo's `--ipns-base`): a `libp2p-key` CID in
/// base36 (`k51…`, `k2k4r8…` for RSA) by default, or the base58 peer ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdFormat {
    Base36,
    Base32,
    PeerId,
}

impl IdFormat {
    pub fn parse(text: &str) -> Result<IdFormat, CommandError> {
        match text {
            "base36" | "k" => Ok(IdFormat::Base36),
            "base32" | "b" => Ok(IdFormat::Base32),
            "b58mh" => Ok(IdFormat::PeerId),
            other => Err(bad_argument(format!(
                "unsupported --ipns-base {other:?} (base36, base32 or b58mh)"
            ))),
        }
    }

    pub fn format(self, key: &PublicKey) -> String {
        let name = Name::of_key(key);
        match self {
            IdFormat::Base36 => name.to_string(),
            IdFormat::Base32 => name.to_string_of_base(multibase::Base::Base32Lower),
            IdFormat::PeerId => name.peer_id().to_base58(),
        }
    }
}

/// The formats `key import` and `key export` take (Kubo's `--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    Libp2pProtobuf,
    PemPkcs8,
}

impl KeyFormat {
    pub fn parse(text: &str) -> Result<KeyFormat, CommandError> {
        match text {
            "libp2p-protobuf-cleartext" => Ok(KeyFormat::Libp2pProtobuf),
            "pem-pkcs8-cleartext" => Ok(KeyFormat::PemPkcs8),
            other => Err(bad_argument(format!(
                "unrecognized key format: {other} (libp2p-protobuf-cleartext or \
                 pem-pkcs8-cleartext)"
            ))),
        }
    }

    /// The file name `key export` writes by default.
    pub fn extension(self) -> &'static str {
        match self {
            KeyFormat::Libp2pProtobuf => "key",
            KeyFormat::PemPkcs8 => "pem",
        }
    }
}

fn keystore(core: &Core) -> Result<Keystore, CommandError> {
    Repo::keystore_at(core.repo.path()).map_err(failed)
}

/// A keystore error as the request's fault or the node's.
pub fn key_failed(err: KeyError) -> CommandError {
    match err {
        KeyError::Io { .. } => failed(err),
        _ => bad_argument(err),
    }
}

pub fn generate(
    core: &Core,
    name: &str,
    kind: &str,
    size: Option<usize>,
    format: IdFormat,
) -> Result<KeyOutput, CommandError> {
    if name == SELF {
        return Err(bad_argument("cannot create key with name 'self'"));
    }
    let spec = KeySpec::parse(kind, size).map_err(bad_argument)?;
    let made = keystore(core)?
        .generate_key(name, spec)
        .map_err(key_failed)?;
    Ok(KeyOutput {
        name: made.name,
        id: format.format(&made.key.public()),
    })
}

pub fn list(core: &Core, format: IdFormat) -> Result<KeyList, CommandError> {
    let keys = keystore(core)?.list().map_err(key_failed)?;
    Ok(KeyList {
        keys: keys
            .into_iter()
            .map(|k| KeyOutput {
                id: format.format(&k.key.public()),
                name: k.name,
            })
            .collect(),
    })
}

pub fn remove(core: &Core, names: &[String], format: IdFormat) -> Result<KeyList, CommandError> {
    let store = keystore(core)?;
    let mut keys = Vec::with_capacity(names.len());
    for name in names {
        let key = store.remove(name).map_err(key_failed)?;
        keys.push(KeyOutput {
            name: name.clone(),
            id: format.format(&key.public()),
        });
    }
    Ok(KeyList { keys })
}

pub fn rename(
    core: &Core,
    old: &str,
    new: &str,
    force: bool,
    format: IdFormat,
) -> Result<KeyRenamed, CommandError> {
    let store = keystore(core)?;
    let overwrite = force && store.get(new).is_ok();
    let key = store.rename(old, new, force).map_err(key_failed)?;
    Ok(KeyRenamed {
        was: old.to_string(),
        now: new.to_string(),
        id: format.format(&key.public()),
        overwrite,
    })
}

/// Reads a key file in `format`; the error says what is wrong with it,
/// never what is in it.
pub fn read_key(bytes: &[u8], format: KeyFormat) -> Result<PrivateKey, CommandError> {
    match format {
        KeyFormat::Libp2pProtobuf => PrivateKey::decode(bytes).map_err(|e| {
            if bytes.starts_with(b"-----BEGIN") {
                bad_argument(
                    "unexpected PEM block for format=libp2p-protobuf-cleartext: try again \
                     with format=pem-pkcs8-cleartext",
                )
            } else {
                bad_argument(format!(
                    "the file is not a libp2p private key (as `key export` writes one): {e}"
                ))
            }
        }),
        KeyFormat::PemPkcs8 => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| bad_argument(KeyDecodeError::BadPem("it is not text".into())))?;
            PrivateKey::from_pem(text).map_err(bad_argument)
        }
    }
}

pub fn import(
    core: &Core,
    name: &str,
    bytes: &[u8],
    format: KeyFormat,
    id_format: IdFormat,
) -> Result<KeyOutput, CommandError> {
    if name == SELF {
        return Err(bad_argument("cannot import key with name 'self'"));
    }
    let key = read_key(bytes, format)?;
    keystore(core)?.import(name, &key).map_err(key_failed)?;
    Ok(KeyOutput {
        name: name.to_string(),
        id: id_format.format(&key.keypair().public()),
    })
}

/// `key export`: the key's bytes in `format`. Run by the CLI only (as in
/// Kubo): a key never crosses the API.
pub fn export(
    repo_path: &std::path::Path,
    name: &str,
    format: KeyFormat,
) -> Result<Zeroizing<Vec<u8>>, CommandError> {
    if name == SELF {
        return Err(bad_argument("cannot export key with name 'self'"));
    }
    let store = Repo::keystore_at(repo_path).map_err(failed)?;
    let key = store.get_private(name).map_err(key_failed)?;
    match format {
        KeyFormat::Libp2pProtobuf => Ok(Zeroizing::new(key.encoded().to_vec())),
        KeyFormat::PemPkcs8 => {
            let pem = key.to_pem().map_err(failed)?;
            Ok(Zeroizing::new(pem.as_bytes().to_vec()))
        }
    }
}
