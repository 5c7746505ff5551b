//! The catalog calls: a count of the seller's published listings (`GET /productsCount`) and
//! the paged listing itself (`GET /products`), for any call of the count's or the listing's
//! shape. Every member and query parameter is the call's (`ListingMembers`, `CountMembers`);
//! the query is checked with the call's query schema (`Call::validate_query`), a missing
//! parameter takes the schema's `default` and the page size is the schema's fixed value.
//!
//! It owns reading the query, the seller's view of the catalog index (published entries it
//! sees, grouped by product, a page at a time) and the answers. It does not own the catalog
//! index (`crate::ledger::catalog`: products in order, variants by product, SKU codes), the
//! stock (the ledger of the update call the listing shows), nor the body's member names
//! (`stockwire_schema::exchange`). Scenario rules that name the call (`call = "products"`,
//! `call = "productsCount"`) script it: the update's answer effects (status, delay, close,
//! malformed body, headers, drip) and the catalog breaks ([`ListingBreak`]); the engine
//! decides (`crate::scenario`), this renders. A scripted answer is journaled before its delay.
//!
//! Bounded: the query is at most what hyper's header limit lets through; SKU codes are capped
//! per request ([`crate::Limits::max_skus`]) before any is looked up; a page holds at most the
//! page size's products; every lookup is hashed or a binary search, whatever the catalog's size.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::Value;
use stockwire_schema::Call;
use stockwire_schema::call::ListingMembers;
use stockwire_schema::exchange::{
    ListedVariant, ListingLayout, ListingPageWriter, PlainTitle, PlainVariant, count_body,
    error_body, listing_body_of,
};

use super::render::{Rendered, deliver};
use super::update::authenticate;
use crate::http::{Body, CloseConnection, json_response};
use crate::journal::{Record, redacted_query};
use crate::ledger::catalog::{CatalogIndex, PlainListed};
use crate::scenario::{AnswerEffects, ListingBreak, Malformed, RequestFacts, kebab};
use crate::state::Shared;

/// A catalog call's answer, and the scripted delay to wait before sending it (it is
/// journaled already).
pub(crate) type Reply = (Duration, Result<Response<Body>, CloseConnection>);

/// An answer sent at once.
fn now(r: Response<Body>) -> Reply {
    (Duration::ZERO, Ok(r))
}

/// The most products a page holds when the query schema fixes no page size (the documented
/// one is 50).
const MAX_PAGE_SIZE: usize = 1000;

/// A request on its way: its journal entry and the call's message member.
struct Asked {
    rec: Record,
    message: &'static str,
}

impl Asked {
    fn new(sh: &Shared, call: &Call, req: &Request<Incoming>, message: &'static str) -> Asked {
        let mut rec = Record::new(
            &*sh.clock,
            &sh.uptime,
            req.method(),
            Cow::Owned(call.path().to_string()),
            req.uri().query().map(redacted_query),
            req.headers(),
        );
        rec.e.call = Some(call.id());
        Asked { rec, message }
    }

    /// A refusal: `{"message": …}` with this status.
    fn refuse(mut self, sh: &Shared, code: StatusCode, text: String) -> Response<Body> {
        self.rec.e.notes.push(text.clone());
        let body = Bytes::from(error_body(self.message, text).to_string());
        self.rec
            .finish(&sh.journal, sh.log_requests, code.as_u16(), &body);
        json_response(code, body)
    }

    /// The scenario's rules for this call, asked of `page` (the listing's) by `seller`: the
    /// effects of those that fired (journaled), or why none did when the call has rules.
    fn script(&mut self, sh: &Shared, call: &Call, seller: &str, page: Option<u64>) -> Effects {
        let engine = sh.engine();
        if !engine.scripts(call.id()) {
            return Effects::default();
        }
        let v = engine.evaluate(&RequestFacts {
            call: call.id(),
            page,
            seller,
            n: 0,
            elapsed: sh.uptime.elapsed(),
            wall: self.rec.now,
            items: &[],
        });
        self.rec.e.effects.extend(v.fired);
        if let Some(x) = v.explain {
            self.rec.e.notes.push(x);
        }
        Effects(v.answer)
    }

    /// Sends `body` (JSON, or the scripted status's answer) with the scripted effects: close,
    /// malformed body, headers, content type, drip and delay. `key`: the body's top member,
    /// for a body that is not JSON.
    fn scripted(self, sh: &Shared, body: Bytes, key: &str, e: Effects) -> Reply {
        let mut a = e.0;
        let delay = a.delay;
        if a.close {
            self.rec
                .finish(&sh.journal, sh.log_requests, 0, &Bytes::new());
            return (delay, Err(CloseConnection));
        }
        let mut rec = self.rec;
        let r = match a.status.take() {
            Some((code, custom, rule)) => {
                let (body, content_type) = match custom {
                    Some(Value::String(s)) => (Bytes::from(s), "text/plain; charset=utf-8"),
                    Some(v) => (Bytes::from(v.to_string()), "application/json"),
                    None => (
                        Bytes::from(
                            error_body(
                                self.message,
                                format!("scripted HTTP {code} (scenario rule `{rule}`)"),
                            )
                            .to_string(),
                        ),
                        "application/json",
                    ),
                };
                Rendered {
                    code,
                    body,
                    content_type,
                }
            }
            None => {
                let mut body = body;
                if let Some(m) = a.malformed {
                    body = match m {
                        Malformed::Truncated => body.slice(..body.len() / 2),
                        Malformed::InvalidJson => Bytes::from(format!("{{\"{key}\": [,]}}")),
                        Malformed::Empty => Bytes::new(),
                    };
                    rec.e.notes.push(format!("body sent {}", kebab(&m)));
                }
                Rendered {
                    code: 200,
                    body,
                    content_type: "application/json",
                }
            }
        };
        (delay, Ok(deliver(sh, rec, r, &a, None)))
    }
}

/// What the scenario scripted for one catalog request.
#[derive(Default)]
struct Effects(AnswerEffects);

impl Effects {
    /// The catalog break scripted, if any.
    fn breaks(&self) -> Option<ListingBreak> {
        self.0.listing
    }
}

/// The seller the apiKey names (401 with the call's message otherwise).
fn seller(sh: &Shared, asked: &mut Asked, req: &Request<Incoming>) -> Result<String, String> {
    let engine = sh.engine();
    match authenticate(sh, &engine, asked.rec.now, req.headers(), false) {
        Ok(s) => {
            asked.rec.e.seller = Some(s.clone());
            Ok(s.to_string())
        }
        Err(r) => {
            if let Some(s) = r.seller().and_then(|i| sh.seller_names.get(i)) {
                asked.rec.e.seller = Some(s.clone());
            }
            Err(r.explain().1.into_owned())
        }
    }
}

/// One query parameter: name and value, decoded.
type Param<'q> = (Cow<'q, str>, Cow<'q, str>);

/// The query's parameters, each once, checked with the call's query schema. `max_codes`:
/// the parameter that lists SKU codes, and the most it may list.
fn read_query<'q>(
    call: &Call,
    query: &'q str,
    max_codes: Option<(&str, usize)>,
) -> Result<Vec<Param<'q>>, String> {
    let pairs: Vec<Param<'q>> = url::form_urlencoded::parse(query.as_bytes()).collect();
    for (i, (k, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(o, _)| o == k) {
            return Err(format!(
                "query parameter `{k}` is given more than once; give it once"
            ));
        }
    }
    if let Some((name, max)) = max_codes
        && let Some((_, v)) = pairs.iter().find(|(k, _)| k == name)
    {
        let n = codes(v).count();
        if n > max {
            return Err(format!(
                "query parameter `{name}` lists {n} SKU codes; this marketplace takes at most {max} per request (the mock's max-skus limit: ask for fewer, or several pages of codes)"
            ));
        }
    }
    let problems = call.validate_query(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));
    if let Some(p) = problems.first() {
        let more = match problems.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        let at = match p.pointer.strip_prefix('/') {
            Some(name) if !name.is_empty() => format!("query parameter `{name}`"),
            _ => "the query".to_string(),
        };
        return Err(format!("{at}: {} (rule `{}`){more}", p.message, p.keyword));
    }
    Ok(pairs)
}

/// The SKU codes a comma-separated list names (empty codes left out).
fn codes(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|c| !c.is_empty())
}

/// `GET` a count call (`/productsCount?publishedStatus=PUBLISHED`): `{"count": n}`, the
/// seller's published variants.
pub(crate) fn count(sh: &Shared, call: &Call, req: Request<Incoming>) -> Reply {
    let Some(m) = call.def().count().copied() else {
        return now(json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            Bytes::new(),
        ));
    };
    let mut asked = Asked::new(sh, call, &req, m.message);
    let seller = match seller(sh, &mut asked, &req) {
        Ok(s) => s,
        Err(e) => return now(asked.refuse(sh, StatusCode::UNAUTHORIZED, e)),
    };
    if let Err(e) = read_query(call, req.uri().query().unwrap_or(""), None) {
        return now(asked.refuse(sh, StatusCode::BAD_REQUEST, e));
    }
    let effects = asked.script(sh, call, &seller, None);
    let n = sh
        .catalog
        .as_ref()
        .map_or(0, |c| c.published_count(&seller));
    let n = match effects.breaks() {
        Some(ListingBreak::WrongCount) => n + 1,
        Some(ListingBreak::ZeroCount) => 0,
        _ => n,
    };
    let body = Bytes::from(count_body(&m, n).to_string());
    asked.scripted(sh, body, m.count, effects)
}

/// `GET` a listing call (`/products?pageNumber=&pageSize=50&publishedStatus=PUBLISHED
/// [&skus=…]`): one page of the seller's published listings, grouped by product.
pub(crate) fn listing(
    sh: &Shared,
    call: &Call,
    layout: &ListingLayout,
    req: Request<Incoming>,
) -> Reply {
    let Some(m) = call.def().listing().copied() else {
        return now(json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            Bytes::new(),
        ));
    };
    let mut asked = Asked::new(sh, call, &req, m.message);
    let seller = match seller(sh, &mut asked, &req) {
        Ok(s) => s,
        Err(e) => return now(asked.refuse(sh, StatusCode::UNAUTHORIZED, e)),
    };
    let query = req.uri().query().unwrap_or("");
    let pairs = match read_query(call, query, Some((m.filter, sh.limits.max_skus))) {
        Ok(p) => p,
        Err(e) => return now(asked.refuse(sh, StatusCode::BAD_REQUEST, e)),
    };
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    };
    let page_text = get(m.page_number)
        .or_else(|| call.query_default(m.page_number))
        .unwrap_or("1");
    let page: usize = match page_text.parse() {
        Ok(p) if p >= 1 => p,
        _ => {
            return now(asked.refuse(
                sh,
                StatusCode::BAD_REQUEST,
                format!(
                    "query parameter `{}`: `{page_text}` is not a page number from 1",
                    m.page_number
                ),
            ));
        }
    };
    let size: usize = call
        .fixed_query_value(m.page_size)
        .or_else(|| get(m.page_size))
        .and_then(|s| s.parse().ok())
        .unwrap_or(MAX_PAGE_SIZE)
        .clamp(1, MAX_PAGE_SIZE);
    let effects = asked.script(sh, call, &seller, Some(page as u64));
    let brk = effects.breaks();
    let Some(catalog) = sh.catalog.as_ref() else {
        let body = Bytes::from(listing_body_of(&m, Vec::new()).to_string());
        return asked.scripted(sh, body, m.products, effects);
    };
    let filter = get(m.filter);
    let groups: Groups = match filter {
        Some(list) if codes(list).next().is_some() => matching(catalog, &seller, list, page, size),
        _ => {
            let len = catalog.listed_product_count(&seller);
            let Some(start) = page_start(len, page, size, brk) else {
                let text = format!(
                    "page {page} is past the end of the listing ({} products, {} a page): scripted error",
                    len, size
                );
                asked.rec.e.notes.push(text.clone());
                let mut e = effects;
                if e.0.status.is_none() {
                    e.0.status = Some((500, Some(error_body(m.message, text)), String::new()));
                }
                return asked.scripted(sh, Bytes::new(), m.products, e);
            };
            let end = start.saturating_add(size).min(len);
            // Sized once: a product has a few variants (grown, rarely, past four a product).
            let mut g = Groups {
                entries: Vec::with_capacity((end - start) * 4),
                ends: Vec::with_capacity(end - start),
            };
            for k in start..end {
                g.entries
                    .extend_from_slice(catalog.listed_variants_of(&seller, k));
                g.ends.push(g.entries.len());
            }
            g
        }
    };
    let stale = brk == Some(ListingBreak::StaleInventory);
    let mut body = render(sh, catalog, (&m, layout), &seller, &groups, stale);
    if brk == Some(ListingBreak::MissingVariantId)
        && let Ok(mut v) = serde_json::from_slice::<Value>(&body)
    {
        // A scripted break: the page as a `Value`, rewritten (the common page never is).
        drop_first_variant_ids(&mut v, &m);
        body = v.to_string().into_bytes();
    }
    asked.scripted(sh, Bytes::from(body), m.products, effects)
}

/// Where the unfiltered listing's page starts among `len` products, with a scripted break
/// ([`ListingBreak::Overlap`] starts one product early, [`ListingBreak::Skip`] one late);
/// `None` when the break answers an error for a page past the end.
/// [`ListingBreak::PastEndRepeats`] serves the last page for any page past it.
fn page_start(len: usize, page: usize, size: usize, brk: Option<ListingBreak>) -> Option<usize> {
    let start = (page - 1).saturating_mul(size);
    if start >= len && page > 1 {
        match brk {
            Some(ListingBreak::PastEndError) => return None,
            Some(ListingBreak::PastEndRepeats) => {
                return Some(len.saturating_sub(1) / size * size);
            }
            _ => {}
        }
    }
    let start = match brk {
        Some(ListingBreak::Overlap) => start.saturating_sub(1),
        Some(ListingBreak::Skip) => start.saturating_add(1),
        _ => start,
    };
    Some(start.min(len))
}

/// Removes the variant id member from the first variant of each product of a listing body.
fn drop_first_variant_ids(body: &mut Value, m: &ListingMembers) {
    let products = body.get_mut(m.products).and_then(Value::as_array_mut);
    for p in products.into_iter().flatten() {
        if let Some(v) = p
            .get_mut(m.variants)
            .and_then(Value::as_array_mut)
            .and_then(|v| v.first_mut())
            .and_then(Value::as_object_mut)
        {
            v.remove(m.variant_id);
        }
    }
}

/// The page'th page of the seller's published entries whose SKU code `list` names, grouped
/// by product (in the order of each product's first matching entry), variants in file order.
fn matching(catalog: &CatalogIndex, seller: &str, list: &str, page: usize, size: usize) -> Groups {
    let mut found: Vec<u32> = codes(list)
        .filter_map(|c| catalog.find_sku(seller, c))
        .collect();
    found.sort_unstable();
    found.dedup();
    let mut groups: Vec<Vec<u32>> = Vec::new();
    let mut by_product: HashMap<&str, usize> = HashMap::new();
    for i in found {
        let p = catalog.key_of(i).0;
        match by_product.get(p) {
            Some(&g) => groups[g].push(i),
            None => {
                by_product.insert(p, groups.len());
                groups.push(vec![i]);
            }
        }
    }
    let mut out = Groups::default();
    for g in groups
        .into_iter()
        .skip((page - 1).saturating_mul(size))
        .take(size)
    {
        out.entries.extend(g);
        out.ends.push(out.entries.len());
    }
    out
}

/// The entries of a page, grouped by product: one list of entries and where each product's
/// group ends (two allocations a page, not one a product).
#[derive(Debug, Default)]
struct Groups {
    entries: Vec<u32>,
    ends: Vec<usize>,
}

impl Groups {
    /// Each product's entries, in page order.
    fn iter(&self) -> impl Iterator<Item = &[u32]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let g = self.entries.get(start..end).unwrap_or_default();
            start = end;
            g
        })
    }
}

/// The listing body of these products (each a group of entries of one product), written
/// straight to bytes; `stale`: the catalog's stock, whatever the updates set.
fn render(
    sh: &Shared,
    catalog: &CatalogIndex,
    (m, layout): (&ListingMembers, &ListingLayout),
    seller: &str,
    groups: &Groups,
    stale: bool,
) -> Vec<u8> {
    // The values the listing shows are the ones its update call sets (the stock).
    let ledger_index = sh
        .family
        .update(m.value_of)
        .filter(|u| u.kind == crate::family::ValueKind::Count)
        .unwrap_or(sh.family.inventory())
        .ledger;
    // Read under the ledger's lock, all at once; the page is written after it is let go.
    let values: Vec<u32> = {
        let ledger = sh.count_ledger(ledger_index);
        let mine = ledger.get(seller).filter(|_| !stale);
        groups
            .entries
            .iter()
            .map(|&i| {
                mine.and_then(|s| s.entry(i))
                    .or(catalog.stock_of(i))
                    .unwrap_or(0)
            })
            .collect()
    };
    let entries = groups.entries.len();
    let mut w = ListingPageWriter::with_layout(layout, Vec::with_capacity(64 + entries * 160));
    let mut values = values.into_iter();
    // A product whose entries need no escape (nearly all) is copied from the arena's bytes
    // as they are (`plain`); any other is written member by member, each text checked. The
    // page's entries are read from the arena in one pass first: independent reads, which the
    // processor overlaps (a random page is mostly cache misses).
    let plain: Vec<Option<PlainListed<'_>>> = groups
        .entries
        .iter()
        .map(|&i| catalog.plain_listed(i))
        .collect();
    let mut listed = Vec::new();
    let mut default_title = String::new();
    let mut at = 0;
    for g in groups.iter() {
        let Some(&first) = g.first() else {
            continue;
        };
        let mine = plain.get(at..at + g.len()).unwrap_or_default();
        at += g.len();
        if let Some(l0) = mine.first().copied().flatten()
            && mine.iter().all(Option::is_some)
        {
            let brand = mine.iter().flatten().find_map(|l| l.brand);
            w.plain_product(l0.product, brand);
            for l in mine.iter().flatten() {
                w.plain_variant(&PlainVariant {
                    variant_id: l.variant,
                    sku: l.sku,
                    value: values.next().unwrap_or(0),
                    blocked: l.blocked.unwrap_or(0),
                    title: match l.title {
                        Some(t) => PlainTitle::Text(t),
                        None => PlainTitle::Joined(l.product, l.variant),
                    },
                    listing_price: l.listing_price,
                    mrp: l.mrp,
                });
            }
            continue;
        }
        // Each entry's listing members are decoded from the arena once (its brand, SKU code,
        // title, prices and blocked units all come from that one read).
        listed.clear();
        listed.extend(g.iter().map(|&i| catalog.listed(i)));
        let brand = listed.iter().find_map(|l| l.brand);
        let p = catalog.key_of(first).0;
        w.product(p, brand);
        for (&i, l) in g.iter().zip(&listed) {
            let value = values.next().unwrap_or(0);
            let v = catalog.key_of(i).1;
            let title = match l.title {
                Some(t) => t,
                None => {
                    default_title.clear();
                    default_title.push_str(p);
                    default_title.push(' ');
                    default_title.push_str(v);
                    &default_title
                }
            };
            w.variant(&ListedVariant {
                variant_id: v,
                sku: catalog.sku_with(i, l),
                value,
                blocked: l.blocked.unwrap_or(0),
                title,
                listing_price: l.listing_price,
                mrp: l.mrp,
            });
        }
    }
    w.finish()
}
