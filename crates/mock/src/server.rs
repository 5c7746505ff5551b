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
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::state::Shared;

const BUSY_BODY: &str = r#"{"status":"FAILED","failedProductList":[],"message":"too many connections, try again shortly"}"#;

/// Serves until `shutdown` completes, then stops accepting and waits (up to the drain
/// timeout) for open connections to finish their in-flight requests.
pub(crate) async fn serve(
    listener: TcpListener,
    sh: Arc<Shared>,
    shutdown: impl Future<Output = ()>,
) {
    let max = sh.limits.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    match permits.clone().try_acquire_owned() {
                        Ok(permit) => {
                            let sh = sh.clone();
                            let stop = stop_rx.clone();
                            tokio::spawn(async move {
                                connection(stream, sh, stop).await;
                                drop(permit);
                            });
                        }
                        Err(_) => {
                            tracing::warn!("connection refused: {max} connections already open");
                            tokio::spawn(refuse(stream));
                        }
                    }
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

async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let msg = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\nretry-after: 1\r\ncontent-length: {}\r\n\r\n{BUSY_BODY}",
            BUSY_BODY.len()
        );
        let _ = stream.write_all(msg.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// What the watchdog of one connection watches: requests in service and the last progress.
struct Activity {
    start: Instant,
    last_us: AtomicU64,
    in_service: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_us: AtomicU64::new(0),
            in_service: AtomicUsize::new(0),
        }
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
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

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

async fn connection(stream: TcpStream, sh: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr().ok().map(|a| a.ip());
    let activity = Arc::new(Activity::new());
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
            let r = crate::http::handle(sh, req, peer).await;
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
    }
}
