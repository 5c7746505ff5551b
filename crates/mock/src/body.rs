//! Request and response bodies shared by the marketplace endpoints and the admin API: reading a
//! body within the limits (and lingering after a refusal so the client reads the status),
//! JSON answers, the contract-shaped FAILED body and drip-fed bodies.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
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

/// Reads a body within the size and time limits. When the body is too large the rest of it is
/// read and discarded in the background for a bounded time and size (see [`linger`]), so a
/// client that writes its whole body before reading still reads the 413.
pub(crate) async fn read_body(limits: &Limits, req: Request<Incoming>) -> Result<Bytes, Refused> {
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
    let mut buf = BytesMut::with_capacity(declared.map_or(8 * 1024, |n| n as usize));
    let read = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| e.to_string())?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > max {
                    return Ok(false);
                }
                buf.extend_from_slice(&data);
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
        Ok(Ok(true)) => Ok(buf.freeze()),
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
