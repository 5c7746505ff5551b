//! Recording a real partner: `stockwire mock --record-from URL --record-to DIR`.
//!
//! In record mode the mock forwards every non-admin request to the partner and answers with
//! what the partner returned. It keeps only aggregates: per item, how often it was sent and
//! which failure messages came back; per HTTP status, how many `/updateInventory` answers
//! had it (and their `Retry-After`); the answer times. [`Recorder::write`] turns them into
//! `scenario.toml` (item `fail` rules with the observed frequency, status rules, and a
//! latency distribution with the observed p50/p99) and `catalog.json` (every item sent, with
//! the last stock the partner accepted), which replay the partner's quirks offline.
//!
//! Secrets never reach the recording: headers, query strings and bodies are not written at
//! all, and every credential seen (apiKey and Authorization values, `/authToken`
//! parameters, issued tokens) is replaced by `***` wherever it appears in a message or id.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use stockwire_schema::{
    AuthTokenRequest, AuthTokenResponse, Catalog, CatalogEntry, InventoryRequest,
    InventoryResponse, ItemKey, Profile, contract,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use stockwire_schema::exchange::field::MESSAGE;

use crate::http::{Body, Limits, failed_body, json_response, read_body};
use crate::scenario::{Delay, DelayPercentiles, Effect, Match, Pattern, Rule, Scenario};

/// Largest partner answer forwarded.
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;
/// How long a partner answer waits for room in the budget of answer bytes in flight
/// ([`Limits::record_bytes_in_flight`]) before the client is answered 502.
const ROOM_WAIT: Duration = Duration::from_secs(5);
/// Most answer times kept for the percentiles.
const MAX_LATENCIES: usize = 1_000_000;
/// How long the partner has to answer.
const PARTNER_TIMEOUT: Duration = Duration::from_secs(60);

/// Why recording could not start or be written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The partner URL is not an http(s) URL.
    #[error("--record-from `{0}`: expected an http:// or https:// URL")]
    Url(String),
    /// TLS could not be set up.
    #[error("cannot set up TLS for the partner: {0}")]
    Tls(String),
    /// The recording could not be written.
    #[error("{}: cannot write the recording: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The recording could not be serialized.
    #[error("cannot serialize the recording: {0}")]
    Serialize(String),
}

/// What [`Recorder::write`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSummary {
    /// The scenario file.
    pub scenario: PathBuf,
    /// The catalog file.
    pub catalog: PathBuf,
    /// `/updateInventory` requests recorded.
    pub requests: u64,
    /// Distinct items seen.
    pub items: usize,
    /// Rules written.
    pub rules: usize,
}

#[derive(Debug, Default)]
struct ItemAgg {
    /// Sends answered 200 with a readable body (the denominator of failure frequencies).
    answered: u64,
    failures: BTreeMap<String, u64>,
    last_accepted: Option<u32>,
}

#[derive(Debug, Default)]
struct Tape {
    requests: u64,
    statuses: BTreeMap<u16, (u64, Vec<u64>)>,
    items: BTreeMap<(String, String), ItemAgg>,
    latencies_us: Vec<u64>,
    secrets: HashSet<String>,
}

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// Forwards requests to the partner and aggregates what it answered.
#[derive(Debug)]
pub(crate) struct Recorder {
    base: url::Url,
    to: PathBuf,
    client: Client<Https, Full<Bytes>>,
    tape: Mutex<Tape>,
    /// Partner answer bytes held at once, in KiB, until each answer is written to its client.
    room: Arc<Semaphore>,
    /// The budget, in KiB.
    room_total: usize,
    /// The most KiB held at once since start.
    peak_kib: AtomicUsize,
}

/// A forwarded answer's body, holding its room in the budget until hyper has written it (or
/// dropped it, when the client went away).
struct HeldBody {
    inner: Full<Bytes>,
    _room: Option<OwnedSemaphorePermit>,
}

impl hyper::body::Body for HeldBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

impl Recorder {
    /// A recorder forwarding to `from` and writing into `to`, holding at most `budget` bytes
    /// of partner answers at once.
    pub fn new(from: &str, to: PathBuf, budget: usize) -> Result<Recorder, RecordError> {
        let base = url::Url::parse(from)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| RecordError::Url(from.to_string()))?;
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| RecordError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Recorder {
            base,
            to,
            client: Client::builder(TokioExecutor::new()).build(https),
            tape: Mutex::new(Tape::default()),
            room: Arc::new(Semaphore::new(budget.div_ceil(1024).max(1))),
            room_total: budget.div_ceil(1024).max(1),
            peak_kib: AtomicUsize::new(0),
        })
    }

    /// The most partner answer bytes held at once since start.
    pub fn peak_bytes(&self) -> usize {
        self.peak_kib.load(Ordering::Relaxed) * 1024
    }

    /// Reads a partner answer within [`MAX_ANSWER_BYTES`], taking room in the budget for each
    /// piece before keeping it; gives up when no room comes within [`ROOM_WAIT`].
    async fn read_answer(
        &self,
        mut body: Incoming,
    ) -> Result<(Bytes, Option<OwnedSemaphorePermit>), String> {
        let mut buf = BytesMut::new();
        let mut held: Option<OwnedSemaphorePermit> = None;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| e.to_string())?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if buf.len() + data.len() > MAX_ANSWER_BYTES {
                return Err(format!(
                    "the partner's answer is larger than {} MiB",
                    MAX_ANSWER_BYTES >> 20
                ));
            }
            let want = (buf.len() + data.len()).div_ceil(1024);
            let have = held.as_ref().map_or(0, |p| p.num_permits());
            if want > have {
                let more = u32::try_from(want - have).unwrap_or(u32::MAX);
                let room = tokio::time::timeout(ROOM_WAIT, self.room.clone().acquire_many_owned(more))
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .ok_or_else(|| {
                        format!(
                            "partner answers in flight already hold the record budget ({} MiB, --record-budget); try again",
                            self.room_total >> 10
                        )
                    })?;
                match held.as_mut() {
                    Some(h) => h.merge(room),
                    None => held = Some(room),
                }
                let in_use = self.room_total - self.room.available_permits();
                self.peak_kib.fetch_max(in_use, Ordering::Relaxed);
            }
            buf.extend_from_slice(&data);
        }
        Ok((buf.freeze(), held))
    }

    /// The partner's URL without credentials or query (for banners and the recording).
    pub fn partner(&self) -> String {
        let mut u = self.base.clone();
        let _ = u.set_username("");
        let _ = u.set_password(None);
        u.set_query(None);
        u.to_string()
    }

    /// The directory the recording goes to.
    pub fn dir(&self) -> &Path {
        &self.to
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tape> {
        self.tape.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forwards one request (read within `limits`) and answers with the partner's reply;
    /// `profile` names the paths whose exchanges are recorded.
    pub async fn forward(
        &self,
        limits: &Limits,
        profile: Profile,
        req: Request<Incoming>,
    ) -> Response<Body> {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let query = req.uri().query().map(str::to_string);
        let headers = req.headers().clone();
        let body = match read_body(limits, req).await {
            Ok(b) => b,
            Err(r) => {
                return json_response(
                    StatusCode::from_u16(r.code).unwrap_or(StatusCode::BAD_REQUEST),
                    failed_body(vec![(
                        "violations",
                        serde_json::Value::Array(vec![r.violation]),
                    )]),
                );
            }
        };
        self.note_request_secrets(&headers, query.as_deref(), &body);
        let mut target = self.base.clone();
        let base_path = target.path().trim_end_matches('/').to_string();
        target.set_path(&format!("{base_path}{path}"));
        target.set_query(query.as_deref());
        let mut out = Request::builder().method(method).uri(target.as_str());
        for (k, v) in &headers {
            if !matches!(
                k.as_str(),
                "host" | "connection" | "content-length" | "transfer-encoding" | "keep-alive"
            ) {
                out = out.header(k, v);
            }
        }
        let Ok(out) = out.body(Full::new(body.clone())) else {
            return self.bad_gateway("the request could not be forwarded".into());
        };
        let t0 = Instant::now();
        let answer = tokio::time::timeout(PARTNER_TIMEOUT, async {
            let r = self.client.request(out).await.map_err(|e| e.to_string())?;
            let (parts, b) = r.into_parts();
            let (bytes, room) = self.read_answer(b).await?;
            Ok::<_, String>((parts, bytes, room))
        })
        .await;
        let (parts, answer, room) = match answer {
            Err(_) => {
                return self.bad_gateway(format!(
                    "the partner did not answer within {}",
                    humantime::format_duration(PARTNER_TIMEOUT)
                ));
            }
            Ok(Err(e)) => return self.bad_gateway(format!("cannot reach the partner: {e}")),
            Ok(Ok(a)) => a,
        };
        let latency = t0.elapsed();
        let c = contract(profile);
        if path == c.auth_path() {
            if let Ok(t) = serde_json::from_slice::<AuthTokenResponse>(&answer)
                && let Some(tok) = t.access_token
            {
                self.lock().secrets.insert(tok);
            }
        } else if path == c.inventory_path() {
            self.observe_update(
                parts.status.as_u16(),
                &parts.headers,
                &body,
                &answer,
                latency,
            );
        }
        let mut r = Response::new(
            HeldBody {
                inner: Full::new(answer),
                _room: room,
            }
            .boxed(),
        );
        *r.status_mut() = parts.status;
        for (k, v) in &parts.headers {
            if !matches!(
                k.as_str(),
                "connection" | "content-length" | "transfer-encoding" | "keep-alive"
            ) {
                r.headers_mut().append(k, v.clone());
            }
        }
        r
    }

    fn bad_gateway(&self, msg: String) -> Response<Body> {
        tracing::warn!("record: {msg}");
        json_response(
            StatusCode::BAD_GATEWAY,
            failed_body(vec![(MESSAGE, serde_json::Value::String(msg))]),
        )
    }

    /// Every credential a request carries: apiKey/Authorization headers, every query value and
    /// every `/authToken` body value.
    fn note_request_secrets(&self, h: &HeaderMap, query: Option<&str>, body: &[u8]) {
        let mut tape = self.lock();
        for (k, v) in h {
            if matches!(
                k.as_str(),
                "apikey" | "authorization" | "x-api-key" | "cookie"
            ) && let Ok(v) = v.to_str()
            {
                tape.secrets.insert(v.to_string());
                if let Some(b) = v.strip_prefix("Bearer ") {
                    tape.secrets.insert(b.to_string());
                }
            }
        }
        if let Some(q) = query {
            for (_, v) in url::form_urlencoded::parse(q.as_bytes()) {
                tape.secrets.insert(v.into_owned());
            }
        }
        if let Ok(a) = serde_json::from_slice::<AuthTokenRequest>(body) {
            tape.secrets.insert(a.username);
            tape.secrets.insert(a.password);
        }
    }

    fn observe_update(
        &self,
        status: u16,
        headers: &HeaderMap<HeaderValue>,
        request: &[u8],
        answer: &[u8],
        latency: Duration,
    ) {
        let sent = serde_json::from_slice::<InventoryRequest>(request).ok();
        let reply = (status == 200)
            .then(|| serde_json::from_slice::<InventoryResponse>(answer).ok())
            .flatten();
        let mut tape = self.lock();
        tape.requests += 1;
        if tape.latencies_us.len() < MAX_LATENCIES {
            tape.latencies_us.push(latency.as_micros() as u64);
        }
        let s = tape.statuses.entry(status).or_default();
        s.0 += 1;
        if let Some(r) = headers
            .get(hyper::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            s.1.push(r);
        }
        let Some(sent) = sent else { return };
        let failed: BTreeMap<ItemKey, String> = reply
            .as_ref()
            .map(|r| {
                r.failed()
                    .iter()
                    .map(|f| (f.key(), f.message.clone()))
                    .collect()
            })
            .unwrap_or_default();
        for it in &sent.inventory_list {
            let key = it.key();
            let agg = tape
                .items
                .entry((key.product_id.clone(), key.variant_id.clone()))
                .or_default();
            if reply.is_none() {
                continue;
            }
            agg.answered += 1;
            match failed.get(&key) {
                Some(m) => *agg.failures.entry(m.clone()).or_default() += 1,
                None => agg.last_accepted = it.inventory.count(),
            }
        }
    }

    /// Writes `scenario.toml` and `catalog.json` into the recording directory.
    pub fn write(&self) -> Result<RecordSummary, RecordError> {
        let tape = self.lock();
        let mut secrets: Vec<&String> = tape.secrets.iter().filter(|s| s.len() >= 3).collect();
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let scrub = |text: &str| {
            let mut t = text.to_string();
            for s in &secrets {
                t = t.replace(s.as_str(), "***");
            }
            t
        };
        let mut rules = Vec::new();
        // Status answers: conditional probabilities so that each status keeps its share.
        let mut remaining = tape.requests;
        let mut statuses: Vec<(&u16, &(u64, Vec<u64>))> =
            tape.statuses.iter().filter(|(s, _)| **s != 200).collect();
        statuses.sort_by_key(|(s, (n, _))| (std::cmp::Reverse(*n), **s));
        for (status, (n, retry)) in statuses {
            if remaining == 0 {
                break;
            }
            let p = *n as f64 / remaining as f64;
            let mut retry = retry.clone();
            retry.sort_unstable();
            rules.push(Rule {
                name: Some(format!("recorded-status-{status}")),
                when: Match {
                    probability: (p < 1.0).then_some(round4(p)),
                    ..Match::default()
                },
                times: None,
                effect: Effect {
                    status: Some(*status),
                    retry_after: retry.get(retry.len() / 2).copied(),
                    ..Effect::default()
                },
            });
            remaining -= n;
        }
        // Item failures, most frequent message first, each with its observed share.
        for ((p, v), agg) in &tape.items {
            let mut left = agg.answered;
            let mut msgs: Vec<(&String, &u64)> = agg.failures.iter().collect();
            msgs.sort_by_key(|(m, n)| (std::cmp::Reverse(**n), (*m).clone()));
            for (i, (msg, n)) in msgs.into_iter().enumerate() {
                if left == 0 {
                    break;
                }
                let prob = *n as f64 / left as f64;
                rules.push(Rule {
                    name: Some(format!(
                        "recorded-{}-{}{}",
                        scrub(p),
                        scrub(v),
                        if i == 0 {
                            String::new()
                        } else {
                            format!("-{}", i + 1)
                        }
                    )),
                    when: Match {
                        product_id: Some(Pattern::Exact(scrub(p))),
                        variant_id: Some(Pattern::Exact(scrub(v))),
                        probability: (prob < 1.0).then_some(round4(prob)),
                        ..Match::default()
                    },
                    times: None,
                    effect: Effect {
                        fail: Some(scrub(msg)),
                        ..Effect::default()
                    },
                });
                left -= n;
            }
        }
        // Answer times.
        let mut lat = tape.latencies_us.clone();
        lat.sort_unstable();
        if !lat.is_empty() {
            let pct = |q: f64| lat[((lat.len() - 1) as f64 * q).round() as usize].max(1000);
            let (p50, p99) = (pct(0.5), pct(0.99));
            rules.push(Rule {
                name: Some("recorded-latency".into()),
                when: Match::default(),
                times: None,
                effect: Effect {
                    delay: Some(Delay::Percentiles(DelayPercentiles {
                        p50: format!("{}ms", p50 / 1000),
                        p99: format!("{}ms", (p99 / 1000).max(p50 / 1000)),
                        max: Some(format!("{}ms", lat[lat.len() - 1].max(1000) / 1000)),
                    })),
                    ..Effect::default()
                },
            });
        }
        let scenario = Scenario {
            description: Some(format!(
                "recorded from {}: {} /updateInventory request(s), {} item(s)",
                self.partner(),
                tape.requests,
                tape.items.len()
            )),
            seed: 0,
            rules,
            ..Scenario::default()
        };
        let catalog = Catalog {
            entries: tape
                .items
                .iter()
                .map(|((p, v), agg)| CatalogEntry {
                    product_id: scrub(p),
                    variant_id: scrub(v),
                    stock: agg.last_accepted,
                    ..CatalogEntry::default()
                })
                .collect(),
        };
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RecordError::Io { path, source }
        };
        std::fs::create_dir_all(&self.to).map_err(io(&self.to))?;
        let scenario_path = self.to.join("scenario.toml");
        let catalog_path = self.to.join("catalog.json");
        let toml = toml::to_string(&scenario).map_err(|e| RecordError::Serialize(e.to_string()))?;
        let header = format!(
            "# Recorded by `stockwire mock --record-from {}`.\n# Replay: stockwire mock --scenario scenario.toml --catalog catalog.json\n",
            self.partner()
        );
        std::fs::write(&scenario_path, header + &toml).map_err(io(&scenario_path))?;
        let json = serde_json::to_string_pretty(&catalog)
            .map_err(|e| RecordError::Serialize(e.to_string()))?;
        std::fs::write(&catalog_path, json + "\n").map_err(io(&catalog_path))?;
        Ok(RecordSummary {
            scenario: scenario_path,
            catalog: catalog_path,
            requests: tape.requests,
            items: tape.items.len(),
            rules: scenario.rules.len(),
        })
    }
}

fn round4(p: f64) -> f64 {
    (p * 10_000.0).round() / 10_000.0
}
