//! Reading a request body within the limits (size, time, the budget of bytes in flight), and
//! lingering after a refusal so that the client reads the status.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::Request;
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap};
use serde_json::Value;

use super::answer::violation;
use super::budget::{BodyBudget, BudgetHeld, SMALL_BODY};
use super::limits::Limits;

/// A refusal with its violation.
fn refused(code: u16, rule: &str, message: String, close: bool) -> Refused {
    Refused {
        code,
        violation: violation("", rule, message.clone()),
        message,
        close,
    }
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
