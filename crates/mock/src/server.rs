//! The accept loop: takes an already-bound listener and a shutdown future, caps connections,
//! serves each connection on its own task with hyper's HTTP/1 server, and drains in-flight
//! requests on shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
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

async fn connection(stream: TcpStream, sh: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let svc_state = sh.clone();
    let svc = service_fn(move |req| crate::http::handle(svc_state.clone(), req));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(sh.limits.header_read_timeout)
        .max_buf_size(256 * 1024)
        .serve_connection(TokioIo::new(stream), svc);
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
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
