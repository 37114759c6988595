//! Which values this node keeps as a DHT server: only IPNS records, and
//! only valid ones not worse than the one already held (as Kubo's DHT
//! refuses them). What is kept is served to `GET_VALUE`.

use std::time::{Duration, Instant, SystemTime};

use crate::ipns::{Name, Record, RecordError};

/// Records are forgotten after this long even when valid longer (Kubo's
/// DHT `MaxRecordAge`); publishers put them again well before.
pub const MAX_RECORD_AGE: Duration = Duration::from_secs(36 * 3600);

const IPNS_PREFIX: &[u8] = b"/ipns/";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("only /ipns/ keys are kept")]
    NotIpns,
    #[error("the key does not name an IPNS key: {0}")]
    BadKey(String),
    #[error("invalid record for {name}: {error}")]
    Invalid { name: String, error: RecordError },
    #[error("a better record for {name} (sequence {held}) is held; refusing sequence {offered}")]
    Worse {
        name: String,
        held: u64,
        offered: u64,
    },
}

/// The name an `/ipns/<multihash>` key is for.
pub fn ipns_name(key: &[u8]) -> Result<Name, Refusal> {
    let multihash = key.strip_prefix(IPNS_PREFIX).ok_or(Refusal::NotIpns)?;
    let peer = libp2p::PeerId::from_bytes(multihash).map_err(|e| Refusal::BadKey(e.to_string()))?;
    Name::parse(&peer.to_base58()).map_err(|e| Refusal::BadKey(e.to_string()))
}

/// Judges `value` offered under `key` against `held` (the value kept
/// now, if any); on acceptance, when to forget it.
pub fn accept(
    key: &[u8],
    value: &[u8],
    held: Option<&[u8]>,
    now: SystemTime,
) -> Result<Instant, Refusal> {
    let name = ipns_name(key)?;
    let offered = Record::validate(value, &name, now).map_err(|error| Refusal::Invalid {
        name: name.to_string(),
        error,
    })?;
    // A held record that is no longer valid is simply replaced.
    if let Some(held) = held.and_then(|bytes| Record::validate(bytes, &name, now).ok())
        && held.better_than(&offered)
    {
        return Err(Refusal::Worse {
            name: name.to_string(),
            held: held.sequence,
            offered: offered.sequence,
        });
    }
    let valid_for = offered
        .eol
        .and_then(|eol| eol.duration_since(now).ok())
        .unwrap_or_default();
    Ok(Instant::now() + valid_for.min(MAX_RECORD_AGE))
}

/// Of the values found under an `/ipns/` key, the index of the best valid
/// record, if any is valid.
pub fn best<'a>(
    key: &[u8],
    values: impl IntoIterator<Item = &'a [u8]>,
    now: SystemTime,
) -> Option<usize> {
    let name = ipns_name(key).ok()?;
    let mut best: Option<(usize, Record)> = None;
    for (at, value) in values.into_iter().enumerate() {
        let Ok(record) = Record::validate(value, &name, now) else {
            continue;
        };
        if best
            .as_ref()
            .is_none_or(|(_, held)| record.better_than(held))
        {
            best = Some((at, record));
        }
    }
    best.map(|(at, _)| at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipns::record::NewRecord;
    use libp2p::identity::Keypair;

    fn record(key: &Keypair, sequence: u64, valid: Duration) -> Vec<u8> {
        Record::create(
            key,
            &NewRecord {
                value: "/ipfs/bafkqaaa",
                sequence,
                eol: SystemTime::now() + valid,
                ttl: Duration::from_secs(60),
                v1_compat: true,
            },
        )
        .unwrap()
        .to_bytes()
    }

    fn key_of(key: &Keypair) -> Vec<u8> {
        Name::of_key(&key.public()).routing_key()
    }

    #[test]
    fn a_valid_record_is_kept_no_longer_than_the_max_age_nor_its_eol() {
        let key = Keypair::generate_ed25519();
        let long = record(&key, 1, DAY * 3);
        let short = record(&key, 1, DAY / 24);
        let now = SystemTime::now();
        let until = accept(&key_of(&key), &long, None, now).unwrap();
        assert!(until <= Instant::now() + MAX_RECORD_AGE);
        let until = accept(&key_of(&key), &short, None, now).unwrap();
        assert!(until <= Instant::now() + DAY / 24);
        assert!(until > Instant::now() + DAY / 25);
    }

    const DAY: Duration = Duration::from_secs(24 * 3600);

    #[test]
    fn forged_expired_foreign_and_worse_records_are_refused() {
        let key = Keypair::generate_ed25519();
        let other = Keypair::generate_ed25519();
        let now = SystemTime::now();
        let routing_key = key_of(&key);
        // Signed by another key.
        assert!(matches!(
            accept(&routing_key, &record(&other, 1, DAY), None, now),
            Err(Refusal::Invalid { .. })
        ));
        // A flipped byte in the signed record.
        let mut flipped = record(&key, 1, DAY);
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(accept(&routing_key, &flipped, None, now).is_err());
        // Expired.
        let expired = record(&key, 1, Duration::from_millis(1));
        assert!(matches!(
            accept(&routing_key, &expired, None, now + DAY),
            Err(Refusal::Invalid {
                error: RecordError::Expired(_),
                ..
            })
        ));
        // Oversized.
        assert!(accept(&routing_key, &vec![0; 11 * 1024], None, now).is_err());
        // Not IPNS.
        assert_eq!(
            accept(b"/pk/xyz", &record(&key, 1, DAY), None, now),
            Err(Refusal::NotIpns)
        );
        // Worse than held.
        let held = record(&key, 5, DAY);
        assert!(matches!(
            accept(&routing_key, &record(&key, 4, DAY), Some(&held), now),
            Err(Refusal::Worse { held: 5, .. })
        ));
        assert!(accept(&routing_key, &record(&key, 6, DAY), Some(&held), now).is_ok());
    }

    #[test]
    fn the_best_of_several_values_is_the_highest_valid_sequence() {
        let key = Keypair::generate_ed25519();
        let other = Keypair::generate_ed25519();
        let values = [
            record(&key, 2, DAY),
            record(&other, 9, DAY),
            record(&key, 3, DAY),
            b"junk".to_vec(),
        ];
        let now = SystemTime::now();
        let found = best(&key_of(&key), values.iter().map(Vec::as_slice), now);
        assert_eq!(found, Some(2));
        assert_eq!(best(b"/pk/x", values.iter().map(Vec::as_slice), now), None);
    }
}
