//! The listing reader: what the marketplace shows for an item, read as Uniware reads it, through
//! the partner's own listing filtered by the item's SKU code (`/products?skus=…`). An item is
//! read by its SKU; an item without one, or one the listing does not show, is unknown (never
//! "never set"), so its state checks are skipped for that read.
//!
//! Bounded: one request per item (a list of codes only after discovery saw a list work, at most
//! [`CODES_PER_REQUEST`] per request), at most [`IN_FLIGHT`] requests at once, each answer capped
//! by the client's size limit.
//!
//! It does not discover the SKU codes (the engine's discovery does) nor judge what it reads
//! (the state checks do).

use std::collections::HashMap;
use std::sync::Arc;

use stockwire_schema::{CatalogEntry, ItemKey, Profile, contract};

use serde_json::Value;

use crate::checks::catalog_facts::{CallAnswer, PageAnswer};
use crate::client::http::{
    API_KEY_HEADER, API_KEY_PLACEHOLDER, Client, Header, HttpRequest, Outcome,
};
use crate::model::report::RecordedExchange;

/// SKU codes asked in one request when the filter takes a list.
pub const CODES_PER_REQUEST: usize = 20;

/// Listing requests in flight at once.
pub const IN_FLIGHT: usize = 8;

/// The page size when the call fixes none (the documented one is 50).
pub const DEFAULT_PAGE_SIZE: usize = 50;

/// The query of a listing request: page `number` (or a filter by `skus`), the fixed page size
/// and the published status, by the listing call's members.
pub fn listing_query(profile: Profile, number: u64, skus: Option<&str>, published: bool) -> String {
    let call = contract(profile).listing();
    let Some(m) = call.def().listing() else {
        return String::new();
    };
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair(m.page_number, &number.to_string());
    let size = page_size(profile).to_string();
    q.append_pair(m.page_size, &size);
    if let Some(codes) = skus {
        q.append_pair(m.filter, codes);
    }
    if published {
        if let Some(v) = call
            .fixed_query_value(m.published)
            .or_else(|| call.query_default(m.published))
        {
            q.append_pair(m.published, v);
        }
    }
    q.finish()
}

/// The page size the listing call fixes.
pub fn page_size(profile: Profile) -> usize {
    let call = contract(profile).listing();
    call.def()
        .listing()
        .and_then(|m| call.fixed_query_value(m.page_size))
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_PAGE_SIZE)
}

/// A GET of `path?query` with the apiKey as the run sends it (`Some(None)`: no apiKey;
/// `Some(Some(k))`: that key).
pub fn get(base: &str, path: &str, query: &str, key: Option<Option<&str>>) -> HttpRequest {
    let mut headers = vec![Header {
        name: "Accept".into(),
        value: "application/json".into(),
    }];
    match key {
        None => headers.push(Header {
            name: API_KEY_HEADER.into(),
            value: API_KEY_PLACEHOLDER.into(),
        }),
        Some(Some(k)) => headers.push(Header {
            name: API_KEY_HEADER.into(),
            value: k.into(),
        }),
        Some(None) => {}
    }
    let sep = if query.is_empty() { "" } else { "?" };
    HttpRequest {
        method: "GET".into(),
        url: format!("{}{path}{sep}{query}", base.trim_end_matches('/')),
        headers,
        body: String::new(),
    }
}

/// Sends `req` and records the answer as the catalog checks read it.
/// What a catalog answer keeps of its body for the report (a check that fails shows its
/// request and the start of its answer, like an update's failure; the rest is dropped).
pub const KEPT_BODY_BYTES: usize = 512;

/// Sends `req` and records the answer as the catalog checks read it, with the exchange (its
/// body cut at [`KEPT_BODY_BYTES`]) for a failure's reproducer.
pub async fn ask(client: &Client, req: &HttpRequest, shown: String) -> CallAnswer {
    let outcome = client.send(req).await;
    let mut answer = match &outcome {
        Outcome::Response(r) => CallAnswer {
            request: shown,
            status: Some(r.status),
            body: serde_json::from_str::<Value>(&r.body).ok(),
            text: crate::checks::snippet(&r.body),
            sent: None,
        },
        Outcome::Failure { message, .. } => CallAnswer {
            request: shown,
            status: None,
            body: None,
            text: message.clone(),
            sent: None,
        },
    };
    let mut outcome = outcome;
    if let Outcome::Response(r) = &mut outcome {
        if r.body.len() > KEPT_BODY_BYTES {
            let mut end = KEPT_BODY_BYTES;
            while !r.body.is_char_boundary(end) {
                end -= 1;
            }
            r.body.truncate(end);
            r.body.push('…');
        }
    }
    answer.sent = Some(Box::new(RecordedExchange {
        request: req.clone(),
        outcome,
    }));
    answer
}

/// A reading of one item: its value (`Ok(Some)`), or why it is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listed {
    /// The value the listing shows.
    Value(i64),
    /// The listing does not show the item (or shows no count for it): unknown.
    NotShown(String),
    /// The read failed (transport error, refused, not JSON).
    Failed(String),
}

/// Reads items through the partner's listing by SKU code.
#[derive(Debug, Clone)]
pub struct ListingReader {
    client: Client,
    base: String,
    profile: Profile,
    skus: Arc<HashMap<ItemKey, String>>,
    takes_list: bool,
}

impl ListingReader {
    /// A reader of the items of `catalog` that have a SKU code; `takes_list` when discovery saw
    /// the filter take a comma-separated list.
    pub fn new(
        client: &Client,
        base: &str,
        profile: Profile,
        catalog: &[CatalogEntry],
        takes_list: bool,
    ) -> Self {
        let skus = catalog
            .iter()
            .filter_map(|e| e.sku.clone().map(|s| (e.key(), s)))
            .collect();
        ListingReader {
            client: client.clone(),
            base: base.trim_end_matches('/').to_string(),
            profile,
            skus: Arc::new(skus),
            takes_list,
        }
    }

    /// Whether `key` can be read (it has a SKU code).
    pub fn can_read(&self, key: &ItemKey) -> bool {
        self.skus.contains_key(key)
    }

    /// Items with a SKU code.
    pub fn readable(&self) -> usize {
        self.skus.len()
    }

    /// What is read, for the report.
    pub fn describe(&self) -> String {
        let path = contract(self.profile).listing().path();
        let filter = contract(self.profile)
            .listing()
            .def()
            .listing()
            .map_or("", |m| m.filter);
        format!("listing {path}?{filter}=… (listed stock)")
    }

    /// Reads every item of `keys`.
    pub async fn read_many(&self, keys: &[ItemKey]) -> Vec<Listed> {
        let mut out: Vec<Listed> = keys
            .iter()
            .map(|k| match self.skus.get(k) {
                Some(_) => Listed::Failed("not read".into()),
                None => Listed::NotShown("no SKU code known for the item".into()),
            })
            .collect();
        let wanted: Vec<usize> = (0..keys.len())
            .filter(|i| self.skus.contains_key(&keys[*i]))
            .collect();
        let per = if self.takes_list {
            CODES_PER_REQUEST
        } else {
            1
        };
        let groups: Vec<Vec<usize>> = wanted.chunks(per).map(<[usize]>::to_vec).collect();
        let mut set = tokio::task::JoinSet::new();
        let mut next = groups.into_iter();
        loop {
            while set.len() < IN_FLIGHT {
                let Some(group) = next.next() else { break };
                let me = self.clone();
                let codes: Vec<String> = group
                    .iter()
                    .filter_map(|i| self.skus.get(&keys[*i]).cloned())
                    .collect();
                let group_keys: Vec<ItemKey> = group.iter().map(|i| keys[*i].clone()).collect();
                set.spawn(async move { (group, me.read_codes(&codes, &group_keys).await) });
            }
            let Some(joined) = set.join_next().await else {
                break;
            };
            if let Ok((group, readings)) = joined {
                for (i, r) in group.into_iter().zip(readings) {
                    out[i] = r;
                }
            }
        }
        out
    }

    /// One filtered request for `codes`; a reading per key.
    async fn read_codes(&self, codes: &[String], keys: &[ItemKey]) -> Vec<Listed> {
        let listing = contract(self.profile).listing();
        let query = listing_query(self.profile, 1, Some(&codes.join(",")), true);
        let req = HttpRequest {
            method: "GET".into(),
            url: format!("{}{}?{query}", self.base, listing.path()),
            headers: vec![
                Header {
                    name: "Accept".into(),
                    value: "application/json".into(),
                },
                Header {
                    name: API_KEY_HEADER.into(),
                    value: API_KEY_PLACEHOLDER.into(),
                },
            ],
            body: String::new(),
        };
        let fail = |m: String| vec![Listed::Failed(m); keys.len()];
        let answer = match self.client.send(&req).await {
            Outcome::Response(r) if r.status == 200 => r,
            Outcome::Response(r) => {
                return fail(format!(
                    "the listing filtered by {} answered HTTP {}: {}",
                    codes.join(","),
                    r.status,
                    crate::checks::snippet(&r.body)
                ));
            }
            Outcome::Failure { message, .. } => {
                return fail(format!("the listing: {message}"));
            }
        };
        let page = PageAnswer::read(
            self.profile,
            0,
            CallAnswer {
                request: String::new(),
                status: Some(answer.status),
                body: serde_json::from_str(&answer.body).ok(),
                text: String::new(),
                sent: None,
            },
        );
        if !page.is_list() {
            return fail(format!(
                "the listing filtered by {} answered without a list of products: {}",
                codes.join(","),
                crate::checks::snippet(&answer.body)
            ));
        }
        keys.iter()
            .map(|k| {
                let at = page
                    .pairs
                    .iter()
                    .position(|(p, v)| *p == k.product_id && *v == k.variant_id);
                match at.map(|i| page.values.get(i).copied().unwrap_or_default().0) {
                    Some(Some(n)) => Listed::Value(i64::from(n)),
                    Some(None) => Listed::NotShown(
                        "the listing shows the item without a whole-number inventory".into(),
                    ),
                    None => Listed::NotShown("the listing does not show the item".into()),
                }
            })
            .collect()
    }
}
