//! Memory per request, counted by a global allocator in this test process (the mock runs
//! embedded): a large body of unknown items costs a small multiple of its size at the peak, and
//! what the request used is freed afterwards except what the journal keeps.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use stockwire_mock::{DEFAULT_MAX_ITEMS, Limits, MockMarketplace};
use stockwire_schema::{Catalog, CatalogEntry};
use stockwire_tests::http::{parse, send};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        CURRENT.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let now = CURRENT.fetch_add(new - l.size(), Ordering::Relaxed) + (new - l.size());
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The tests read one process-wide counter: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_body_of_unknown_items_costs_a_small_multiple_of_its_size() {
    let _one = SERIAL.lock().await;
    let catalog = Catalog {
        entries: (0..1000)
            .map(|i| CatalogEntry {
                product_id: format!("K{i:05}"),
                variant_id: "V1".into(),
                stock: None,
                ..Default::default()
            })
            .collect(),
    };
    let m = MockMarketplace::builder()
        .no_auth()
        .catalog(catalog)
        .journal_bytes(1024)
        .start()
        .await
        .unwrap();
    let items: Vec<Value> = (0..60_000)
        .map(|i| json!({"productId": format!("U{i:07}"), "variantId": format!("U{i:07}-V"), "inventory": i % 100}))
        .collect();
    let body = json!({ "inventoryList": items }).to_string().into_bytes();
    drop(items);
    let size = body.len();
    // Warm up once (runtime, contract, rules compiled once per process).
    let r = send(
        &m.url(),
        "POST",
        "/updateInventory",
        &[],
        br#"{"inventoryList":[{"productId":"K00001","variantId":"V1","inventory":1}]}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);

    let (r, peak, before) = post_counted(&m.url(), &body, 4 * size).await;
    assert_eq!(r.status, 200);
    let failed = r.json()["failedProductList"].as_array().map_or(0, Vec::len);
    assert_eq!(failed, 60_000);
    let answer = r.body.len();
    drop(r);
    assert!(
        peak <= 10 * size,
        "peak {peak} bytes for a body of {size} bytes ({:.1}x) and an answer of {answer}",
        peak as f64 / size as f64
    );
    // Freed afterwards: the journal keeps at most one entry (it may exceed its byte budget
    // alone), that is, the body and the answer.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let after = CURRENT.load(Ordering::Relaxed).saturating_sub(before);
    assert!(
        after <= size + answer + 1024 * 1024,
        "{after} bytes still held after the request"
    );
    eprintln!(
        "body {size} B, answer {answer} B, peak {peak} B ({:.1}x the body), held after {after} B",
        peak as f64 / size as f64
    );
}

/// Sends `body` to `/updateInventory` on a lean connection and returns the answer, the most
/// bytes live at once in this process while it was handled, and the bytes live before. The
/// client is lean so that the count is the server's: the request is built and `room` bytes
/// reserved for the answer before counting starts.
async fn post_counted(
    url: &str,
    body: &[u8],
    room: usize,
) -> (stockwire_tests::http::Resp, usize, usize) {
    let mut req = format!(
        "POST /updateInventory HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    let mut out: Vec<u8> = Vec::with_capacity(room);
    let mut s = tokio::net::TcpStream::connect(url.trim_start_matches("http://"))
        .await
        .unwrap();
    let before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    s.write_all(&req).await.unwrap();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        let n = s.read(&mut chunk).await.unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n]);
    }
    let peak = PEAK.load(Ordering::Relaxed) - before;
    (parse(&out).unwrap(), peak, before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_past_the_item_cap_is_refused_before_it_is_held() {
    let _one = SERIAL.lock().await;
    // Bare `{}` items: 3 bytes of body each, about 300 bytes once read. Without the cap a
    // 16 MiB body of them took 2.9 GB.
    let items =
        |n: usize| format!("{{\"inventoryList\":[{}]}}", vec!["{}"; n].join(",")).into_bytes();
    let m = MockMarketplace::builder()
        .no_auth()
        .limits(Limits {
            max_items: Some(1_000),
            ..Limits::default()
        })
        .journal_bytes(1024)
        .start()
        .await
        .unwrap();
    let body = items(200_000);
    let (r, peak, _) = post_counted(&m.url(), &body, 64 * 1024).await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(
        r.json()["violations"][0]["rule"],
        "max-items",
        "{}",
        r.text()
    );
    // At most the cap's items are held, never the list: the body itself (600 KB) and a
    // thousand items, not 200,000 of them (60 MB).
    assert!(
        peak < 3 * body.len(),
        "{peak} bytes at the peak for a body of {}",
        body.len()
    );
    // A normal request is still served.
    let ok = items(3);
    let (r, _, _) = post_counted(&m.url(), &ok, 64 * 1024).await;
    assert_eq!(r.status, 200, "{}", r.text());
    m.shutdown().await;

    // The default cap: a body of one more bare item than it is refused.
    let m = MockMarketplace::builder()
        .no_auth()
        .journal_bytes(1024)
        .start()
        .await
        .unwrap();
    let (r, _, _) = post_counted(&m.url(), &items(DEFAULT_MAX_ITEMS + 1), 64 * 1024).await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(
        r.text().contains(&format!("at most {DEFAULT_MAX_ITEMS}")),
        "{}",
        r.text()
    );
    m.shutdown().await;
}
