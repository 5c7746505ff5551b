//! One exchange as the checks judge it ([`Exchange`]: the request as sent, its classification,
//! what came back, the body parsed once), what it tells about each item ([`item_outcomes`]),
//! its signature, and the helpers the checks word their messages with.

use std::cell::OnceCell;
use std::collections::BTreeSet;

use serde_json::Value;
use stockwire_schema::{ResponseView, Status, Violation};

use crate::checks::classify::Classified;
use crate::client::http::{HttpRequest, Outcome};

/// Everything one exchange is judged with.
pub struct Exchange<'a> {
    /// Contract version.
    pub profile: stockwire_schema::Profile,
    /// The request as sent (apiKey as placeholder).
    pub request: &'a HttpRequest,
    /// What the request is, by the contract.
    pub class: &'a Classified,
    /// What came back.
    pub outcome: &'a Outcome,
    /// The response body parsed as JSON, when it is JSON.
    pub json: Option<serde_json::Value>,
    /// The same body read as an `/updateInventory` response (status, failed entries as sent).
    pub response: Option<ResponseView>,
    /// Whether the run knows any item of the seller (without, no item can be classified
    /// valid, so what the partner does with valid items cannot be told).
    pub has_catalog: bool,
    /// The contract's semantic-rule violations, checked once when first asked for.
    semantic: OnceCell<Vec<Violation>>,
}

impl<'a> Exchange<'a> {
    /// The exchange of `request` (classified as `class`) and `outcome`; parses the body once.
    pub fn new(
        profile: stockwire_schema::Profile,
        request: &'a HttpRequest,
        class: &'a Classified,
        outcome: &'a Outcome,
    ) -> Self {
        let json: Option<serde_json::Value> = outcome
            .response()
            .and_then(|r| serde_json::from_str(&r.body).ok());
        let response = json.as_ref().map(ResponseView::parse);
        Exchange {
            profile,
            request,
            class,
            outcome,
            json,
            response,
            has_catalog: true,
            semantic: OnceCell::new(),
        }
    }

    /// The same exchange, judged by a run that does (or does not) know catalog items.
    pub fn with_catalog(mut self, has_catalog: bool) -> Self {
        self.has_catalog = has_catalog;
        self
    }

    /// HTTP status, when a response came back.
    pub fn status(&self) -> Option<u16> {
        match self.outcome {
            Outcome::Response(r) => Some(r.status),
            Outcome::Failure { .. } => None,
        }
    }

    /// The `status` of a JSON body, as text.
    pub fn body_status(&self) -> Option<&str> {
        self.response.as_ref()?.status_text()
    }

    /// Whether the body's `status` is `s`.
    pub fn body_status_is(&self, s: &Status) -> bool {
        self.response.as_ref().is_some_and(|r| r.status_is(s))
    }

    /// Whether the request as a whole was refused: a 4xx, or a body with status FAILED
    /// (FAILED tells the caller nothing was applied).
    pub fn rejected_whole(&self) -> bool {
        matches!(self.status(), Some(400..=499)) || self.body_status_is(&Status::Failed)
    }

    /// The semantic rules' violations of this exchange (the request as sent against the JSON
    /// body; none without a JSON body), checked once however many rules' checks ask.
    pub fn semantic_violations(&self) -> &[Violation] {
        self.semantic.get_or_init(|| match &self.json {
            Some(body) => {
                let null = Value::Null;
                let request = self.class.json.as_ref().unwrap_or(&null);
                stockwire_schema::check_exchange(request, body)
            }
            None => Vec::new(),
        })
    }

    /// The (productId, variantId) pairs the response lists as failed.
    pub fn failed_keys(&self) -> BTreeSet<stockwire_schema::ItemKey> {
        self.response
            .as_ref()
            .map(|r| r.failed_keys().into_iter().collect())
            .unwrap_or_default()
    }
}

/// A short description of a response body for messages.
pub(crate) fn describe_body(x: &Exchange<'_>) -> String {
    match (&x.json, x.outcome.response()) {
        (Some(_), _) if x.body_status().is_some() => {
            let n = x.failed_keys().len();
            format!(
                "status {}, {n} failed entr{}",
                x.body_status().unwrap_or(""),
                if n == 1 { "y" } else { "ies" }
            )
        }
        (Some(j), _) => format!("body {}", snippet(&j.to_string())),
        (None, Some(r)) if r.body.is_empty() => "empty body".into(),
        (None, Some(r)) => format!("body {}", snippet(&r.body)),
        (None, None) => "no response".into(),
    }
}

/// The first 120 characters of a text.
pub(crate) fn snippet(s: &str) -> String {
    let t: String = s.chars().take(120).collect();
    if t.len() < s.len() {
        format!("{t}…")
    } else {
        t
    }
}

/// The JSON text of the value at `pointer` in `text`, exactly as written (`1e3` stays `1e3`,
/// where a parsed value would show `1000.0`); `None` when `text` is not JSON or holds no such
/// value. One pass over the text, nesting bounded by [`RAW_DEPTH`].
pub(crate) fn raw_at<'t>(text: &'t str, pointer: &str) -> Option<&'t str> {
    let path: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let mut r = RawScan {
        b: text.as_bytes(),
        at: 0,
    };
    let (start, end) = r.find(&path, 0)??;
    text.get(start..end)
}

/// The deepest nesting [`raw_at`] reads.
const RAW_DEPTH: usize = 64;

/// A cursor over JSON text for [`raw_at`].
struct RawScan<'b> {
    b: &'b [u8],
    at: usize,
}

impl RawScan<'_> {
    fn ws(&mut self) {
        while self.b.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    /// Skips a string (the cursor on its opening quote); returns its raw inside.
    fn string(&mut self) -> Option<(usize, usize)> {
        let start = self.at + 1;
        let mut i = start;
        loop {
            match self.b.get(i)? {
                b'\\' => i += 2,
                b'"' => {
                    self.at = i + 1;
                    return Some((start, i));
                }
                _ => i += 1,
            }
        }
    }

    /// Reads one value; when `path` is empty it is the one sought and its span is returned,
    /// else the value is searched for the rest of `path` (`Some(None)` when absent). `None`:
    /// the text is not JSON (or nests deeper than [`RAW_DEPTH`]).
    fn find(&mut self, path: &[String], depth: usize) -> Option<Option<(usize, usize)>> {
        if depth > RAW_DEPTH {
            return None;
        }
        self.ws();
        let start = self.at;
        let want = path.first();
        let mut found = None;
        match self.b.get(self.at)? {
            b'{' => {
                self.at += 1;
                loop {
                    self.ws();
                    match self.b.get(self.at)? {
                        b'}' => {
                            self.at += 1;
                            break;
                        }
                        b',' => self.at += 1,
                        b'"' => {
                            let (ks, ke) = self.string()?;
                            self.ws();
                            (self.b.get(self.at)? == &b':').then_some(())?;
                            self.at += 1;
                            let key = std::str::from_utf8(&self.b[ks..ke]).ok()?;
                            let hit = found.is_none() && want.is_some_and(|w| w == key);
                            let rest = if hit { &path[1..] } else { &[][..] };
                            let span = self.find(rest, depth + 1)?;
                            if hit {
                                found = span;
                            }
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.at += 1;
                let mut index = 0usize;
                loop {
                    self.ws();
                    match self.b.get(self.at)? {
                        b']' => {
                            self.at += 1;
                            break;
                        }
                        b',' => {
                            self.at += 1;
                            index += 1;
                        }
                        _ => {
                            let hit = found.is_none()
                                && want.is_some_and(|w| w.parse::<usize>().ok() == Some(index));
                            let rest = if hit { &path[1..] } else { &[][..] };
                            let span = self.find(rest, depth + 1)?;
                            if hit {
                                found = span;
                            }
                        }
                    }
                }
            }
            b'"' => {
                self.string()?;
            }
            _ => {
                while self
                    .b
                    .get(self.at)
                    .is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace())
                {
                    self.at += 1;
                }
                // Not a value (a stray `}` in an array): no progress, not JSON.
                (self.at > start).then_some(())?;
            }
        }
        Some(if path.is_empty() {
            Some((start, self.at))
        } else {
            found
        })
    }
}

/// An item key for messages, shortened when an id is very long.
pub(crate) fn short_key(k: &stockwire_schema::ItemKey) -> String {
    let short = |s: &str| {
        let t: String = s.chars().take(40).collect();
        if t.len() < s.len() {
            format!("{t}…({} chars)", s.chars().count())
        } else {
            t
        }
    };
    format!("{:?}/{:?}", short(&k.product_id), short(&k.variant_id))
}

/// The failure message the response gives for `key`.
pub(crate) fn failure_message(x: &Exchange<'_>, key: &stockwire_schema::ItemKey) -> Option<String> {
    x.response
        .as_ref()?
        .failure_message(key)
        .map(str::to_string)
}

/// Whether a large batch was refused the way a partner's own batch limit is (413, or 400 for
/// a batch of 1,000 items or more).
pub(crate) fn batch_limited(x: &Exchange<'_>) -> bool {
    let n = x.class.batch_size();
    match x.status() {
        Some(413) => n > 1,
        Some(400) => n >= 1000,
        _ => false,
    }
}

/// Per-item outcome of an answered request: true when the item was applied. `None` when the
/// exchange says nothing about items (no response, 5xx).
pub fn item_outcomes(
    x: &Exchange<'_>,
) -> Option<std::collections::BTreeMap<stockwire_schema::ItemKey, bool>> {
    let status = x.status()?;
    if status >= 500 {
        return None;
    }
    let rejected = x.rejected_whole() || !(200..300).contains(&status);
    let failed = x.failed_keys();
    Some(
        x.class
            .items()
            .iter()
            .filter_map(|i| i.key.clone())
            .map(|k| {
                let ok = !rejected && !failed.contains(&k);
                (k, ok)
            })
            .collect(),
    )
}

/// A compact signature of an answer: HTTP status, body status and failed pairs.
pub fn signature(x: &Exchange<'_>) -> String {
    match x.status() {
        None => "no response".into(),
        Some(s) => {
            let failed: Vec<String> = x.failed_keys().iter().map(short_key).collect();
            format!(
                "HTTP {s} {} [{}]",
                x.body_status().unwrap_or("-"),
                failed.join(", ")
            )
        }
    }
}

pub(crate) fn first_difference<'a>(
    a: &'a std::collections::BTreeMap<stockwire_schema::ItemKey, bool>,
    b: &std::collections::BTreeMap<stockwire_schema::ItemKey, bool>,
) -> Option<(&'a stockwire_schema::ItemKey, bool, bool)> {
    a.iter().find_map(|(k, va)| match b.get(k) {
        Some(vb) if vb != va => Some((k, *va, *vb)),
        _ => None,
    })
}

pub(crate) fn applied(b: bool) -> &'static str {
    if b { "applied" } else { "refused" }
}

#[cfg(test)]
mod raw_tests {
    use super::raw_at;

    #[test]
    fn raw_at_keeps_the_spelling_sent() {
        let body = r#"{"inventoryList":[{"productId":"P","inventory":1e3},{"x":[1,{"a":"b"}],"inventory": -0 }]}"#;
        assert_eq!(raw_at(body, "/inventoryList/0/inventory"), Some("1e3"));
        assert_eq!(raw_at(body, "/inventoryList/1/inventory"), Some("-0"));
        assert_eq!(raw_at(body, "/inventoryList/0/productId"), Some("\"P\""));
        assert_eq!(raw_at(body, "/inventoryList/2/inventory"), None);
        assert_eq!(raw_at(body, "/inventoryList/0/nothing"), None);
        for bad in ["", "[}", "{\"a\":", "[1,", "{\"a\" 1}", "\"open"] {
            assert_eq!(raw_at(bad, "/a"), None, "{bad}");
        }
        // Nesting is bounded: deep text gives no answer, without recursion past the bound.
        let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(raw_at(&deep, "/0"), None);
    }
}
