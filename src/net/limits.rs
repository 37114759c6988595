//! Resource limits against connection and stream floods, derived as Kubo
//! derives its resource manager's defaults from `Swarm.ResourceMgr`:
//! `MaxMemory` (default half the system's memory) and `MaxFileDescriptors`
//! (default half the process's descriptor limit).

/// Limits enforced by libp2p's `connection_limits` and the muxers.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Established inbound connections, all peers together.
    pub inbound: u32,
    /// Inbound connections still in their handshake.
    pub pending_inbound: u32,
    /// Established connections to one peer (go-libp2p's per-peer default).
    pub per_peer: u32,
    /// Streams open at once on one connection (yamux and QUIC).
    pub streams_per_connection: usize,
}

const MIB: u64 = 1 << 20;

impl Limits {
    /// Kubo allows about one inbound connection per MiB of `max_memory`,
    /// bounded by the descriptors (half of them, the rest for the
    /// repository, the API and outbound dials).
    pub fn derive(max_memory: u64, max_fds: u64) -> Limits {
        let by_memory = max_memory / MIB;
        let by_fds = max_fds / 2;
        let inbound = by_memory.min(by_fds).clamp(4, u32::MAX as u64) as u32;
        Limits {
            inbound,
            pending_inbound: (inbound / 4).max(16),
            per_peer: 8,
            streams_per_connection: 256,
        }
    }

    /// Kubo's defaults: half the system's memory and of the descriptor limit.
    pub fn system_defaults() -> Limits {
        Limits::derive(system_memory() / 2, fd_limit() / 2)
    }
}

/// Total memory from /proc/meminfo (1 GiB when it cannot be read).
pub fn system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(1 << 30)
}

/// The soft limit on open descriptors (1024 when it cannot be read).
pub fn fd_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse().ok()
        })
        .unwrap_or(1024)
}

/// A size as Kubo's config writes it (go-humanize): `512MB`, `4GiB`,
/// `1000000` (bytes).
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "mb" | "m" => 1_000_000,
        "gb" | "g" => 1_000_000_000,
        "tb" | "t" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return None,
    };
    (number >= 0.0).then_some((number * scale as f64) as u64)
}

/// Refused connections, logged at most once per interval with how many
/// there were: a flood must not flood the log too.
#[derive(Debug)]
pub struct RefusalLog {
    every: std::time::Duration,
    last: Option<std::time::Instant>,
    unlogged: u64,
}

impl RefusalLog {
    pub fn new(every: std::time::Duration) -> Self {
        RefusalLog {
            every,
            last: None,
            unlogged: 0,
        }
    }

    /// Counts a refusal; the number to log now, if a line is due.
    pub fn refused(&mut self, now: std::time::Instant) -> Option<u64> {
        self.unlogged += 1;
        if self
            .last
            .is_some_and(|last| now.saturating_duration_since(last) < self.every)
        {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.unlogged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_or_descriptors_bound_the_inbound_connections() {
        assert_eq!(Limits::derive(512 * MIB, 100_000).inbound, 512);
        assert_eq!(Limits::derive(8 << 30, 256).inbound, 128);
        let tiny = Limits::derive(MIB, 2);
        assert_eq!((tiny.inbound, tiny.pending_inbound), (4, 16));
    }

    #[test]
    fn refusals_are_logged_once_per_interval_with_their_count() {
        let start = std::time::Instant::now();
        let mut log = RefusalLog::new(std::time::Duration::from_secs(10));
        assert_eq!(log.refused(start), Some(1));
        for _ in 0..99 {
            assert_eq!(log.refused(start), None);
        }
        assert_eq!(
            log.refused(start + std::time::Duration::from_secs(11)),
            Some(100)
        );
    }

    #[test]
    fn sizes_read_as_kubo_writes_them() {
        assert_eq!(parse_size("64MB"), Some(64_000_000));
        assert_eq!(parse_size("2GiB"), Some(2 << 30));
        assert_eq!(parse_size("1.5 kB"), Some(1500));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("lots"), None);
    }

    #[test]
    fn system_figures_are_read() {
        assert!(system_memory() > 16 * MIB);
        assert!(fd_limit() >= 16);
    }
}
