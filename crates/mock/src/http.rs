//! Request handling: routing, `/authToken`, `/updateInventory` and the answers to invalid
//! input. Every contract decision is delegated to `stockwire-schema`.

use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use stockwire_schema::{
    AuthTokenResponse, FailedProduct, Inventory, InventoryResponse, ItemKey, contract,
};

use crate::journal::{Header, JournalEntry};
use crate::scenario::{AnswerEffects, Breach, ItemFacts, Malformed, RequestFacts, kebab};
use crate::state::Shared;
use crate::tokens::TokenRefusal;

/// The response body type.
pub(crate) type Body = BoxBody<Bytes, Infallible>;

/// Returned by the service to make hyper drop the connection without an answer.
#[derive(Debug)]
pub(crate) struct CloseConnection;

impl std::fmt::Display for CloseConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed on purpose by a scenario rule")
    }
}

impl std::error::Error for CloseConnection {}

/// One violation of a whole-request problem (`400`, `413`, …).
fn violation(pointer: &str, rule: &str, message: impl Into<String>) -> Value {
    json!({"pointer": pointer, "rule": rule, "message": message.into()})
}

/// The contract-shaped FAILED body with extra members.
pub(crate) fn failed_body(extra: Vec<(&str, Value)>) -> Bytes {
    let mut r = InventoryResponse::rejected();
    for (k, v) in extra {
        r.extra.insert(k.to_string(), v);
    }
    Bytes::from(serde_json::to_vec(&r).unwrap_or_default())
}

pub(crate) fn full(b: Bytes) -> Body {
    Full::new(b).boxed()
}

pub(crate) fn json_response(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn redacted_headers(h: &HeaderMap) -> Vec<Header> {
    h.iter()
        .map(|(k, v)| Header {
            name: k.as_str().to_string(),
            value: if k.as_str().eq_ignore_ascii_case("apikey") {
                "***".into()
            } else {
                String::from_utf8_lossy(v.as_bytes()).into_owned()
            },
        })
        .collect()
}

/// A journal entry under construction.
struct Record {
    t0: Instant,
    e: JournalEntry,
}

impl Record {
    fn new(sh: &Shared, method: &Method, path: &str, query: Option<String>, h: &HeaderMap) -> Self {
        Record {
            t0: Instant::now(),
            e: JournalEntry {
                id: 0,
                at_ms: sh.clock.now().as_millis() as u64,
                elapsed_ms: sh.elapsed().as_millis() as u64,
                method: method.as_str().to_string(),
                path: path.to_string(),
                query,
                seller: None,
                request_number: None,
                headers: redacted_headers(h),
                body: Bytes::new(),
                status: 0,
                response_body: Bytes::new(),
                effects: Vec::new(),
                applied: 0,
                failed_items: Vec::new(),
                notes: Vec::new(),
                duration_us: 0,
            },
        }
    }

    fn finish(mut self, sh: &Shared, status: u16, body: &Bytes) {
        self.e.status = status;
        self.e.response_body = body.clone();
        self.e.duration_us = self.t0.elapsed().as_micros() as u64;
        if sh.log_requests {
            tracing::info!(
                target: "stockwire_mock::requests",
                "{} {} seller={} → {} {}{}{}",
                self.e.method,
                self.e.path,
                self.e.seller.as_deref().unwrap_or("-"),
                if status == 0 { "closed".to_string() } else { status.to_string() },
                String::from_utf8_lossy(&body[..body.len().min(160)]),
                if self.e.effects.is_empty() {
                    String::new()
                } else {
                    format!(
                        " rules: {}",
                        self.e
                            .effects
                            .iter()
                            .map(|f| format!("{} ({})", f.rule, f.effect))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                },
                if self.e.notes.is_empty() {
                    String::new()
                } else {
                    format!(" notes: {}", self.e.notes.join("; "))
                }
            );
        }
        sh.journal.push(self.e);
    }
}

/// Routes one request.
pub(crate) async fn handle(
    sh: Arc<Shared>,
    req: Request<Incoming>,
    peer: Option<IpAddr>,
) -> Result<Response<Body>, CloseConnection> {
    let path = req.uri().path().to_string();
    if let Some(rest) = path.strip_prefix("/__admin") {
        return Ok(crate::admin::handle(&sh, rest, req).await);
    }
    if let Some(r) = &sh.recorder {
        return Ok(r.forward(&sh, req).await);
    }
    let c = contract(sh.profile);
    if path == c.inventory_path() {
        if req.method() == Method::POST {
            return update_inventory(sh, req, peer).await;
        }
        return Ok(not_allowed(&sh, req, "POST"));
    }
    if path == c.auth_path() {
        if req.method() == Method::GET || req.method() == Method::POST {
            return Ok(auth_token(&sh, req).await);
        }
        return Ok(not_allowed(&sh, req, "GET, POST"));
    }
    let rec = Record::new(&sh, req.method(), &path, None, req.headers());
    let body = failed_body(vec![(
        "message",
        json!(format!(
            "no endpoint {path}; this marketplace answers POST {}, GET|POST {} and /__admin/…",
            c.inventory_path(),
            c.auth_path()
        )),
    )]);
    rec.finish(&sh, 404, &body);
    Ok(json_response(StatusCode::NOT_FOUND, body))
}

fn not_allowed(sh: &Shared, req: Request<Incoming>, allow: &'static str) -> Response<Body> {
    let rec = Record::new(sh, req.method(), req.uri().path(), None, req.headers());
    let body = failed_body(vec![(
        "message",
        json!(format!(
            "method {} not allowed here; use {allow}",
            req.method()
        )),
    )]);
    rec.finish(sh, 405, &body);
    let mut r = json_response(StatusCode::METHOD_NOT_ALLOWED, body);
    r.headers_mut()
        .insert(hyper::header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// Reads a body within the size and time limits.
pub(crate) async fn read_body(sh: &Shared, req: Request<Incoming>) -> Result<Bytes, (u16, Value)> {
    let max = sh.limits.max_body_bytes;
    if let Some(len) = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > max as u64
    {
        return Err((
            413,
            violation(
                "",
                "body-size",
                format!("the body is {len} bytes; this marketplace accepts at most {max}"),
            ),
        ));
    }
    let limited = Limited::new(req.into_body(), max);
    match tokio::time::timeout(sh.limits.body_read_timeout, limited.collect()).await {
        Err(_) => Err((
            408,
            violation(
                "",
                "body-timeout",
                format!(
                    "the body did not arrive within {}",
                    humantime::format_duration(sh.limits.body_read_timeout)
                ),
            ),
        )),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err((
            413,
            violation(
                "",
                "body-size",
                format!("the body is larger than {max} bytes, the most this marketplace accepts"),
            ),
        )),
        Ok(Err(e)) => Err((
            400,
            violation("", "body-read", format!("the body could not be read: {e}")),
        )),
        Ok(Ok(c)) => Ok(c.to_bytes()),
    }
}

/// The deepest nesting of arrays and objects in a JSON text (strings skipped).
fn json_depth(b: &[u8]) -> usize {
    let (mut depth, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for &c in b {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

fn is_json_content_type(h: &HeaderMap) -> Result<(), String> {
    match h.get(CONTENT_TYPE) {
        None => Ok(()),
        Some(v) => {
            let t = v.to_str().unwrap_or("");
            let essence = t
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if essence == "application/json" || essence.ends_with("+json") {
                Ok(())
            } else {
                Err(t.to_string())
            }
        }
    }
}

/// `GET /authToken?username=&password=` and `POST /authToken` with a JSON body.
async fn auth_token(sh: &Shared, req: Request<Incoming>) -> Response<Body> {
    let is_post = req.method() == Method::POST;
    let query = req.uri().query().map(str::to_string);
    let redacted_query = query.as_deref().map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| {
                let v = if k == "password" { "***".into() } else { v };
                format!("{k}={v}")
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    let mut rec = Record::new(
        sh,
        req.method(),
        req.uri().path(),
        redacted_query,
        req.headers(),
    );
    let c = contract(sh.profile);
    let fail = |rec: Record, code: u16, status: &str, extra: Vec<(&str, Value)>| {
        let mut r = AuthTokenResponse {
            status: status.to_string(),
            access_token: None,
            extra: Default::default(),
        };
        for (k, v) in extra {
            r.extra.insert(k.to_string(), v);
        }
        let body = Bytes::from(serde_json::to_vec(&r).unwrap_or_default());
        rec.finish(sh, code, &body);
        json_response(
            StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
            body,
        )
    };
    let creds: Value = if is_post {
        let headers = req.headers().clone();
        let body = match read_body(sh, req).await {
            Ok(b) => b,
            Err((code, v)) => return fail(rec, code, "FAILED", vec![("violations", json!([v]))]),
        };
        if let Err(ct) = is_json_content_type(&headers) {
            let v = violation(
                "",
                "content-type",
                format!("Content-Type `{ct}` is not application/json"),
            );
            return fail(rec, 400, "FAILED", vec![("violations", json!([v]))]);
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => {
                let mut shown = v.clone();
                if let Some(p) = shown.get_mut("password") {
                    *p = json!("***");
                }
                rec.e.body = Bytes::from(shown.to_string());
                v
            }
            Err(e) => {
                let v = violation("", "json", format!("not JSON: {e}"));
                return fail(rec, 400, "FAILED", vec![("violations", json!([v]))]);
            }
        }
    } else {
        let mut m = serde_json::Map::new();
        for (k, v) in url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
            m.insert(k.into_owned(), Value::String(v.into_owned()));
        }
        Value::Object(m)
    };
    let problems = c.validate_auth_query(&creds);
    if !problems.is_empty() {
        let v: Vec<Value> = problems
            .iter()
            .map(|p| violation(&p.pointer, &p.keyword, &p.message))
            .collect();
        rec.e.notes.push("credentials missing or malformed".into());
        return fail(rec, 400, "FAILED", vec![("violations", Value::Array(v))]);
    }
    let user = creds["username"].as_str().unwrap_or("");
    let pass = creds["password"].as_str().unwrap_or("");
    match sh.login(user, pass) {
        Some(idx) => {
            rec.e.seller = Some(sh.sellers[idx].seller.clone());
            let engine = sh.engine();
            let token = sh
                .tokens
                .issue(idx, sh.clock.now(), &engine.token_rules, &sh.sellers);
            let r = AuthTokenResponse {
                status: "SUCCESS".into(),
                access_token: Some(token),
                extra: Default::default(),
            };
            let body = Bytes::from(serde_json::to_vec(&r).unwrap_or_default());
            rec.finish(sh, 200, &body);
            json_response(StatusCode::OK, body)
        }
        None => {
            rec.e.notes.push(format!(
                "no seller has username `{user}` with that password"
            ));
            let status = if is_post {
                "INVALID_CREDENTIALS"
            } else {
                "FAILED"
            };
            fail(
                rec,
                401,
                status,
                vec![("message", json!("unknown username or wrong password"))],
            )
        }
    }
}

fn text_of(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
}

/// `POST /updateInventory`.
async fn update_inventory(
    sh: Arc<Shared>,
    req: Request<Incoming>,
    peer: Option<IpAddr>,
) -> Result<Response<Body>, CloseConnection> {
    let now = sh.clock.now();
    let engine = sh.engine();
    let mut rec = Record::new(&sh, req.method(), req.uri().path(), None, req.headers());
    let n = sh.counter.fetch_add(1, Ordering::SeqCst) + 1;
    rec.e.request_number = Some(n);
    let c = contract(sh.profile);

    let reject = |mut rec: Record, code: u16, violations: Vec<Value>, note: Option<String>| {
        if let Some(n) = note {
            rec.e.notes.push(n);
        }
        let body = failed_body(vec![("violations", Value::Array(violations))]);
        rec.finish(&sh, code, &body);
        Ok(json_response(
            StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
            body,
        ))
    };

    // Authentication: a missing or unknown apiKey changes nothing.
    let key = req
        .headers()
        .get("apikey")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let checked = key
        .as_deref()
        .map(|k| sh.tokens.check(k, now, &engine.token_rules, &sh.sellers));
    let seller = match checked {
        Some(Ok(i)) => sh.sellers[i].seller.clone(),
        _ if !sh.auth => sh
            .sellers
            .first()
            .map(|s| s.seller.clone())
            .unwrap_or_default(),
        found => {
            // A refused token still tells whose it was: a request that came before the
            // advised Retry-After counts as early even when its token is also stale.
            let mut rec = rec;
            if let Some(Err(r)) = &found
                && let Some(i) = r.seller()
            {
                sh.retry_watch.arrived(&sh.sellers[i].seller, now, n);
                rec.e.seller = Some(sh.sellers[i].seller.clone());
            }
            let (rule, msg) = match found {
                None => (
                    "auth-missing",
                    "missing apiKey header: get a token from /authToken and send it as `apiKey: TOKEN`".to_string(),
                ),
                Some(Err(TokenRefusal::Expired(_, m))) => ("auth-expired", m),
                Some(Err(TokenRefusal::Revoked(_, m))) => ("auth-revoked", m),
                _ => (
                    "auth-unknown",
                    "unknown apiKey: it matches no seller's token (get one from /authToken)".to_string(),
                ),
            };
            rec.e.notes.push(msg.clone());
            let body = failed_body(vec![
                ("message", json!(msg)),
                ("violations", json!([violation("", rule, msg)])),
            ]);
            rec.finish(&sh, 401, &body);
            return Ok(json_response(StatusCode::UNAUTHORIZED, body));
        }
    };
    rec.e.seller = Some(seller.clone());

    // Rate limits and the Retry-After watch (crate::ratelimit).
    if let Some(t) = crate::ratelimit::gate(&sh, &engine, &seller, peer, now, n) {
        return Ok(throttled(&sh, rec, t));
    }

    // Whole-request problems → 400/413 with violations, nothing applied.
    if let Err(ct) = is_json_content_type(req.headers()) {
        return reject(
            rec,
            400,
            vec![violation(
                "",
                "content-type",
                format!("Content-Type `{ct}` is not application/json"),
            )],
            None,
        );
    }
    let body = match read_body(&sh, req).await {
        Ok(b) => b,
        Err((code, v)) => return reject(rec, code, vec![v], None),
    };
    rec.e.body = body.clone();
    let depth = json_depth(&body);
    if depth > sh.limits.max_depth {
        return reject(
            rec,
            400,
            vec![violation(
                "",
                "max-depth",
                format!(
                    "JSON nested {depth} levels deep; at most {} accepted",
                    sh.limits.max_depth
                ),
            )],
            None,
        );
    }
    let doc: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            let rule = if std::str::from_utf8(&body).is_err() {
                "utf-8"
            } else {
                "json"
            };
            return reject(
                rec,
                400,
                vec![violation("", rule, format!("the body is not JSON: {e}"))],
                None,
            );
        }
    };
    let envelope = c.validate_envelope(&doc);
    if !envelope.is_empty() {
        let v = envelope
            .iter()
            .map(|p| violation(&p.pointer, &p.keyword, &p.message))
            .collect();
        return reject(rec, 400, v, None);
    }
    let items: &[Value] = doc
        .get("inventoryList")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if let Some(max) = sh.limits.max_items
        && items.len() > max
    {
        return reject(
            rec,
            413,
            vec![violation(
                "/inventoryList",
                "max-items",
                format!(
                    "{} items sent; this marketplace accepts at most {max} per request",
                    items.len()
                ),
            )],
            None,
        );
    }

    // Item-level checks: schema, then catalog.
    let mut keys: Vec<ItemKey> = Vec::with_capacity(items.len());
    let mut counts: Vec<Option<u32>> = Vec::with_capacity(items.len());
    let mut failures: Vec<Option<String>> = vec![None; items.len()];
    for (i, it) in items.iter().enumerate() {
        let id = |f: &str| match it.get(f) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let key = ItemKey::new(id("productId"), id("variantId"));
        let problems = c.validate_item(i, it);
        let count = it
            .get("inventory")
            .and_then(|v| serde_json::from_value::<Inventory>(v.clone()).ok())
            .and_then(|inv| inv.count());
        if let Some(p) = problems.first() {
            let more = if problems.len() > 1 {
                format!(" (and {} more)", problems.len() - 1)
            } else {
                String::new()
            };
            failures[i] = Some(format!(
                "Invalid item: {} [{}] {}{more}",
                p.pointer, p.keyword, p.message
            ));
        } else if count.is_none() {
            failures[i] = Some(format!(
                "Invalid inventory value: /inventoryList/{i}/inventory is not a stock count from 0 to 2147483647"
            ));
        } else if let Some(cat) = &sh.catalog
            && cat.find(&seller, &key).is_none()
        {
            let near = cat
                .nearest(&seller, &key)
                .map(|k| format!(" (nearest: {k})"))
                .unwrap_or_default();
            let msg = format!(
                "Variant not found: {key} is not in the catalog of seller `{seller}`{near}"
            );
            rec.e.notes.push(format!("/inventoryList/{i}: {msg}"));
            failures[i] = Some(msg);
        }
        keys.push(key);
        counts.push(count);
    }

    // Scripted behaviour.
    let mut answer = AnswerEffects::default();
    if !engine.is_empty() {
        let facts: Vec<ItemFacts<'_>> = items
            .iter()
            .enumerate()
            .map(|(i, it)| ItemFacts {
                product: text_of(it.get("productId")),
                variant: text_of(it.get("variantId")),
                facility: text_of(it.get("facilityCode")),
                inventory: counts[i].map(u64::from),
                eligible: failures[i].is_none(),
            })
            .collect();
        let verdict = engine.evaluate(&RequestFacts {
            seller: &seller,
            n,
            elapsed: sh.elapsed(),
            wall: now,
            items: &facts,
        });
        for (i, f) in verdict.item_failures.into_iter().enumerate() {
            if failures[i].is_none() && f.is_some() {
                failures[i] = f;
            }
        }
        rec.e.effects = verdict.fired;
        if let Some(x) = verdict.explain {
            rec.e.notes.push(x);
        }
        answer = verdict.answer;
    }

    if answer.close {
        if !answer.delay.is_zero() {
            tokio::time::sleep(answer.delay).await;
        }
        rec.finish(&sh, 0, &Bytes::new());
        return Err(CloseConnection);
    }
    if let Some((code, custom, rule)) = answer.status.take() {
        let (body, ct) = match custom {
            Some(Value::String(s)) => (Bytes::from(s), "text/plain; charset=utf-8"),
            Some(v) => (Bytes::from(v.to_string()), "application/json"),
            None => (
                failed_body(vec![(
                    "message",
                    json!(format!("scripted HTTP {code} (scenario rule `{rule}`)")),
                )]),
                "application/json",
            ),
        };
        return Ok(deliver(&sh, rec, code, body, ct, &answer).await);
    }

    // A key fails as a whole if any of its occurrences fails; the rest apply atomically.
    let mut failed: Vec<FailedProduct> = Vec::new();
    let mut failed_keys: std::collections::HashSet<&ItemKey> = Default::default();
    for (i, f) in failures.iter().enumerate() {
        if let Some(msg) = f
            && failed_keys.insert(&keys[i])
        {
            failed.push(FailedProduct::new(&keys[i], msg.clone()));
        }
    }
    let mut applied = 0usize;
    {
        let mut ledger = sh.ledger();
        let stock = ledger.entry(seller.clone()).or_default();
        for (i, key) in keys.iter().enumerate() {
            if failed_keys.contains(key) {
                continue;
            }
            if let Some(n) = counts[i] {
                stock.insert(key.clone(), n);
                applied += 1;
            }
        }
    }
    rec.e.applied = applied;
    rec.e.failed_items = failures
        .iter()
        .enumerate()
        .filter(|(i, f)| f.is_some() || failed_keys.contains(&keys[*i]))
        .map(|(i, _)| i)
        .collect();
    let resp = InventoryResponse::for_outcome(&keys, failed);
    let mut body = match answer.breach {
        None => Bytes::from(serde_json::to_vec(&resp).unwrap_or_default()),
        Some(b) => Bytes::from(breach(b, &resp, &keys).to_string()),
    };
    if let Some(m) = answer.malformed {
        body = match m {
            Malformed::Truncated => body.slice(..body.len() / 2),
            Malformed::InvalidJson => {
                Bytes::from_static(b"{\"status\": SUCCESS, failedProductList: [}")
            }
            Malformed::Empty => Bytes::new(),
        };
        rec.e.notes.push(format!("body sent {}", kebab(&m)));
    }
    Ok(deliver(&sh, rec, 200, body, "application/json", &answer).await)
}

/// The answer to a request the rate limit refused: nothing is applied.
fn throttled(sh: &Shared, mut rec: Record, t: crate::ratelimit::Throttle) -> Response<Body> {
    rec.e.effects.push(crate::scenario::Fired {
        rule: crate::ratelimit::RULE.into(),
        effect: format!("status {}, retry-after {}s", t.status, t.retry_after),
    });
    rec.e.notes.push(t.message.clone());
    let body = failed_body(vec![("message", json!(t.message))]);
    rec.finish(sh, t.status, &body);
    let code = StatusCode::from_u16(t.status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
    let mut r = json_response(code, body);
    r.headers_mut()
        .insert(hyper::header::RETRY_AFTER, HeaderValue::from(t.retry_after));
    r
}

/// Rewrites a correct answer so that it breaks the contract in the chosen way.
fn breach(b: Breach, resp: &InventoryResponse, keys: &[ItemKey]) -> Value {
    let mut v = serde_json::to_value(resp).unwrap_or_else(|_| json!({}));
    let first = keys
        .first()
        .cloned()
        .unwrap_or_else(|| ItemKey::new("", ""));
    let entry = |k: &ItemKey, m: &str| json!({"productId": k.product_id, "variantId": k.variant_id, "message": m});
    let list_len = resp.failed().len();
    match b {
        Breach::SuccessWithFailures => {
            v["status"] = json!("SUCCESS");
            if list_len == 0 {
                v["failedProductList"] = json!([entry(&first, "Mismatch")]);
            }
        }
        Breach::UnknownStatus => v["status"] = json!("OK"),
        Breach::MissingStatus => {
            if let Some(o) = v.as_object_mut() {
                o.remove("status");
            }
        }
        Breach::PhantomFailure => {
            let phantom = ItemKey::new("PHANTOM-PRODUCT", "PHANTOM-VARIANT");
            let mut list = v["failedProductList"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            list.push(entry(&phantom, "Variant not found"));
            v["failedProductList"] = Value::Array(list);
            if list_len == 0 {
                v["status"] = json!("PARTIAL_SUCCESS");
            }
        }
        Breach::PartialWithoutFailures => {
            v["status"] = json!("PARTIAL_SUCCESS");
            v["failedProductList"] = json!([]);
        }
        Breach::DuplicateFailure => {
            let mut list = v["failedProductList"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let e = list
                .first()
                .cloned()
                .unwrap_or_else(|| entry(&first, "Mismatch"));
            if list.is_empty() {
                list.push(e.clone());
            }
            list.push(e);
            v["failedProductList"] = Value::Array(list);
            let distinct: std::collections::HashSet<&ItemKey> = keys.iter().collect();
            v["status"] = json!(if distinct.len() > 1 && list_len < distinct.len() {
                "PARTIAL_SUCCESS"
            } else {
                "FAILED"
            });
        }
        Breach::EmptyMessage => {
            let mut list = v["failedProductList"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            match list.first_mut() {
                Some(e) => e["message"] = json!(""),
                None => list.push(entry(&first, "")),
            }
            v["failedProductList"] = Value::Array(list);
            if list_len == 0 {
                let distinct: std::collections::HashSet<&ItemKey> = keys.iter().collect();
                v["status"] = json!(if distinct.len() > 1 {
                    "PARTIAL_SUCCESS"
                } else {
                    "FAILED"
                });
            }
        }
        Breach::ListNotArray => v["failedProductList"] = json!({}),
    }
    v
}

/// Sends an answer with the scripted delay, headers, content type and drip.
async fn deliver(
    sh: &Shared,
    rec: Record,
    code: u16,
    body: Bytes,
    content_type: &str,
    a: &AnswerEffects,
) -> Response<Body> {
    if !a.delay.is_zero() {
        tokio::time::sleep(a.delay).await;
    }
    if let (Some(s), Some(seller)) = (a.retry_after, rec.e.seller.as_deref()) {
        sh.retry_watch.advise(seller, sh.clock.now(), s);
    }
    rec.finish(sh, code, &body);
    let b = match a.drip {
        Some((chunk, every)) => DripBody::new(body, chunk, every).boxed(),
        None => full(body),
    };
    let mut r = Response::new(b);
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let ct = a.content_type.as_deref().unwrap_or(content_type);
    if let Ok(v) = HeaderValue::from_str(ct) {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    if let Some(s) = a.retry_after {
        r.headers_mut()
            .insert(hyper::header::RETRY_AFTER, HeaderValue::from(s));
    }
    for (k, v) in &a.headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

/// A body sent `chunk` bytes at a time with a pause between chunks.
pub(crate) struct DripBody {
    rest: Bytes,
    chunk: usize,
    every: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl DripBody {
    fn new(rest: Bytes, chunk: usize, every: Duration) -> Self {
        DripBody {
            rest,
            chunk: chunk.max(1),
            every,
            sleep: None,
        }
    }
}

impl HttpBody for DripBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.rest.is_empty() {
            return Poll::Ready(None);
        }
        if let Some(s) = self.sleep.as_mut() {
            if s.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        let n = self.chunk.min(self.rest.len());
        let piece = self.rest.split_to(n);
        let every = self.every;
        self.sleep = Some(Box::pin(tokio::time::sleep(every)));
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.rest.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_ignores_brackets_in_strings() {
        assert_eq!(json_depth(br#"{"a":[1,{"b":"[[[{{"}]}"#), 3);
        assert_eq!(json_depth(br#""\"[""#), 0);
        assert_eq!(json_depth(b"[[[[]]]]"), 4);
    }
}
