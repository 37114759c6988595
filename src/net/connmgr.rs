//! Kubo's basic connection manager: once more than `high` connections are
//! open, the least useful peers are disconnected until `low` remain. Peers
//! connected for less than the grace period and protected peers (peering)
//! are never chosen.

use std::time::{Duration, Instant};

/// `Swarm.ConnMgr` (Kubo's defaults: LowWater 32, HighWater 96, 20 s).
#[derive(Clone, Debug, PartialEq)]
pub struct Watermarks {
    pub low: usize,
    pub high: usize,
    pub grace: Duration,
}

impl Default for Watermarks {
    fn default() -> Self {
        Watermarks {
            low: 32,
            high: 96,
            grace: Duration::from_secs(20),
        }
    }
}

/// A connected peer as the trimmer sees it.
#[derive(Clone, Debug)]
pub struct Connected<P> {
    pub peer: P,
    /// Open connections to it.
    pub connections: usize,
    /// When its first open connection was established.
    pub since: Instant,
    pub protected: bool,
    /// Bytes of blocks exchanged with it: higher is more useful.
    pub useful: u64,
}

/// The peers to disconnect now, least useful first (the oldest among
/// equals: a young connection has had less time to prove itself).
pub fn to_trim<P: Clone>(marks: &Watermarks, peers: &[Connected<P>], now: Instant) -> Vec<P> {
    let total: usize = peers.iter().map(|p| p.connections).sum();
    if total <= marks.high {
        return Vec::new();
    }
    let mut candidates: Vec<&Connected<P>> = peers
        .iter()
        .filter(|p| !p.protected && now.saturating_duration_since(p.since) >= marks.grace)
        .collect();
    candidates.sort_by_key(|p| (p.useful, p.since));
    let mut open = total;
    let mut trimmed = Vec::new();
    for candidate in candidates {
        if open <= marks.low {
            break;
        }
        open = open.saturating_sub(candidate.connections);
        trimmed.push(candidate.peer.clone());
    }
    trimmed
}

/// Kubo's peering service backoff: 5 s at first, growing by half (with
/// ±10% jitter) up to 10 minutes while the peer stays unreachable.
#[derive(Clone, Debug)]
pub struct Backoff {
    next: Duration,
}

pub const PEERING_FIRST_DELAY: Duration = Duration::from_secs(5);
pub const PEERING_MAX_DELAY: Duration = Duration::from_secs(600);

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: PEERING_FIRST_DELAY,
        }
    }
}

impl Backoff {
    /// The delay before the next attempt, `jitter` in [0, 1) spreading it
    /// by ±10%; each call makes the following one longer.
    pub fn next_delay(&mut self, jitter: f64) -> Duration {
        let delay = self.next.mul_f64(0.9 + 0.2 * jitter.clamp(0.0, 1.0));
        self.next = (self.next + self.next / 2).min(PEERING_MAX_DELAY);
        delay.min(PEERING_MAX_DELAY)
    }

    /// Connected again: the next loss starts from the first delay.
    pub fn reset(&mut self) {
        self.next = PEERING_FIRST_DELAY;
    }
}

/// A jitter in [0, 1) from the system's random source (0.5 without one).
pub fn jitter() -> f64 {
    getrandom::u64()
        .map(|r| (r >> 11) as f64 / (1u64 << 53) as f64)
        .unwrap_or(0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(id: u32, age: u64, protected: bool, useful: u64, now: Instant) -> Connected<u32> {
        Connected {
            peer: id,
            connections: 1,
            since: now - Duration::from_secs(age),
            protected,
            useful,
        }
    }

    #[test]
    fn nothing_is_trimmed_up_to_the_high_watermark() {
        let now = Instant::now();
        let marks = Watermarks {
            low: 2,
            high: 4,
            grace: Duration::from_secs(1),
        };
        let peers: Vec<_> = (0..4).map(|i| peer(i, 10, false, 0, now)).collect();
        assert!(to_trim(&marks, &peers, now).is_empty());
    }

    #[test]
    fn trims_down_to_the_low_watermark_sparing_protected_and_young_peers() {
        let now = Instant::now();
        let marks = Watermarks {
            low: 3,
            high: 5,
            grace: Duration::from_secs(20),
        };
        let peers = vec![
            peer(0, 100, true, 0, now),
            peer(1, 100, false, 500, now),
            peer(2, 100, false, 0, now),
            peer(3, 5, false, 0, now),
            peer(4, 90, false, 10, now),
            peer(5, 100, false, 0, now),
        ];
        let mut trimmed = to_trim(&marks, &peers, now);
        trimmed.sort();
        // The two least useful old peers go; the protected one (0), the
        // young one (3) and the most useful (1) stay.
        assert_eq!(trimmed, vec![2, 4, 5]);
    }

    #[test]
    fn backoff_grows_with_jitter_and_stops_at_ten_minutes() {
        let mut backoff = Backoff::default();
        let first = backoff.next_delay(0.5);
        assert_eq!(first, Duration::from_secs(5));
        let second = backoff.next_delay(0.0);
        assert_eq!(second, Duration::from_millis(6750));
        for _ in 0..40 {
            backoff.next_delay(1.0);
        }
        assert_eq!(backoff.next_delay(0.5), PEERING_MAX_DELAY);
        backoff.reset();
        assert_eq!(backoff.next_delay(0.5), Duration::from_secs(5));
    }
}
