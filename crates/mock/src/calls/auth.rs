//! `/authToken`: `GET` with the credentials in the query, or `POST` with a JSON body. Checks
//! them with the contract's rules, then issues the seller's token from the token store (a fresh
//! one while a lifetime applies). The journal keeps the exchange with every credential
//! redacted.

use std::borrow::Cow;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use stockwire_schema::exchange::field;
use stockwire_schema::{AuthTokenRequest, AuthTokenResponse, contract};

use crate::http::{Body, closing, json_content_type, json_response, read_body, violation};
use crate::journal::{Record, redact_json, redacted_body, redacted_query};
use crate::state::Shared;

/// `GET /authToken?username=&password=` and `POST /authToken` with a JSON body.
pub(crate) async fn auth_token(sh: &Shared, req: Request<Incoming>) -> Response<Body> {
    let is_post = req.method() == Method::POST;
    let query = req.uri().query().map(str::to_string);
    let mut rec = Record::new(
        &*sh.clock,
        &sh.uptime,
        req.method(),
        Cow::Borrowed(contract(sh.profile).auth_path()),
        query.as_deref().map(redacted_query),
        req.headers(),
    );
    let c = contract(sh.profile);
    rec.e.call = Some(c.auth().id());
    let fail = |rec: Record, code: u16, status: &str, extra: Vec<(&str, Value)>| {
        let mut r = AuthTokenResponse {
            status: status.to_string(),
            access_token: None,
            extra: Default::default(),
        };
        for (k, v) in extra {
            r.extra.insert(k.to_string(), v);
        }
        let body = Bytes::from(serde_json::to_vec(&r).unwrap_or_default());
        rec.finish(&sh.journal, sh.log_requests, code, &body);
        json_response(
            StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
            body,
        )
    };
    let creds: Value = if is_post {
        let headers = req.headers().clone();
        let body = match read_body(&sh.limits, req).await {
            Ok(b) => b,
            Err(r) => {
                return closing(fail(
                    rec,
                    r.code,
                    "FAILED",
                    vec![("violations", json!([r.violation]))],
                ));
            }
        };
        if let Err(ct) = json_content_type(&headers) {
            let v = violation(
                "",
                "content-type",
                format!("Content-Type `{ct}` is not application/json"),
            );
            return fail(rec, 400, "FAILED", vec![("violations", json!([v]))]);
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => {
                let mut shown = v.clone();
                redact_json(&mut shown);
                rec.e.body = Bytes::from(shown.to_string());
                v
            }
            Err(e) => {
                let v = violation("", "json", format!("not JSON: {e}"));
                return fail(rec, 400, "FAILED", vec![("violations", json!([v]))]);
            }
        }
    } else {
        let mut m = serde_json::Map::new();
        for (k, v) in url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
            m.insert(k.into_owned(), Value::String(v.into_owned()));
        }
        Value::Object(m)
    };
    let problems = c.validate_auth_query(&creds);
    if !problems.is_empty() {
        let v: Vec<Value> = problems
            .iter()
            .map(|p| violation(&p.pointer, &p.keyword, &p.message))
            .collect();
        rec.e.notes.push("credentials missing or malformed".into());
        return fail(rec, 400, "FAILED", vec![("violations", Value::Array(v))]);
    }
    let asked: AuthTokenRequest = match serde_json::from_value(creds) {
        Ok(a) => a,
        Err(e) => {
            let v = violation("", "type", format!("credentials unreadable: {e}"));
            return fail(rec, 400, "FAILED", vec![("violations", json!([v]))]);
        }
    };
    let (user, pass) = (asked.username.as_str(), asked.password.as_str());
    match sh.login(user, pass) {
        Some(idx) => {
            rec.e.seller = sh.seller_names.get(idx).cloned();
            let engine = sh.engine();
            let token = sh
                .tokens
                .issue(idx, sh.clock.now(), &engine.token_rules, &sh.sellers);
            let r = AuthTokenResponse {
                status: "SUCCESS".into(),
                access_token: Some(token),
                extra: Default::default(),
            };
            let body = Bytes::from(serde_json::to_vec(&r).unwrap_or_default());
            // The journal and the request log keep the answer with the token redacted.
            rec.finish(&sh.journal, sh.log_requests, 200, &redacted_body(&body));
            json_response(StatusCode::OK, body)
        }
        None => {
            rec.e.notes.push(format!(
                "no seller has username `{user}` with that password"
            ));
            let status = if is_post {
                "INVALID_CREDENTIALS"
            } else {
                "FAILED"
            };
            fail(
                rec,
                401,
                status,
                vec![(field::MESSAGE, json!("unknown username or wrong password"))],
            )
        }
    }
}
