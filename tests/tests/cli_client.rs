//! Client options of `stockwire conform`: extra headers (sent, and redacted everywhere when they
//! carry credentials), and proxies from the environment (HTTP_PROXY with NO_PROXY; loopback
//! targets never proxied), checked with a tiny local proxy.

use std::process::Command;
use std::sync::{Arc, Mutex};

use stockwire_mock::MockMarketplace;
use stockwire_tests::{Run, fixture, root, stockwire_bin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = Command::new(stockwire_bin());
    c.args(args).current_dir(root());
    for v in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap().into()
}

async fn mock() -> MockMarketplace {
    MockMarketplace::builder()
        .catalog(stockwire_mock::demo::catalog())
        .no_auth()
        .start()
        .await
        .unwrap()
}

/// A forward proxy that records each connection's request line and forwards the bytes to
/// `backend`, whatever host the request names.
async fn proxy(backend: std::net::SocketAddr) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = vec![0u8; 1024];
                // A client may open a connection and close it unused (a pool's spare, or
                // the run ending): that carried nothing, so it is not logged.
                let n = match client.read(&mut head).await {
                    Ok(n) if n > 0 => n,
                    _ => return,
                };
                let text = String::from_utf8_lossy(&head[..n]).to_string();
                log.lock()
                    .unwrap()
                    .push(text.lines().next().unwrap_or("").to_string());
                let Ok(mut back) = TcpStream::connect(backend).await else {
                    return;
                };
                if back.write_all(&head[..n]).await.is_err() {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut back).await;
            });
        }
    });
    (url, seen)
}

const CASES: &[&str] = &[
    "--seed",
    "3",
    "--cases",
    "25",
    "--quiet",
    "--latency-budget",
    "120s",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_are_sent_and_credential_values_never_printed() {
    let m = MockMarketplace::builder()
        .catalog(stockwire_mock::demo::catalog())
        .no_auth()
        .scenario(
            stockwire_mock::Scenario::read(&root().join("examples/ci/defective-partner.toml"))
                .unwrap(),
        )
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let junit = dir.path().join("r.xml");
    let html = dir.path().join("r.html");
    let mut args = vec![
        "conform",
        "--target",
        "",
        "--catalog",
        "",
        "--header",
        "X-Api-Token: tok-SECRET-123",
        "--header",
        "X-Trace: visible-trace-1",
        "--secret-header",
        "X-Tenant: tenant-hidden-9",
        "--header",
        "Cookie: session=cookie-hidden-7",
    ];
    let url = m.url();
    let catalog = fixture("catalogs/demo.json");
    args[2] = &url;
    args[4] = catalog.to_str().unwrap();
    let reports = [
        format!("json={}", json.display()),
        format!("junit={}", junit.display()),
        format!("html={}", html.display()),
    ];
    for r in &reports {
        args.push("--report");
        args.push(r);
    }
    args.extend_from_slice(CASES);
    let r = tokio::task::block_in_place(|| run_with_env(&args, &[]));
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);

    // Sent on every request.
    let journal = m.journal();
    assert!(!journal.is_empty());
    for e in journal.iter().filter(|e| e.path == "/updateInventory") {
        let h = |n: &str| e.headers.get(n);
        assert_eq!(h("x-api-token"), Some("tok-SECRET-123"));
        assert_eq!(h("x-tenant"), Some("tenant-hidden-9"));
        assert_eq!(h("x-trace"), Some("visible-trace-1"));
    }
    // Never printed: console, JSON, JUnit, HTML.
    let outputs = [
        r.stdout.clone(),
        r.stderr.clone(),
        std::fs::read_to_string(&json).unwrap(),
        std::fs::read_to_string(&junit).unwrap(),
        std::fs::read_to_string(&html).unwrap(),
    ];
    for (i, out) in outputs.iter().enumerate() {
        for secret in ["tok-SECRET-123", "tenant-hidden-9", "cookie-hidden-7"] {
            assert!(!out.contains(secret), "output {i} shows {secret}");
        }
    }
    // The curl reproducers carry them, secrets as shell variables.
    assert!(
        r.stdout.contains("-H \"X-Api-Token: $X_API_TOKEN\""),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("-H \"X-Tenant: $X_TENANT\""));
    assert!(r.stdout.contains("-H 'X-Trace: visible-trace-1'"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let repeat = report["repeat_command"].as_str().unwrap();
    assert!(
        repeat.contains("--header \"X-Api-Token: $X_API_TOKEN\""),
        "{repeat}"
    );
    assert!(repeat.contains("'X-Trace: visible-trace-1'"), "{repeat}");
}

#[test]
fn a_malformed_header_is_a_usage_error_naming_the_flag() {
    let r = run_with_env(&["conform", "--header", "no colon here", "--quiet"], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("invalid setting `header`"),
        "{}",
        r.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_proxy_is_used_for_remote_targets_and_no_proxy_bypasses_it() {
    let m = mock().await;
    let (proxy_url, seen) = proxy(m.addr()).await;
    let catalog = fixture("catalogs/demo.json");
    let mut args = vec![
        "conform",
        "--target",
        "http://partner.invalid",
        "--catalog",
        catalog.to_str().unwrap(),
    ];
    args.extend_from_slice(CASES);

    // partner.invalid does not resolve: only the proxy can reach it.
    let r = tokio::task::block_in_place(|| run_with_env(&args, &[("HTTP_PROXY", &proxy_url)]));
    assert!(r.code == 0 || r.code == 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("25 cases"), "{}", r.stdout);
    // The proxy logs the first request of each connection it carried (keep-alive reuses them;
    // a run against a mock may open with a ledger read). Every one is in proxy form for the
    // unresolvable host, and the 25 cases above could only have reached the mock through it.
    let lines = seen.lock().unwrap().clone();
    assert!(!lines.is_empty(), "the proxy carried nothing");
    assert!(
        lines
            .iter()
            .all(|l| l.contains(" http://partner.invalid/") && l.ends_with(" HTTP/1.1")),
        "{lines:?}"
    );

    // NO_PROXY names the host: no proxy, so the name does not resolve: exit 3.
    seen.lock().unwrap().clear();
    let r = tokio::task::block_in_place(|| {
        run_with_env(
            &args,
            &[("http_proxy", &proxy_url), ("NO_PROXY", "partner.invalid")],
        )
    });
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_targets_and_the_embedded_mock_never_go_through_a_proxy() {
    let m = mock().await;
    let (proxy_url, seen) = proxy(m.addr()).await;
    let env = [
        ("HTTP_PROXY", proxy_url.as_str()),
        ("ALL_PROXY", proxy_url.as_str()),
    ];
    let catalog = fixture("catalogs/demo.json");
    let url = m.url();
    let mut args = vec![
        "conform",
        "--target",
        &url,
        "--catalog",
        catalog.to_str().unwrap(),
    ];
    args.extend_from_slice(CASES);
    let r = tokio::task::block_in_place(|| run_with_env(&args, &env));
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    let mut embedded = vec!["conform"];
    embedded.extend_from_slice(CASES);
    let r = tokio::task::block_in_place(|| run_with_env(&embedded, &env));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
}
