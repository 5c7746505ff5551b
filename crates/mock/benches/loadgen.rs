//! Load generator: drives the mock and a bare hyper + typed serde baseline over loopback with
//! 16 concurrent keep-alive connections, for 1-, 100-, 1,000- and 10,000-item requests, and
//! prints requests/s, p50/p99 latency, start-up time and peak resident memory of each server.
//!
//! Set up like the `stockwire` peer of `run-all.sh`: no auth, a catalog of 9,999 known items
//! (P0001..P10000 without P0002, variant `-V1`), a scenario of three rules that are evaluated
//! but never fire, and payloads P0001..Pn, so every request of two or more items carries exactly
//! one unknown item (P0002). The baseline parses into typed structs, as the peers' limit
//! server does.
//!
//! `cargo bench -p stockwire-mock --bench loadgen` (BENCH_SECS=N sets seconds per case,
//! default 3; BENCH_ROUNDS=N interleaved rounds, default 3). Each server runs in a child process (this binary re-executed with
//! `--serve-mock` / `--serve-baseline`), so its memory is measured alone.

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

const CONNECTIONS: usize = 16;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--serve-mock") {
        serve(true);
        return;
    }
    if args.iter().any(|a| a == "--serve-baseline") {
        serve(false);
        return;
    }
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "loopback, {CONNECTIONS} keep-alive connections, {rounds} interleaved rounds of {secs}s per case, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    // Both servers live side by side (the idle one costs nothing) and are driven in alternating
    // rounds, baseline then mock, so a burst of noise on this shared machine hits both; the
    // ratio reported is the median of the per-round ratios.
    let kinds = ["baseline", "mock"];
    let mut servers: Vec<(Child, String, u64, String)> = kinds.iter().map(|k| spawn(k)).collect();
    let sizes = [1usize, 100, 1000, 10_000];
    // rows[size][kind] = per-round (requests/s, p50 µs, p99 µs)
    let mut rows: Vec<[Vec<(f64, u64, u64)>; 2]> =
        sizes.iter().map(|_| [Vec::new(), Vec::new()]).collect();
    for (si, &items) in sizes.iter().enumerate() {
        let body = request_body(items);
        for (_, addr, _, token) in &servers {
            rt.block_on(drive(addr, token, body.clone(), Duration::from_millis(500)));
        }
        for _ in 0..rounds {
            for (ki, (_, addr, _, token)) in servers.iter().enumerate() {
                let (n, lat) =
                    rt.block_on(drive(addr, token, body.clone(), Duration::from_secs(secs)));
                rows[si][ki].push((n as f64 / secs as f64, pct(&lat, 50.0), pct(&lat, 99.0)));
            }
        }
    }
    let mut memory = Vec::new();
    for (child, _, startup_us, _) in servers.iter_mut() {
        memory.push((*startup_us, peak_rss_kib(child.id())));
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    println!(
        "\n{:<9} {:>6} {:>12} {:>9} {:>9} {:>8}   per-round ratios",
        "server", "items", "requests/s", "p50 ms", "p99 ms", "ratio"
    );
    for (ki, kind) in kinds.iter().enumerate() {
        for (si, items) in sizes.iter().enumerate() {
            let mine = &rows[si][ki];
            let base = &rows[si][0];
            let ratios: Vec<f64> = mine
                .iter()
                .zip(base)
                .map(|(m, b)| m.0 / b.0 * 100.0)
                .collect();
            let rps = median(mine.iter().map(|r| r.0).collect());
            let p50 = median(mine.iter().map(|r| r.1 as f64).collect());
            let p99 = median(mine.iter().map(|r| r.2 as f64).collect());
            println!(
                "{kind:<9} {items:>6} {rps:>12.0} {:>9.3} {:>9.3} {:>7.0}%   {}",
                p50 / 1000.0,
                p99 / 1000.0,
                median(ratios.clone()),
                ratios
                    .iter()
                    .map(|r| format!("{r:.0}%"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
    }
    for (kind, (startup_us, hwm)) in kinds.iter().zip(memory) {
        println!(
            "{kind:<9} start-up {:.1} ms, peak resident memory {:.1} MB",
            startup_us as f64 / 1000.0,
            hwm as f64 / 1024.0
        );
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn id(i: usize) -> String {
    format!("P{i:04}")
}

/// The peers' payload: P0001..Pn with variant `-V1`.
fn request_body(items: usize) -> Bytes {
    let list: Vec<stockwire_schema::InventoryItem> = (1..=items)
        .map(|i| {
            let mut it = stockwire_schema::InventoryItem::new(
                stockwire_schema::Profile::V1,
                id(i),
                format!("{}-V1", id(i)),
                (i % 100) as u32,
            );
            it.hsn_code = Some("610910".into());
            it
        })
        .collect();
    Bytes::from(
        serde_json::to_vec(&stockwire_schema::InventoryRequest::new(list)).unwrap_or_default(),
    )
}

/// The peers' catalog: P0001..P10000 without P0002.
fn catalog() -> stockwire_schema::Catalog {
    stockwire_schema::Catalog {
        entries: (1..=10_000)
            .filter(|&i| i != 2)
            .map(|i| stockwire_schema::CatalogEntry {
                product_id: id(i),
                variant_id: format!("{}-V1", id(i)),
                stock: Some(0),
                ..Default::default()
            })
            .collect(),
    }
}

/// The peers' scenario: three rules evaluated on every request that never fire on these
/// payloads.
const SCENARIO: &str = r#"seed = 7
[[rules]]
name = "discontinued"
match = { productId = { glob = "DISCONTINUED-*" } }
effect = { fail = "Product is discontinued on this marketplace" }
[[rules]]
name = "bad-sku-format"
match = { variantId = { regex = "^X-[0-9]+$" } }
effect = { fail = "Mismatch" }
[[rules]]
name = "maintenance"
match = { request = { every = 100000000 } }
effect = { status = 503, retryAfter = 30 }
"#;

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn spawn(kind: &str) -> (Child, String, u64, String) {
    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .arg(format!("--serve-{kind}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    let mut parts = line.split_whitespace().skip(1);
    let addr = parts.next().unwrap_or_default().to_string();
    let startup = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let token = parts.next().unwrap_or("-").to_string();
    (child, addr, startup, token)
}

/// Runs 16 keep-alive connections for `dur`; returns (requests, sorted latencies in µs).
async fn drive(addr: &str, token: &str, body: Bytes, dur: Duration) -> (usize, Vec<u64>) {
    let end = Instant::now() + dur;
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let addr = addr.to_string();
        let token = token.to_string();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let Ok(stream) = tokio::net::TcpStream::connect(&addr).await else {
                return lat;
            };
            let _ = stream.set_nodelay(true);
            let Ok((mut send, conn)) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
            else {
                return lat;
            };
            tokio::spawn(conn);
            while Instant::now() < end {
                let req = Request::post("/updateInventory")
                    .header("host", &addr)
                    .header("content-type", "application/json")
                    .header("apikey", &token)
                    .body(Full::new(body.clone()))
                    .expect("request");
                let t0 = Instant::now();
                let Ok(resp) = send.send_request(req).await else {
                    break;
                };
                let ok = resp.status().is_success();
                let _ = resp.into_body().collect().await;
                if !ok {
                    break;
                }
                lat.push(t0.elapsed().as_micros() as u64);
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        if let Ok(l) = t.await {
            all.extend(l);
        }
    }
    all.sort_unstable();
    (all.len(), all)
}

fn serve(mock: bool) {
    let t0 = Instant::now();
    // The allocator setting the `stockwire` binary makes for its own process (one glibc arena,
    // crates/cli/src/main.rs), so the mock's memory here is what `stockwire mock` uses.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if mock {
        // SAFETY: mallopt only changes glibc's allocator settings; no other thread exists yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
    // The mock runs as `stockwire mock` does: one thread serves the connections (large
    // batches go to the blocking pool); the baseline keeps tokio's default, one per core.
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if mock {
        rt.worker_threads(1);
    }
    let rt = rt.enable_all().build().expect("runtime");
    rt.block_on(async move {
        let (addr, token, _keep) = if mock {
            let scenario = stockwire_mock::Scenario::parse(
                SCENARIO,
                stockwire_mock::scenario::Format::Toml,
                "loadgen",
            )
            .expect("scenario");
            let m = stockwire_mock::MockMarketplace::builder()
                .no_auth()
                .catalog(catalog())
                .scenario(scenario)
                .start()
                .await
                .expect("mock starts");
            let token = m.token("demo").unwrap_or_default();
            (m.addr(), token, Some(m))
        } else {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = l.local_addr().expect("addr");
            tokio::spawn(baseline(l));
            (addr, "-".to_string(), None)
        };
        println!("READY {addr} {} {token}", t0.elapsed().as_micros());
        let _ = std::io::stdout().flush();
        // Serve until the parent closes stdin.
        let _ = tokio::task::spawn_blocking(|| {
            let mut s = String::new();
            let _ = std::io::stdin().read_line(&mut s);
        })
        .await;
    });
}

/// The baseline's typed item (the peers' limit server parses the same).
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Item {
    #[serde(rename = "productId")]
    product_id: String,
    #[serde(rename = "variantId")]
    variant_id: String,
    inventory: i64,
    #[serde(rename = "hsnCode")]
    hsn_code: Option<String>,
}

/// The baseline's typed request.
#[derive(serde::Deserialize)]
struct Batch {
    #[serde(rename = "inventoryList")]
    inventory_list: Vec<Item>,
}

/// The baseline: hyper + typed serde structs, parse the body, answer a fixed body.
async fn baseline(l: tokio::net::TcpListener) {
    loop {
        let Ok((stream, _)) = l.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let svc =
                hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                    let body = req.into_body().collect().await.map(|b| b.to_bytes());
                    let ok = body
                        .ok()
                        .and_then(|b| serde_json::from_slice::<Batch>(&b).ok())
                        .map(|b| {
                            std::hint::black_box(
                                b.inventory_list.iter().map(|i| i.inventory).sum::<i64>(),
                            )
                        })
                        .is_some();
                    let answer: &'static [u8] = if ok {
                        br#"{"status":"SUCCESS","failedProductList":[]}"#
                    } else {
                        br#"{"status":"FAILED","failedProductList":[]}"#
                    };
                    Ok::<_, Infallible>(
                        Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from_static(answer)))
                            .expect("response"),
                    )
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
