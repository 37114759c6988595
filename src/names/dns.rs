//! TXT lookups through the system's resolver (`/etc/resolv.conf`), for
//! DNSLink. hickory-resolver is async: it runs on a one-thread runtime of
//! its own, started on the first lookup, so sync callers and callers inside
//! another runtime alike just wait on a channel, with a deadline.

use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::RData;

use super::{DnsLinkLookup, TxtAnswer};

/// The resolver of this process, shared by every name system.
pub fn system() -> Arc<dyn DnsLinkLookup> {
    static SYSTEM: LazyLock<Arc<SystemDns>> = LazyLock::new(|| Arc::new(SystemDns::default()));
    Arc::clone(&*SYSTEM) as Arc<dyn DnsLinkLookup>
}

/// hickory-resolver on its runtime; made when first needed, and again after
/// a failure to make it (a resolv.conf that was missing may appear).
#[derive(Default)]
pub struct SystemDns {
    running: Mutex<Option<Arc<Running>>>,
}

struct Running {
    runtime: tokio::runtime::Runtime,
    resolver: TokioResolver,
}

impl SystemDns {
    fn running(&self) -> Result<Arc<Running>, String> {
        let mut running = self
            .running
            .lock()
            .map_err(|_| "the DNS resolver's lock is poisoned".to_string())?;
        if let Some(running) = running.as_ref() {
            return Ok(Arc::clone(running));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("dnslink")
            .enable_all()
            .build()
            .map_err(|e| format!("starting the DNS resolver: {e}"))?;
        let resolver = {
            let _inside = runtime.enter();
            let mut builder = TokioResolver::builder_tokio()
                .map_err(|e| format!("reading the system's DNS configuration: {e}"))?;
            // The name system caches each answer for its TTL; a second
            // cache here would only keep `--nocache` from asking again.
            builder.options_mut().cache_size = 0;
            builder
                .build()
                .map_err(|e| format!("starting the DNS resolver: {e}"))?
        };
        let started = Arc::new(Running { runtime, resolver });
        *running = Some(Arc::clone(&started));
        Ok(started)
    }
}

impl DnsLinkLookup for SystemDns {
    fn txt(&self, name: &str, limit: Duration) -> Result<TxtAnswer, String> {
        let running = self.running()?;
        let (answer, wait) = sync_channel(1);
        let resolver = running.resolver.clone();
        let query = name.to_string();
        running.runtime.spawn(async move {
            let found = tokio::time::timeout(limit, resolver.txt_lookup(query)).await;
            let _ = answer.send(found);
        });
        let found = match wait.recv_timeout(limit + Duration::from_secs(1)) {
            Ok(Ok(found)) => found,
            Ok(Err(_)) | Err(RecvTimeoutError::Timeout) => {
                return Err(format!("no DNS answer for {name} within {limit:?}"));
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(format!("the DNS lookup of {name} stopped"));
            }
        };
        let lookup = match found {
            Ok(lookup) => lookup,
            Err(err) if err.is_no_records_found() => return Ok(TxtAnswer::default()),
            Err(err) => {
                return Err(format!(
                    "TXT {name} from the servers of /etc/resolv.conf: {err}"
                ));
            }
        };
        let mut texts = Vec::new();
        let mut ttl = None::<u32>;
        for record in lookup.answers() {
            if let RData::TXT(txt) = &record.data {
                let bytes: Vec<u8> = txt
                    .txt_data
                    .iter()
                    .flat_map(|s| s.iter().copied())
                    .collect();
                texts.push(String::from_utf8_lossy(&bytes).into_owned());
                ttl = Some(ttl.map_or(record.ttl, |t| t.min(record.ttl)));
            }
        }
        Ok(TxtAnswer {
            texts,
            ttl: Duration::from_secs(ttl.unwrap_or(0).into()),
        })
    }
}
