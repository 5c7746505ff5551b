//! HTTPS targets: certificates are verified unless `insecure` is set.

use std::net::SocketAddr;
use std::sync::Arc;

use stockwire_conform::events::NoSink;
use stockwire_conform::{ConformError, Credentials, RunOptions};
use stockwire_mock::MockMarketplace;
use tokio::net::{TcpListener, TcpStream};

/// A TLS front with a self-signed certificate for 127.0.0.1, forwarding to `backend`.
async fn tls_front(backend: SocketAddr) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let (addr, task, _) = tls_front_with_pem(backend).await;
    (addr, task)
}

/// [`tls_front`], also returning its certificate as PEM (what a `--cacert` file holds).
async fn tls_front_with_pem(
    backend: SocketAddr,
) -> (SocketAddr, tokio::task::JoinHandle<()>, String) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    let pem = cert.cert.pem();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut back) = TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut back).await;
            });
        }
    });
    (addr, task, pem)
}

async fn options(url: String, mock: &MockMarketplace) -> RunOptions {
    let mut o = RunOptions::new(url);
    o.catalog = stockwire_mock::demo::catalog();
    o.credentials = Credentials::ApiKey(mock.token(stockwire_mock::demo::SELLER).unwrap());
    o.seed = 3;
    o.cases = 20;
    o.policies.latency_budget = stockwire_conform::config::Dur(std::time::Duration::from_secs(120));
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_certificate_is_refused_unless_insecure() {
    let mock = MockMarketplace::builder()
        .catalog(stockwire_mock::demo::catalog())
        .start()
        .await
        .unwrap();
    let (addr, front) = tls_front(mock.addr()).await;
    let url = format!("https://127.0.0.1:{}", addr.port());

    // Verified by default: a self-signed certificate makes the target unreachable (exit 3).
    let err = stockwire_conform::run(options(url.clone(), &mock).await, &mut NoSink)
        .await
        .unwrap_err();
    assert!(matches!(err, ConformError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );

    // With --insecure the same partner is checked over TLS, and it is a correct partner.
    let mut o = options(url, &mock).await;
    o.insecure = true;
    let r = stockwire_conform::run(o, &mut NoSink).await.unwrap();
    let failed: Vec<&str> = r.failed_checks().map(|c| c.id.as_str()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert!(r.summary.requests >= 20);
    front.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cacert_file_makes_an_internal_certificate_trusted() {
    let mock = MockMarketplace::builder()
        .catalog(stockwire_mock::demo::catalog())
        .start()
        .await
        .unwrap();
    let (addr, front, pem) = tls_front_with_pem(mock.addr()).await;
    let url = format!("https://127.0.0.1:{}", addr.port());
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("staging-ca.pem");
    std::fs::write(&ca, pem).unwrap();

    let mut o = options(url.clone(), &mock).await;
    o.cacert = Some(ca);
    let r = stockwire_conform::run(o, &mut NoSink).await.unwrap();
    assert!(!r.settings.insecure);
    assert_eq!(r.failed_checks().count(), 0);

    // A file without a certificate is a setting error naming the flag.
    let bad = dir.path().join("empty.pem");
    std::fs::write(&bad, "not a certificate\n").unwrap();
    let mut o = options(url, &mock).await;
    o.cacert = Some(bad);
    let err = stockwire_conform::run(o, &mut NoSink).await.unwrap_err();
    assert!(err.to_string().contains("cacert"), "{err}");
    front.abort();
}
