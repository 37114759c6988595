//! Keeping our names alive: every `Ipns.RepublishPeriod` each of our keys
//! that has a record here gets it signed again with a fresh end of life
//! (`Ipns.RecordLifetime` from now, or the old one if later) and sent to
//! the DHT again, as Kubo's republisher does. Same value, same sequence:
//! only the validity moves.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use super::{NameError, NameSystem, Result, datastore_key, repo_error};
use crate::go_duration;
use crate::ipns::record::NewRecord;
use crate::ipns::{Name, Record};
use crate::repo::Repo;

/// Kubo's defaults.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(4 * 3600);
/// The first round comes this soon after start (or after one period if
/// shorter), as Kubo's, so a node that was down renews its names quickly.
pub const FIRST_ROUND_AFTER: Duration = Duration::from_secs(60);
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(48 * 3600);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RepublishConfig {
    pub period: Duration,
    pub lifetime: Duration,
}

impl RepublishConfig {
    /// `Ipns.RepublishPeriod` and `Ipns.RecordLifetime` from the config
    /// (Go durations; unset or empty means the default). A lifetime
    /// shorter than the period would let records expire between two
    /// republications, so it is refused, as Kubo refuses to start then.
    pub fn from_repo(repo: &Repo) -> Result<Self> {
        let read = |key: &str, default: Duration| -> Result<Duration> {
            let value = repo.config_get(key).unwrap_or_default();
            match value.as_str().unwrap_or_default() {
                "" => Ok(default),
                text => go_duration::parse(text)
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| {
                        NameError::Config(format!("{key} {text:?} is not a positive duration"))
                    }),
            }
        };
        let config = RepublishConfig {
            period: read("Ipns.RepublishPeriod", DEFAULT_PERIOD)?,
            lifetime: read("Ipns.RecordLifetime", DEFAULT_LIFETIME)?,
        };
        if config.lifetime < config.period {
            return Err(NameError::Config(format!(
                "Ipns.RecordLifetime ({}) is shorter than Ipns.RepublishPeriod ({}): records \
                 would expire before they are republished",
                go_duration::format(config.lifetime),
                go_duration::format(config.period)
            )));
        }
        Ok(config)
    }
}

/// Signs again and sends every record of ours kept here; returns how many.
/// One key failing does not stop the others.
pub fn republish_all(names: &NameSystem, repo: &Repo, lifetime: Duration) -> Result<usize> {
    let keys = Repo::keystore_at(repo.path())
        .map_err(repo_error)?
        .list()
        .map_err(repo_error)?;
    let mut done = 0;
    for key in keys {
        match republish_key(names, repo, &key.key, lifetime) {
            Ok(true) => done += 1,
            Ok(false) => {}
            Err(err) => tracing::warn!("republishing key {:?}: {err}", key.name),
        }
    }
    Ok(done)
}

/// Whether `key` had a record here to republish.
fn republish_key(
    names: &NameSystem,
    repo: &Repo,
    key: &libp2p_identity::Keypair,
    lifetime: Duration,
) -> Result<bool> {
    let name = Name::of_key(&key.public());
    // Expired or not: our own record is ours to renew.
    let Some(bytes) = repo
        .datastore()
        .map_err(repo_error)?
        .get(&datastore_key(&name))
        .map_err(repo_error)?
    else {
        return Ok(false);
    };
    let held = Record::decode(&bytes).map_err(|error| NameError::BadRecord {
        name: name.to_string(),
        error,
    })?;
    let fresh = SystemTime::now() + lifetime;
    let record = Record::create(
        key,
        &NewRecord {
            value: &held.value_text(),
            sequence: held.sequence,
            eol: held.eol.filter(|old| *old > fresh).unwrap_or(fresh),
            ttl: held.ttl,
            v1_compat: held.has_v1(),
        },
    )
    .map_err(|error| NameError::BadRecord {
        name: name.to_string(),
        error,
    })?;
    let peers = names.publish(repo, &name, &record)?;
    tracing::info!("republished {name} to {peers} peers");
    Ok(true)
}

/// The background republisher; dropping it stops it (a republication
/// under way finishes on its own).
pub struct Republisher {
    _stop: mpsc::Sender<()>,
    _thread: JoinHandle<()>,
}

impl Republisher {
    pub fn start(
        names: Arc<NameSystem>,
        repo: Arc<Repo>,
        config: RepublishConfig,
    ) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("ipns-republish".into())
            .spawn(move || {
                let mut wait = config.period.min(FIRST_ROUND_AFTER);
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(wait) {
                    wait = config.period;
                    match republish_all(&names, &repo, config.lifetime) {
                        Ok(count) => tracing::debug!("republished {count} names"),
                        Err(err) => tracing::warn!("republishing names: {err}"),
                    }
                }
            })?;
        Ok(Republisher {
            _stop: stop,
            _thread: thread,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::InitOptions;

    #[test]
    fn our_records_are_renewed_with_the_same_value_and_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::init(dir.path(), &InitOptions::default()).unwrap();
        let names = NameSystem::new(None, None);
        let key = repo.keypair().unwrap();
        let name = Name::of_key(&key.public());
        assert_eq!(republish_all(&names, &repo, DEFAULT_LIFETIME).unwrap(), 0);
        let short = Record::create(
            &key,
            &NewRecord {
                value: "/ipfs/bafkqaaa",
                sequence: 7,
                eol: SystemTime::now() + Duration::from_secs(60),
                ttl: Duration::from_secs(30),
                v1_compat: true,
            },
        )
        .unwrap();
        names.keep_record(&repo, &name, &short).unwrap();
        assert_eq!(republish_all(&names, &repo, DEFAULT_LIFETIME).unwrap(), 1);
        let renewed = names.stored_record(&repo, &name).unwrap().unwrap();
        assert_eq!(renewed.value_text(), "/ipfs/bafkqaaa");
        assert_eq!(renewed.sequence, 7);
        assert_eq!(renewed.ttl, Duration::from_secs(30));
        assert!(renewed.eol.unwrap() > SystemTime::now() + DEFAULT_LIFETIME / 2);
        assert!(renewed.better_than(&short));
    }

    #[test]
    fn a_lifetime_shorter_than_the_period_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::init(dir.path(), &InitOptions::default()).unwrap();
        assert_eq!(
            RepublishConfig::from_repo(&repo).unwrap(),
            RepublishConfig {
                period: DEFAULT_PERIOD,
                lifetime: DEFAULT_LIFETIME
            }
        );
        repo.config_set("Ipns.RepublishPeriod", "2s".into())
            .unwrap();
        repo.config_set("Ipns.RecordLifetime", "1s".into()).unwrap();
        let err = RepublishConfig::from_repo(&repo).unwrap_err();
        assert!(err.to_string().contains("shorter than"), "{err}");
        repo.config_set("Ipns.RecordLifetime", "1m".into()).unwrap();
        assert_eq!(
            RepublishConfig::from_repo(&repo).unwrap().period,
            Duration::from_secs(2)
        );
    }
}
