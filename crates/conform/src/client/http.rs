//! The HTTP side: a request model that never holds a secret, the outcome of sending it, the
//! client (hyper 1 + rustls, keep-alive, time-outs, a cap on response size), and the curl
//! reproducer built from the model.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client as LegacyClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::client::key::{After401, KeyState, KeyStats, Relogin};
use crate::client::throttle::{Throttle, is_throttled, parse_retry_after};
use crate::error::ConformError;

/// The value stored in place of the real apiKey: the client substitutes the key when sending,
/// and the curl reproducer leaves it for the shell (`$APIKEY`).
pub const API_KEY_PLACEHOLDER: &str = "$APIKEY";

/// The header that carries the token.
pub const API_KEY_HEADER: &str = "apiKey";

/// One header of a request model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Header {
    /// Header name as sent.
    pub name: String,
    /// Header value as sent; the configured apiKey appears as `$APIKEY`.
    pub value: String,
}

/// A request as the runner sends it and reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HttpRequest {
    /// HTTP method.
    pub method: String,
    /// Full URL.
    pub url: String,
    /// Headers in order.
    pub headers: Vec<Header>,
    /// The body (the runner only sends UTF-8 bodies, malformed JSON included).
    pub body: String,
}

impl HttpRequest {
    /// A POST of `body` to `url` with `headers`.
    pub fn post(url: &str, headers: Vec<Header>, body: String) -> Self {
        HttpRequest {
            method: "POST".into(),
            url: url.to_string(),
            headers,
            body,
        }
    }

    /// The value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// A copy-paste curl command that sends this request; the apiKey stays `$APIKEY`.
    pub fn curl(&self) -> String {
        let mut s = format!("curl -sS -i -X {} {}", self.method, shell_quote(&self.url));
        for h in &self.headers {
            if h.value.contains(API_KEY_PLACEHOLDER) {
                // Double quotes so the shell expands $APIKEY.
                s.push_str(&format!(" -H \"{}: {}\"", h.name, h.value));
            } else {
                s.push_str(&format!(
                    " -H {}",
                    shell_quote(&format!("{}: {}", h.name, h.value))
                ));
            }
        }
        if !self.body.is_empty() || self.method == "POST" {
            s.push_str(&format!(" --data-raw {}", shell_quote(&self.body)));
        }
        s
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Appends the extra headers to curl reproducers (curl takes options in any order); secret
/// values stay shell variables.
pub fn curl_with_headers(curl: &str, extra: &[ExtraHeader]) -> String {
    let mut s = curl.to_string();
    for h in extra {
        s.push_str(&h.curl_arg());
    }
    s
}

/// A response as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// The Content-Type header, if any.
    pub content_type: Option<String>,
    /// The body (lossy UTF-8; secrets redacted).
    pub body: String,
    /// Time from sending to the last byte, in milliseconds.
    pub elapsed_ms: f64,
    /// The partner was still throttling this request (429, or 503 with `Retry-After`) when its
    /// re-sends or the run's wait budget were spent: an answer no check judges.
    #[serde(skip)]
    pub throttled: bool,
    /// Sent with the run's key after that key had worked, and answered 401 with no new login
    /// possible (an apiKey that stopped working; see [`crate::client::key`]): the partner's
    /// right, an answer no check judges.
    #[serde(skip)]
    pub expired: bool,
}

/// Why no response came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// No complete response within the per-request time-out.
    Timeout,
    /// The connection was closed or reset before a complete response.
    Dropped,
    /// The response body exceeded the size cap.
    TooLarge,
    /// No connection could be made.
    Connect,
}

/// What sending one request produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Outcome {
    /// A complete response.
    Response(HttpResponse),
    /// No (complete) response.
    Failure {
        /// Why.
        failure: FailureKind,
        /// The transport's message.
        message: String,
        /// Time spent, in milliseconds.
        elapsed_ms: f64,
    },
}

impl Outcome {
    /// The response, if one came back.
    pub fn response(&self) -> Option<&HttpResponse> {
        match self {
            Outcome::Response(r) => Some(r),
            Outcome::Failure { .. } => None,
        }
    }
}

pub use crate::client::redact::Redactor;

/// An extra request header (`--header 'Name: value'`).
#[derive(Clone, PartialEq, Eq)]
pub struct ExtraHeader {
    /// Header name.
    pub name: String,
    /// Header value (sent as is; shown only when not secret).
    pub value: String,
    /// Whether the value is a credential: never printed, redacted from every output.
    pub secret: bool,
}

impl std::fmt::Debug for ExtraHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.secret {
            "[REDACTED]"
        } else {
            &self.value
        };
        write!(f, "{}: {value}", self.name)
    }
}

impl ExtraHeader {
    /// Parses `Name: value`; `secret` forces redaction, otherwise a name that looks like a
    /// credential ([`looks_secret`]) does.
    pub fn parse(spec: &str, secret: bool) -> Result<Self, ConformError> {
        let bad = |m: &str| ConformError::Setting {
            name: "header".into(),
            message: format!(
                "`{}`: {m} (expected 'Name: value')",
                spec.split(':').next().unwrap_or("")
            ),
        };
        let (name, value) = spec.split_once(':').ok_or_else(|| bad("no `:`"))?;
        let name = name.trim();
        if name.is_empty() || hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(bad("not a valid header name"));
        }
        let value = value.trim();
        if hyper::header::HeaderValue::from_str(value).is_err() {
            return Err(bad("the value holds characters a header cannot carry"));
        }
        Ok(ExtraHeader {
            name: name.to_string(),
            value: value.to_string(),
            secret: secret || looks_secret(name),
        })
    }

    /// The shell variable a curl reproducer uses for a secret value, e.g. `$X_API_TOKEN`.
    pub fn shell_var(&self) -> String {
        let v: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        format!("${v}")
    }

    /// The `-H` argument of a curl command: secrets left for the shell.
    pub fn curl_arg(&self) -> String {
        if self.secret {
            format!(" -H \"{}: {}\"", self.name, self.shell_var())
        } else {
            format!(
                " -H {}",
                shell_quote(&format!("{}: {}", self.name, self.value))
            )
        }
    }
}

/// Words that make a header name look like a credential (one string: these are header-name
/// fragments, not exchange members).
const CREDENTIAL_WORDS: &str = "key token secret password";

/// Whether a header name looks like it carries a credential: `authorization`, `cookie`, or
/// anything containing `key`, `token`, `secret` or `password` (case-insensitive).
pub fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization"
        || n == "proxy-authorization"
        || n.contains("cookie")
        || CREDENTIAL_WORDS.split(' ').any(|w| n.contains(w))
}

/// Transport settings. A run's come from `ClientOptions::from_run`, defined beside the run
/// settings in `config` so that the client does not depend on them.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Per-request time-out (send to last byte).
    pub timeout: Duration,
    /// Connect time-out.
    pub connect_timeout: Duration,
    /// Largest response body read, in bytes.
    pub max_response_bytes: usize,
    /// Accept any certificate (warned about by the caller).
    pub insecure: bool,
    /// Requests per second ceiling, if any.
    pub rate: Option<f64>,
    /// Idle keep-alive connections kept per host.
    pub max_idle: usize,
    /// Headers added to every request.
    pub extra_headers: Vec<ExtraHeader>,
    /// PEM file of extra trusted CA certificates.
    pub cacert: Option<std::path::PathBuf>,
    /// Total time the client may wait for a throttling partner ([`Throttle`]).
    pub throttle_budget: Duration,
}

struct RateLimiter {
    interval: Duration,
    next: tokio::sync::Mutex<Instant>,
}

impl RateLimiter {
    async fn acquire(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(tokio::time::Instant::from_std(slot)).await;
    }
}

type Https = hyper_rustls::HttpsConnector<crate::client::proxy::ProxyConnector>;

/// The HTTP client: keep-alive pool, rustls (ring, webpki roots), time-outs, size cap, rate
/// ceiling. It substitutes the real apiKey for [`API_KEY_PLACEHOLDER`] when sending.
#[derive(Clone)]
pub struct Client {
    inner: LegacyClient<Https, Full<Bytes>>,
    key: Arc<KeyState>,
    opts: ClientOptions,
    rate: Option<Arc<RateLimiter>>,
    throttle: Arc<Throttle>,
    redactor: Redactor,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api_key", &self.key.has_key().then_some("[REDACTED]"))
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

fn tls_config(
    insecure: bool,
    cacert: Option<&std::path::Path>,
) -> Result<rustls::ClientConfig, ConformError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConformError::Tls(e.to_string()))?;
    let config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = cacert {
            add_pem_roots(&mut roots, path)?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(config)
}

/// Adds the certificates of a PEM file (`--cacert`) to `roots`.
fn add_pem_roots(
    roots: &mut rustls::RootCertStore,
    path: &std::path::Path,
) -> Result<(), ConformError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let bad = |m: String| ConformError::Setting {
        name: "cacert".into(),
        message: format!("{}: {m}", path.display()),
    };
    let mut added = 0;
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots
            .add(cert)
            .map_err(|e| bad(format!("not a usable CA certificate: {e}")))?;
        added += 1;
    }
    if added == 0 {
        return Err(bad(
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in the file".into(),
        ));
    }
    Ok(())
}

/// `--insecure`: accepts any server certificate but still checks handshake signatures.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

impl Client {
    /// A client with these options; `api_key` is substituted for the placeholder.
    pub fn new(
        opts: ClientOptions,
        api_key: Option<String>,
        redactor: Redactor,
    ) -> Result<Self, ConformError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(opts.connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(opts.insecure, opts.cacert.as_deref())?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(crate::client::proxy::ProxyConnector::from_env(http));
        let mut redactor = redactor;
        for h in opts.extra_headers.iter().filter(|h| h.secret) {
            redactor.add(&h.value);
        }
        let inner = LegacyClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(opts.max_idle.max(1))
            .build(https);
        let rate = opts.rate.filter(|r| *r > 0.0).map(|r| {
            Arc::new(RateLimiter {
                interval: Duration::from_secs_f64(1.0 / r),
                next: tokio::sync::Mutex::new(Instant::now()),
            })
        });
        let throttle = Arc::new(Throttle::new(opts.throttle_budget));
        Ok(Client {
            inner,
            key: Arc::new(KeyState::new(api_key)),
            opts,
            rate,
            throttle,
            redactor,
        })
    }

    /// Sets (or replaces) the apiKey substituted for the placeholder. The key is shared by the
    /// clones made after this call (a new login after an expired token reaches them all).
    pub fn set_api_key(&mut self, key: Option<String>) {
        if let Some(k) = &key {
            self.redactor.add(k);
        }
        self.key = Arc::new(KeyState::new(key));
    }

    /// Logs in again with `relogin` when a token that worked is answered 401 (see
    /// [`crate::client::key`]); without it, such a 401 is kept as the key having stopped working.
    pub fn set_relogin(&self, relogin: Arc<dyn Relogin>) {
        self.key.set_relogin(relogin);
    }

    /// A clone sending without the run's key (and never logging in again): for the login
    /// itself.
    pub fn without_key(&self) -> Client {
        let mut c = self.clone();
        c.key = Arc::new(KeyState::new(None));
        c
    }

    /// What happened to the run's key: expired tokens, new logins, when it stopped working.
    pub fn key_stats(&self) -> KeyStats {
        self.key.stats()
    }

    /// The redactor that cleans what this client records.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// The run's throttling state: how often the partner throttled, and whether the wait
    /// budget is spent.
    pub fn throttle(&self) -> &Throttle {
        &self.throttle
    }

    /// Sends `req` and records what came back. Never fails: transport problems are outcomes.
    /// A throttled answer (429, or 503 with `Retry-After`) is waited out and the request
    /// re-sent, within [`Throttle`]'s bounds; the answer given up on is marked `throttled`.
    /// A request carrying the run's key and answered 401 after the key worked is handled as
    /// [`crate::client::key`] says: re-sent once after a new login, or kept as refused.
    pub async fn send(&self, req: &HttpRequest) -> Outcome {
        let keyed = req
            .headers
            .iter()
            .any(|h| h.value.contains(API_KEY_PLACEHOLDER));
        if !keyed || !self.key.has_key() {
            return self.send_with(req, None).await;
        }
        let used = self.key.take();
        let outcome = self.send_with(req, used.key.clone()).await;
        match outcome.response().map(|r| r.status) {
            Some(401) => {}
            Some(_) => {
                self.key.worked(&used);
                return outcome;
            }
            None => return outcome,
        }
        match self.key.refused(&used).await {
            After401::Resend => {}
            After401::Refused => return outcome,
            After401::Expired => {
                let mut outcome = outcome;
                if let Outcome::Response(r) = &mut outcome {
                    r.expired = true;
                }
                return outcome;
            }
        }
        // One re-send with the fresh token; a 401 to it stands (and is kept by `refused`
        // only if the fresh token had worked meanwhile).
        let again = self.key.take();
        let second = self.send_with(req, again.key.clone()).await;
        if second.response().is_some_and(|r| r.status != 401) {
            self.key.worked(&again);
        }
        second
    }

    /// Sends `req` with `key` for the placeholder, honouring throttling.
    async fn send_with(&self, req: &HttpRequest, key: Option<Arc<str>>) -> Outcome {
        let mut attempt = 0u32;
        loop {
            self.throttle.pace().await;
            let (mut outcome, retry_after) = self.send_once(req, key.as_deref()).await;
            let Outcome::Response(r) = &mut outcome else {
                return outcome;
            };
            if !is_throttled(r.status, retry_after.is_some()) {
                return outcome;
            }
            match self
                .throttle
                .on_throttled(attempt, parse_retry_after(retry_after.as_deref()))
            {
                Some(wait) => {
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                None => {
                    r.throttled = true;
                    return outcome;
                }
            }
        }
    }

    /// Sends `req` once; returns what came back and the `Retry-After` header, if any.
    async fn send_once(&self, req: &HttpRequest, key: Option<&str>) -> (Outcome, Option<String>) {
        if let Some(rate) = &self.rate {
            rate.acquire().await;
        }
        let start = Instant::now();
        let elapsed = |s: Instant| s.elapsed().as_secs_f64() * 1000.0;
        let mut builder = Request::builder()
            .method(req.method.as_str())
            .uri(req.url.as_str());
        for h in &req.headers {
            let value = match (key, h.value.contains(API_KEY_PLACEHOLDER)) {
                (Some(k), true) => h.value.replace(API_KEY_PLACEHOLDER, k),
                _ => h.value.clone(),
            };
            builder = builder.header(h.name.as_str(), value);
        }
        for h in &self.opts.extra_headers {
            if req.header(&h.name).is_none() {
                builder = builder.header(h.name.as_str(), h.value.as_str());
            }
        }
        let request = match builder.body(Full::new(Bytes::from(req.body.clone()))) {
            Ok(r) => r,
            Err(e) => {
                return (
                    Outcome::Failure {
                        failure: FailureKind::Connect,
                        message: format!("cannot build request: {e}"),
                        elapsed_ms: 0.0,
                    },
                    None,
                );
            }
        };
        let cap = self.opts.max_response_bytes;
        let fut = async {
            let resp = self.inner.request(request).await.map_err(|e| {
                let kind = if e.is_connect() {
                    FailureKind::Connect
                } else {
                    FailureKind::Dropped
                };
                (kind, error_chain(&e))
            })?;
            let status = resp.status().as_u16();
            let content_type = resp
                .headers()
                .get(hyper::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let retry_after = resp.headers().get(hyper::header::RETRY_AFTER).map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .chars()
                    .take(64)
                    .collect()
            });
            let body = read_body(resp.into_body(), cap).await?;
            Ok::<_, (FailureKind, String)>((status, content_type, retry_after, body))
        };
        match tokio::time::timeout(self.opts.timeout, fut).await {
            Err(_) => (
                Outcome::Failure {
                    failure: FailureKind::Timeout,
                    message: format!(
                        "no complete response within {}",
                        humantime::format_duration(self.opts.timeout)
                    ),
                    elapsed_ms: elapsed(start),
                },
                None,
            ),
            Ok(Err((failure, message))) => (
                Outcome::Failure {
                    failure,
                    message: self.key.redact(self.redactor.redact(&message)),
                    elapsed_ms: elapsed(start),
                },
                None,
            ),
            Ok(Ok((status, content_type, retry_after, body))) => (
                Outcome::Response(HttpResponse {
                    status,
                    content_type,
                    body: self.key.redact(self.redactor.redact_owned(body)),
                    elapsed_ms: elapsed(start),
                    throttled: false,
                    expired: false,
                }),
                retry_after,
            ),
        }
    }
}

/// Reads a response body of at most `cap` bytes into one buffer, the text the runner keeps:
/// sized from `Content-Length` when the partner gives one (never past `cap`), each frame copied
/// in and dropped, and valid UTF-8 turned into the `String` without a copy. Past `cap` it stops
/// reading at once ([`FailureKind::TooLarge`]), so a partner's endless body holds at most `cap`.
async fn read_body(
    mut body: hyper::body::Incoming,
    cap: usize,
) -> Result<String, (FailureKind, String)> {
    use hyper::body::Body as _;
    let too_large = || {
        (
            FailureKind::TooLarge,
            format!("response body larger than {cap} bytes"),
        )
    };
    let hint = body.size_hint();
    if hint.lower() > cap as u64 {
        return Err(too_large());
    }
    let expected = hint.exact().unwrap_or(hint.lower());
    let mut buf: Vec<u8> = Vec::with_capacity(usize::try_from(expected).unwrap_or(cap).min(cap));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| (FailureKind::Dropped, error_chain(&e)))?;
        if let Ok(data) = frame.into_data() {
            let need = buf.len() + data.len();
            if need > cap {
                return Err(too_large());
            }
            if need > buf.capacity() {
                // Doubling, but never past the cap (a doubled buffer of 14 MiB held 28).
                let grown = need.max(buf.capacity().saturating_mul(2)).min(cap);
                buf.reserve_exact(grown - buf.len());
            }
            buf.extend_from_slice(&data);
        }
    }
    // A chunked body grew by doubling: give back what it did not fill.
    if buf.capacity() > buf.len() {
        buf.shrink_to_fit();
    }
    Ok(match String::from_utf8(buf) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_keeps_the_key_for_the_shell_and_quotes_the_body() {
        let r = HttpRequest::post(
            "http://h/updateInventory",
            vec![
                Header {
                    name: "Content-Type".into(),
                    value: "application/json".into(),
                },
                Header {
                    name: API_KEY_HEADER.into(),
                    value: API_KEY_PLACEHOLDER.into(),
                },
            ],
            r#"{"a":"it's"}"#.into(),
        );
        assert_eq!(
            r.curl(),
            r#"curl -sS -i -X POST 'http://h/updateInventory' -H 'Content-Type: application/json' -H "apiKey: $APIKEY" --data-raw '{"a":"it'\''s"}'"#
        );
    }
}
