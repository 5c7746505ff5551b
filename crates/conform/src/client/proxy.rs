//! Reaching a partner through a proxy: `HTTPS_PROXY`, `HTTP_PROXY` (or `ALL_PROXY`) and
//! `NO_PROXY`, read the way curl reads them. HTTPS targets go through a `CONNECT` tunnel, plain
//! HTTP targets are sent to the proxy in absolute form. Loopback targets (`localhost`,
//! `127.0.0.0/8`, `::1`, and so the embedded mock) never go through a proxy.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A connector that goes direct or through the proxy the environment names.
#[derive(Clone)]
pub struct ProxyConnector {
    http: HttpConnector,
    matcher: Arc<Matcher>,
}

impl std::fmt::Debug for ProxyConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The matcher's proxy URLs may hold credentials: not shown.
        f.debug_struct("ProxyConnector").finish_non_exhaustive()
    }
}

impl ProxyConnector {
    /// Wraps `http`, with the proxy settings of the environment.
    pub fn from_env(http: HttpConnector) -> Self {
        ProxyConnector {
            http,
            matcher: Arc::new(Matcher::from_env()),
        }
    }

    /// Whether requests to `dst` would go through a proxy.
    pub fn is_proxied(&self, dst: &Uri) -> bool {
        !is_loopback(dst) && self.matcher.intercept(dst).is_some()
    }
}

/// Whether `dst` names this machine.
pub fn is_loopback(dst: &Uri) -> bool {
    let Some(host) = dst.host() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A connection, direct or through a proxy.
#[derive(Debug)]
pub struct ProxyStream {
    inner: TokioIo<TcpStream>,
    /// Plain HTTP sent to a proxy: requests must carry the absolute URL.
    absolute_form: bool,
}

impl Connection for ProxyStream {
    fn connected(&self) -> Connected {
        self.inner.connected().proxy(self.absolute_form)
    }
}

impl Read for ProxyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl Write for ProxyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = ProxyStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<ProxyStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let intercept = if is_loopback(&dst) {
            None
        } else {
            self.matcher.intercept(&dst)
        };
        let mut http = self.http.clone();
        Box::pin(async move {
            match intercept {
                None => Ok(ProxyStream {
                    inner: http.call(dst).await?,
                    absolute_form: false,
                }),
                Some(proxy) if dst.scheme_str() == Some("https") => {
                    let mut tunnel = Tunnel::new(proxy.uri().clone(), http);
                    if let Some(auth) = proxy.basic_auth() {
                        tunnel = tunnel.with_auth(auth.clone());
                    }
                    let inner = tunnel.call(dst).await.map_err(|e| -> BoxError {
                        format!("proxy {}: {e}", redact_userinfo(proxy.uri())).into()
                    })?;
                    Ok(ProxyStream {
                        inner,
                        absolute_form: false,
                    })
                }
                Some(proxy) => {
                    let inner = http
                        .call(proxy.uri().clone())
                        .await
                        .map_err(|e| -> BoxError {
                            format!("proxy {}: {e}", redact_userinfo(proxy.uri())).into()
                        })?;
                    Ok(ProxyStream {
                        inner,
                        absolute_form: true,
                    })
                }
            }
        })
    }
}

/// A proxy URI without its `user:password@` part.
fn redact_userinfo(uri: &Uri) -> String {
    let host = uri.host().unwrap_or("");
    match uri.port_u16() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_are_recognised() {
        for u in [
            "http://127.0.0.1:8080/x",
            "http://localhost/",
            "http://[::1]:9/",
            "https://api.localhost/",
            "http://127.8.9.1/",
        ] {
            assert!(is_loopback(&u.parse().unwrap()), "{u}");
        }
        for u in [
            "http://10.0.0.1/",
            "https://partner.example/",
            "http://localhost.example/",
        ] {
            assert!(!is_loopback(&u.parse().unwrap()), "{u}");
        }
    }
}
