//! The baseline of `bench/listing.sh`: a bare hyper 1 server that answers every `GET` with one
//! precomputed listing page (the bytes of a page the mock served) and every `POST` with a fixed
//! SUCCESS body after reading the request body. No routing, no query parsing, no catalog: the
//! most a listing server could do on this machine. Binds 127.0.0.1 only.
//!
//! Usage: `listing-bare PORT PAGE_FILE`.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const UPDATED: &[u8] = br#"{"status":"SUCCESS","failedProductList":[]}"#;

fn reply(body: Bytes) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

async fn handle(page: Bytes, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() == Method::POST {
        let _ = req.into_body().collect().await;
        return Ok(reply(Bytes::from_static(UPDATED)));
    }
    Ok(reply(page))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().ok_or("usage: listing-bare PORT PAGE_FILE")?.parse()?;
    let page = Bytes::from(std::fs::read(args.next().ok_or("usage: listing-bare PORT PAGE_FILE")?)?);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = TcpListener::bind(addr).await?;
    eprintln!("listing-bare listening on http://{addr} ({} bytes a page)", page.len());
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let page = page.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(page.clone(), req));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
