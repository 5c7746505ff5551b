//! Discovery: the catalog flow Uniware runs before it pushes any stock. It asks
//! `/productsCount`, pulls `/products` page by page, and turns the listing's product ids,
//! variantIds, SKU codes and listed stock into the catalog of the update cases. On the way it
//! gathers what the catalog checks judge ([`CatalogFacts`]): the page past the end, a filter by
//! one SKU code, the same calls without the right apiKey, and the partner's choices.
//!
//! Bounded however the partner answers: at most the count divided by the page size plus
//! [`SPARE_PAGES`] pages, never more than `--max-pages`; a page is summed up as it is read (its
//! ids, not its body), each answer is capped by the client's size limit, and the requests are
//! sequential (one in flight).
//!
//! It does not judge anything (the catalog checks in `checks` do, through the registry) nor
//! read stock back after an update (the listing reader, `readers::listing`).

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use stockwire_schema::{CatalogEntry, Profile, contract};

use crate::checks::Observation;
use crate::checks::catalog_facts::{
    BoundaryReread, CatalogFacts, FilterProbe, KeyProbe, PageAnswer,
};
use crate::client::http::Client;
use crate::readers::listing::{ask, get, listing_query, page_size};

/// Pages read beyond the count divided by the page size, so that a count one short and the
/// empty page past the end still fit.
pub const SPARE_PAGES: u64 = 3;

/// The apiKey of the wrong-key requests (clearly not a real token).
const WRONG_KEY: &str = "stockwire-wrong-key";

/// What discovery found and saw.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// What the catalog checks judge.
    pub facts: CatalogFacts,
    /// The discovered catalog: one entry per listed variant with its SKU code and listed stock.
    pub entries: Vec<CatalogEntry>,
    /// Distinct products listed.
    pub products: u64,
    /// Requests sent.
    pub requests: u64,
    /// The partner's choices seen (reported, never violations).
    pub observations: Vec<Observation>,
    /// The catalog calls the partner has not built (answered 404 or 405), by path.
    pub missing: Vec<String>,
    /// Whether the listing's filter took a comma-separated list of SKU codes.
    pub filter_takes_list: bool,
}

impl Discovered {
    /// Pages read (the page past the end not counted).
    pub fn pages(&self) -> u64 {
        self.facts.pages.len() as u64
    }
}

/// A hash of a page's pairs, to see a page that repeats an earlier one.
fn fingerprint(page: &PageAnswer) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    page.pairs.hash(&mut h);
    h.finish()
}

/// Runs the catalog flow against `base` with the client's apiKey: the count, every page (within
/// the bounds), the page past the end, the first and the last page boundary read again, a
/// one-code filter, and both calls without the right apiKey.
pub async fn discover(client: &Client, base: &str, profile: Profile, max_pages: u64) -> Discovered {
    let c = contract(profile);
    let count_call = c.count();
    let listing = c.listing();
    let size = page_size(profile);
    let mut requests = 0u64;
    let mut observations = Vec::new();
    let mut missing = Vec::new();

    // 1. The count.
    let count_query = count_call
        .def()
        .count()
        .and_then(|m| {
            count_call
                .fixed_query_value(m.published)
                .or_else(|| count_call.query_default(m.published))
                .map(|v| {
                    url::form_urlencoded::Serializer::new(String::new())
                        .append_pair(m.published, v)
                        .finish()
                })
        })
        .unwrap_or_default();
    let req = get(base, count_call.path(), &count_query, None);
    let shown = format!("GET {}?{count_query}", count_call.path());
    let count = ask(client, &req, shown).await;
    requests += 1;
    if matches!(count.status, Some(404 | 405)) {
        missing.push(count_call.path().to_string());
    }
    let count_value = match (count.status, &count.body, count_call.def().count()) {
        (Some(200), Some(body), Some(m)) => stockwire_schema::exchange::count_of_answer(m, body),
        _ => None,
    };
    let bound = match count_value {
        Some(n) => (n / size as u64 + SPARE_PAGES).min(max_pages),
        None => max_pages,
    }
    .max(1);
    let mut facts = CatalogFacts::new(profile, size, bound);
    facts.count = Some(count);
    facts.count_value = count_value;

    // 2. The pages, unless the seller lists nothing (Uniware stops at a count of 0).
    let mut seen_pages: HashSet<u64> = HashSet::new();
    if count_value != Some(0) {
        for number in 1..=bound {
            let query = listing_query(profile, number, None, true);
            let req = get(base, listing.path(), &query, None);
            let shown = format!("GET {}?{query}", listing.path());
            let answer = ask(client, &req, shown).await;
            requests += 1;
            if number == 1 && matches!(answer.status, Some(404 | 405)) {
                missing.push(listing.path().to_string());
            }
            let page = PageAnswer::read(profile, number, answer);
            if !page.is_list() || page.variant_count() == 0 && page.product_count() == 0 {
                facts.end = Some(page);
                break;
            }
            if !seen_pages.insert(fingerprint(&page)) {
                facts.end = Some(page);
                facts.end_repeats = true;
                break;
            }
            facts.pages.push(page);
            if number == bound {
                facts.cut = true;
            }
        }
    }
    if let Some(end) = &facts.end {
        if end.number > 1 {
            if let Some(s) = end.answer.status.filter(|s| (400..500).contains(s)) {
                observations.push(Observation {
                    topic: "listing-end",
                    choice: format!("HTTP {s} past the last page"),
                });
            }
        }
    }

    // 2b. The first and the last page boundary read again, unfiltered (at most 4 requests).
    let n = facts.pages.len() as u64;
    if n >= 2 && !facts.cut {
        let pulled_pairs = facts.distinct_pairs();
        let mut ks = vec![1];
        if n - 1 > 1 {
            ks.push(n - 1);
        }
        for k in ks {
            let (Some(a), Some(b)) = (facts.pages.get(k as usize - 1), facts.pages.get(k as usize))
            else {
                continue;
            };
            let (Some(last), Some(first)) = (a.pairs.last(), b.pairs.first()) else {
                continue;
            };
            let mut boundary = BoundaryReread {
                before: k,
                pulled: (last.0.clone(), first.0.clone()),
                ..BoundaryReread::default()
            };
            let mut again = Vec::new();
            for number in [k, k + 1] {
                let query = listing_query(profile, number, None, true);
                let req = get(base, listing.path(), &query, None);
                let answer = ask(client, &req, format!("GET {}?{query}", listing.path())).await;
                requests += 1;
                again.push(PageAnswer::read(profile, number, answer));
            }
            if let [a, b] = again.as_slice() {
                if a.is_list() && b.is_list() {
                    if let (Some(last), Some(first)) = (a.pairs.last(), b.pairs.first()) {
                        boundary.reread = Some((last.0.clone(), first.0.clone()));
                    }
                    boundary.unseen = a
                        .pairs
                        .iter()
                        .chain(&b.pairs)
                        .filter(|p| !pulled_pairs.contains(*p))
                        .take(crate::checks::catalog_facts::PROBLEMS_PER_PAGE)
                        .cloned()
                        .collect();
                }
            }
            boundary.answers = again.into_iter().map(|p| p.answer).collect();
            facts.boundaries.push(boundary);
        }
    }

    // 3. The catalog: one entry per listed variant, the first listing of a pair wins.
    let mut entries: Vec<CatalogEntry> = Vec::new();
    let mut pairs: HashSet<(String, String)> = HashSet::new();
    let mut products: HashSet<String> = HashSet::new();
    for page in &facts.pages {
        for (i, (p, v)) in page.pairs.iter().enumerate() {
            if p.is_empty() || v.is_empty() || !pairs.insert((p.clone(), v.clone())) {
                continue;
            }
            products.insert(p.clone());
            let mut e = CatalogEntry::new(p.clone(), v.clone());
            e.sku = page.skus.get(i).cloned().flatten();
            if let Some((value, blocked)) = page.values.get(i) {
                e.stock = *value;
                e.blocked = *blocked;
            }
            entries.push(e);
        }
    }
    // Whether pages count products or variants: a full page tells.
    for page in facts.pages.iter().take(facts.pages.len().saturating_sub(1)) {
        let choice = if page.product_count() == size && page.variant_count() > size {
            Some("pages count products")
        } else if page.variant_count() == size && page.product_count() < size {
            Some("pages count variants")
        } else {
            None
        };
        if let Some(choice) = choice {
            observations.push(Observation {
                topic: "page-size",
                choice: choice.into(),
            });
            break;
        }
    }

    // 4. A filter by one SKU code, then by two (a list works, or only one code).
    let with_sku: Vec<&CatalogEntry> = entries.iter().filter(|e| e.sku.is_some()).collect();
    let mut filter_takes_list = false;
    if let Some(first) = with_sku.first() {
        let code = first.sku.clone().unwrap_or_default();
        let query = listing_query(profile, 1, Some(&code), true);
        let req = get(base, listing.path(), &query, None);
        let answer = ask(client, &req, format!("GET {}?{query}", listing.path())).await;
        requests += 1;
        facts.filter = Some(FilterProbe {
            sku: code.clone(),
            expected: (first.product_id.clone(), first.variant_id.clone()),
            page: PageAnswer::read(profile, 0, answer),
        });
        if let Some(second) = with_sku.get(1) {
            let codes = format!("{code},{}", second.sku.clone().unwrap_or_default());
            let query = listing_query(profile, 1, Some(&codes), true);
            let req = get(base, listing.path(), &query, None);
            let answer = ask(client, &req, format!("GET {}?{query}", listing.path())).await;
            requests += 1;
            let page = PageAnswer::read(profile, 0, answer);
            let want: HashSet<(String, String)> = [first, second]
                .iter()
                .map(|e| (e.product_id.clone(), e.variant_id.clone()))
                .collect();
            let got: HashSet<(String, String)> = page.pairs.iter().cloned().collect();
            filter_takes_list = page.is_list() && got == want;
            observations.push(Observation {
                topic: "skus-filter",
                choice: if filter_takes_list {
                    "a comma-separated list of codes".into()
                } else {
                    "one code per request".into()
                },
            });
        }
    }

    // 5. Whether publishedStatus may be left out.
    if facts.listed() {
        let query = listing_query(profile, 1, None, false);
        let req = get(base, listing.path(), &query, None);
        let answer = ask(client, &req, format!("GET {}?{query}", listing.path())).await;
        requests += 1;
        let choice = match answer.status {
            Some(200) => Some("publishedStatus may be left out"),
            Some(s) if (400..500).contains(&s) => Some("publishedStatus is required"),
            _ => None,
        };
        if let Some(choice) = choice {
            observations.push(Observation {
                topic: "published-status",
                choice: choice.into(),
            });
        }
    }

    // 6. Both calls without an apiKey and with a wrong one (only calls that answered).
    let probes: [(&str, String); 2] = [
        (count_call.path(), count_query.clone()),
        (listing.path(), listing_query(profile, 1, None, true)),
    ];
    for (path, query) in probes {
        if missing.iter().any(|m| m == path) {
            continue;
        }
        for (how, key) in [
            ("without an apiKey", None),
            ("with a wrong apiKey", Some(WRONG_KEY)),
        ] {
            let req = get(base, path, &query, Some(key));
            let answer = ask(client, &req, format!("GET {path}?{query}")).await;
            requests += 1;
            let listed = if path == listing.path() {
                PageAnswer::read(profile, 1, answer.clone()).variant_count()
            } else {
                0
            };
            let mut answer = answer;
            answer.body = None;
            facts.key_probes.push(KeyProbe {
                path: path.to_string(),
                how,
                answer,
                listed,
            });
        }
    }
    if let Some(c) = facts.count.as_mut() {
        c.body = c.body.take().filter(|b| b.to_string().len() <= 4096);
    }

    Discovered {
        products: products.len() as u64,
        facts,
        entries,
        requests,
        observations,
        missing,
        filter_takes_list,
    }
}

/// The catalog of the update cases: the given items when there are any (each given without a
/// SKU code or a stock takes the discovered one, so the listing can read it and `--restore`
/// set it back), else the discovered ones.
pub fn catalog_of(given: Vec<CatalogEntry>, found: &[CatalogEntry]) -> Vec<CatalogEntry> {
    if given.is_empty() {
        return found.to_vec();
    }
    let by_key: std::collections::HashMap<_, &CatalogEntry> =
        found.iter().map(|e| (e.key(), e)).collect();
    given
        .into_iter()
        .map(|mut e| {
            if let Some(f) = by_key.get(&e.key()) {
                e.sku = e.sku.or_else(|| f.sku.clone());
                // A stock taken from the listing comes with its blocked units (the restore adds
                // them back under the available-stock choice); a stated stock stays as stated.
                if e.stock.is_none() {
                    e.stock = f.stock;
                    e.blocked = e.blocked.or(f.blocked);
                }
            }
            e
        })
        .collect()
}

/// The lines shown before the first case: the discovered catalog's size, which items the
/// cases use, and that the run changes stock (and whether it restores it).
pub fn summary(d: &Discovered, given: bool, restore: bool) -> Vec<String> {
    let count = d
        .facts
        .count_value
        .map_or_else(|| "no valid count".to_string(), |n| format!("count {n}"));
    let mut lines = vec![format!(
        "discovered catalog: {} variant(s) of {} product(s) on {} page(s) ({count})",
        d.entries.len(),
        d.products,
        d.pages()
    )];
    if given {
        lines.push(
            "the update cases use the given items (--catalog/--item); the catalog calls are still certified"
                .into(),
        );
    }
    if !d.entries.is_empty() || given {
        lines.push(if restore {
            "this run changes the seller's stock on the target, as Uniware would, and restores the listed stock at the end (--no-restore leaves it)".into()
        } else {
            "this run changes the seller's stock on the target, as Uniware would, and does not restore it (--no-restore)".into()
        });
    }
    lines
}

/// The calls a run exercised and the ids discovery found, for the report's coverage.
pub fn coverage(
    opts: &crate::config::RunOptions,
    d: Option<&Discovered>,
) -> crate::model::report::CallCoverage {
    let c = contract(opts.profile);
    let mut exercised = Vec::new();
    let mut not_certified = Vec::new();
    match &opts.credentials {
        crate::config::Credentials::Login { .. } => exercised.push(c.auth_path().to_string()),
        _ => not_certified.push(format!(
            "{}: the run was given an apiKey, not seller credentials",
            c.auth_path()
        )),
    }
    for call in [c.count(), c.listing()] {
        let path = call.path().to_string();
        match d {
            None => not_certified.push(format!("{path}: --no-discovery")),
            Some(d) if d.missing.contains(&path) => {
                exercised.push(path.clone());
                not_certified.push(format!("{path}: not built (404/405)"));
            }
            Some(_) => exercised.push(path),
        }
    }
    exercised.push(c.inventory_path().to_string());
    crate::model::report::CallCoverage {
        exercised,
        not_certified,
        count: d.and_then(|d| d.facts.count_value),
        products: d.map_or(0, |d| d.products),
        variants: d.map_or(0, |d| d.entries.len() as u64),
        pages: d.map_or(0, Discovered::pages),
    }
}

/// What the listing shows for `entry` now: its inventory and blocked units (`None`: not shown).
async fn listed(
    client: &Client,
    base: &str,
    profile: Profile,
    entry: &CatalogEntry,
    sku: &str,
) -> Option<(u32, Option<u32>)> {
    let listing = contract(profile).listing();
    let query = listing_query(profile, 1, Some(sku), true);
    let answer = ask(
        client,
        &get(base, listing.path(), &query, None),
        String::new(),
    )
    .await;
    let page = PageAnswer::read(profile, 0, answer);
    let at = page
        .pairs
        .iter()
        .position(|(p, v)| *p == entry.product_id && *v == entry.variant_id)?;
    let (value, blocked) = page.values.get(at).copied()?;
    value.map(|v| (v, blocked))
}

/// Reads what the listing shows for `entry` until `want` holds or `settle` is up (re-reading
/// with a growing pause, at most 20 reads).
async fn listed_until(
    client: &Client,
    base: &str,
    profile: Profile,
    entry: &CatalogEntry,
    sku: &str,
    settle: std::time::Duration,
    want: impl Fn(Option<(u32, Option<u32>)>) -> bool,
) -> Option<(u32, Option<u32>)> {
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(25);
    let mut last = listed(client, base, profile, entry, sku).await;
    for _ in 0..20 {
        if want(last) || started.elapsed() >= settle {
            break;
        }
        tokio::time::sleep(pause.min(settle.saturating_sub(started.elapsed()))).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(400));
        last = listed(client, base, profile, entry, sku).await;
    }
    last
}

/// `listing-reflects-update`: sets the first discovered item with a SKU code to a new value
/// with the run's apiKey and reads it back through the listing; then sends another value with a
/// wrong apiKey and reads again. `None` when no discovered item has a SKU code.
pub(crate) async fn reflect(
    engine: &crate::engine::execute::Engine,
    client: &Client,
    base: &str,
    profile: Profile,
    entries: &[CatalogEntry],
    settle: std::time::Duration,
) -> Option<crate::checks::catalog_facts::ReflectProbe> {
    use crate::checks::catalog_listing_reflects::shows;
    use crate::readers::restore::StockWriter;
    // An item `--restore` can set back: one with a SKU code and a known stock.
    let entry = entries
        .iter()
        .find(|e| e.sku.is_some() && e.stock.is_some())?;
    let sku = entry.sku.clone()?;
    let sent = entry
        .stock
        .map_or(7, |s| if s >= 1000 { s - 1 } else { s + 3 });
    let body = |n: u32| {
        serde_json::to_string(&stockwire_schema::InventoryRequest::new(vec![
            stockwire_schema::InventoryItem::new(profile, &entry.product_id, &entry.variant_id, n),
        ]))
        .unwrap_or_default()
    };
    let req = engine.request(body(sent));
    let outcome = engine.send(&req).await;
    let applied = engine
        .applied(&req, &outcome)
        .and_then(|m| m.get(&entry.key()).copied())
        .unwrap_or(false);
    let listed_now = listed_until(client, base, profile, entry, &sku, settle, |l| {
        shows(l, sent)
    })
    .await;
    let refused_sent = sent.saturating_add(5);
    let mut wrong = engine.request(body(refused_sent));
    for h in &mut wrong.headers {
        if h.name
            .eq_ignore_ascii_case(crate::client::http::API_KEY_HEADER)
        {
            h.value = "stockwire-wrong-key".into();
        }
    }
    let refused = engine
        .send(&wrong)
        .await
        .response()
        .is_some_and(|r| (400..500).contains(&r.status));
    // A refused update must leave the value: read once the settle time is up, unless it shows.
    let refused_listed = if refused {
        let wait = settle.min(std::time::Duration::from_millis(500));
        listed_until(client, base, profile, entry, &sku, wait, |l| {
            !shows(l, sent)
        })
        .await
    } else {
        None
    };
    Some(crate::checks::catalog_facts::ReflectProbe {
        item: format!("{}/{}", entry.product_id, entry.variant_id),
        sku,
        sent,
        applied,
        listed: listed_now,
        refused_sent,
        refused,
        refused_listed,
        settle: format!(
            "read within --stock-settle {}",
            humantime::format_duration(settle)
        ),
    })
}
