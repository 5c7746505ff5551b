//! The catalog format shared by the mock marketplace and the conformance runner: which items
//! exist (for a seller), the stock each should hold, and how each is listed.
//!
//! Two spellings of one format: a JSON array of objects with `productId`, `variantId` and
//! optional `stock`, `seller` and listing members (`sku`, `title`, `brand`, `listingPrice`,
//! `mrp`, `blocked`, `published`), or CSV with a header row of the same names. Absent listing
//! members have defaults ([`Catalog::skus`]: a SKU code unique within the catalog). Its JSON
//! Schema is published as `schemas/catalog.schema.json`.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};

use hashbrown::HashTable;
use serde_json::Value;

use crate::model::ItemKey;

/// One item of a catalog.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogEntry {
    /// Product ID.
    pub product_id: String,
    /// Variant ID.
    pub variant_id: String,
    /// Stock the item holds (mock: initial stock; conform: what `--restore` sets back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock: Option<u32>,
    /// The seller that owns the item; `None` means every seller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller: Option<String>,
    /// The seller's SKU code, as the listing shows it (default: [`Catalog::skus`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// The variant's title in the listing (default: the product and variant ids).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The product's brand in the listing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// The price the listing shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing_price: Option<f64>,
    /// The maximum retail price the listing shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mrp: Option<f64>,
    /// Units held back for orders not yet shipped (the listing's `blockedInventory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<u32>,
    /// Whether the item is published (listed); default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<bool>,
}

impl CatalogEntry {
    /// An entry of `product_id`/`variant_id` with nothing else set.
    pub fn new(product_id: impl Into<String>, variant_id: impl Into<String>) -> Self {
        CatalogEntry {
            product_id: product_id.into(),
            variant_id: variant_id.into(),
            ..CatalogEntry::default()
        }
    }

    /// Whether the item is listed (published), the default.
    pub fn is_published(&self) -> bool {
        self.published.unwrap_or(true)
    }

    /// The entry's (productId, variantId) pair.
    pub fn key(&self) -> ItemKey {
        ItemKey::new(&self.product_id, &self.variant_id)
    }

    /// Whether the entry belongs to `seller` (entries without a seller belong to all).
    pub fn belongs_to(&self, seller: &str) -> bool {
        self.seller.as_deref().is_none_or(|s| s == seller)
    }
}

/// A list of catalog entries, in file order.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Catalog {
    /// The entries.
    pub entries: Vec<CatalogEntry>,
}

/// A catalog file that cannot be used, located by file and line or JSON pointer.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid JSON or CSV.
    #[error("{}:{line}: {message}", file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An entry breaks the format; `at` is a JSON pointer (JSON) or `line N, column NAME` (CSV).
    #[error("{}: {at}: {message}", file.display())]
    Entry {
        /// The file.
        file: PathBuf,
        /// Where in the file.
        at: String,
        /// What is wrong.
        message: String,
    },
}

/// What kind of value a catalog member holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A non-empty string.
    Text,
    /// A whole number from 0 to 2^31 - 1.
    Count,
    /// A number, never negative.
    Price,
    /// `true` or `false`.
    Flag,
}

/// Every member of an entry, in column order, with its kind. `productId` and `variantId` are
/// required.
const MEMBERS: [(&str, Kind); 11] = [
    ("productId", Kind::Text),
    ("variantId", Kind::Text),
    ("stock", Kind::Count),
    ("seller", Kind::Text),
    ("sku", Kind::Text),
    ("title", Kind::Text),
    ("brand", Kind::Text),
    ("listingPrice", Kind::Price),
    ("mrp", Kind::Price),
    ("blocked", Kind::Count),
    ("published", Kind::Flag),
];

/// One member's value, read from JSON or CSV.
#[derive(Debug, Clone, PartialEq)]
enum Read {
    Text(String),
    Count(u32),
    Price(f64),
    Flag(bool),
}

impl Kind {
    fn rule(self) -> &'static str {
        match self {
            Kind::Text => "must be a non-empty string",
            Kind::Count => "must be an integer from 0 to 2147483647",
            Kind::Price => "must be a number, 0 or more",
            Kind::Flag => "must be true or false",
        }
    }

    fn read_json(self, v: &Value) -> Option<Read> {
        match self {
            Kind::Text => v
                .as_str()
                .filter(|s| !s.is_empty())
                .map(|s| Read::Text(s.into())),
            Kind::Count => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|&n| n <= i32::MAX as u32)
                .map(Read::Count),
            Kind::Price => v
                .as_f64()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .map(Read::Price),
            Kind::Flag => v.as_bool().map(Read::Flag),
        }
    }

    fn read_cell(self, cell: &str) -> Option<Read> {
        match self {
            Kind::Text => Some(Read::Text(cell.into())),
            Kind::Count => cell
                .parse::<u32>()
                .ok()
                .filter(|&n| n <= i32::MAX as u32)
                .map(Read::Count),
            Kind::Price => cell
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .map(Read::Price),
            Kind::Flag if cell.eq_ignore_ascii_case("true") => Some(Read::Flag(true)),
            Kind::Flag if cell.eq_ignore_ascii_case("false") => Some(Read::Flag(false)),
            Kind::Flag => None,
        }
    }
}

impl CatalogEntry {
    /// Sets the member `name` from what was read.
    fn set(&mut self, name: &str, value: Read) {
        let text = |v: Read| match v {
            Read::Text(s) => Some(s),
            _ => None,
        };
        match (name, value) {
            ("productId", v) => self.product_id = text(v).unwrap_or_default(),
            ("variantId", v) => self.variant_id = text(v).unwrap_or_default(),
            ("stock", Read::Count(n)) => self.stock = Some(n),
            ("seller", v) => self.seller = text(v),
            ("sku", v) => self.sku = text(v),
            ("title", v) => self.title = text(v),
            ("brand", v) => self.brand = text(v),
            ("listingPrice", Read::Price(x)) => self.listing_price = Some(x),
            ("mrp", Read::Price(x)) => self.mrp = Some(x),
            ("blocked", Read::Count(n)) => self.blocked = Some(n),
            ("published", Read::Flag(b)) => self.published = Some(b),
            _ => {}
        }
    }
}

fn member_names() -> String {
    MEMBERS.map(|(n, _)| n).join(", ")
}

/// The published catalog schema (`schemas/catalog.schema.json`), tested against the parser.
const SCHEMA: &str = include_str!("../../../schemas/catalog.schema.json");

/// The JSON Schema of one catalog entry (the `items` of `schemas/catalog.schema.json`), for
/// other formats that embed entries (a run config's known items).
pub fn entry_schema() -> Value {
    serde_json::from_str::<Value>(SCHEMA)
        .ok()
        .and_then(|v| v.get("items").cloned())
        .unwrap_or(Value::Bool(true))
}

/// One entry that breaks the catalog format, located by a JSON pointer into the entry (`""`
/// for the entry itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", if at.is_empty() { "(entry)" } else { at.as_str() })]
pub struct EntryError {
    /// JSON pointer into the entry.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

/// The same item given twice: the same pair for the same seller, or for every seller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "productId `{}` / variantId `{}` is given twice{}",
    key.product_id,
    key.variant_id,
    seller.as_ref().map(|s| format!(" for seller `{s}`")).unwrap_or_default()
)]
pub struct DuplicateItem {
    /// The pair.
    pub key: ItemKey,
    /// The seller both entries belong to (`None`: every seller).
    pub seller: Option<String>,
}

impl CatalogEntry {
    /// Reads one entry from JSON, `{"productId", "variantId", "stock"?, "seller"?, …}` (what
    /// `stockwire conform --item` takes). Errors point into the entry.
    pub fn from_json_value(value: &Value) -> Result<CatalogEntry, EntryError> {
        let err = |at: String, message: String| EntryError { at, message };
        let Value::Object(map) = value else {
            return Err(err(
                String::new(),
                format!(
                    "each entry must be an object {{productId, variantId, stock?, seller?, …}}, got {}",
                    kind(value)
                ),
            ));
        };
        if let Some(k) = map.keys().find(|k| !MEMBERS.iter().any(|(n, _)| n == k)) {
            return Err(err(
                format!("/{}", pointer_token(k)),
                format!("unknown field (known: {})", member_names()),
            ));
        }
        let mut entry = CatalogEntry::default();
        for (i, (name, kind)) in MEMBERS.iter().enumerate() {
            match map.get(*name) {
                None | Some(Value::Null) if i < 2 => {
                    return Err(err(String::new(), format!("`{name}` is required")));
                }
                None | Some(Value::Null) => {}
                Some(v) => {
                    let read = kind.read_json(v).ok_or_else(|| {
                        let got = if *kind == Kind::Text {
                            String::new()
                        } else {
                            format!(", got {v}")
                        };
                        err(format!("/{name}"), format!("{}{got}", kind.rule()))
                    })?;
                    entry.set(name, read);
                }
            }
        }
        Ok(entry)
    }

    /// [`CatalogEntry::from_json_value`] for JSON text.
    pub fn from_json_text(text: &str) -> Result<CatalogEntry, EntryError> {
        let value: Value = serde_json::from_str(text).map_err(|e| EntryError {
            at: String::new(),
            message: format!(
                "not valid JSON: {} at column {}",
                crate::error::strip_position(&e.to_string()),
                e.column()
            ),
        })?;
        CatalogEntry::from_json_value(&value)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A member name as a JSON pointer token (RFC 6901: `~` → `~0`, `/` → `~1`).
fn pointer_token(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

impl Catalog {
    /// Reads a catalog; `.csv` files are CSV, anything else is JSON.
    pub fn read(path: &Path) -> Result<Catalog, CatalogError> {
        let mut entries = Vec::new();
        let mut at = Vec::new();
        for_each_entry(path, |e, pos| {
            entries.push(e);
            at.push(pos);
            Ok(())
        })?;
        let c = Catalog { entries };
        c.check_unique(path, |i| at.get(i).map_or_else(String::new, Position::at))?;
        Ok(c)
    }

    /// Parses the JSON spelling; `file` only names it in errors.
    pub fn from_json(file: &Path, text: &str) -> Result<Catalog, CatalogError> {
        let mut entries = Vec::new();
        json_entries(file, text.as_bytes(), |e, _| {
            entries.push(e);
            Ok(())
        })?;
        let c = Catalog { entries };
        c.check_unique(file, |i| format!("/{i}"))?;
        Ok(c)
    }

    /// Parses the CSV spelling (a header row naming `productId`, `variantId` and any of the
    /// optional members, in any order).
    pub fn from_csv(file: &Path, text: &str) -> Result<Catalog, CatalogError> {
        let mut entries = Vec::new();
        let mut lines = Vec::new();
        csv_entries(file, text.as_bytes(), |e, pos| {
            entries.push(e);
            lines.push(pos);
            Ok(())
        })?;
        let c = Catalog { entries };
        c.check_unique(file, |i| {
            lines.get(i).map_or_else(String::new, Position::at)
        })?;
        Ok(c)
    }

    fn check_unique(&self, file: &Path, at: impl Fn(usize) -> String) -> Result<(), CatalogError> {
        let mut seen = HashSet::new();
        for (i, e) in self.entries.iter().enumerate() {
            if !seen.insert((e.seller.as_deref(), &e.product_id, &e.variant_id)) {
                return Err(CatalogError::Entry {
                    file: file.to_path_buf(),
                    at: at(i),
                    message: format!("{} is listed twice for the same seller", e.key()),
                });
            }
        }
        if let Some((i, sku, seller)) = self.repeated_sku() {
            return Err(CatalogError::Entry {
                file: file.to_path_buf(),
                at: at(i),
                message: format!(
                    "sku `{sku}` is given to two items {}(a SKU code names one item of a seller)",
                    seller.map_or("of every seller ".to_string(), |s| format!(
                        "of seller `{s}` "
                    ))
                ),
            });
        }
        Ok(())
    }

    /// The first explicit `sku` that two items one seller can see share: (entry, sku, seller).
    fn repeated_sku(&self) -> Option<(usize, &str, Option<&str>)> {
        // Entries of every seller clash with any entry; a named seller's only with its own.
        let mut every: HashMap<&str, usize> = HashMap::new();
        let mut named: HashMap<(&str, &str), usize> = HashMap::new();
        for e in &self.entries {
            if let (Some(sku), None) = (e.sku.as_deref(), &e.seller) {
                *every.entry(sku).or_default() += 1;
            }
        }
        for (i, e) in self.entries.iter().enumerate() {
            let Some(sku) = e.sku.as_deref() else {
                continue;
            };
            match e.seller.as_deref() {
                None if every.get(sku).copied().unwrap_or(0) > 1 => return Some((i, sku, None)),
                None => {}
                Some(s) => {
                    let n = named.entry((s, sku)).or_default();
                    *n += 1;
                    if *n > 1 || every.contains_key(sku) {
                        return Some((i, sku, Some(s)));
                    }
                }
            }
        }
        None
    }

    /// Each entry's SKU code, in entry order: its `sku`, or a default that no other entry of
    /// the catalog has ([`default_skus`]).
    pub fn skus(&self) -> Vec<Cow<'_, str>> {
        default_skus(self.entries.len(), |i| {
            let e = &self.entries[i];
            (&e.product_id, &e.variant_id, e.sku.as_deref())
        })
    }

    /// Adds an entry given apart from a file (e.g. `stockwire conform --item`). An entry whose
    /// pair the catalog already holds for the same seller, or where either entry belongs to
    /// every seller, is refused: the two would disagree about one item.
    pub fn add(&mut self, entry: CatalogEntry) -> Result<(), DuplicateItem> {
        let clash = self.entries.iter().find(|e| {
            e.product_id == entry.product_id
                && e.variant_id == entry.variant_id
                && (e.seller.is_none() || entry.seller.is_none() || e.seller == entry.seller)
        });
        if let Some(e) = clash {
            return Err(DuplicateItem {
                key: entry.key(),
                seller: e.seller.clone().or(entry.seller.clone()),
            });
        }
        self.entries.push(entry);
        Ok(())
    }

    /// The entries that belong to `seller`.
    pub fn for_seller<'a>(
        &'a self,
        seller: &'a str,
    ) -> impl Iterator<Item = &'a CatalogEntry> + 'a {
        self.entries.iter().filter(move |e| e.belongs_to(seller))
    }

    /// The entry for `key` that belongs to `seller`, if any.
    pub fn find(&self, seller: &str, key: &ItemKey) -> Option<&CatalogEntry> {
        self.entries.iter().find(|e| {
            e.belongs_to(seller) && e.product_id == key.product_id && e.variant_id == key.variant_id
        })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the catalog has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The SKU codes of `n` entries, given by `entry(i)` as (productId, variantId, sku): an
/// entry's `sku` as given, or a default that no other entry has. The default is the variantId
/// when no other entry has that variantId (nor gives it as its `sku`), else
/// `{productId}-{variantId}`, with `-2`, `-3`, … added until it is unique. The same entries in
/// the same order always give the same codes; the mock and the runner both use this rule.
pub fn default_skus<'a>(
    n: usize,
    entry: impl Fn(usize) -> (&'a str, &'a str, Option<&'a str>),
) -> Vec<Cow<'a, str>> {
    let mut out: Vec<Cow<'a, str>> = (0..n)
        .map(|i| {
            let (_, v, sku) = entry(i);
            Cow::Borrowed(sku.unwrap_or(v))
        })
        .collect();
    for (i, code) in default_sku_exceptions(n, entry) {
        out[i] = Cow::Owned(code);
    }
    out
}

/// The entries whose SKU code (by [`default_skus`]' rule) is neither their `sku` nor their
/// variantId, with that code, in entry order: the rare ones (a variantId two entries share,
/// or one another entry gives as its `sku`). Every other entry's code is its `sku`, else its
/// variantId.
///
/// Lean for a catalog of millions: the sets it needs hold entry numbers (4 bytes a slot) and
/// compare by reading `entry` again, never a copy of a code; only the exceptions are owned.
pub fn default_sku_exceptions<'a>(
    n: usize,
    entry: impl Fn(usize) -> (&'a str, &'a str, Option<&'a str>),
) -> Vec<(usize, String)> {
    let state = std::hash::RandomState::new();
    let hash = |s: &str| state.hash_one(s);
    let n32 = u32::try_from(n).unwrap_or(u32::MAX).min(EXCEPTION - 1);
    let n = n32 as usize;
    // Each entry's first entry with the same variantId, and whether that variantId repeats.
    let mut first_of: Vec<u32> = Vec::with_capacity(n);
    let mut repeats = vec![false; n];
    {
        let mut firsts: HashTable<u32> = HashTable::with_capacity(n);
        for i in 0..n32 {
            let v = entry(i as usize).1;
            let h = hash(v);
            match firsts.find(h, |&j| entry(j as usize).1 == v) {
                Some(&j) => {
                    repeats[j as usize] = true;
                    first_of.push(j);
                }
                None => {
                    firsts.insert_unique(h, i, |&j| hash(entry(j as usize).1));
                    first_of.push(i);
                }
            }
        }
    }
    // The codes taken so far: every `sku` given, then each default as it is chosen. A slot
    // holds an entry number (its code is its `sku`, else its variantId) or, with the
    // [`EXCEPTION`] bit, a place in `out`.
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut taken: HashTable<u32> = HashTable::with_capacity(n);
    for i in 0..n32 {
        if let (_, _, Some(s)) = entry(i as usize) {
            let h = hash(s);
            if taken.find(h, |&t| entry_code(&entry, t) == s).is_none() {
                taken.insert_unique(h, i, |&t| hash(entry_code(&entry, t)));
            }
        }
    }
    for i in 0..n32 {
        let (p, v, sku) = entry(i as usize);
        if sku.is_some() {
            continue;
        }
        let is_taken = |taken: &HashTable<u32>, out: &[(usize, String)], c: &str| {
            taken
                .find(hash(c), |&t| taken_code(&entry, out, t) == c)
                .is_some()
        };
        if !repeats[first_of[i as usize] as usize] && !is_taken(&taken, &out, v) {
            taken.insert_unique(hash(v), i, |&t| hash(taken_code(&entry, &out, t)));
            continue;
        }
        let base = format!("{p}-{v}");
        let mut code = base.clone();
        let mut k = 1;
        while is_taken(&taken, &out, &code) {
            k += 1;
            code = format!("{base}-{k}");
        }
        let h = hash(&code);
        let slot = EXCEPTION | out.len() as u32;
        out.push((i as usize, code));
        taken.insert_unique(h, slot, |&t| hash(taken_code(&entry, &out, t)));
    }
    out
}

/// The bit of a taken-code slot that marks an exception's place (see
/// [`default_sku_exceptions`]); catalogs stay below 2^31 entries.
const EXCEPTION: u32 = 1 << 31;

/// An entry's code when it is its `sku` or its variantId.
fn entry_code<'a>(
    entry: &impl Fn(usize) -> (&'a str, &'a str, Option<&'a str>),
    t: u32,
) -> &'a str {
    let (_, v, sku) = entry(t as usize);
    sku.unwrap_or(v)
}

/// The code a taken-code slot stands for.
fn taken_code<'s, 'a: 's>(
    entry: &impl Fn(usize) -> (&'a str, &'a str, Option<&'a str>),
    out: &'s [(usize, String)],
    t: u32,
) -> &'s str {
    if t & EXCEPTION != 0 {
        out.get((t & !EXCEPTION) as usize)
            .map_or("", |(_, c)| c.as_str())
    } else {
        entry_code(entry, t)
    }
}

/// Where an entry is in its file: its index in a JSON array, or its CSV line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// The entry's index in the JSON array.
    Index(usize),
    /// The entry's 1-based line in the CSV file.
    Line(usize),
}

impl Position {
    /// How an error names the entry: `/12` (a JSON pointer) or `line 13`.
    pub fn at(&self) -> String {
        match self {
            Position::Index(i) => format!("/{i}"),
            Position::Line(l) => format!("line {l}"),
        }
    }
}

/// Reads a catalog file entry by entry (`.csv` as CSV, anything else as JSON), holding one
/// entry at a time, so that a catalog of millions of items reads in memory of its own size
/// in the caller's structures and not more. `f` gets each entry with where it is, and may
/// refuse it with a message (a duplicate, say), which ends the reading with an error at that
/// entry. Entries are checked one by one; whether two repeat each other is `f`'s to tell.
/// Returns the number of entries.
pub fn for_each_entry(
    path: &Path,
    f: impl FnMut(CatalogEntry, Position) -> Result<(), String>,
) -> Result<usize, CatalogError> {
    let file = std::fs::File::open(path).map_err(|source| CatalogError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    let reader = std::io::BufReader::with_capacity(64 * 1024, file);
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if is_csv {
        csv_entries(path, reader, f)
    } else {
        json_entries(path, reader, f)
    }
}

/// The JSON spelling, entry by entry.
fn json_entries(
    file: &Path,
    reader: impl std::io::Read,
    mut f: impl FnMut(CatalogEntry, Position) -> Result<(), String>,
) -> Result<usize, CatalogError> {
    use serde::de::{DeserializeSeed, Error as _, SeqAccess, Visitor};

    /// The first entry error, kept apart from serde's own errors.
    struct Sink<'f, F> {
        f: &'f mut F,
        refused: Option<(String, String)>,
        count: usize,
    }
    impl<'de, F: FnMut(CatalogEntry, Position) -> Result<(), String>> Visitor<'de>
        for &mut Sink<'_, F>
    {
        type Value = ();
        fn expecting(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            out.write_str("a JSON array of {productId, variantId, stock?, seller?, …}")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(v) = seq.next_element::<Value>()? {
                let i = self.count;
                self.count += 1;
                let outcome = CatalogEntry::from_json_value(&v)
                    .map_err(|e| (format!("/{i}{}", e.at), e.message))
                    .and_then(|entry| {
                        (self.f)(entry, Position::Index(i)).map_err(|m| (format!("/{i}"), m))
                    });
                if let Err(e) = outcome {
                    self.refused = Some(e);
                    return Err(A::Error::custom("entry refused"));
                }
            }
            Ok(())
        }
    }
    impl<'de, F: FnMut(CatalogEntry, Position) -> Result<(), String>> DeserializeSeed<'de>
        for &mut Sink<'_, F>
    {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }

    let mut sink = Sink {
        f: &mut f,
        refused: None,
        count: 0,
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let r = (&mut sink).deserialize(&mut de).and_then(|()| de.end());
    if let Some((at, message)) = sink.refused {
        return Err(CatalogError::Entry {
            file: file.to_path_buf(),
            at,
            message,
        });
    }
    match r {
        Ok(()) => Ok(sink.count),
        Err(e) if e.is_data() && sink.count == 0 => Err(CatalogError::Entry {
            file: file.to_path_buf(),
            at: "(document)".into(),
            message: "a catalog is a JSON array of {productId, variantId, stock?, seller?, …}"
                .into(),
        }),
        Err(e) => Err(CatalogError::Syntax {
            file: file.to_path_buf(),
            line: e.line(),
            message: format!(
                "not valid JSON: {}",
                crate::error::strip_position(&e.to_string())
            ),
        }),
    }
}

/// The CSV spelling, entry by entry.
fn csv_entries(
    file: &Path,
    reader: impl std::io::Read,
    mut f: impl FnMut(CatalogEntry, Position) -> Result<(), String>,
) -> Result<usize, CatalogError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(reader);
    let syntax = |e: csv::Error| CatalogError::Syntax {
        file: file.to_path_buf(),
        line: e.position().map_or(1, |p| p.line() as usize),
        message: format!("not valid CSV: {e}"),
    };
    let headers = reader.headers().map_err(syntax)?.clone();
    let mut col = [None; MEMBERS.len()];
    for (i, h) in headers.iter().enumerate() {
        match MEMBERS.iter().position(|(f, _)| f.eq_ignore_ascii_case(h)) {
            Some(k) => col[k] = Some(i),
            None => {
                return Err(CatalogError::Entry {
                    file: file.to_path_buf(),
                    at: "line 1".into(),
                    message: format!("unknown column `{h}` (known: {})", member_names()),
                });
            }
        }
    }
    for (k, (name, _)) in MEMBERS.iter().enumerate().take(2) {
        if col[k].is_none() {
            return Err(CatalogError::Entry {
                file: file.to_path_buf(),
                at: "line 1".into(),
                message: format!("the header row has no `{name}` column"),
            });
        }
    }
    let mut record = csv::StringRecord::new();
    let mut count = 0;
    while reader.read_record(&mut record).map_err(syntax)? {
        let line = record.position().map_or(0, |p| p.line() as usize);
        let mut entry = CatalogEntry::default();
        for (k, (name, kind)) in MEMBERS.iter().enumerate() {
            let cell = col[k].and_then(|c| record.get(c)).unwrap_or("");
            let err = |message: String| CatalogError::Entry {
                file: file.to_path_buf(),
                at: format!("line {line}, column {name}"),
                message,
            };
            if cell.is_empty() {
                if k < 2 {
                    return Err(err("must not be empty".into()));
                }
                continue;
            }
            let read = kind
                .read_cell(cell)
                .ok_or_else(|| err(format!("{}, got `{cell}`", kind.rule())))?;
            entry.set(name, read);
        }
        f(entry, Position::Line(line)).map_err(|message| CatalogError::Entry {
            file: file.to_path_buf(),
            at: format!("line {line}"),
            message,
        })?;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_csv_spell_the_same_catalog() {
        let j = Catalog::from_json(
            Path::new("c.json"),
            r#"[{"productId":"P1","variantId":"V1","stock":5},{"productId":"P2","variantId":"V2","seller":"acme"}]"#,
        )
        .unwrap();
        let c = Catalog::from_csv(
            Path::new("c.csv"),
            "productId,variantId,stock,seller\nP1,V1,5,\nP2,V2,,acme\n",
        )
        .unwrap();
        assert_eq!(j, c);
        assert!(c.find("acme", &ItemKey::new("P1", "V1")).is_some());
        assert!(c.find("other", &ItemKey::new("P2", "V2")).is_none());
    }

    #[test]
    fn bad_entries_name_where() {
        let e = |t: &str| {
            Catalog::from_json(Path::new("c.json"), t)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e(r#"[{"productId":"P"}]"#),
            "c.json: /0: `variantId` is required"
        );
        assert_eq!(
            e(r#"[{"productId":"P","variantId":"V","stock":-1}]"#),
            "c.json: /0/stock: must be an integer from 0 to 2147483647, got -1"
        );
        assert!(
            e(r#"[{"productId":"P","variantId":"V","stcok":1}]"#)
                .contains("/0/stcok: unknown field")
        );
        assert!(e("[").starts_with("c.json:1: not valid JSON"));
        assert!(
            e(r#"[{"productId":"P","variantId":"V"},{"productId":"P","variantId":"V"}]"#)
                .contains("/1: P/V is listed twice")
        );
        let c = |t: &str| {
            Catalog::from_csv(Path::new("c.csv"), t)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            c("productId,variantId,stock\nP,V,x\n"),
            "c.csv: line 2, column stock: must be an integer from 0 to 2147483647, got `x`"
        );
        assert!(c("productId,colour\n").contains("unknown column `colour`"));
        assert!(c("productId,variantId\nP\n").starts_with("c.csv:2: not valid CSV"));
    }

    #[test]
    fn one_entry_reads_from_json_with_pointers_into_it() {
        let e = CatalogEntry::from_json_text(
            r#"{"productId":"54353","variantId":"54353-2","stock":5,"seller":"s1"}"#,
        )
        .unwrap();
        assert_eq!(e.key(), ItemKey::new("54353", "54353-2"));
        assert_eq!((e.stock, e.seller.as_deref()), (Some(5), Some("s1")));
        // Ids may hold any character.
        let odd = CatalogEntry::from_json_text(r#"{"productId":"a,b=c \"d\"","variantId":"ü/1"}"#)
            .unwrap();
        assert_eq!(odd.key(), ItemKey::new("a,b=c \"d\"", "ü/1"));
        let err = |t: &str| CatalogEntry::from_json_text(t).unwrap_err().to_string();
        assert_eq!(
            err(r#"{"productId":"P","variantId":"V","stock":-1}"#),
            "/stock: must be an integer from 0 to 2147483647, got -1"
        );
        assert_eq!(
            err(r#"{"productId":"P"}"#),
            "(entry): `variantId` is required"
        );
        assert_eq!(
            err(r#"{"productId":"P","variantId":""}"#),
            "/variantId: must be a non-empty string"
        );
        assert!(
            err(r#"{"productId":"P","variantId":"V","a/b":1}"#).starts_with("/a~1b: unknown field")
        );
        assert!(err(r#"["P","V"]"#).contains("got an array"));
        assert!(err(r#"{"productId":"#).starts_with("(entry): not valid JSON"));
    }

    #[test]
    fn an_added_item_may_not_repeat_a_pair() {
        let mut c = Catalog::from_json(
            Path::new("c.json"),
            r#"[{"productId":"P","variantId":"V","seller":"s1"}]"#,
        )
        .unwrap();
        let item = |t: &str| CatalogEntry::from_json_text(t).unwrap();
        c.add(item(r#"{"productId":"P","variantId":"V","seller":"s2"}"#))
            .unwrap();
        c.add(item(r#"{"productId":"Q","variantId":"V"}"#)).unwrap();
        let e = c
            .add(item(r#"{"productId":"P","variantId":"V","seller":"s1"}"#))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "productId `P` / variantId `V` is given twice for seller `s1`"
        );
        let e = c
            .add(item(r#"{"productId":"Q","variantId":"V","stock":3}"#))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "productId `Q` / variantId `V` is given twice"
        );
        assert_eq!(c.len(), 3);
        assert_eq!(
            entry_schema()["required"],
            serde_json::json!(["productId", "variantId"])
        );
    }

    /// The published schema and the parser agree on what is a catalog.
    #[test]
    fn parser_agrees_with_the_published_schema() {
        let schema: Value =
            serde_json::from_str(include_str!("../../../schemas/catalog.schema.json")).unwrap();
        let v = jsonschema::draft202012::new(&schema).unwrap();
        for text in [
            r#"[]"#,
            r#"[{"productId":"P","variantId":"V"}]"#,
            r#"[{"productId":"P","variantId":"V","stock":0,"seller":"s"}]"#,
            r#"[{"productId":"P","variantId":"V","stock":2147483648}]"#,
            r#"[{"productId":"P","variantId":"V","stock":-1}]"#,
            r#"[{"productId":"","variantId":"V"}]"#,
            r#"[{"productId":"P"}]"#,
            r#"[{"productId":"P","variantId":"V","extra":1}]"#,
            r#"{"productId":"P","variantId":"V"}"#,
            r#"[{"productId":"P","variantId":"V","seller":""}]"#,
            r#"[{"productId":"P","variantId":"V","sku":"S","title":"T","brand":"B","listingPrice":1.5,"mrp":2,"blocked":0,"published":true}]"#,
            r#"[{"productId":"P","variantId":"V","published":"true"}]"#,
            r#"[{"productId":"P","variantId":"V","listingPrice":-0.5}]"#,
            r#"[{"productId":"P","variantId":"V","blocked":1.5}]"#,
            r#"[{"productId":"P","variantId":"V","title":""}]"#,
        ] {
            let doc: Value = serde_json::from_str(text).unwrap();
            let parsed = Catalog::from_json(Path::new("c.json"), text).is_ok();
            assert_eq!(v.is_valid(&doc), parsed, "{text}");
        }
    }

    #[test]
    fn listing_members_read_from_json_and_csv_alike() {
        let j = Catalog::from_json(
            Path::new("c.json"),
            r#"[{"productId":"P","variantId":"V","sku":"SKU-1","title":"Red shirt","brand":"Acme","listingPrice":499.5,"mrp":599,"blocked":2,"published":false}]"#,
        )
        .unwrap();
        let c = Catalog::from_csv(
            Path::new("c.csv"),
            "productId,variantId,sku,title,brand,listingPrice,mrp,blocked,published\nP,V,SKU-1,Red shirt,Acme,499.5,599,2,FALSE\n",
        )
        .unwrap();
        assert_eq!(j, c);
        let e = &c.entries[0];
        assert_eq!(
            (e.sku.as_deref(), e.blocked, e.is_published()),
            (Some("SKU-1"), Some(2), false)
        );
        assert_eq!((e.listing_price, e.mrp), (Some(499.5), Some(599.0)));
        let err = |t: &str| CatalogEntry::from_json_text(t).unwrap_err().to_string();
        assert_eq!(
            err(r#"{"productId":"P","variantId":"V","published":"yes"}"#),
            "/published: must be true or false, got \"yes\""
        );
        assert_eq!(
            err(r#"{"productId":"P","variantId":"V","mrp":-1}"#),
            "/mrp: must be a number, 0 or more, got -1"
        );
        assert_eq!(
            err(r#"{"productId":"P","variantId":"V","sku":""}"#),
            "/sku: must be a non-empty string"
        );
        let csv_err = Catalog::from_csv(
            Path::new("c.csv"),
            "productId,variantId,published\nP,V,maybe\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            csv_err,
            "c.csv: line 2, column published: must be true or false, got `maybe`"
        );
        // Catalogs written before the listing members still read the same.
        assert_eq!(
            Catalog::from_csv(Path::new("c.csv"), "productId,variantId,stock\nP,V,3\n").unwrap(),
            Catalog {
                entries: vec![CatalogEntry {
                    stock: Some(3),
                    ..CatalogEntry::new("P", "V")
                }]
            }
        );
    }

    /// The rule of [`default_skus`] as first written, with sets of the codes themselves: the
    /// reference the lean version is held to.
    fn default_skus_reference<'a>(
        n: usize,
        entry: impl Fn(usize) -> (&'a str, &'a str, Option<&'a str>),
    ) -> Vec<Cow<'a, str>> {
        let mut variants: HashMap<&str, u32> = HashMap::new();
        let mut taken: HashSet<Cow<'_, str>> = HashSet::new();
        for i in 0..n {
            let (_, v, sku) = entry(i);
            *variants.entry(v).or_default() += 1;
            if let Some(s) = sku {
                taken.insert(Cow::Borrowed(s));
            }
        }
        let mut out = Vec::new();
        for i in 0..n {
            let (p, v, sku) = entry(i);
            if let Some(s) = sku {
                out.push(Cow::Borrowed(s));
                continue;
            }
            let code: Cow<'_, str> = if variants.get(v) == Some(&1) && !taken.contains(v) {
                Cow::Borrowed(v)
            } else {
                let base = format!("{p}-{v}");
                let mut code = base.clone();
                let mut k = 1;
                while taken.contains(code.as_str()) {
                    k += 1;
                    code = format!("{base}-{k}");
                }
                Cow::Owned(code)
            };
            taken.insert(code.clone());
            out.push(code);
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn default_skus_keep_the_rule_as_first_written(
            entries in proptest::collection::vec(
                ("[AB]{1,2}", "[XY]{1,2}|A-X|B-Y", proptest::option::of("[XY]{1,2}|A-X(-2)?|B")),
                0..24,
            ),
        ) {
            let entry = |i: usize| {
                let (p, v, s): &(String, String, Option<String>) = &entries[i];
                (p.as_str(), v.as_str(), s.as_deref())
            };
            proptest::prop_assert_eq!(
                default_skus(entries.len(), entry),
                default_skus_reference(entries.len(), entry)
            );
        }
    }

    #[test]
    fn default_skus_are_unique_in_the_catalog() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/catalogs");
        // One variantId (V1) under two products: neither can take it as its code.
        let c = Catalog::read(&root.join("two-sellers.csv")).unwrap();
        let skus = c.skus();
        assert_eq!(skus, ["P1-V1", "V2", "P2-V1", "P3-V1"]);
        let c = Catalog::from_json(
            Path::new("c.json"),
            r#"[{"productId":"A","variantId":"X"},{"productId":"B","variantId":"X","sku":"A-X"},{"productId":"C","variantId":"Y"},{"productId":"D","variantId":"Z","sku":"Y"}]"#,
        )
        .unwrap();
        assert_eq!(c.skus(), ["A-X-2", "A-X", "C-Y", "Y"]);
        let set: HashSet<_> = c.skus().into_iter().collect();
        assert_eq!(set.len(), 4);
    }

    #[test]
    fn a_sku_names_one_item_of_a_seller() {
        let e = |t: &str| {
            Catalog::from_json(Path::new("c.json"), t)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            e(r#"[{"productId":"A","variantId":"1","sku":"S","seller":"s1"},{"productId":"B","variantId":"2","sku":"S","seller":"s1"}]"#),
            Err("c.json: /1: sku `S` is given to two items of seller `s1` (a SKU code names one item of a seller)".into())
        );
        // Two sellers may use the same code; an item of every seller clashes with anyone's.
        assert!(e(r#"[{"productId":"A","variantId":"1","sku":"S","seller":"s1"},{"productId":"B","variantId":"2","sku":"S","seller":"s2"}]"#).is_ok());
        assert!(e(r#"[{"productId":"A","variantId":"1","sku":"S"},{"productId":"B","variantId":"2","sku":"S","seller":"s2"}]"#).is_err());
    }

    #[test]
    fn entries_stream_one_at_a_time_and_errors_say_where() {
        let dir = std::env::temp_dir().join(format!("sw-cat-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let json = dir.join("c.json");
        std::fs::write(
            &json,
            r#"[{"productId":"P","variantId":"1"},{"productId":"P","variantId":"2","stock":-4}]"#,
        )
        .unwrap();
        let mut seen = Vec::new();
        let err = for_each_entry(&json, |e, at| {
            seen.push((e.variant_id, at));
            Ok(())
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.ends_with("/1/stock: must be an integer from 0 to 2147483647, got -4"),
            "{err}"
        );
        assert_eq!(seen, [("1".to_string(), Position::Index(0))]);
        let csv = dir.join("c.csv");
        std::fs::write(&csv, "productId,variantId\nP,1\nP,2\nP,3\n").unwrap();
        let err = for_each_entry(&csv, |e, _| {
            if e.variant_id == "2" {
                Err("refused by the caller".into())
            } else {
                Ok(())
            }
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.ends_with("c.csv: line 3: refused by the caller"),
            "{err}"
        );
        assert_eq!(for_each_entry(&csv, |_, _| Ok(())).unwrap(), 3);
        std::fs::write(&json, r#"{"productId":"P"}"#).unwrap();
        let err = for_each_entry(&json, |_, _| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("(document): a catalog is a JSON array"),
            "{err}"
        );
        std::fs::write(&json, r#"[{"productId":"P","variantId":"1"},"#).unwrap();
        let err = for_each_entry(&json, |_, _| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(err.contains(":1: not valid JSON"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
