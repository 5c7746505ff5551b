//! The accept loop: takes an already-bound listener and a shutdown future, caps connections,
//! serves each connection on its own task with hyper's HTTP/1 server, and drains in-flight
//! requests on shutdown.
//!
//! Slow or idle clients are cut off by a per-connection watchdog rather than hyper's per-request
//! header timer: a connection with no request being served and nothing written for
//! `header_read_timeout` is closed (within a quarter of that time). A client trickling header
//! bytes never completes a request, so it is closed; a drip-fed response keeps writing, so it is
//! not. The watchdog costs one timer per connection per quarter period instead of one timer
//! per request, which is about 12% of the mock's CPU at 1-item requests.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};

use crate::state::Shared;

/// The contract-shaped FAILED body of a 503 at the connection cap.
fn busy_body() -> &'static str {
    static BODY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BODY.get_or_init(|| {
        stockwire_schema::exchange::ResponseBuilder::from_model(
            &stockwire_schema::InventoryResponse::rejected(),
        )
        .message("too many connections, try again shortly")
        .build()
        .to_string()
    })
}

/// Refusals that may linger (read and discard) at once; beyond it a refused client is closed
/// right after its answer.
const LINGERING_REFUSALS: usize = 64;
/// At most one WARN about refused connections per this period.
const WARN_EVERY: Duration = Duration::from_secs(10);
/// How long a new client waits for the connection closed in its favour to let go.
const EVICTION_WAIT: Duration = Duration::from_secs(2);

/// One open connection as the accept loop sees it.
struct Slot {
    activity: Arc<Activity>,
    evict: Arc<Notify>,
    /// Asked to close in a new client's favour: not chosen again while it lets go, so a
    /// burst of new clients closes as many idle connections as it needs.
    evicting: bool,
}

/// The open connections, to find the longest-idle one when the cap is reached.
#[derive(Default)]
struct Registry {
    next: u64,
    open: HashMap<u64, Slot>,
}

impl Registry {
    /// Asks the connection idle for the longest time (no request in service, not already
    /// asked) to close; false when every connection is busy or already leaving.
    fn evict_longest_idle(&mut self) -> bool {
        let victim = self
            .open
            .values_mut()
            .filter(|s| !s.evicting && s.activity.in_service.load(Ordering::Relaxed) == 0)
            .min_by_key(|s| s.activity.last_us.load(Ordering::Relaxed));
        match victim {
            Some(s) => {
                s.evicting = true;
                s.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Logs refused connections at most once per [`WARN_EVERY`], with the count since the last
/// line.
#[derive(Debug, Default)]
pub(crate) struct WarnLimiter {
    last: std::sync::Mutex<Option<Instant>>,
    pending: AtomicU64,
}

impl WarnLimiter {
    /// Counts one event; returns how many to report when a line is due now.
    pub(crate) fn hit(&self, now: Instant) -> Option<u64> {
        let n = self.pending.fetch_add(1, Ordering::Relaxed) + 1;
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| now.duration_since(t) < WARN_EVERY) {
            return None;
        }
        *last = Some(now);
        self.pending.fetch_sub(n, Ordering::Relaxed);
        Some(n)
    }
}

/// Serves until `shutdown` completes, then stops accepting and waits (up to the drain
/// timeout) for open connections to finish their in-flight requests.
///
/// At the connection cap a new client is still served: the connection idle for the longest
/// time (a keep-alive connection between requests, or one that never sent a whole request) is
/// closed in its favour. Only when every connection has a request in service is the new
/// client answered 503; the answer is then followed by a bounded linger so that a client that
/// writes its whole request before reading still reads it.
pub(crate) async fn serve(
    listener: TcpListener,
    sh: Arc<Shared>,
    shutdown: impl Future<Output = ()>,
) {
    let max = sh.limits.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max));
    let lingering = Arc::new(Semaphore::new(LINGERING_REFUSALS));
    let registry = Arc::new(std::sync::Mutex::new(Registry::default()));
    let warn = Arc::new(WarnLimiter::default());
    let epoch = Instant::now();
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let permit = match permits.clone().try_acquire_owned() {
                        Ok(p) => Some(p),
                        Err(_) => {
                            let evicted = registry
                                .lock()
                                .map(|mut r| r.evict_longest_idle())
                                .unwrap_or(false);
                            if evicted {
                                sh.conn_stats.evicted.fetch_add(1, Ordering::Relaxed);
                            }
                            None
                        }
                    };
                    let sh = sh.clone();
                    let stop = stop_rx.clone();
                    let (permits, registry, warn, lingering) =
                        (permits.clone(), registry.clone(), warn.clone(), lingering.clone());
                    tokio::spawn(async move {
                        let permit = match permit {
                            Some(p) => Some(p),
                            None => tokio::time::timeout(EVICTION_WAIT, permits.acquire_owned())
                                .await
                                .ok()
                                .and_then(Result::ok),
                        };
                        let Some(permit) = permit else {
                            sh.conn_stats.refused.fetch_add(1, Ordering::Relaxed);
                            if let Some(n) = warn.hit(Instant::now()) {
                                tracing::warn!(
                                    "refused {n} connection(s) in the last {}s: {max} connections open and all busy",
                                    WARN_EVERY.as_secs()
                                );
                            }
                            refuse(stream, &sh, lingering).await;
                            return;
                        };
                        let activity = Arc::new(Activity::new(epoch));
                        let evict = Arc::new(Notify::new());
                        let id = registry.lock().map(|mut r| {
                            r.next += 1;
                            let id = r.next;
                            r.open.insert(id, Slot { activity: activity.clone(), evict: evict.clone(), evicting: false });
                            id
                        }).ok();
                        connection(stream, sh, stop, activity, evict).await;
                        if let Some(id) = id
                            && let Ok(mut r) = registry.lock()
                        {
                            r.open.remove(&id);
                        }
                        drop(permit);
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drain = permits.acquire_many(max as u32);
    if tokio::time::timeout(sh.limits.drain_timeout, drain)
        .await
        .is_err()
    {
        tracing::warn!("shutdown: some connections did not finish in time");
    }
}

/// Answers 503 on a connection beyond the cap, then reads and discards what the client sends
/// for a bounded time and size before closing, so a client that writes its whole request
/// first still reads the status.
async fn refuse(mut stream: TcpStream, sh: &Shared, lingering: Arc<Semaphore>) {
    let msg = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\nretry-after: 1\r\ncontent-length: {}\r\n\r\n{}",
        busy_body().len(),
        busy_body()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(msg.as_bytes())).await;
    if let Ok(_permit) = lingering.try_acquire_owned() {
        let limit = sh.limits.linger_bytes;
        let _ = tokio::time::timeout(sh.limits.linger, async {
            let mut buf = [0u8; 16 * 1024];
            let mut seen = 0u64;
            while let Ok(n) = stream.read(&mut buf).await {
                seen += n as u64;
                if n == 0 || seen >= limit {
                    break;
                }
            }
        })
        .await;
    }
    let _ = tokio::time::timeout(Duration::from_millis(100), stream.shutdown()).await;
}

/// What the watchdog of one connection watches: requests in service and the last progress.
struct Activity {
    /// The server's start: `last_us` counts from it, so connections compare.
    start: Instant,
    last_us: AtomicU64,
    in_service: AtomicUsize,
}

impl Activity {
    fn new(epoch: Instant) -> Self {
        let a = Activity {
            start: epoch,
            last_us: AtomicU64::new(0),
            in_service: AtomicUsize::new(0),
        };
        a.touch();
        a
    }

    fn touch(&self) {
        self.last_us
            .store(self.start.elapsed().as_micros() as u64, Ordering::Relaxed);
    }

    /// Idle: nothing in service and no progress for at least `limit`.
    fn idle_for(&self, limit: Duration) -> bool {
        let since = self
            .start
            .elapsed()
            .saturating_sub(Duration::from_micros(self.last_us.load(Ordering::Relaxed)));
        self.in_service.load(Ordering::Relaxed) == 0 && since >= limit
    }
}

/// Marks a request in service for as long as it lives.
struct InService(Arc<Activity>);

impl InService {
    fn new(a: &Arc<Activity>) -> Self {
        a.in_service.fetch_add(1, Ordering::Relaxed);
        a.touch();
        InService(a.clone())
    }
}

impl Drop for InService {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_service.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The socket, counting every byte written to the client as progress (reads are not: a client
/// trickling header bytes makes no progress until its request is complete).
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() <= READ_CHUNK {
            return Pin::new(&mut self.inner).poll_read(cx, buf);
        }
        // hyper sizes its next read by the last one: reads of at most READ_CHUNK keep its
        // buffer near 2 × READ_CHUNK instead of growing towards `max_buf_size` (256 KiB, then
        // doubled by `BytesMut::reserve`) on every connection that once carried a large body.
        // The bound on the request head is unchanged: it still accumulates over several reads.
        let mut part = buf.take(READ_CHUNK);
        ready!(Pin::new(&mut self.inner).poll_read(cx, &mut part))?;
        let n = part.filled().len();
        // SAFETY: `part` is the start of `buf`'s unfilled region, and the reader initialised
        // (filled) its first `n` bytes.
        unsafe { buf.assume_init(n) };
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// Most bytes one read from a client socket asks for (see [`Watched`]'s `poll_read`).
const READ_CHUNK: usize = 16 * 1024;

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Resolves when the connection has been idle (see [`Activity::idle_for`]) for `limit`.
async fn watchdog(activity: Arc<Activity>, limit: Duration) {
    let tick = (limit / 4).max(Duration::from_millis(5));
    loop {
        tokio::time::sleep(tick).await;
        if activity.idle_for(limit) {
            return;
        }
    }
}

async fn connection(
    stream: TcpStream,
    sh: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    activity: Arc<Activity>,
    evict: Arc<Notify>,
) {
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr().ok().map(|a| a.ip());
    let io = Watched {
        inner: stream,
        activity: activity.clone(),
    };
    let svc_state = sh.clone();
    let svc_activity = activity.clone();
    let svc = service_fn(move |req| {
        let busy = InService::new(&svc_activity);
        let sh = svc_state.clone();
        async move {
            let r = super::route::handle(sh, req, peer).await;
            drop(busy);
            r
        }
    });
    let conn = http1::Builder::new()
        .max_buf_size(256 * 1024)
        .serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    if *stop.borrow() {
        conn.as_mut().graceful_shutdown();
    }
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!("connection ended: {e}");
            }
        }
        _ = watchdog(activity, sh.limits.header_read_timeout) => {
            tracing::debug!(
                "connection closed: no complete request within {:?}",
                sh.limits.header_read_timeout
            );
        }
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
        _ = evict.notified() => {
            tracing::debug!("connection closed: the longest idle at the connection cap");
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_warnings_are_one_line_per_period_with_the_count() {
        let w = WarnLimiter::default();
        let t0 = Instant::now();
        assert_eq!(w.hit(t0), Some(1));
        let lines: Vec<u64> = (0..2000).filter_map(|_| w.hit(t0)).collect();
        assert!(lines.is_empty(), "a burst logs nothing more: {lines:?}");
        assert_eq!(w.hit(t0 + WARN_EVERY), Some(2001));
        assert_eq!(w.hit(t0 + WARN_EVERY), None);
    }

    #[test]
    fn a_burst_of_evictions_asks_a_different_idle_connection_each_time() {
        let epoch = Instant::now();
        let mut r = Registry::default();
        for id in 0..8u64 {
            let activity = Arc::new(Activity::new(epoch));
            // Connection 0 idle the longest, 7 the shortest; 5 has a request in service.
            activity.last_us.store(id * 10, Ordering::Relaxed);
            if id == 5 {
                activity.in_service.store(1, Ordering::Relaxed);
            }
            r.open.insert(
                id,
                Slot {
                    activity,
                    evict: Arc::new(Notify::new()),
                    evicting: false,
                },
            );
        }
        let mut asked = Vec::new();
        while r.evict_longest_idle() {
            let mut newly: Vec<u64> = r
                .open
                .iter()
                .filter(|(id, s)| s.evicting && !asked.contains(*id))
                .map(|(id, _)| *id)
                .collect();
            assert_eq!(newly.len(), 1, "one new victim per eviction");
            asked.append(&mut newly);
            assert!(asked.len() <= 8, "bounded");
        }
        // Longest idle first, every idle connection once, never the busy one.
        assert_eq!(asked, [0, 1, 2, 3, 4, 6, 7]);
    }
}
