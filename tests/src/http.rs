//! A small HTTP/1.1 client for the mock's tests: one request per connection
//! (`Connection: close`), raw bytes when a test needs to send malformed HTTP.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body (de-chunked).
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as JSON (panics when it is not: tests only).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn host(url: &str) -> &str {
    url.trim_start_matches("http://").trim_end_matches('/')
}

/// Sends raw bytes and reads until the server closes (at most `wait`).
pub async fn raw(url: &str, bytes: &[u8], wait: Duration) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(host(url)).await?;
    s.write_all(bytes).await?;
    let mut out = Vec::new();
    match tokio::time::timeout(wait, s.read_to_end(&mut out)).await {
        Ok(r) => {
            r?;
        }
        Err(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no end of answer",
            ));
        }
    }
    Ok(out)
}

/// Parses a raw HTTP/1.1 answer (Content-Length, chunked, or until close).
pub fn parse(raw: &[u8]) -> Option<Resp> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        let mut out = Vec::new();
        let mut r = rest;
        loop {
            let eol = r.windows(2).position(|w| w == b"\r\n")?;
            let n = usize::from_str_radix(std::str::from_utf8(&r[..eol]).ok()?.trim(), 16).ok()?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(r.get(eol + 2..eol + 2 + n)?);
            r = r.get(eol + 4 + n..)?;
        }
        out
    } else {
        rest.to_vec()
    };
    Some(Resp {
        status,
        headers,
        body,
    })
}

/// Sends one request; `Err` when the connection closed without an answer.
pub async fn send(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Resp> {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\ncontent-length: {}\r\n",
        host(url),
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    let out = raw(url, &bytes, Duration::from_secs(30)).await?;
    parse(&out).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("no HTTP answer ({} bytes)", out.len()),
        )
    })
}

/// `POST /updateInventory` with a JSON body and an optional apiKey.
pub async fn update(url: &str, api_key: Option<&str>, body: &Value) -> Resp {
    let mut h = vec![("content-type", "application/json")];
    if let Some(k) = api_key {
        h.push(("apiKey", k));
    }
    send(
        url,
        "POST",
        "/updateInventory",
        &h,
        body.to_string().as_bytes(),
    )
    .await
    .unwrap_or_else(|e| panic!("updateInventory: {e}"))
}

/// `GET {path}` and the JSON answer.
pub async fn get_json(url: &str, path: &str) -> Value {
    send(url, "GET", path, &[], b"")
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .json()
}
