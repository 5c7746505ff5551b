//! The pipeline of every update-shaped call (`POST /updateInventory`, and any call of the
//! update's shape the mock serves), one function per step:
//!
//! authenticate → read → parse → validate → script → apply → render
//!
//! Everything a call names comes from its definition (`crate::family::UpdateCall`): its
//! members, its request rules (`RequestRules::for_call`), how its value is read (a count, or an
//! exact number) and its ledger. Scenario rules, rate limits, token request counts and the
//! request counter are the inventory push's only (a rule without `call` is its).
//!
//! The body is read once into borrowed typed structs (`stockwire_schema::borrowed`) and checked
//! with the call's compiled request rules; nothing a request does scales with the
//! catalog (lookups are hashed, suggestions come from an index and are capped per response),
//! and the ledger is locked once. Bodies of at least [`Limits::inline_body_bytes`] are processed
//! on the blocking pool, at most `Limits::heavy_jobs` at a time, so large requests cannot starve small
//! ones of the async workers.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use stockwire_schema::ItemKey;
use stockwire_schema::borrowed::{
    BorrowedItem, BorrowedRequest, DUPLICATE_KEY, FailedRef, ParseError, RequestRules, ResponseRef,
    Scalar,
};
use stockwire_schema::call::UpdateMembers;
use stockwire_schema::exchange::field;

use super::render::{Rendered, deliver, distort, scripted_status};
use crate::family::{UpdateCall, ValueKind};
use crate::http::{
    Body, BudgetHeld, CloseConnection, Limits, closing, failed_body, failed_body_of,
    json_content_type, json_response, read_body_within, violation,
};
use crate::journal::Record;
use crate::ledger::stock::{Ledger, Slot, pair_key};
use crate::ledger::tokens::TokenRefusal;
use crate::scenario::ratelimit::{RULE, Throttle, gate};
use crate::scenario::{AnswerEffects, Engine, Fired, ItemFacts, RequestFacts};
use crate::state::Shared;

type HashSet<T> = foldhash::HashSet<T>;

/// Unknown items per response whose message names the nearest catalog item.
pub(crate) const SUGGESTIONS_PER_RESPONSE: usize = 16;
/// Per-item notes kept in a journal entry (the rest are counted in one note).
pub(crate) const NOTES_PER_REQUEST: usize = 16;

/// `POST` to an update call: `call` indexes `Family::updates`.
pub(crate) async fn update(
    sh: Arc<Shared>,
    call: usize,
    req: Request<Incoming>,
    peer: Option<IpAddr>,
) -> Result<Response<Body>, CloseConnection> {
    let engine = sh.engine();
    let u = sh.family.updates.get(call).unwrap_or(sh.family.inventory());
    let (inventory, members) = (u.is_inventory, u.rules.members());
    let mut rec = Record::new(
        &*sh.clock,
        &sh.uptime,
        req.method(),
        u.path.clone(),
        None,
        req.headers(),
    );
    rec.e.call = Some(u.call.id());
    let now = rec.now;
    let n = if inventory {
        let n = sh.counter.fetch_add(1, Ordering::SeqCst) + 1;
        rec.e.request_number = Some(n);
        n
    } else {
        0
    };

    let seller = match authenticate(&sh, &engine, now, req.headers(), inventory) {
        Ok(s) => s,
        Err(refusal) => return Ok(refusal.answer(&sh, members, rec, now, n)),
    };
    rec.e.seller = Some(seller.clone());
    // Rate limits and the Retry-After watch (crate::scenario::ratelimit).
    if inventory
        && let Some(t) = gate(
            &sh.retry_watch,
            engine.limiter.as_ref(),
            &seller,
            peer,
            now,
            n,
        )
    {
        return Ok(throttled(&sh, rec, t));
    }
    if let Err(ct) = json_content_type(req.headers()) {
        let v = violation(
            "",
            "content-type",
            format!("Content-Type `{ct}` is not application/json"),
        );
        return Ok(reject(&sh, members, rec, 400, vec![v], false));
    }
    // The body's room in the budget of bytes in flight is held until the answer is rendered,
    // then kept (resized to the answer) until a large answer is written.
    let (body, room) = match read_body_within(&sh.limits, req, Some(&sh.body_budget)).await {
        Ok(b) => b,
        Err(r) => {
            return Ok(reject(
                &sh,
                members,
                rec,
                r.code,
                vec![r.violation],
                r.close,
            ));
        }
    };
    rec.e.body = body.clone();

    let (outcome, room) = if body.len() >= sh.limits.inline_body_bytes {
        // Large bodies: off the async workers, at most `heavy_jobs` at a time. Boxed: the
        // future every small request carries (and hyper moves) stays small.
        let job = Heavy {
            sh: sh.clone(),
            call,
            engine,
            seller: seller.clone(),
            n,
            now,
            body,
            room,
        };
        Box::pin(job.run()).await
    } else {
        (process(&sh, call, &engine, &seller, n, now, &body), room)
    };
    match finish(&sh, members, rec, outcome, room) {
        Finished::Now(r) => r,
        Finished::Later(wait) => wait.await,
    }
}

/// A large body, processed on the blocking pool.
struct Heavy {
    sh: Arc<Shared>,
    call: usize,
    engine: Arc<Engine>,
    seller: Arc<str>,
    n: u64,
    now: Duration,
    body: Bytes,
    room: Option<BudgetHeld>,
}

impl Heavy {
    async fn run(self) -> (Outcome, Option<BudgetHeld>) {
        let permit = self.sh.heavy.clone().acquire_owned().await;
        let job = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let Heavy {
                sh,
                call,
                engine,
                seller,
                n,
                now,
                body,
                room,
            } = self;
            (process(&sh, call, &engine, &seller, n, now, &body), room)
        });
        match job.await {
            Ok(o) => o,
            Err(e) => (
                Outcome::rejected(
                    500,
                    violation("", "internal", format!("processing failed: {e}")),
                ),
                None,
            ),
        }
    }
}

/// Why a request was not authenticated.
pub(crate) enum AuthRefusal {
    /// No apiKey header.
    Missing,
    /// An apiKey that is no seller's token, or one past its lifetime or revoked
    /// (`crate::ledger::tokens`).
    Token(TokenRefusal),
}

impl AuthRefusal {
    /// The refusal's rule id (`auth-missing`, …) and message.
    pub(crate) fn explain(&self) -> (&'static str, Cow<'_, str>) {
        match self {
            AuthRefusal::Missing => (
                "auth-missing",
                "missing apiKey header: get a token from /authToken and send it as `apiKey: TOKEN`"
                    .into(),
            ),
            AuthRefusal::Token(TokenRefusal::Expired(_, m)) => ("auth-expired", m.into()),
            AuthRefusal::Token(TokenRefusal::Revoked(_, m)) => ("auth-revoked", m.into()),
            AuthRefusal::Token(TokenRefusal::Unknown) => (
                "auth-unknown",
                "unknown apiKey: it matches no seller's token (get one from /authToken)".into(),
            ),
        }
    }

    /// The seller a stale token belonged to, if any.
    pub(crate) fn seller(&self) -> Option<usize> {
        match self {
            AuthRefusal::Token(r) => r.seller(),
            AuthRefusal::Missing => None,
        }
    }

    fn answer(
        self,
        sh: &Shared,
        members: &UpdateMembers,
        mut rec: Record,
        now: Duration,
        n: u64,
    ) -> Response<Body> {
        // A stale token still says whose it was: journaled under that seller, and a request
        // before the advised Retry-After counts as early even when its token is also stale.
        if let AuthRefusal::Token(r) = &self
            && let Some(s) = r.seller().and_then(|i| sh.seller_names.get(i))
        {
            sh.retry_watch.arrived(s, now, n);
            rec.e.seller = Some(s.clone());
        }
        let (rule, msg) = self.explain();
        rec.e.notes.push(msg.to_string());
        let body = failed_body_of(
            members,
            vec![
                (members.message, json!(msg)),
                ("violations", json!([violation("", rule, msg)])),
            ],
        );
        rec.finish(&sh.journal, sh.log_requests, 401, &body);
        json_response(StatusCode::UNAUTHORIZED, body)
    }
}

/// The answer to a request the rate limit refused: nothing is applied, and the journal names
/// the throttling as the rule [`RULE`].
fn throttled(sh: &Shared, mut rec: Record, t: Throttle) -> Response<Body> {
    rec.e.effects.push(Fired {
        rule: RULE.into(),
        effect: format!("status {}, retry-after {}s", t.status, t.retry_after),
    });
    rec.e.notes.push(t.message.clone());
    let body = failed_body(vec![(field::MESSAGE, Value::String(t.message))]);
    rec.finish(&sh.journal, sh.log_requests, t.status, &body);
    let code = StatusCode::from_u16(t.status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
    let mut r = json_response(code, body);
    r.headers_mut().insert(
        hyper::header::RETRY_AFTER,
        hyper::header::HeaderValue::from(t.retry_after),
    );
    r
}

/// Step 1, authenticate: the seller the apiKey belongs to (with `--no-auth`, the first
/// seller unless a known key is sent). A missing or unknown key changes nothing. `counted`:
/// the request counts against a token good for a number of requests (the inventory push's).
pub(crate) fn authenticate(
    sh: &Shared,
    engine: &Engine,
    now: Duration,
    h: &HeaderMap,
    counted: bool,
) -> Result<Arc<str>, AuthRefusal> {
    let key = h
        .get("apikey")
        .map(|v| String::from_utf8_lossy(v.as_bytes()));
    let checked = key.as_deref().map(|k| {
        sh.tokens
            .check(k, now, &engine.token_rules, &sh.sellers, counted)
    });
    match checked {
        Some(Ok(i)) => Ok(sh.seller_names[i].clone()),
        _ if !sh.auth => Ok(sh
            .seller_names
            .first()
            .cloned()
            .unwrap_or_else(|| Arc::from(""))),
        None => Err(AuthRefusal::Missing),
        Some(Err(r)) => Err(AuthRefusal::Token(r)),
    }
}

/// A whole-request refusal: FAILED with violations, nothing applied.
fn reject(
    sh: &Shared,
    members: &UpdateMembers,
    rec: Record,
    code: u16,
    violations: Vec<Value>,
    close: bool,
) -> Response<Body> {
    let body = failed_body_of(members, vec![("violations", Value::Array(violations))]);
    rec.finish(&sh.journal, sh.log_requests, code, &body);
    let r = json_response(
        StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
        body,
    );
    if close { closing(r) } else { r }
}

/// What processing decided, ready to journal and send.
pub(crate) struct Outcome {
    answer: Answer,
    notes: Vec<String>,
    fired: Vec<Fired>,
    applied: usize,
    failed_items: Vec<usize>,
}

enum Answer {
    /// A whole-request refusal.
    Rejected { code: u16, violations: Vec<Value> },
    /// Close without answering (after the scripted delay).
    Close(AnswerEffects),
    /// An answer to send with the scripted effects.
    Send(Rendered, AnswerEffects),
}

impl Outcome {
    fn rejected(code: u16, v: Value) -> Outcome {
        Outcome {
            answer: Answer::Rejected {
                code,
                violations: vec![v],
            },
            notes: Vec::new(),
            fired: Vec::new(),
            applied: 0,
            failed_items: Vec::new(),
        }
    }
}

/// What [`finish`] leaves to do: nothing, or wait out a scripted delay first.
enum Finished {
    /// The answer (or the order to close).
    Now(Result<Response<Body>, CloseConnection>),
    /// A scripted delay to wait before answering (boxed: rare, and the future every request
    /// carries stays small).
    Later(Pin<Box<dyn Future<Output = Result<Response<Body>, CloseConnection>> + Send>>),
}

/// Journals and sends an outcome; an answer with a scripted delay is journaled and sent
/// after it. `room`, the request's room in the body budget, is resized to the answer
/// ([`crate::http::BodyBudget::answer_room`]) and kept until a large answer is written.
fn finish(
    sh: &Arc<Shared>,
    members: &UpdateMembers,
    mut rec: Record,
    o: Outcome,
    room: Option<BudgetHeld>,
) -> Finished {
    rec.e.notes.extend(o.notes);
    rec.e.effects = o.fired;
    rec.e.applied = o.applied;
    rec.e.failed_items = o.failed_items;
    let delay = match &o.answer {
        Answer::Rejected { .. } => Duration::ZERO,
        Answer::Close(e) | Answer::Send(_, e) => e.delay,
    };
    let room = match &o.answer {
        Answer::Send(r, _) => sh.body_budget.answer_room(room, r.body.len()),
        _ => None,
    };
    if delay.is_zero() {
        return Finished::Now(answer(sh, members, rec, o.answer, room));
    }
    let (sh, members) = (sh.clone(), *members);
    Finished::Later(Box::pin(async move {
        tokio::time::sleep(delay).await;
        answer(&sh, &members, rec, o.answer, room)
    }))
}

/// Journals and sends an answer.
fn answer(
    sh: &Shared,
    members: &UpdateMembers,
    rec: Record,
    a: Answer,
    room: Option<BudgetHeld>,
) -> Result<Response<Body>, CloseConnection> {
    match a {
        Answer::Rejected { code, violations } => {
            Ok(reject(sh, members, rec, code, violations, false))
        }
        Answer::Close(_) => {
            rec.finish(&sh.journal, sh.log_requests, 0, &Bytes::new());
            Err(CloseConnection)
        }
        Answer::Send(r, effects) => Ok(deliver(sh, rec, r, &effects, room)),
    }
}

/// Steps 3 to 7 on a body that was read: parse, validate, script, apply, render.
pub(crate) fn process(
    sh: &Shared,
    call: usize,
    engine: &Engine,
    seller: &str,
    n: u64,
    now: Duration,
    body: &[u8],
) -> Outcome {
    let u = sh.family.updates.get(call).unwrap_or(sh.family.inventory());
    let req = match parse(&u.rules, &sh.limits, body) {
        Ok(r) => r,
        Err((code, v)) => return Outcome::rejected(code, v),
    };
    let items = match check_envelope(sh, &u.rules, &req) {
        Ok(items) => items,
        Err((code, violations)) => {
            return Outcome {
                answer: Answer::Rejected { code, violations },
                notes: Vec::new(),
                fired: Vec::new(),
                applied: 0,
                failed_items: Vec::new(),
            };
        }
    };
    let mut notes = Vec::new();
    let mut checked = validate(sh, u, seller, items, &mut notes);
    let verdict = if u.is_inventory {
        script(sh, engine, (seller, n, now), items, &mut checked)
    } else {
        Scripted::none()
    };
    if let Some(x) = verdict.explain {
        notes.push(x);
    }
    let mut answer = verdict.answer;
    if answer.close {
        return Outcome {
            answer: Answer::Close(answer),
            notes,
            fired: verdict.fired,
            applied: 0,
            failed_items: Vec::new(),
        };
    }
    if let Some(status) = answer.status.take() {
        let r = scripted_status(status);
        return Outcome {
            answer: Answer::Send(r, answer),
            notes,
            fired: verdict.fired,
            applied: 0,
            failed_items: Vec::new(),
        };
    }
    // No per-item list of keys: an item's ids are read from the parsed item where needed (a
    // borrow for string ids), and only the failed keys are held.
    let failed = failed_keys(items, &mut checked);
    let applied = apply(sh, u, seller, items, &checked, &failed);
    let failed_items: Vec<usize> = (0..items.len())
        .filter(|&i| {
            checked[i].failure.is_some()
                || (!failed.is_empty() && failed.contains(&items[i].id_texts()))
        })
        .collect();
    drop(failed);
    let rendered = render(
        u.rules.members(),
        body,
        seller,
        items,
        &checked,
        failed_items.len(),
        &mut answer,
        &mut notes,
    );
    Outcome {
        answer: Answer::Send(rendered, answer),
        notes,
        fired: verdict.fired,
        applied,
        failed_items,
    }
}

/// Step 3, parse: one pass into borrowed typed structs. A body that is not JSON, or nests
/// deeper than the limit, is refused as a whole (400); one with more items than the limit
/// (counted while reading, never held past it) is refused with 413.
fn parse<'b>(
    rules: &RequestRules,
    limits: &Limits,
    body: &'b [u8],
) -> Result<BorrowedRequest<'b>, (u16, Value)> {
    match rules.parse_capped(
        body,
        limits.max_depth,
        limits.max_items.unwrap_or(usize::MAX),
    ) {
        Ok(r) => Ok(r),
        Err(ParseError::TooManyItems { max }) => Err((
            413,
            violation(
                &format!("/{}", escape_pointer(rules.members().list)),
                "max-items",
                format!(
                    "more than {max} items sent; this marketplace accepts at most {max} per request"
                ),
            ),
        )),
        Err(ParseError::TooDeep { max }) => Err((
            400,
            violation(
                "",
                "max-depth",
                format!("JSON nested more than {max} levels deep; at most {max} accepted"),
            ),
        )),
        Err(ParseError::Syntax(e)) => {
            let rule = if std::str::from_utf8(body).is_err() {
                "utf-8"
            } else {
                "json"
            };
            Err((
                400,
                violation("", rule, format!("the body is not JSON: {e}")),
            ))
        }
    }
}

/// Step 4a, the envelope: problems outside the items refuse the request as a whole (400), as
/// does a repeated top-level member; too many items is a 413.
fn check_envelope<'r, 'b>(
    sh: &Shared,
    rules: &RequestRules,
    req: &'r BorrowedRequest<'b>,
) -> Result<&'r [BorrowedItem<'b>], (u16, Vec<Value>)> {
    let list = rules.members().list;
    let mut v: Vec<Value> = rules
        .check_envelope(req)
        .iter()
        .map(|p| violation(&p.pointer, &p.keyword, &p.message))
        .collect();
    for k in &req.duplicate_keys {
        v.push(violation(
            &format!("/{}", escape_pointer(k)),
            DUPLICATE_KEY.id,
            format!("member `{k}` appears more than once; parsers disagree on which value wins"),
        ));
    }
    if !v.is_empty() {
        return Err((400, v));
    }
    let items = req.items().unwrap_or(&[]);
    if let Some(max) = sh.limits.max_items
        && items.len() > max
    {
        return Err((
            413,
            vec![violation(
                &format!("/{}", escape_pointer(list)),
                "max-items",
                format!(
                    "{} items sent; this marketplace accepts at most {max} per request",
                    items.len()
                ),
            )],
        ));
    }
    Ok(items)
}

fn escape_pointer(s: &str) -> Cow<'_, str> {
    if s.contains(['~', '/']) {
        Cow::Owned(s.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(s)
    }
}

/// Why one item failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Broke the item schema, a duplicate key, or an unreadable count: the message.
    Invalid(String),
    /// Not in the seller's catalog, with the nearest item when one was looked up.
    NotFound(Option<Box<ItemKey>>),
    /// Failed by a scenario rule: its message.
    Scripted(String),
}

/// What [`Checked::value`] holds when the item has no readable value.
const NO_VALUE: u64 = u64::MAX;

/// One item after validation.
#[derive(Debug)]
pub(crate) struct Checked {
    /// The value read: a count (`u32` widened), or a number's bits (`f64::to_bits`, never
    /// [`NO_VALUE`]: JSON numbers are never NaN), by the call's `ValueKind`; [`NO_VALUE`] when
    /// unreadable. One word, like the count it replaced.
    value: u64,
    /// Boxed: few items fail, and the list holds one of these per item (24 bytes, not 48).
    failure: Option<Box<Failure>>,
    /// The catalog entry the item was found as (its ledger slot), when there is a catalog.
    entry: Option<u32>,
    /// The first failed occurrence of its key: the one the answer lists.
    listed: bool,
}

impl Checked {
    /// The value as a stock count (a count-valued call's).
    fn count(&self) -> Option<u32> {
        (self.value != NO_VALUE).then_some(self.value as u32)
    }
}

/// A JSON number's value, exactly as read (`None` for anything else).
fn number(v: &Scalar<'_>) -> Option<f64> {
    match v {
        Scalar::UInt(n) => Some(*n as f64),
        Scalar::Int(n) => Some(*n as f64),
        Scalar::Float(x) => Some(*x),
        _ => None,
    }
}

/// Step 4b, validate each item: duplicate keys, the compiled item rules, the value (a stock
/// count, or a number, by the call's schema), the catalog. Unknown items get a suggestion
/// (from the index) for the first [`SUGGESTIONS_PER_RESPONSE`] of them only.
fn validate(
    sh: &Shared,
    u: &UpdateCall,
    seller: &str,
    items: &[BorrowedItem<'_>],
    notes: &mut Vec<String>,
) -> Vec<Checked> {
    let rules = &u.rules;
    let m = rules.members();
    let (list, value_name) = (escape_pointer(m.list), escape_pointer(m.value));
    let mut unknown = 0usize;
    let out: Vec<Checked> = items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let value = match u.kind {
                ValueKind::Count => it.count().map_or(NO_VALUE, u64::from),
                ValueKind::Number => it
                    .value
                    .as_ref()
                    .and_then(number)
                    .map_or(NO_VALUE, f64::to_bits),
            };
            let mut entry = None;
            let failure = if let Some(k) = it.duplicate_keys.first() {
                Some(Failure::Invalid(format!(
                    "Invalid item: /{list}/{i}/{} [{}] member `{k}` appears more than once; parsers disagree on which value wins",
                    escape_pointer(k),
                    DUPLICATE_KEY.id
                )))
            } else if !rules.item_is_valid(it) {
                let problems = rules.check_item(i, it);
                let p = problems.first();
                let more = if problems.len() > 1 {
                    format!(" (and {} more)", problems.len() - 1)
                } else {
                    String::new()
                };
                Some(Failure::Invalid(match p {
                    Some(p) => format!("Invalid item: {} [{}] {}{more}", p.pointer, p.keyword, p.message),
                    None => format!("Invalid item: /{list}/{i} breaks the item schema"),
                }))
            } else if value == NO_VALUE {
                let what = match u.kind {
                    ValueKind::Count => "a stock count from 0 to 2147483647",
                    ValueKind::Number => "a number",
                };
                Some(Failure::Invalid(format!(
                    "Invalid {} value: /{list}/{i}/{value_name} is not {what}",
                    m.value
                )))
            } else if let Some(cat) = &sh.catalog
                && let (Some(p), Some(v)) = (it.product(), it.variant())
                && {
                    entry = cat.find_index(seller, p, v);
                    entry.is_none()
                }
            {
                unknown += 1;
                let near = if unknown <= SUGGESTIONS_PER_RESPONSE {
                    cat.nearest(seller, p, v).map(Box::new)
                } else {
                    None
                };
                if unknown <= NOTES_PER_REQUEST {
                    notes.push(format!(
                        "/{list}/{i}: {}",
                        NotFoundMsg { product: p, variant: v, seller, near: near.as_deref() }
                    ));
                }
                Some(Failure::NotFound(near))
            } else {
                None
            };
            Checked {
                value,
                failure: failure.map(Box::new),
                entry,
                listed: false,
            }
        })
        .collect();
    if unknown > NOTES_PER_REQUEST {
        notes.push(format!(
            "… and {} more items not in the catalog (notes and suggestions are capped per request)",
            unknown - NOTES_PER_REQUEST
        ));
    }
    out
}

/// The scenario's view of the request.
struct Scripted {
    answer: AnswerEffects,
    fired: Vec<Fired>,
    explain: Option<String>,
}

impl Scripted {
    /// Nothing scripted.
    fn none() -> Scripted {
        Scripted {
            answer: AnswerEffects::default(),
            fired: Vec::new(),
            explain: None,
        }
    }
}

/// Step 5, script: the scenario's rules see every item; item failures they give are added
/// to items that have not failed yet.
fn script(
    sh: &Shared,
    engine: &Engine,
    (seller, n, now): (&str, u64, Duration),
    items: &[BorrowedItem<'_>],
    checked: &mut [Checked],
) -> Scripted {
    if !engine.scripts(stockwire_schema::call::UPDATE_INVENTORY.id) {
        return Scripted::none();
    }
    let facts: Vec<ItemFacts<'_>> = items
        .iter()
        .zip(checked.iter())
        .map(|(it, c)| ItemFacts {
            product: it.product(),
            variant: it.variant(),
            facility: it.facility(),
            inventory: c.count().map(u64::from),
            eligible: c.failure.is_none(),
        })
        .collect();
    let verdict = engine.evaluate(&RequestFacts {
        call: stockwire_schema::call::UPDATE_INVENTORY.id,
        page: None,
        seller,
        n,
        elapsed: sh.uptime.elapsed(),
        wall: now,
        items: &facts,
    });
    for (c, f) in checked.iter_mut().zip(verdict.item_failures) {
        if c.failure.is_none()
            && let Some(msg) = f
        {
            c.failure = Some(Box::new(Failure::Scripted(msg)));
        }
    }
    Scripted {
        answer: verdict.answer,
        fired: verdict.fired,
        explain: verdict.explain,
    }
}

/// An item's (productId, variantId) as a failed entry gives them.
type Key<'k> = (Cow<'k, str>, Cow<'k, str>);

/// The keys with a failed occurrence (a key fails as a whole); marks in `checked` the first
/// failed occurrence of each key (the one the answer lists).
fn failed_keys<'k>(items: &'k [BorrowedItem<'_>], checked: &mut [Checked]) -> HashSet<Key<'k>> {
    let mut set = HashSet::default();
    for (it, c) in items.iter().zip(checked) {
        c.listed = c.failure.is_some() && set.insert(it.id_texts());
    }
    set
}

/// Step 6, apply: sets the value of every item whose key did not fail, atomically (one lock
/// of the call's ledger per request). Returns the number of items applied.
fn apply(
    sh: &Shared,
    u: &UpdateCall,
    seller: &str,
    items: &[BorrowedItem<'_>],
    checked: &[Checked],
    failed: &HashSet<Key<'_>>,
) -> usize {
    match u.kind {
        ValueKind::Count => apply_to(
            &mut sh.count_ledger(u.ledger),
            |v| v as u32,
            seller,
            items,
            checked,
            failed,
        ),
        ValueKind::Number => match sh.number_ledger(u.ledger) {
            Some(mut l) => apply_to(&mut l, f64::from_bits, seller, items, checked, failed),
            None => 0,
        },
    }
}

/// [`apply`] into one ledger, each value converted from [`Checked::value`] by `slot`.
fn apply_to<T: Slot>(
    ledger: &mut Ledger<T>,
    slot: impl Fn(u64) -> T,
    seller: &str,
    items: &[BorrowedItem<'_>],
    checked: &[Checked],
    failed: &HashSet<Key<'_>>,
) -> usize {
    let mut buf = String::new();
    let mut applied = 0usize;
    if !ledger.contains_key(seller) {
        ledger.insert(seller.to_string(), Default::default());
    }
    let Some(stock) = ledger.get_mut(seller) else {
        return 0;
    };
    for (it, c) in items.iter().zip(checked) {
        if c.value == NO_VALUE {
            continue;
        }
        let n = slot(c.value);
        if c.failure.is_some() || (!failed.is_empty() && failed.contains(&it.id_texts())) {
            continue;
        }
        match c.entry {
            Some(i) => stock.set_entry(i, n),
            None => {
                let (p, v) = it.id_texts();
                stock.set_key(pair_key(&mut buf, &p, &v), n)
            }
        }
        applied += 1;
    }
    applied
}

/// The message of an item that is not in the catalog.
struct NotFoundMsg<'a> {
    product: &'a str,
    variant: &'a str,
    seller: &'a str,
    near: Option<&'a ItemKey>,
}

impl fmt::Display for NotFoundMsg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Variant not found: {}/{} is not in the catalog of seller `{}`",
            self.product, self.variant, self.seller
        )?;
        if let Some(k) = self.near {
            write!(f, " (nearest: {k})")?;
        }
        Ok(())
    }
}

/// A failed entry's message, written while the response is serialized.
enum Msg<'a> {
    Text(&'a str),
    NotFound(NotFoundMsg<'a>),
}

impl fmt::Display for Msg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::Text(t) => f.write_str(t),
            Msg::NotFound(m) => m.fmt(f),
        }
    }
}

/// The failed entries, written one by one while the response is serialized (none is held).
struct FailedList<'a> {
    members: &'a UpdateMembers,
    seller: &'a str,
    items: &'a [BorrowedItem<'a>],
    checked: &'a [Checked],
    /// How many are listed.
    len: usize,
}

impl serde::Serialize for FailedList<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.len))?;
        let listed = self
            .items
            .iter()
            .zip(self.checked)
            .filter(|(_, c)| c.listed);
        for (it, c) in listed {
            let Some(failure) = c.failure.as_deref() else {
                continue;
            };
            let (p, v) = it.id_texts();
            let message = match failure {
                Failure::Invalid(m) | Failure::Scripted(m) => Msg::Text(m),
                Failure::NotFound(near) => Msg::NotFound(NotFoundMsg {
                    product: &p,
                    variant: &v,
                    seller: self.seller,
                    near: near.as_deref(),
                }),
            };
            seq.serialize_element(&FailedRef {
                members: self.members,
                product_id: &p,
                variant_id: &v,
                message,
            })?;
        }
        seq.end()
    }
}

/// Step 7, render: one failed entry per failed key (the first failing occurrence's message),
/// the status from how many items failed, then any scripted breach of the contract or
/// malformed body.
#[allow(clippy::too_many_arguments)]
fn render(
    members: &UpdateMembers,
    request: &[u8],
    seller: &str,
    items: &[BorrowedItem<'_>],
    checked: &[Checked],
    failed_items: usize,
    answer: &mut AnswerEffects,
    notes: &mut Vec<String>,
) -> Rendered {
    // Sized once for the usual entry (ids twice, the seller and the message's words).
    let mut size = 64usize;
    let mut n_listed = 0usize;
    for (it, _) in items.iter().zip(checked).filter(|(_, c)| c.listed) {
        let (p, v) = it.id_texts();
        size += 2 * (p.len() + v.len()) + seller.len() + 128;
        n_listed += 1;
    }
    let list = FailedList {
        members,
        seller,
        items,
        checked,
        len: n_listed,
    };
    let resp = ResponseRef::for_outcome(members, items.len(), failed_items, list);
    let mut out = Vec::with_capacity(size);
    let _ = serde_json::to_writer(&mut out, &resp);
    distort(request, Bytes::from(out), items, n_listed, answer, notes)
}
