//! The admin endpoints: the admin token check, routing under `/__admin/` and each endpoint's
//! answer (the list is in the `admin` module's documentation).

use std::sync::atomic::Ordering;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use super::verify::{Expectation, verify};
use crate::http::{Body, closing, full, json_response, read_body};
use crate::journal::Filter;
use crate::scenario::{Engine, Format, Scenario};
use crate::state::Shared;

fn answer(code: StatusCode, v: Value) -> Response<Body> {
    json_response(code, Bytes::from(v.to_string()))
}

fn query(req: &Request<Incoming>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Whether the request carries the admin token (`Authorization: Bearer TOKEN`), compared in
/// time independent of where the first difference is.
fn authorized(sh: &Shared, req: &Request<Incoming>) -> bool {
    let Some(want) = &sh.admin_token else {
        return true;
    };
    let got = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .trim();
    got.len() == want.len()
        && got
            .bytes()
            .zip(want.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Handles `/__admin{rest}`: `GET /__admin/health` is always open; everything else needs the
/// admin token when one is set.
pub(crate) async fn handle(sh: &Shared, rest: &str, req: Request<Incoming>) -> Response<Body> {
    let m = req.method().clone();
    let health = m == Method::GET && rest.trim_end_matches('/') == "/health";
    if !health && !authorized(sh, &req) {
        let mut r = answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "the admin API needs `Authorization: Bearer TOKEN` with the mock's admin token (--admin-token or STOCKWIRE_ADMIN_TOKEN)"}),
        );
        r.headers_mut().insert(
            hyper::header::WWW_AUTHENTICATE,
            hyper::header::HeaderValue::from_static("Bearer realm=\"stockwire-admin\""),
        );
        return r;
    }
    match (&m, rest.trim_end_matches('/')) {
        (&Method::GET, "/health") => {
            let engine = sh.engine();
            answer(
                StatusCode::OK,
                json!({
                    "status": "ok",
                    "profile": sh.profile,
                    "uptimeMs": sh.uptime.elapsed().as_millis() as u64,
                    "requests": sh.counter.load(Ordering::SeqCst),
                    "journal": sh.journal.stats(),
                    "auth": sh.auth,
                    "sellers": sh.sellers.iter().map(|s| &s.seller).collect::<Vec<_>>(),
                    "catalogItems": sh.catalog.as_ref().map(|c| c.len()),
                    "rules": engine.fire_counts().len(),
                    "calls": sh.family.routes.iter().map(|r| r.id).collect::<Vec<_>>(),
                    "connections": {
                        "cap": sh.limits.max_connections,
                        "evictedIdle": sh.conn_stats.evicted.load(Ordering::Relaxed),
                        "refusedBusy": sh.conn_stats.refused.load(Ordering::Relaxed),
                    },
                }),
            )
        }
        (&Method::GET, "/journal") => {
            let mut f = Filter::default();
            for (k, v) in query(&req) {
                match k.as_str() {
                    "seller" => f.seller = Some(v),
                    "path" => f.path = Some(v),
                    "call" => f.call = Some(v),
                    "status" => f.status = v.parse().ok(),
                    "rule" => f.rule = Some(v),
                    "productId" => f.product_id = Some(v),
                    "since" => f.since = v.parse().ok(),
                    "limit" => f.limit = v.parse().ok(),
                    other => {
                        return answer(
                            StatusCode::BAD_REQUEST,
                            json!({"error": format!("unknown filter `{other}` (known: seller, path, call, status, rule, productId, since, limit)")}),
                        );
                    }
                }
            }
            // One page within a byte budget per reader; `next` continues.
            let page = sh.journal.page(&f, crate::journal::PAGE_BYTES);
            answer(
                StatusCode::OK,
                json!({"entries": page.entries, "next": page.next, "stats": sh.journal.stats()}),
            )
        }
        (&Method::DELETE, "/journal") => {
            sh.journal.clear();
            answer(StatusCode::OK, json!({"status": "ok"}))
        }
        (&Method::GET, "/ledger") => {
            let q = query(&req);
            let get = |name: &str| q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
            let seller = get("seller");
            match get("call") {
                // The inventory push's ledger: the stock, with the catalog's own stock.
                None => answer(StatusCode::OK, json!({"items": sh.rows(seller)})),
                Some(c) if c == sh.family.inventory().call.id() => {
                    answer(StatusCode::OK, json!({"items": sh.rows(seller)}))
                }
                Some(c) => match sh.value_rows(c, seller) {
                    Some(rows) => answer(StatusCode::OK, json!({"call": c, "items": rows})),
                    None => answer(
                        StatusCode::NOT_FOUND,
                        json!({"error": format!(
                            "no update call `{c}` (known: {})",
                            sh.family
                                .updates
                                .iter()
                                .map(|u| u.call.id())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )}),
                    ),
                },
            }
        }
        (&Method::GET, "/stock") => stock(sh, &query(&req)),
        (&Method::DELETE, "/ledger") => {
            sh.clear_ledgers();
            answer(StatusCode::OK, json!({"status": "ok"}))
        }
        (&Method::POST, "/reset") => {
            sh.reset();
            answer(StatusCode::OK, json!({"status": "ok"}))
        }
        (&Method::GET, "/scenario") => {
            let e = sh.engine();
            let fired: Vec<Value> = e
                .fire_counts()
                .into_iter()
                .map(|(rule, count)| json!({"rule": rule, "fired": count}))
                .collect();
            answer(
                StatusCode::OK,
                json!({"scenario": e.scenario(), "fired": fired}),
            )
        }
        (&Method::PUT, "/scenario") => {
            let ct = req
                .headers()
                .get(hyper::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase();
            let body = match read_body(&sh.limits, req).await {
                Ok(b) => b,
                Err(r) => {
                    return closing(answer(
                        StatusCode::from_u16(r.code).unwrap_or(StatusCode::BAD_REQUEST),
                        json!({"error": r.message}),
                    ));
                }
            };
            let text = String::from_utf8_lossy(&body);
            let format = if ct.contains("json") {
                Format::Json
            } else if ct.contains("yaml") {
                Format::Yaml
            } else if ct.contains("toml") {
                Format::Toml
            } else {
                Format::sniff(&text)
            };
            // Parsed and compiled off the thread that serves connections, within the caps;
            // the old scenario serves until the new one is ready.
            let limits = sh.scenario_limits;
            let text = text.into_owned();
            let built = tokio::task::spawn_blocking(move || {
                Scenario::parse_with(&text, format, "request body", &limits).and_then(Engine::new)
            })
            .await;
            let built = match built {
                Ok(b) => b,
                Err(e) => {
                    return answer(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        json!({"error": format!("the scenario could not be compiled: {e}")}),
                    );
                }
            };
            match built {
                Ok(engine) => {
                    let n = engine.fire_counts().len();
                    sh.set_engine(engine);
                    answer(StatusCode::OK, json!({"status": "ok", "rules": n}))
                }
                Err(e) => answer(StatusCode::BAD_REQUEST, json!({"error": e.to_string()})),
            }
        }
        (&Method::POST, "/tokens/revoke") => revoke(sh, req).await,
        (&Method::POST, "/verify") => {
            let body = match read_body(&sh.limits, req).await {
                Ok(b) => b,
                Err(r) => {
                    return closing(answer(StatusCode::BAD_REQUEST, json!({"error": r.message})));
                }
            };
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Ask {
                expect: Vec<Expectation>,
            }
            match serde_json::from_slice::<Ask>(&body) {
                Ok(a) => {
                    let report = verify(sh, &a.expect);
                    answer(
                        StatusCode::OK,
                        serde_json::to_value(report).unwrap_or_default(),
                    )
                }
                Err(e) => answer(
                    StatusCode::BAD_REQUEST,
                    json!({"error": format!("expected {{\"expect\": [...]}}: {e}")}),
                ),
            }
        }
        (_, path) => answer(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no admin endpoint {m} /__admin{path}; see docs/mock.md")}),
        ),
    }
}

/// `GET /__admin/stock?seller=&productId=&variantId=`: one item's stock as plain text, the
/// shape a `stockwire conform --stock-probe` command prints (empty: never set). `seller` may be
/// left out when only one seller holds the item.
fn stock(sh: &Shared, q: &[(String, String)]) -> Response<Body> {
    let get = |name: &str| q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    // The item's query parameters are named as the exchange names its members.
    use stockwire_schema::exchange::field::{PRODUCT_ID, VARIANT_ID};
    if let Some((other, _)) = q
        .iter()
        .find(|(k, _)| k != "seller" && k != PRODUCT_ID && k != VARIANT_ID)
    {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": format!("unknown parameter `{other}` (known: seller, productId, variantId)")}),
        );
    }
    let (Some(product), Some(variant)) = (get(PRODUCT_ID), get(VARIANT_ID)) else {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "name the item: GET /__admin/stock?seller=NAME&productId=P&variantId=V"}),
        );
    };
    let seller = get("seller");
    let rows: Vec<u32> = sh
        .rows(seller)
        .into_iter()
        .filter(|r| r.product_id == product && r.variant_id == variant)
        .map(|r| r.stock)
        .collect();
    let text = match rows.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        _ => {
            return answer(
                StatusCode::BAD_REQUEST,
                json!({"error": "more than one seller holds this item: add seller=NAME"}),
            );
        }
    };
    let mut r = Response::new(full(Bytes::from(text)));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// `POST /__admin/tokens/revoke?seller=NAME` (or a `{"seller": NAME}` body).
async fn revoke(sh: &Shared, req: Request<Incoming>) -> Response<Body> {
    let mut seller = query(&req)
        .into_iter()
        .find(|(k, _)| k == "seller")
        .map(|(_, v)| v);
    if seller.is_none() {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Ask {
            seller: String,
        }
        let body = match read_body(&sh.limits, req).await {
            Ok(b) => b,
            Err(r) => {
                return closing(answer(StatusCode::BAD_REQUEST, json!({"error": r.message})));
            }
        };
        seller = serde_json::from_slice::<Ask>(&body).ok().map(|a| a.seller);
    }
    let Some(seller) = seller else {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "name the seller: POST /__admin/tokens/revoke?seller=NAME or a {\"seller\": NAME} body"}),
        );
    };
    match sh.seller_index(&seller) {
        Some(i) => {
            let n = sh.tokens.revoke(i);
            answer(
                StatusCode::OK,
                json!({"status": "ok", "seller": seller, "revoked": n}),
            )
        }
        None => answer(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no seller `{seller}` (known: {})", sh.sellers.iter().map(|s| s.seller.as_str()).collect::<Vec<_>>().join(", "))}),
        ),
    }
}
