//! Any response body, from any call of the family (login, listing pages, update), stays within
//! the response cap and is held once: proved by structure, with an allocator that counts the
//! bytes live at the worst moment of each call (the test binary's own global allocator).
//!
//! The partner here is a bare hyper server whose bodies are streamed from one static buffer,
//! so the bytes counted are the runner's, not the server's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use stockwire_conform::http::{
    API_KEY_HEADER, Client, ClientOptions, FailureKind, Header, HttpRequest, Outcome, Redactor,
};
use stockwire_conform::listing;
use stockwire_conform::runner::fetch_token;
use stockwire_conform::{ConformError, RunOptions};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

/// Counts the bytes live on the heap and the most live at once since the last [`reset_peak`].
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The tests measure one process-wide counter: one at a time.
static SERIAL: Mutex<()> = Mutex::const_new(());

const MIB: usize = 1 << 20;
/// The runner's default response cap.
const CAP: usize = 16 * MIB;

/// 64-byte units of each body, repeated from one static buffer (1,024 units = 64 KiB).
const UNIT: usize = 64;

fn units(unit: &str) -> Vec<u8> {
    assert_eq!(unit.len(), UNIT);
    unit.repeat(1024).into_bytes()
}

/// The fills, made once (before any measure) so that serving a body allocates nothing.
static TOKEN: LazyLock<Vec<u8>> = LazyLock::new(|| units(&"t".repeat(UNIT)));
static PRODUCTS: LazyLock<Vec<u8>> =
    LazyLock::new(|| units(r#"{"id":"P","variants":[{"variantId":"V","inventory":1}]},        "#));
static FAILURES: LazyLock<Vec<u8>> =
    LazyLock::new(|| units(r#"{"productId":"P","variantId":"V","message":"x"},                "#));
static ENDLESS: LazyLock<Vec<u8>> = LazyLock::new(|| units(&"x".repeat(UNIT)));

/// A body of `head`, `len` bytes of `fill` (whole units), and `tail`; sized when `sized`.
struct Streamed {
    head: Option<&'static [u8]>,
    fill: &'static [u8],
    left: Option<usize>,
    tail: Option<&'static [u8]>,
    sized: Option<u64>,
}

impl Streamed {
    fn new(
        head: &'static str,
        fill: &'static [u8],
        len: Option<usize>,
        tail: &'static str,
        sized: bool,
    ) -> Self {
        let total = len.map(|n| (head.len() + n + tail.len()) as u64);
        Streamed {
            head: Some(head.as_bytes()),
            fill,
            left: len,
            tail: Some(tail.as_bytes()),
            sized: total.filter(|_| sized),
        }
    }
}

impl Body for Streamed {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(h) = self.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(h)))));
        }
        let n = match self.left {
            None => self.fill.len(),
            Some(0) => {
                return Poll::Ready(
                    self.tail
                        .take()
                        .map(|t| Ok(Frame::data(Bytes::from_static(t)))),
                );
            }
            Some(left) => left.min(self.fill.len()),
        };
        if let Some(left) = &mut self.left {
            *left -= n;
        }
        let fill = self.fill;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&fill[..n])))))
    }

    fn size_hint(&self) -> SizeHint {
        self.sized
            .map_or_else(SizeHint::default, SizeHint::with_exact)
    }
}

/// The body each path answers: `/authToken` a token of `len` bytes, `/products` a page of
/// products, `/updateInventory` a failed list, `/endless` a body that never ends; `?chunked`
/// leaves the length out.
fn answer(req: &Request<hyper::body::Incoming>, len: usize) -> Streamed {
    let sized = !req.uri().query().unwrap_or("").contains("chunked");
    match req.uri().path() {
        "/authToken" => Streamed::new(
            r#"{"status":"SUCCESS","accessToken":""#,
            &TOKEN,
            Some(len),
            r#""}"#,
            sized,
        ),
        "/products" => Streamed::new(
            r#"{"products":["#,
            &PRODUCTS,
            Some(len),
            r#"{"id":"Q","variants":[]}]}"#,
            sized,
        ),
        "/updateInventory" => Streamed::new(
            r#"{"status":"PARTIAL_SUCCESS","failedProductList":["#,
            &FAILURES,
            Some(len),
            r#"{}]}"#,
            sized,
        ),
        _ => Streamed::new("", &ENDLESS, None, "", false),
    }
}

/// A partner on 127.0.0.1 whose every body is `len` bytes of its kind (plus a few).
async fn partner(len: usize) -> (String, tokio::task::JoinHandle<()>) {
    for fill in [&TOKEN, &PRODUCTS, &FAILURES, &ENDLESS] {
        LazyLock::force(fill);
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = service_fn(move |req| async move {
                    Ok::<_, Infallible>(Response::new(answer(&req, len)))
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    (base, task)
}

fn client() -> Client {
    let opts = ClientOptions {
        timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(5),
        max_response_bytes: CAP,
        insecure: false,
        rate: None,
        max_idle: 2,
        extra_headers: Vec::new(),
        cacert: None,
        throttle_budget: Duration::from_secs(1),
    };
    Client::new(opts, None, Redactor::new(["s3cret".to_string()])).unwrap()
}

fn get(url: String) -> HttpRequest {
    HttpRequest {
        method: "GET".into(),
        url,
        headers: vec![Header {
            name: API_KEY_HEADER.into(),
            value: "tok".into(),
        }],
        body: String::new(),
    }
}

/// Runs `f` and returns what it gave and the most bytes live at once above those live before.
async fn peak_of<T>(f: impl std::future::Future<Output = T>) -> (T, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let out = f.await;
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(before))
}

const BODY: usize = 12 * MIB;
/// What one call may hold beyond its body: connection buffers, the request, bookkeeping.
const SLACK: usize = MIB;

#[tokio::test]
async fn each_calls_body_is_read_into_one_buffer_sized_or_chunked() {
    let _one = SERIAL.lock().await;
    let (base, server) = partner(BODY).await;
    let client = client();
    for path in ["/authToken", "/products", "/updateInventory"] {
        for query in ["", "?chunked"] {
            let req = get(format!("{base}{path}{query}"));
            let (outcome, peak) = peak_of(client.send(&req)).await;
            let Outcome::Response(r) = outcome else {
                panic!("{path}{query}: {outcome:?}");
            };
            assert!(r.body.len() > BODY, "{path}{query}: {} bytes", r.body.len());
            // Held once: a sized body goes straight into its one buffer; a chunked one grows
            // by doubling (the old buffer is given back as it grows) and is trimmed at the end.
            let bound = if query.is_empty() { BODY } else { 2 * BODY };
            assert!(
                peak < bound + SLACK,
                "{path}{query}: {} MiB live at once for a {} MiB body",
                peak / MIB,
                BODY / MIB
            );
            assert!(r.body.capacity() < BODY + SLACK, "{path}{query}: trimmed");
        }
    }
    server.abort();
}

#[tokio::test]
async fn a_body_past_the_cap_stops_at_the_cap_sized_or_endless() {
    let _one = SERIAL.lock().await;
    let (base, server) = partner(CAP + MIB).await;
    let client = client();
    for url in [
        format!("{base}/products"),
        format!("{base}/products?chunked"),
        format!("{base}/endless"),
    ] {
        let (outcome, peak) = peak_of(client.send(&get(url.clone()))).await;
        assert!(
            matches!(
                outcome,
                Outcome::Failure {
                    failure: FailureKind::TooLarge,
                    ..
                }
            ),
            "{url}: {outcome:?}"
        );
        // A declared length past the cap is refused before a byte is read; an endless body
        // holds at most the cap.
        assert!(peak < CAP + SLACK, "{url}: {} MiB live at once", peak / MIB);
    }
    server.abort();
}

#[tokio::test]
async fn the_listing_keeps_no_page_and_the_login_refuses_a_huge_token() {
    let _one = SERIAL.lock().await;
    let (base, server) = partner(2 * MIB).await;
    let client = client();

    // A listing page: parsed once, and its text is not kept (the exchange a failure would show
    // keeps the start of the body).
    let (answer, peak) = peak_of(listing::ask(
        &client,
        &get(format!("{base}/products")),
        String::new(),
    ))
    .await;
    assert_eq!(answer.status, Some(200));
    assert!(answer.body.is_some(), "parsed");
    let sent = answer.sent.as_ref().and_then(|e| e.outcome.response());
    assert!(
        sent.is_some_and(|r| r.body.len() <= listing::KEPT_BODY_BYTES + 4),
        "{:?}",
        sent.map(|r| r.body.len())
    );
    // The page's text once, and its parsed tree: about 20 bytes of tree per byte of this
    // page (32,768 small products), so the 16 MiB cap bounds a page at ~330 MB, once.
    assert!(peak < 24 * 2 * MIB, "{} MiB for a 2 MiB page", peak / MIB);

    // The login: a token of megabytes is refused (exit 3), not sent on every request.
    let opts = RunOptions::new(base.clone());
    let (token, peak) = peak_of(fetch_token(&client, &base, &opts, "seller", "s3cret")).await;
    assert!(
        matches!(&token, Err(ConformError::AuthFailed { message, .. }) if message.contains("KiB")),
        "{token:?}"
    );
    // The text, the parsed answer's copy of the token and the token read from it.
    assert!(peak < 4 * 2 * MIB, "{} MiB for a 2 MiB token", peak / MIB);
    server.abort();
}
