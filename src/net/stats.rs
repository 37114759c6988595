//! Bitswap counters, as `ipfs bitswap stat` reports them, and the DHT's
//! gauges; shared by the swarm task, the server workers and whoever asks
//! (the API, the metrics scrape).

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Stats {
    blocks_received: AtomicU64,
    data_received: AtomicU64,
    dup_blocks_received: AtomicU64,
    dup_data_received: AtomicU64,
    blocks_sent: AtomicU64,
    data_sent: AtomicU64,
    wantlist: AtomicU64,
    routing_table_peers: AtomicU64,
    provides: AtomicU64,
    provides_queued: AtomicU64,
    last_reprovide_nanos: AtomicU64,
    last_reprovide_batch: AtomicU64,
}

/// What `stats provide` shows (Kubo's fields).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProvideStats {
    /// CIDs announced since start (each to both DHTs), their queries over.
    pub total_provides: u64,
    /// CIDs waiting to be announced, or being announced.
    pub queued: u64,
    /// How long the last reprovide round took to hand its CIDs out.
    pub last_reprovide_duration: std::time::Duration,
    /// How many CIDs the last round announced.
    pub last_reprovide_batch_size: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Verified blocks received, wanted or not.
    pub blocks_received: u64,
    pub data_received: u64,
    /// Received blocks we already had (another peer sent them first).
    pub dup_blocks_received: u64,
    pub dup_data_received: u64,
    pub blocks_sent: u64,
    pub data_sent: u64,
    /// Blocks wanted from the network right now.
    pub wantlist: u64,
    /// Peers in the DHT's routing table.
    pub routing_table_peers: u64,
    /// Provider records announced in the DHT (each CID each time).
    pub provides: u64,
}

impl Stats {
    pub fn received(&self, bytes: usize, duplicate: bool) {
        self.blocks_received.fetch_add(1, Ordering::Relaxed);
        self.data_received
            .fetch_add(bytes as u64, Ordering::Relaxed);
        if duplicate {
            self.dup_blocks_received.fetch_add(1, Ordering::Relaxed);
            self.dup_data_received
                .fetch_add(bytes as u64, Ordering::Relaxed);
        }
    }

    pub fn sent(&self, blocks: usize, bytes: usize) {
        self.blocks_sent.fetch_add(blocks as u64, Ordering::Relaxed);
        self.data_sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub fn set_wantlist(&self, wanted: usize) {
        self.wantlist.store(wanted as u64, Ordering::Relaxed);
    }

    pub fn set_routing_table_peers(&self, peers: usize) {
        self.routing_table_peers
            .store(peers as u64, Ordering::Relaxed);
    }

    pub fn provided(&self, cids: usize) {
        self.provides.fetch_add(cids as u64, Ordering::Relaxed);
    }

    pub fn provides_queued(&self, cids: usize) {
        self.provides_queued.store(cids as u64, Ordering::Relaxed);
    }

    pub fn reprovided(&self, cids: usize, took: std::time::Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.last_reprovide_nanos.store(nanos, Ordering::Relaxed);
        self.last_reprovide_batch
            .store(cids as u64, Ordering::Relaxed);
    }

    pub fn provide_stats(&self) -> ProvideStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ProvideStats {
            total_provides: get(&self.provides),
            queued: get(&self.provides_queued),
            last_reprovide_duration: std::time::Duration::from_nanos(get(
                &self.last_reprovide_nanos
            )),
            last_reprovide_batch_size: get(&self.last_reprovide_batch),
        }
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        StatsSnapshot {
            blocks_received: get(&self.blocks_received),
            data_received: get(&self.data_received),
            dup_blocks_received: get(&self.dup_blocks_received),
            dup_data_received: get(&self.dup_data_received),
            blocks_sent: get(&self.blocks_sent),
            data_sent: get(&self.data_sent),
            wantlist: get(&self.wantlist),
            routing_table_peers: get(&self.routing_table_peers),
            provides: get(&self.provides),
        }
    }
}
