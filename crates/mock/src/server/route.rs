//! Routing: the admin API, record mode, the calls by path and method, and the answers to wrong
//! methods (405) and unknown paths (404). The calls are in `crate::calls`, the admin API in
//! `crate::admin`; every contract decision is delegated to `stockwire-schema`.

use std::net::IpAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;
use stockwire_schema::contract;
use stockwire_schema::exchange::field;

use crate::calls::{auth_token, update_inventory};
use crate::http::{Body, CloseConnection, failed_body, json_response};
use crate::journal::Record;
use crate::state::Shared;

/// Routes one request.
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
    let c = contract(sh.profile);
    if path == c.inventory_path() {
        if req.method() == Method::POST {
            return update_inventory(sh, req, peer).await;
        }
        return Ok(not_allowed(&sh, req, "POST"));
    }
    if path == c.auth_path() {
        if req.method() == Method::GET || req.method() == Method::POST {
            return Ok(Box::pin(auth_token(&sh, req)).await);
        }
        return Ok(not_allowed(&sh, req, "GET, POST"));
    }
    let path = path.to_string();
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
            "no endpoint {path}; this marketplace answers POST {}, GET|POST {} and /__admin/…",
            c.inventory_path(),
            c.auth_path()
        )),
    )]);
    rec.finish(&sh.journal, sh.log_requests, 404, &body);
    Ok(json_response(StatusCode::NOT_FOUND, body))
}

fn not_allowed(sh: &Shared, req: Request<Incoming>, allow: &'static str) -> Response<Body> {
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
    r.headers_mut()
        .insert(hyper::header::ALLOW, HeaderValue::from_static(allow));
    r
}
