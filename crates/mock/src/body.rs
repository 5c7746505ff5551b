//! Request and response bodies shared by the marketplace endpoints and the admin API: reading a
//! body within the limits (and lingering after a refusal so the client reads the status),
//! JSON answers, the contract-shaped FAILED body and drip-fed bodies.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use stockwire_schema::InventoryResponse;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::state::Limits;

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

/// One violation of a whole-request problem (`400`, `413`, …), in the mock's own format
/// (`pointer`, `rule`, `message`; not a member of the exchange).
pub(crate) fn violation(pointer: &str, rule: &str, message: impl Into<String>) -> Value {
    json!({"pointer": pointer, "rule": rule, "message": message.into()})
}

/// A refusal with its violation.
fn refused(code: u16, rule: &str, message: String, close: bool) -> Refused {
    Refused {
        code,
        violation: violation("", rule, message.clone()),
        message,
        close,
    }
}

/// The contract-shaped FAILED body with extra members.
pub(crate) fn failed_body(extra: Vec<(&str, Value)>) -> Bytes {
    let mut r = InventoryResponse::rejected();
    for (k, v) in extra {
        r.extra.insert(k.to_string(), v);
    }
    Bytes::from(serde_json::to_vec(&r).unwrap_or_default())
}

/// A whole body at once.
pub(crate) fn full(b: Bytes) -> Body {
    Full::new(b).boxed()
}

/// A JSON answer.
pub(crate) fn json_response(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// Marks an answer as the last on its connection.
pub(crate) fn closing(mut r: Response<Body>) -> Response<Body> {
    r.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    r
}

/// Why a body was not read.
#[derive(Debug)]
pub(crate) struct Refused {
    /// What was wrong, in a sentence.
    pub message: String,
    /// HTTP status to answer.
    pub code: u16,
    /// The violation.
    pub violation: Value,
    /// Whether the connection must close after the answer (the body was not read whole).
    pub close: bool,
}

/// The budget of request body bytes held at once ([`Limits::body_bytes_in_flight`]), counted
/// in KiB: a body takes room before it is read and gives it back when its answer is rendered.
#[derive(Debug)]
pub(crate) struct BodyBudget {
    sem: Arc<Semaphore>,
    total: u32,
}

/// Bodies smaller than this take no room in a [`BodyBudget`].
pub(crate) const SMALL_BODY: usize = 64 * 1024;

/// Room taken in a [`BodyBudget`], given back when dropped.
pub(crate) type BudgetHeld = OwnedSemaphorePermit;

impl BodyBudget {
    /// A budget of about `bytes` (at least 1 KiB).
    pub(crate) fn new(bytes: usize) -> Self {
        let total = (bytes.div_ceil(1024) as u64).clamp(1, u64::from(u32::MAX >> 3)) as u32;
        BodyBudget {
            sem: Arc::new(Semaphore::new(total as usize)),
            total,
        }
    }

    /// The room `bytes` take, in KiB: at least 1, at most the whole budget.
    fn units(&self, bytes: usize) -> u32 {
        (bytes.div_ceil(1024).max(1) as u64).min(u64::from(self.total)) as u32
    }

    /// Waits for `units` KiB of room.
    async fn take(&self, units: u32) -> Option<BudgetHeld> {
        self.sem.clone().acquire_many_owned(units).await.ok()
    }

    /// Bytes of room left now.
    #[cfg(test)]
    pub(crate) fn available_bytes(&self) -> usize {
        self.sem.available_permits() * 1024
    }

    /// The whole budget in bytes.
    pub(crate) fn total_bytes(&self) -> usize {
        self.total as usize * 1024
    }
}

/// Reads a body within the size and time limits. When the body is too large the rest of it is
/// read and discarded in the background for a bounded time and size (see [`linger`]), so a
/// client that writes its whole body before reading still reads the 413.
pub(crate) async fn read_body(limits: &Limits, req: Request<Incoming>) -> Result<Bytes, Refused> {
    read_body_within(limits, req, None).await.map(|(b, _)| b)
}

/// [`read_body`], holding room in `budget` for the body: the room a declared length needs is
/// taken before anything is read (a body that finds none within the read time-out is answered
/// 503); a body without a declared length takes it as it arrives. The room is held until the
/// returned permit is dropped.
pub(crate) async fn read_body_within(
    limits: &Limits,
    req: Request<Incoming>,
    budget: Option<&BodyBudget>,
) -> Result<(Bytes, Option<BudgetHeld>), Refused> {
    let max = limits.max_body_bytes;
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut body = req.into_body();
    if let Some(len) = declared
        && len > max as u64
    {
        tokio::spawn(linger(body, limits.linger, limits.linger_bytes));
        return Err(refused(
            413,
            "body-size",
            format!("the body is {len} bytes; this marketplace accepts at most {max}"),
            true,
        ));
    }
    let mut held: Option<BudgetHeld> = None;
    // Small bodies take no room: a small request never queues behind a large one (the budget
    // is first come, first served).
    let budget = budget.filter(|_| declared.is_none_or(|n| n >= SMALL_BODY as u64));
    if let Some(b) = budget
        && let Some(n) = declared
    {
        let want = b.units(n as usize);
        // Boxed, as is every wait only large bodies reach: the future of a small request
        // stays small, and hyper moves it around whole.
        match Box::pin(tokio::time::timeout(limits.body_read_timeout, b.take(want))).await {
            Ok(Some(p)) => held = Some(p),
            _ => {
                tokio::spawn(linger(body, limits.linger, limits.linger_bytes));
                return Err(refused(
                    503,
                    "busy",
                    format!(
                        "other request bodies held the whole budget of {} bytes for {}; try again shortly",
                        b.total_bytes(),
                        humantime::format_duration(limits.body_read_timeout)
                    ),
                    true,
                ));
            }
        }
    }
    let mut buf = BytesMut::with_capacity(declared.map_or(8 * 1024, |n| n as usize));
    let read = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| e.to_string())?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > max {
                    return Ok(false);
                }
                buf.extend_from_slice(&data);
                // A body without a declared length takes its room as it arrives.
                if let Some(b) = budget
                    && buf.len() >= SMALL_BODY
                {
                    let need = b.units(buf.len());
                    let have = held.as_ref().map_or(0, |h| h.num_permits() as u32);
                    if need > have
                        && let Some(more) = Box::pin(b.take(need - have)).await
                    {
                        match held.as_mut() {
                            Some(h) => h.merge(more),
                            None => held = Some(more),
                        }
                    }
                }
            }
        }
        Ok::<bool, String>(true)
    };
    match tokio::time::timeout(limits.body_read_timeout, read).await {
        Err(_) => Err(refused(
            408,
            "body-timeout",
            format!(
                "the body did not arrive within {}",
                humantime::format_duration(limits.body_read_timeout)
            ),
            true,
        )),
        Ok(Ok(true)) => Ok((buf.freeze(), held)),
        Ok(Ok(false)) => {
            drop(buf);
            tokio::spawn(linger(body, limits.linger, limits.linger_bytes));
            Err(refused(
                413,
                "body-size",
                format!("the body is larger than {max} bytes, the most this marketplace accepts"),
                true,
            ))
        }
        Ok(Err(e)) => Err(refused(
            400,
            "body-read",
            format!("the body could not be read: {e}"),
            true,
        )),
    }
}

/// Reads and discards what is left of a refused body, for at most `time` and `bytes`, then
/// lets the connection close. Holds no more than one frame at a time.
pub(crate) async fn linger(mut body: Incoming, time: Duration, bytes: u64) {
    let mut seen = 0u64;
    let _ = tokio::time::timeout(time, async {
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(d) = frame.into_data() {
                seen += d.len() as u64;
                if seen >= bytes {
                    break;
                }
            }
        }
    })
    .await;
}

/// Whether the request says its body is JSON (no Content-Type counts as JSON); the offending
/// value otherwise.
pub(crate) fn json_content_type(h: &HeaderMap) -> Result<(), String> {
    match h.get(CONTENT_TYPE) {
        None => Ok(()),
        Some(v) => {
            let t = v.to_str().unwrap_or("");
            let essence = t.split(';').next().unwrap_or("").trim();
            let json_suffix = essence
                .len()
                .checked_sub(5)
                .and_then(|at| essence.get(at..))
                .is_some_and(|end| end.eq_ignore_ascii_case("+json"));
            if essence.eq_ignore_ascii_case("application/json") || json_suffix {
                Ok(())
            } else {
                Err(t.to_string())
            }
        }
    }
}

/// A body sent `chunk` bytes at a time with a pause between chunks.
pub(crate) struct DripBody {
    rest: Bytes,
    chunk: usize,
    every: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl DripBody {
    /// `rest` in pieces of `chunk` bytes, `every` apart.
    pub(crate) fn new(rest: Bytes, chunk: usize, every: Duration) -> Self {
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
        if let Some(s) = self.sleep.as_mut()
            && s.as_mut().poll(cx).is_pending()
        {
            return Poll::Pending;
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
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use crate::{Limits, MockMarketplace};

    const ONE: &str = r#"{"inventoryList":[{"productId":"P1","variantId":"V1","inventory":1}]}"#;

    async fn connect(m: &MockMarketplace) -> TcpStream {
        TcpStream::connect(m.addr()).await.unwrap()
    }

    fn head(len: usize) -> String {
        format!(
            "POST /updateInventory HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {len}\r\n\r\n"
        )
    }

    async fn status_of(mut s: TcpStream) -> String {
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    }

    /// Waits until `f` holds (the 10 s guard only turns a regression into a failure instead
    /// of a hang; nothing here depends on timing).
    async fn until(f: impl Fn() -> bool) {
        let wait = async {
            while !f() {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        assert!(
            tokio::time::timeout(Duration::from_secs(10), wait)
                .await
                .is_ok(),
            "the condition never held"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bodies_in_flight_stay_within_the_budget_and_others_are_still_served() {
        let m = MockMarketplace::builder()
            .no_auth()
            .limits(Limits {
                body_bytes_in_flight: 64 * 1024,
                ..Limits::default()
            })
            .start()
            .await
            .unwrap();
        let budget = &m.shared.body_budget;
        assert_eq!(budget.available_bytes(), 64 * 1024);

        // A declares a 64 KiB body (spaces after the JSON) and sends only its start: it holds
        // the whole budget while its body is arriving.
        let mut body = ONE.as_bytes().to_vec();
        body.resize(64 * 1024, b' ');
        let mut a = connect(&m).await;
        a.write_all(head(body.len()).as_bytes()).await.unwrap();
        a.write_all(&body[..1024]).await.unwrap();
        until(|| budget.available_bytes() == 0).await;

        // B's 64 KiB body finds no room: B is not read until A is answered.
        let mut b = connect(&m).await;
        b.write_all(head(body.len()).as_bytes()).await.unwrap();
        b.write_all(&body).await.unwrap();
        let b = tokio::spawn(status_of(b));

        // A small body takes no room: it is answered while A holds the budget and B waits.
        let mut c = connect(&m).await;
        c.write_all(head(ONE.len()).as_bytes()).await.unwrap();
        c.write_all(ONE.as_bytes()).await.unwrap();
        assert!(status_of(c).await.contains(" 200 "));

        // A new client of another endpoint is still served meanwhile.
        let mut h = connect(&m).await;
        h.write_all(b"GET /__admin/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        assert!(status_of(h).await.contains(" 200 "));
        assert_eq!(budget.available_bytes(), 0, "the budget is still held by A");
        until(|| m.request_count() == 3).await;
        assert_eq!(
            budget.available_bytes(),
            0,
            "B has arrived and waits for room"
        );
        assert_eq!(m.journal().len(), 1, "only the small request was answered");

        // A's body completes: A is answered, then B, and the whole budget is free again.
        a.write_all(&body[1024..]).await.unwrap();
        assert!(status_of(a).await.contains(" 200 "));
        assert!(b.await.unwrap().contains(" 200 "));
        until(|| budget.available_bytes() == 64 * 1024).await;
        assert_eq!(m.journal().len(), 3);
        m.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_larger_than_the_budget_takes_all_of_it_and_is_served() {
        let m = MockMarketplace::builder()
            .no_auth()
            .limits(Limits {
                body_bytes_in_flight: 4 * 1024,
                ..Limits::default()
            })
            .start()
            .await
            .unwrap();
        let mut body = ONE.as_bytes().to_vec();
        body.resize(100 * 1024, b' ');
        let mut a = connect(&m).await;
        a.write_all(head(body.len()).as_bytes()).await.unwrap();
        a.write_all(&body).await.unwrap();
        assert!(status_of(a).await.contains(" 200 "));
        until(|| m.shared.body_budget.available_bytes() == 4 * 1024).await;
        m.shutdown().await;
    }
}
