//! Routing: the admin API, record mode, the calls by method and path (the call definitions
//! the mock serves, `crate::family`), and the answers to wrong methods (405) and unknown paths
//! (404). The calls are in `crate::calls`, the admin API in
//! `crate::admin`; every contract decision is delegated to `stockwire-schema`.

use std::net::IpAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Request, Response, StatusCode};
use serde_json::json;
use stockwire_schema::exchange::field;

use crate::calls::{auth_token, count, listing, update};
use crate::family::{Found, Handler};
use crate::http::{Body, CloseConnection, failed_body, json_response};
use crate::journal::Record;
use crate::state::Shared;

/// Routes one request: the admin API, record mode, then the call its method and path name
/// (from the call definitions the mock serves, `crate::family`).
pub(crate) async fn handle(
    sh: Arc<Shared>,
    req: Request<Incoming>,
    peer: Option<IpAddr>,
) -> Result<Response<Body>, CloseConnection> {
    let path = req.uri().path();
    if let Some(rest) = path.strip_prefix("/__admin") {
        let rest = rest.to_string();
        return Ok(Box::pin(crate::admin::handle(&sh, &rest, req)).await);
    }
    if let Some(r) = &sh.recorder {
        return Ok(Box::pin(r.forward(&sh.limits, sh.profile, req)).await);
    }
    let handler = match sh.family.find(req.method().as_str(), path) {
        Found::Route(r) => (r.handler.clone(), r.id),
        Found::WrongMethod(allow) => return Ok(not_allowed(&sh, req, allow)),
        Found::NoPath => return Ok(not_found(&sh, req)),
    };
    match handler {
        (Handler::Update(i), _) => update(sh, i, req, peer).await,
        (Handler::Auth, _) => Ok(Box::pin(auth_token(&sh, req)).await),
        (Handler::Count(c), _) => delayed(count(&sh, &c, req)).await,
        (Handler::Listing(c, layout), _) => delayed(listing(&sh, &c, &layout, req)).await,
    }
}

/// A catalog call's answer after its scripted delay (boxed: rare, and the future every
/// request carries stays small).
async fn delayed((delay, r): crate::calls::Reply) -> Result<Response<Body>, CloseConnection> {
    if !delay.is_zero() {
        Box::pin(tokio::time::sleep(delay)).await;
    }
    r
}

fn not_found(sh: &Shared, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    let rec = Record::new(
        &*sh.clock,
        &sh.uptime,
        req.method(),
        path.clone().into(),
        None,
        req.headers(),
    );
    let body = failed_body(vec![(
        field::MESSAGE,
        json!(format!(
            "no endpoint {path}; this marketplace answers {} and /__admin/…",
            sh.family.describe()
        )),
    )]);
    rec.finish(&sh.journal, sh.log_requests, 404, &body);
    json_response(StatusCode::NOT_FOUND, body)
}

fn not_allowed(sh: &Shared, req: Request<Incoming>, allow: String) -> Response<Body> {
    let path = req.uri().path().to_string().into();
    let rec = Record::new(
        &*sh.clock,
        &sh.uptime,
        req.method(),
        path,
        None,
        req.headers(),
    );
    let body = failed_body(vec![(
        field::MESSAGE,
        json!(format!(
            "method {} not allowed here; use {allow}",
            req.method()
        )),
    )]);
    rec.finish(&sh.journal, sh.log_requests, 405, &body);
    let mut r = json_response(StatusCode::METHOD_NOT_ALLOWED, body);
    if let Ok(v) = HeaderValue::from_str(&allow) {
        r.headers_mut().insert(hyper::header::ALLOW, v);
    }
    r
}
