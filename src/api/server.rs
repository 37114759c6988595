//! How the API and the gateway take connections. Each listener serves at
//! most `Limits::max_connections` at once: one more is accepted and closed
//! at once, so a flood costs a socket for a moment and never a waiting slot
//! in the backlog ahead of real clients. A connection must send each request
//! head within `Limits::header_timeout`; hyper starts that clock when it
//! waits for a head, between keep-alive requests too, so the same deadline
//! closes idle connections. Bodies have no deadline: a slow upload or
//! download that keeps moving is never cut.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::{Semaphore, watch};

/// What a listener allows its clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Time to send a request head, and to stay idle between requests.
    pub header_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

impl Limits {
    /// The defaults with what a config section (`API`, `Gateway`) sets:
    /// `ReadHeaderTimeout` as a duration ("30s", "500ms", "2m") and
    /// `MaxConnections` as a positive number.
    pub fn from_config(section: &serde_json::Value) -> Result<Self, String> {
        let mut limits = Limits::default();
        if let Some(value) = section.get("ReadHeaderTimeout") {
            let text = value
                .as_str()
                .ok_or_else(|| format!("ReadHeaderTimeout {value}: not a duration string"))?;
            limits.header_timeout = crate::go_duration::parse(text)
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    format!("ReadHeaderTimeout {text:?}: not a duration like \"30s\"")
                })?;
        }
        if let Some(value) = section.get("MaxConnections") {
            let count = match value {
                serde_json::Value::String(text) => text.parse().ok(),
                other => other.as_u64(),
            };
            limits.max_connections = count
                .filter(|&n| n > 0)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| format!("MaxConnections {value}: not a positive number"))?;
        }
        Ok(limits)
    }
}

/// A running HTTP server; stopping or dropping it ends its connections
/// (those mid-request finish first).
pub struct ApiServer {
    pub addr: SocketAddr,
    stop: Option<watch::Sender<bool>>,
    threads: Vec<JoinHandle<()>>,
}

/// Serves `app` on `addr` (port 0 picks one) until the returned server is
/// stopped: one thread per core (named after `name`), each with a runtime
/// of its own that accepts from the shared listener and serves what it
/// accepted to the end. A request is then parsed, answered and written by
/// one thread, with no hand-off between workers: on a multi-threaded
/// runtime those wake-ups cost as much as a small file's whole answer.
pub fn serve(
    addr: SocketAddr,
    app: Router,
    name: &str,
    limits: Limits,
) -> std::io::Result<ApiServer> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8));
    let shared = Shared {
        slots: Arc::new(Semaphore::new(limits.max_connections)),
        trim: Arc::new(TrimAfterFlood::new(limits.max_connections)),
        limits,
    };
    let (stop, stopped) = watch::channel(false);
    let mut threads = Vec::with_capacity(workers);
    for worker in 0..workers {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .thread_name(name)
            .max_blocking_threads(64)
            .enable_all()
            .build()?;
        let listener = listener.try_clone()?;
        let (app, shared, stopped) = (app.clone(), shared.clone(), stopped.clone());
        let thread = std::thread::Builder::new()
            .name(format!("{name}-{worker}"))
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => accept_loop(listener, app, shared, stopped).await,
                        Err(err) => tracing::error!("HTTP listener: {err}"),
                    }
                });
            })?;
        threads.push(thread);
    }
    Ok(ApiServer {
        addr,
        stop: Some(stop),
        threads,
    })
}

/// What the threads of one server share: its connection slots and limits.
#[derive(Clone)]
struct Shared {
    slots: Arc<Semaphore>,
    trim: Arc<TrimAfterFlood>,
    limits: Limits,
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    shared: Shared,
    mut stopped: watch::Receiver<bool>,
) {
    let Shared {
        slots,
        trim,
        limits,
    } = shared;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let (closing, closing_seen) = watch::channel(false);
    loop {
        let stream = tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    pause_after_accept_error(err).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::debug!(
                "{} connections open: closing a new one",
                limits.max_connections
            );
            drop(stream);
            continue;
        };
        trim.opened();
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let mut closing_seen = closing_seen.clone();
        let trim = Arc::clone(&trim);
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => Some(ended),
                _ = closing_seen.changed() => None,
            };
            let ended = match ended {
                Some(ended) => ended,
                None => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = ended {
                tracing::debug!("HTTP connection: {err}");
            }
            drop(slot);
            trim.closed().await;
        });
    }
    let _ = closing.send(true);
    // Every slot back means every connection has ended, those of the other
    // threads too (they are stopping as well).
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}

/// Too many open files and the like: wait for some to close rather than
/// spin; a connection that failed before it was taken is no one's problem.
async fn pause_after_accept_error(err: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!("accepting HTTP connections: {err}");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// After a burst of connections the memory they freed is handed back once
/// most of them have gone, so a flood does not leave the process larger
/// than before.
struct TrimAfterFlood {
    open: AtomicUsize,
    /// Most open at once since the last trim.
    peak: AtomicUsize,
    /// A burst worth trimming after.
    burst: usize,
}

impl TrimAfterFlood {
    fn new(max_connections: usize) -> Self {
        TrimAfterFlood {
            open: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            burst: (max_connections / 4).clamp(1, 256),
        }
    }

    fn opened(&self) {
        let open = self.open.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(open, Ordering::Relaxed);
    }

    /// Trims once the connections open have fallen to an eighth of a
    /// burst's peak.
    async fn closed(&self) {
        let open = self.open.fetch_sub(1, Ordering::Relaxed) - 1;
        let peak = self.peak.load(Ordering::Relaxed);
        if peak < self.burst || open > peak / 8 {
            return;
        }
        if self
            .peak
            .compare_exchange(peak, open, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let _ = tokio::task::spawn_blocking(crate::memory::release_freed_memory).await;
    }
}

impl ApiServer {
    /// The multiaddr clients read from the repository's `api` file.
    pub fn multiaddr(&self) -> String {
        let ip = match self.addr {
            SocketAddr::V4(a) => format!("/ip4/{}", a.ip()),
            SocketAddr::V6(a) => format!("/ip6/{}", a.ip()),
        };
        format!("{ip}/tcp/{}", self.addr.port())
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_come_from_the_config_section_or_default() {
        let none = serde_json::json!({});
        assert_eq!(Limits::from_config(&none), Ok(Limits::default()));
        let set = serde_json::json!({"ReadHeaderTimeout": "1500ms", "MaxConnections": 8});
        assert_eq!(
            Limits::from_config(&set),
            Ok(Limits {
                header_timeout: Duration::from_millis(1500),
                max_connections: 8
            })
        );
        let as_text = serde_json::json!({"ReadHeaderTimeout": "2m", "MaxConnections": "16"});
        let limits = Limits::from_config(&as_text).unwrap();
        assert_eq!(limits.header_timeout, Duration::from_secs(120));
        assert_eq!(limits.max_connections, 16);
        for bad in [
            serde_json::json!({"ReadHeaderTimeout": "30"}),
            serde_json::json!({"ReadHeaderTimeout": "0s"}),
            serde_json::json!({"ReadHeaderTimeout": 30}),
            serde_json::json!({"ReadHeaderTimeout": "s"}),
            serde_json::json!({"MaxConnections": 0}),
            serde_json::json!({"MaxConnections": "many"}),
        ] {
            assert!(Limits::from_config(&bad).is_err(), "{bad}");
        }
    }
}
