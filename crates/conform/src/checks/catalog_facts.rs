//! What discovery saw of the catalog calls (`/productsCount`, `/products`), as the catalog
//! checks judge it: the count's answer, each listing page read in order, the page past the
//! end, the one-code filter, and the answers to requests without the right apiKey. Plain data
//! and the small readings several catalog checks share; each check judges one property in its
//! own module (`catalog_*`), through the registry.
//!
//! It does not send anything (the engine's `discovery` gathers the facts) nor decide which
//! items the update cases use.

use std::collections::HashSet;

use serde_json::Value;
use stockwire_schema::exchange::ListingView;
use stockwire_schema::{Profile, contract};

use super::check::Verdict;
use crate::model::report::RecordedExchange;

/// One answer of a catalog call as discovery recorded it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CallAnswer {
    /// The request, as `GET path?query` (no secret: the apiKey is a header).
    pub request: String,
    /// HTTP status; `None` when no response came back.
    pub status: Option<u16>,
    /// The body, when it is JSON.
    pub body: Option<Value>,
    /// What came back, in a few words (a transport error, or the start of the body).
    pub text: String,
    /// The request as sent (apiKey as `$APIKEY`) and its answer (the start of its body), shown
    /// with a curl when a check fails on this answer.
    pub sent: Option<Box<RecordedExchange>>,
}

impl CallAnswer {
    /// The answer in a few words, for a message: `HTTP 500: …` or the transport error.
    pub fn shown(&self) -> String {
        match self.status {
            Some(s) => format!("HTTP {s}: {}", self.text),
            None => self.text.clone(),
        }
    }
}

/// Problems kept per page (the first few show the defect; the count says how many).
pub const PROBLEMS_PER_PAGE: usize = 8;

/// One listing page read during discovery, summed up as it was read: the body itself is not
/// kept, so a long listing costs only its ids.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageAnswer {
    /// The page number asked (1-based; 0 for a filtered read).
    pub number: u64,
    /// The answer (its `body` is dropped once the page is summed up).
    pub answer: CallAnswer,
    /// Whether the page answered 200 with a list of products.
    pub is_list: bool,
    /// Products on the page.
    pub products: usize,
    /// The (product id, variantId) pairs the page lists, in order (missing ids as `""`).
    pub pairs: Vec<(String, String)>,
    /// The SKU code of each pair, when it has one.
    pub skus: Vec<Option<String>>,
    /// The listed value and the blocked units of each pair, when they are counts.
    pub values: Vec<(Option<u32>, Option<u32>)>,
    /// Problems against the derived schema and the ids the flow needs (first few).
    pub problems: Vec<String>,
}

impl PageAnswer {
    /// Sums up page `number` from its answer, reading the body by the listing's members and
    /// checking it against the derived schema; the body is dropped.
    pub fn read(profile: Profile, number: u64, mut answer: CallAnswer) -> Self {
        let listing = contract(profile).listing();
        let view = match (listing.def().listing(), &answer.body) {
            (Some(m), Some(body)) => Some(ListingView::parse_of(m, body)),
            _ => None,
        };
        let mut page = PageAnswer {
            number,
            is_list: answer.status == Some(200)
                && view.as_ref().is_some_and(|v| v.products().is_some()),
            products: view
                .as_ref()
                .and_then(ListingView::products)
                .map_or(0, <[_]>::len),
            ..PageAnswer::default()
        };
        for (p, v) in view.iter().flat_map(ListingView::variants) {
            page.pairs.push((
                p.id_text().unwrap_or_default().to_string(),
                v.variant_id_text().unwrap_or_default().to_string(),
            ));
            page.skus.push(v.sku_text().map(str::to_string));
            page.values.push((v.count(), v.blocked_count()));
        }
        if answer.status == Some(200) {
            let mut problems = page_problems(profile, number, answer.body.as_ref(), view.as_ref());
            problems.truncate(PROBLEMS_PER_PAGE);
            page.problems = problems;
        }
        answer.body = None;
        page.answer = answer;
        page
    }

    /// Products on the page.
    pub fn product_count(&self) -> usize {
        self.products
    }

    /// Variants on the page.
    pub fn variant_count(&self) -> usize {
        self.pairs.len()
    }

    /// Whether the page answered 200 with a list of products.
    pub fn is_list(&self) -> bool {
        self.is_list
    }
}

/// What a request sent without the right apiKey got.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyProbe {
    /// The call's path.
    pub path: String,
    /// `without an apiKey` or `with a wrong apiKey`.
    pub how: &'static str,
    /// The answer.
    pub answer: CallAnswer,
    /// For the listing: variants it showed (an open listing leaks the catalog).
    pub listed: usize,
}

/// The one-code filter: the SKU asked, the variant it belongs to, and the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterProbe {
    /// The SKU code asked.
    pub sku: String,
    /// The product id and variantId the unfiltered listing shows it under.
    pub expected: (String, String),
    /// The answer, as a page.
    pub page: PageAnswer,
}

/// An update the listing must reflect: one discovered item set to a new value with the run's
/// apiKey, read back through the listing; then an update of it with a wrong apiKey, read again.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReflectProbe {
    /// The item, as `productId/variantId`, and its SKU code.
    pub item: String,
    /// The SKU code read by.
    pub sku: String,
    /// The value sent with the run's apiKey.
    pub sent: u32,
    /// Whether the update was reported applied.
    pub applied: bool,
    /// What the listing showed last (within the settle time): inventory and blocked units.
    pub listed: Option<(u32, Option<u32>)>,
    /// The value sent with a wrong apiKey.
    pub refused_sent: u32,
    /// Whether the wrong-key update was refused (any 4xx).
    pub refused: bool,
    /// What the listing showed after the wrong-key update.
    pub refused_listed: Option<(u32, Option<u32>)>,
    /// How long the listing was given to show the value, as words.
    pub settle: String,
}

/// A page boundary read again, unfiltered, after the pull: page `before` and the page after it.
/// A listing whose pages are complete shows the same product last on page `before` and the
/// same product first on the next page every time, and nothing the pull did not list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BoundaryReread {
    /// The page before the boundary (k; the page after it is k + 1).
    pub before: u64,
    /// The product id the pull saw last on page k, and first on page k + 1.
    pub pulled: (String, String),
    /// The same, read again; `None` when a re-read did not answer a list (then nothing is
    /// judged: a flaky answer is not a skip).
    pub reread: Option<(String, String)>,
    /// Pairs (product id, variantId) the re-read pages show that the whole pull never listed
    /// (first few).
    pub unseen: Vec<(String, String)>,
    /// The re-read answers (pages k and k + 1, bodies dropped).
    pub answers: Vec<CallAnswer>,
}

impl BoundaryReread {
    /// What the re-read shows wrong, in words; `None` when the boundary held.
    pub fn problem(&self) -> Option<String> {
        let reread = self.reread.as_ref()?;
        let (k, next) = (self.before, self.before + 1);
        if let Some((p, v)) = self.unseen.first() {
            return Some(format!(
                "re-reading pages {k} and {next} shows {p}/{v}, which the pull never listed: it was skipped between pages"
            ));
        }
        if *reread != self.pulled {
            return Some(format!(
                "re-reading pages {k} and {next}: page {k} ended with product {} and page {next} began with {}, now {} and {}: the boundary moves between reads, so a pull skips the listings that cross it",
                self.pulled.0, self.pulled.1, reread.0, reread.1
            ));
        }
        None
    }
}

/// Everything discovery saw of the catalog calls.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogFacts {
    /// Contract version.
    pub profile: Profile,
    /// The count's answer (absent when discovery was not run).
    pub count: Option<CallAnswer>,
    /// The count, when the answer carried a valid one.
    pub count_value: Option<u64>,
    /// The listing's pages read, in order, up to (not including) the first empty page, the
    /// first refused one or the first that repeats an earlier one.
    pub pages: Vec<PageAnswer>,
    /// The page that ended the pull: empty, refused, or a repeat of an earlier page.
    pub end: Option<PageAnswer>,
    /// Whether `end` repeats an earlier page.
    pub end_repeats: bool,
    /// The most pages discovery would read; reached without an end, the listing was cut.
    pub page_bound: u64,
    /// Whether the pull was cut at `page_bound` without an end.
    pub cut: bool,
    /// The page size asked (the call's fixed value).
    pub page_size: usize,
    /// The one-code filter, when a SKU was known.
    pub filter: Option<FilterProbe>,
    /// Requests without the right apiKey.
    pub key_probes: Vec<KeyProbe>,
    /// Page boundaries read again after the pull (the first and the last, at most).
    pub boundaries: Vec<BoundaryReread>,
}

impl CatalogFacts {
    /// Facts with nothing seen yet.
    pub fn new(profile: Profile, page_size: usize, page_bound: u64) -> Self {
        CatalogFacts {
            profile,
            count: None,
            count_value: None,
            pages: Vec::new(),
            end: None,
            end_repeats: false,
            page_bound,
            cut: false,
            page_size,
            filter: None,
            key_probes: Vec::new(),
            boundaries: Vec::new(),
        }
    }

    /// Whether the listing was read at all (its first page answered with a list).
    pub fn listed(&self) -> bool {
        self.pages.first().is_some_and(PageAnswer::is_list)
    }

    /// The distinct (product id, variantId) pairs of every page.
    pub fn distinct_pairs(&self) -> HashSet<(String, String)> {
        self.pages
            .iter()
            .flat_map(|p| p.pairs.iter().cloned())
            .collect()
    }

    /// Whether the listing pulled to a proper end (an empty page) and every page was a list:
    /// then the pages hold the whole catalog and can be compared with the count.
    pub fn complete_pull(&self) -> bool {
        !self.cut
            && !self.end_repeats
            && self.pages.iter().all(PageAnswer::is_list)
            && self
                .end
                .as_ref()
                .is_some_and(|e| e.is_list() && e.variant_count() == 0)
    }
}

/// The schema problems of a listing page against the listing call's derived response schema,
/// then the ids the caller's flow needs: a non-empty product `id`, and a `variantId` and `sku`
/// on every variant.
pub fn page_problems(
    profile: Profile,
    number: u64,
    body: Option<&Value>,
    view: Option<&ListingView>,
) -> Vec<String> {
    let listing = contract(profile).listing();
    let Some(body) = body else {
        return vec![format!("page {number} is not JSON")];
    };
    let mut out: Vec<String> = listing
        .validate(stockwire_schema::Part::Response, body)
        .into_iter()
        .map(|v| format!("page {number}: {v}"))
        .collect();
    let Some(products) = view.and_then(ListingView::products) else {
        out.push(format!("page {number}: no list of products"));
        return out;
    };
    for p in products {
        if p.id_text().is_none() {
            out.push(format!(
                "page {number}, product {}: no non-empty product id",
                p.index
            ));
        }
        if !p.has_variants {
            out.push(format!(
                "page {number}, product {}: no list of variants",
                p.index
            ));
        }
        for v in &p.variants {
            if v.variant_id_text().is_none() {
                out.push(format!(
                    "page {number}, product {}, variant {}: no non-empty variantId",
                    p.index, v.index
                ));
            }
            if v.sku_text().is_none() {
                out.push(format!(
                    "page {number}, product {}, variant {}: no non-empty sku",
                    p.index, v.index
                ));
            }
        }
    }
    out
}

/// Most exchanges a catalog failure shows.
pub const SHOWN_EXCHANGES: usize = 3;

/// `v`, shown by the exchanges of `answers` (the first [`SHOWN_EXCHANGES`] that were sent) when
/// it fails: the report gives each its request, answer and curl, as for an update's failure.
pub fn shown_by<'a>(mut v: Verdict, answers: impl IntoIterator<Item = &'a CallAnswer>) -> Verdict {
    if v.failure.is_some() {
        v.shown_by = answers
            .into_iter()
            .filter_map(|a| a.sent.as_deref().cloned())
            .take(SHOWN_EXCHANGES)
            .collect();
    }
    v
}

/// A verdict that fails with the first few of `problems` (and how many more), or passes.
pub fn verdict_of(check: &'static str, problems: &[String]) -> Verdict {
    match problems {
        [] => Verdict::pass(check),
        [one] => Verdict::fail(check, one.clone()),
        [first, rest @ ..] => Verdict::fail(
            check,
            format!("{first} (and {} more: {})", rest.len(), {
                let shown: Vec<&str> = rest.iter().take(3).map(String::as_str).collect();
                shown.join("; ")
            }),
        ),
    }
}
