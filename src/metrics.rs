//! Prometheus metrics (`/debug/metrics/prometheus` on the API port): one
//! registry, owned by the serving process and passed down. Layers record
//! through small handles ([`GatewayMetrics`], [`FuseMetrics`]); counters
//! other layers already keep (bitswap, the DHT, the repository's usage) are
//! read when scraped, through the sources given to [`Metrics`].

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::net::StatsSnapshot;

/// The content type of the text the scrape answers (OpenMetrics, which
/// Prometheus reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets, in seconds: 50 µs to about 52 s, each 4 times the last.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 4.0, 11))
}

type OpLabels = [(&'static str, &'static str); 1];
type LatencyFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// What the gateway records for each answer.
#[derive(Clone)]
pub struct GatewayMetrics {
    requests: Family<[(&'static str, u16); 1], Counter>,
    sent: Counter,
    latency: Histogram,
}

impl GatewayMetrics {
    /// An answer with `status`, its head ready after `took`.
    pub fn answered(&self, status: u16, took: Duration) {
        self.requests.get_or_create(&[("code", status)]).inc();
        self.latency.observe(took.as_secs_f64());
    }

    /// Body bytes written to a client.
    pub fn sent(&self, bytes: usize) {
        self.sent.inc_by(bytes as u64);
    }
}

/// What the FUSE adapters record for each kernel request.
#[derive(Clone)]
pub struct FuseMetrics {
    ops: Family<OpLabels, Counter>,
    errors: Family<OpLabels, Counter>,
    latency: LatencyFamily<OpLabels>,
}

impl fmt::Debug for FuseMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FuseMetrics")
    }
}

impl FuseMetrics {
    /// Runs `op` (named `name`) and records its outcome and duration.
    pub fn timed<T, E>(
        &self,
        name: &'static str,
        op: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let started = Instant::now();
        let result = op();
        self.record(name, started.elapsed(), result.is_ok());
        result
    }

    pub fn record(&self, name: &'static str, took: Duration, ok: bool) {
        let labels = [("op", name)];
        self.ops.get_or_create(&labels).inc();
        if !ok {
            self.errors.get_or_create(&labels).inc();
        }
        self.latency
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }
}

/// Reads bitswap and DHT counters when scraped.
pub type NetworkSource = Box<dyn Fn() -> StatsSnapshot + Send + Sync>;
/// Reads (blocks, bytes) of the repository when scraped; None while not
/// yet counted.
pub type RepoSource = Box<dyn Fn() -> Option<(u64, u64)> + Send + Sync>;

pub struct Metrics {
    registry: Registry,
    pub gateway: GatewayMetrics,
    pub fuse: FuseMetrics,
    sources: Arc<Sources>,
}

#[derive(Default)]
struct Sources {
    network: Mutex<Option<NetworkSource>>,
    repo: Mutex<Option<RepoSource>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("rsipfs");
        let gateway = GatewayMetrics {
            requests: Family::default(),
            sent: Counter::default(),
            latency: latency_histogram(),
        };
        let http = registry.sub_registry_with_prefix("gateway");
        http.register(
            "requests",
            "Gateway answers, by HTTP status code",
            gateway.requests.clone(),
        );
        http.register_with_unit(
            "sent",
            "Body bytes the gateway sent",
            Unit::Bytes,
            gateway.sent.clone(),
        );
        http.register_with_unit(
            "request_duration",
            "Time from a gateway request to its answer's head",
            Unit::Seconds,
            gateway.latency.clone(),
        );
        let fuse = FuseMetrics {
            ops: Family::default(),
            errors: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
        };
        let mounts = registry.sub_registry_with_prefix("fuse");
        mounts.register("operations", "FUSE requests, by type", fuse.ops.clone());
        mounts.register(
            "errors",
            "FUSE requests answered with an error, by type",
            fuse.errors.clone(),
        );
        mounts.register_with_unit(
            "operation_duration",
            "Time to answer a FUSE request, by type",
            Unit::Seconds,
            fuse.latency.clone(),
        );
        let sources = Arc::new(Sources::default());
        registry.register_collector(Box::new(Scraped(Arc::clone(&sources))));
        Metrics {
            registry,
            gateway,
            fuse,
            sources,
        }
    }

    /// Where bitswap and DHT counters are read from (online only).
    pub fn watch_network(&self, source: NetworkSource) {
        if let Ok(mut network) = self.sources.network.lock() {
            *network = Some(source);
        }
    }

    /// Where the repository's block count and size are read from.
    pub fn watch_repo(&self, source: RepoSource) {
        if let Ok(mut repo) = self.sources.repo.lock() {
            *repo = Some(source);
        }
    }

    /// Every metric, in the OpenMetrics text format.
    pub fn encode(&self) -> Result<String, fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The metrics read from other layers' counters at each scrape.
struct Scraped(Arc<Sources>);

impl fmt::Debug for Scraped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scraped")
    }
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: u64,
) -> fmt::Result {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, unit, metric.metric_type())?)
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: u64,
) -> fmt::Result {
    let metric = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
    metric.encode(encoder.encode_descriptor(name, help, unit, metric.metric_type())?)
}

impl Collector for Scraped {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let bytes = Some(&Unit::Bytes);
        let network = self
            .0
            .network
            .lock()
            .ok()
            .and_then(|source| source.as_ref().map(|read| read()));
        if let Some(stats) = network {
            let e = &mut encoder;
            counter(
                e,
                "bitswap_blocks_received",
                "Blocks received over bitswap, duplicates included",
                None,
                stats.blocks_received,
            )?;
            counter(
                e,
                "bitswap_received",
                "Bytes of blocks received over bitswap",
                bytes,
                stats.data_received,
            )?;
            counter(
                e,
                "bitswap_duplicate_blocks_received",
                "Blocks received that were here already",
                None,
                stats.dup_blocks_received,
            )?;
            counter(
                e,
                "bitswap_duplicate_received",
                "Bytes of blocks received that were here already",
                bytes,
                stats.dup_data_received,
            )?;
            counter(
                e,
                "bitswap_blocks_sent",
                "Blocks sent to peers over bitswap",
                None,
                stats.blocks_sent,
            )?;
            counter(
                e,
                "bitswap_sent",
                "Bytes of blocks sent to peers over bitswap",
                bytes,
                stats.data_sent,
            )?;
            gauge(
                e,
                "bitswap_wantlist_blocks",
                "Blocks wanted from the network now",
                None,
                stats.wantlist,
            )?;
            gauge(
                e,
                "dht_routing_table_peers",
                "Peers in the DHT's routing table",
                None,
                stats.routing_table_peers,
            )?;
            counter(
                e,
                "dht_provides",
                "Provider records announced in the DHT",
                None,
                stats.provides,
            )?;
        }
        let repo = self
            .0
            .repo
            .lock()
            .ok()
            .and_then(|source| source.as_ref().and_then(|read| read()));
        if let Some((blocks, size)) = repo {
            gauge(
                &mut encoder,
                "repo_blocks",
                "Blocks in the repository",
                None,
                blocks,
            )?;
            gauge(
                &mut encoder,
                "repo_size",
                "Bytes of blocks in the repository",
                bytes,
                size,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_and_sources_show_in_the_text() {
        let metrics = Metrics::new();
        metrics.gateway.answered(200, Duration::from_millis(3));
        metrics.gateway.sent(42);
        let _ = metrics.fuse.timed("read", || Err::<(), _>(()));
        metrics.watch_network(Box::new(|| StatsSnapshot {
            blocks_received: 7,
            wantlist: 2,
            ..StatsSnapshot::default()
        }));
        metrics.watch_repo(Box::new(|| Some((3, 1000))));
        let text = metrics.encode().unwrap();
        for line in [
            "rsipfs_gateway_requests_total{code=\"200\"} 1",
            "rsipfs_gateway_sent_bytes_total 42",
            "rsipfs_gateway_request_duration_seconds_count 1",
            "rsipfs_fuse_operations_total{op=\"read\"} 1",
            "rsipfs_fuse_errors_total{op=\"read\"} 1",
            "rsipfs_bitswap_blocks_received_total 7",
            "rsipfs_bitswap_wantlist_blocks 2",
            "rsipfs_repo_blocks 3",
            "rsipfs_repo_size_bytes 1000",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
