//! The building blocks of answers: the response body type, JSON answers, the mock's violation
//! object, the contract-shaped FAILED body, closing a connection, and drip-fed bodies.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::Response;
use hyper::StatusCode;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};
use stockwire_schema::InventoryResponse;
use stockwire_schema::call::{INVENTORY_MEMBERS, UpdateMembers};
use stockwire_schema::exchange::ResponseBuilder;

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

/// The contract-shaped FAILED body with extra members.
pub(crate) fn failed_body(extra: Vec<(&str, Value)>) -> Bytes {
    let mut r = InventoryResponse::rejected();
    for (k, v) in extra {
        r.extra.insert(k.to_string(), v);
    }
    Bytes::from(serde_json::to_vec(&r).unwrap_or_default())
}

/// [`failed_body`] for any update call, with its member names (the inventory push's bytes are
/// [`failed_body`]'s).
pub(crate) fn failed_body_of(m: &UpdateMembers, extra: Vec<(&str, Value)>) -> Bytes {
    if *m == INVENTORY_MEMBERS {
        return failed_body(extra);
    }
    let mut r = InventoryResponse::rejected();
    for (k, v) in extra {
        r.extra.insert(k.to_string(), v);
    }
    Bytes::from(ResponseBuilder::from_model_of(m, &r).build().to_string())
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

/// Most bytes of an answer handed to hyper at once by a [`HeldBody`].
pub(crate) const ANSWER_PIECE: usize = 64 * 1024;

/// A large answer that keeps its room in the body budget until hyper has taken its last byte
/// to write (or dropped it, when the client went away or was cut off for not reading). It is
/// handed over [`ANSWER_PIECE`] bytes at a time: hyper asks for the next piece only when it
/// has written the last, so the bytes a client has not read stay counted here.
pub(crate) struct HeldBody {
    rest: Bytes,
    room: Option<super::BudgetHeld>,
}

impl HeldBody {
    /// `rest`, holding `room` until its last piece is taken.
    pub(crate) fn new(rest: Bytes, room: Option<super::BudgetHeld>) -> Self {
        HeldBody { rest, room }
    }
}

impl HttpBody for HeldBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.rest.is_empty() {
            self.room = None;
            return Poll::Ready(None);
        }
        let n = ANSWER_PIECE.min(self.rest.len());
        let piece = self.rest.split_to(n);
        if self.rest.is_empty() {
            self.room = None;
        }
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.rest.len() as u64)
    }
}

/// An answer's body: whole when it holds no room, else a [`HeldBody`].
pub(crate) fn held(b: Bytes, room: Option<super::BudgetHeld>) -> Body {
    match room {
        None => full(b),
        Some(r) => HeldBody::new(b, Some(r)).boxed(),
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
