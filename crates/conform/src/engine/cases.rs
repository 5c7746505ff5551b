//! Case generation. Every strategy is derived from the contract of the profile
//! ([`stockwire_schema::Contract::item_fields`]: names, required flags, types, ranges, patterns)
//! and from the catalog; nothing here restates the contract. Cases come from proptest
//! strategies driven by one seeded [`TestRunner`], so the same seed gives the same cases in the
//! same order on any machine, and each case keeps its value tree for shrinking.

use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use proptest::strategy::{SBoxedStrategy, Union, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Value, json};
use stockwire_schema::exchange::{field, request_with_list};
use stockwire_schema::{CatalogEntry, FieldSpec, InventoryItem, Profile, contract};

use crate::client::http::{API_KEY_HEADER, API_KEY_PLACEHOLDER, Header, HttpRequest};

pub use crate::model::ids::UNKNOWN_PREFIX;

/// The apiKey sent by "wrong key" cases (clearly not a real token).
pub const WRONG_KEY: &str = "SW-WRONG-KEY-0000";

/// Ids in the shapes real sellers use, as (shape, productId, variantId), starting with the
/// spec's own example. Sent as unknown items (unless the catalog lists them): the partner must
/// refuse them and name them back exactly as sent, as JSON strings.
pub const ID_SHAPES: &[(&str, &str, &str)] = &[
    ("spec-example", "54353", "54353-2"),
    ("digits-only", "8690000123456", "8690000123457"),
    ("leading-zeros", "000412", "000412-01"),
    (
        "long",
        "SW-SHAPE-LONG-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOP",
        "SW-SHAPE-LONG-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOP-XL",
    ),
    (
        "spaces-slashes-dots",
        "SW SHAPE 12/A.b",
        "SW SHAPE 12/A.b RED/L",
    ),
    ("mixed-case", "SwShape-AbC", "sWsHAPE-aBc-Xl"),
    ("non-ascii", "SW-Ürün-商品", "SW-Ürün-商品-Kırmızı"),
];

/// Which item an [`ItemSpec`] starts from.
#[derive(Debug, Clone, PartialEq)]
pub enum Base {
    /// The catalog entry at this index.
    Catalog(usize),
    /// A pair with [`UNKNOWN_PREFIX`] ids.
    Unknown(u32),
    /// The pair of [`ID_SHAPES`] at this index.
    Shaped(usize),
}

/// A change to an item after it is built.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Remove a member.
    Remove(String),
    /// Set (or add) a member.
    Set(String, Value),
    /// Set (or add) a member written as this raw JSON text, e.g. `1e3` or `-0`: spellings a
    /// JSON library would not write back as they are (`1e3` serialises as `1000.0`).
    Raw(String, String),
}

/// Inventory spellings a lenient parser (`Number(x)` in JavaScript) would wrongly read as a
/// stock count, for a count written as a string of digits: each is sent in every default run
/// (see [`GenContext::plan`]); the schema decides whether it is valid.
pub const DIGIT_STRING_SPELLINGS: &[&str] = &[
    "", " ", "Infinity", "NaN", "0x10", "1e3", "+7", "\u{663}", "7 ",
];

/// The same for a count written as a JSON number, as raw JSON text (sent as written).
pub const NUMBER_SPELLINGS: &[&str] = &["1.5", "1e3", "-0"];

/// How many fixed duplicate cases a run sends (each read back): a partner that keeps the
/// last value only some of the time shows it on one of them.
pub const DUPLICATE_REPEATS: usize = 3;

/// What marks a raw value in a body until it is written (see [`Edit::Raw`]).
const RAW_MARK: &str = "\u{1}sw-raw\u{1}";

/// One item of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemSpec {
    /// Starting item.
    pub base: Base,
    /// Stock count written the profile's way.
    pub count: u32,
    /// Changes applied after.
    pub edits: Vec<Edit>,
}

/// The request around the items.
#[derive(Debug, Clone, PartialEq)]
pub enum Envelope {
    /// `{"inventoryList": [items]}`.
    List,
    /// `{"inventoryList": []}`.
    Empty,
    /// `{}` plus an unrelated member.
    Missing,
    /// `{"inventoryList": VALUE}`.
    ListIs(Value),
    /// The items array as the whole body.
    BodyIsArray,
}

/// How the request travels.
#[derive(Debug, Clone, PartialEq)]
pub enum Transport {
    /// JSON, with the configured apiKey.
    Normal,
    /// The body cut at this per-mille of its length (not JSON any more).
    Malformed(u16),
    /// This Content-Type instead of application/json.
    ContentType(String),
    /// No apiKey header.
    NoKey,
    /// A wrong apiKey.
    WrongKey,
}

/// How many requests a case sends and how they relate.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// One request.
    Single,
    /// The same request twice (idempotence).
    Repeat,
    /// The batch, then the batch rotated by 1 + n mod (len − 1) (order independence).
    Reorder(usize),
    /// The batch, then each item alone (batch independence).
    Split,
}

/// A generated case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseSpec {
    /// What the case probes, e.g. `missing-field:variantId`.
    pub kind: String,
    /// The items.
    pub items: Vec<ItemSpec>,
    /// The request around them.
    pub envelope: Envelope,
    /// Transport variations.
    pub transport: Transport,
    /// The requests' relation.
    pub probe: Probe,
}

impl CaseSpec {
    fn single(kind: &str, items: Vec<ItemSpec>) -> Self {
        CaseSpec {
            kind: kind.into(),
            items,
            envelope: Envelope::List,
            transport: Transport::Normal,
            probe: Probe::Single,
        }
    }
}

/// A value tree of cases, kept for shrinking.
pub type CaseTree = Box<dyn ValueTree<Value = CaseSpec>>;

/// What generation and rendering need.
#[derive(Debug, Clone)]
pub struct GenContext {
    /// Contract version.
    pub profile: Profile,
    /// The seller's catalog entries.
    pub catalog: Vec<CatalogEntry>,
    /// Whether the run sends an apiKey.
    pub auth: bool,
    /// `{target}/updateInventory`.
    pub url: String,
    fields: Vec<FieldSpec>,
}

fn valid_item_value(profile: Profile, p: &str, v: &str, count: u32) -> Map<String, Value> {
    match serde_json::to_value(InventoryItem::new(profile, p, v, count)) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// How a numeric field is written: a JSON integer, or a string of digits.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Spelling {
    Integer,
    Digits,
}

impl GenContext {
    /// A context for `profile`, the seller's `catalog`, and the inventory URL.
    pub fn new(profile: Profile, catalog: Vec<CatalogEntry>, auth: bool, url: String) -> Self {
        GenContext {
            profile,
            catalog,
            auth,
            url,
            fields: contract(profile).item_fields(),
        }
    }

    /// Whether `field` holds a count, and how the schema spells it: found by asking the schema
    /// whether "10" (or 10) is valid there and "-1" (or -1) is not.
    fn numeric(&self, f: &FieldSpec) -> Option<Spelling> {
        let c = contract(self.profile);
        let ok = |v: Value| {
            let mut m = valid_item_value(self.profile, "P", "V", 1);
            m.insert(f.name.clone(), v);
            c.validate_item(0, &Value::Object(m)).is_empty()
        };
        match f.json_type() {
            Some("integer") if ok(json!(10)) && !ok(json!(-1)) => Some(Spelling::Integer),
            Some("string") if ok(json!("10")) && !ok(json!("-1")) => Some(Spelling::Digits),
            _ => None,
        }
    }

    fn is_id_like(f: &FieldSpec) -> bool {
        f.required && f.json_type() == Some("string") && f.schema.get("pattern").is_none()
    }

    fn count() -> SBoxedStrategy<u32> {
        prop_oneof![1 => Just(0u32), 4 => 1u32..=100, 2 => 101u32..=1_000_000].sboxed()
    }

    fn unknown_item() -> SBoxedStrategy<ItemSpec> {
        (0u32..100_000, Self::count())
            .prop_map(|(n, count)| ItemSpec {
                base: Base::Unknown(n),
                count,
                edits: vec![],
            })
            .sboxed()
    }

    /// 1..=max distinct catalog items (unknown ones when the catalog is empty).
    fn catalog_items(&self, min: usize, max: usize) -> SBoxedStrategy<Vec<ItemSpec>> {
        let n = self.catalog.len();
        if n == 0 {
            return proptest::collection::vec(Self::unknown_item(), min..=max).sboxed();
        }
        let max = max.min(n).max(1);
        let min = min.min(max);
        (
            subsequence((0..n).collect::<Vec<_>>(), min..=max),
            proptest::collection::vec(Self::count(), max),
        )
            .prop_map(|(idx, counts)| {
                idx.into_iter()
                    .zip(counts)
                    .map(|(i, count)| ItemSpec {
                        base: Base::Catalog(i),
                        count,
                        edits: vec![],
                    })
                    .collect()
            })
            .sboxed()
    }

    /// Cases that each put one item with `edits` among valid catalog items.
    fn with_bad_item(
        &self,
        kind: String,
        edits: SBoxedStrategy<Vec<Edit>>,
    ) -> SBoxedStrategy<CaseSpec> {
        (self.catalog_items(1, 4), edits, 0usize..4)
            .prop_map(move |(mut items, edits, pos)| {
                // The first catalog item carries the edits (its key stays distinct from the others).
                let mut bad = items.remove(0);
                bad.edits = edits;
                let at = pos.min(items.len());
                items.insert(at, bad);
                CaseSpec::single(&kind, items)
            })
            .sboxed()
    }

    fn spell_int(sp: Spelling, n: i128) -> Value {
        match sp {
            Spelling::Integer => serde_json::from_str(&n.to_string()).unwrap_or(Value::Null),
            Spelling::Digits => Value::String(n.to_string()),
        }
    }

    /// Item-level probes derived from the fields' schemas.
    fn field_probes(&self) -> Vec<(String, SBoxedStrategy<Vec<Edit>>)> {
        let mut out: Vec<(String, SBoxedStrategy<Vec<Edit>>)> = Vec::new();
        let set = |name: &str, s: SBoxedStrategy<Value>| -> SBoxedStrategy<Vec<Edit>> {
            let name = name.to_string();
            s.prop_map(move |v| vec![Edit::Set(name.clone(), v)])
                .sboxed()
        };
        for f in &self.fields {
            let name = f.name.as_str();
            if f.required {
                out.push((
                    format!("missing-field:{name}"),
                    Just(vec![Edit::Remove(name.into())]).sboxed(),
                ));
            }
            let wrong: Vec<Value> = match f.json_type() {
                Some("string") => vec![
                    json!(12345),
                    json!(true),
                    json!({"value": "x"}),
                    json!(["x"]),
                ],
                Some("integer") | Some("number") => {
                    vec![json!("many"), json!(true), json!({"value": 1}), json!([1])]
                }
                _ => vec![json!(1), json!("x")],
            };
            out.push((
                format!("wrong-type:{name}"),
                set(name, select(wrong).sboxed()),
            ));
            out.push((
                format!("null:{name}"),
                set(name, Just(Value::Null).sboxed()),
            ));
            if f.json_type() == Some("string")
                && f.schema
                    .get("minLength")
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
                    >= 1
            {
                out.push((
                    format!("empty-string:{name}"),
                    set(name, Just(json!("")).sboxed()),
                ));
            }
            if let Some(sp) = self.numeric(f) {
                const P31: i128 = 1 << 31;
                const P53: i128 = 1 << 53;
                out.push((
                    format!("negative:{name}"),
                    set(
                        name,
                        (1i128..=1000)
                            .prop_map(move |n| Self::spell_int(sp, -n))
                            .sboxed(),
                    ),
                ));
                out.push((
                    format!("huge-2^31:{name}"),
                    set(
                        name,
                        (0i128..1000)
                            .prop_map(move |n| Self::spell_int(sp, P31 + n))
                            .sboxed(),
                    ),
                ));
                out.push((
                    format!("huge-2^53:{name}"),
                    set(
                        name,
                        (0i128..1000)
                            .prop_map(move |n| Self::spell_int(sp, P53 + n))
                            .sboxed(),
                    ),
                ));
                out.push((
                    format!("fractional:{name}"),
                    set(
                        name,
                        (0u32..1000)
                            .prop_map(move |n| match sp {
                                Spelling::Integer => json!(n as f64 + 0.5),
                                Spelling::Digits => json!(format!("{n}.5")),
                            })
                            .sboxed(),
                    ),
                ));
                out.push((
                    format!("string-typed:{name}"),
                    set(
                        name,
                        select(vec![
                            json!("ten"),
                            json!(" 7"),
                            json!("1e3"),
                            json!("+5"),
                            json!("٣"),
                        ])
                        .sboxed(),
                    ),
                ));
                out.push((
                    format!("other-spelling:{name}"),
                    set(
                        name,
                        (0u32..1000)
                            .prop_map(move |n| match sp {
                                Spelling::Integer => json!(n.to_string()),
                                Spelling::Digits => json!(n),
                            })
                            .sboxed(),
                    ),
                ));
            }
            if Self::is_id_like(f) {
                out.push((
                    format!("long-string:{name}"),
                    set(
                        name,
                        (1000usize..=5000)
                            .prop_map(|n| json!(format!("{UNKNOWN_PREFIX}{}", "x".repeat(n))))
                            .sboxed(),
                    ),
                ));
                out.push((
                    format!("non-ascii:{name}"),
                    set(
                        name,
                        select(vec![
                            json!(format!("{UNKNOWN_PREFIX}ürün-商品-🙂")),
                            json!(format!("{UNKNOWN_PREFIX}ÅÄÖ")),
                            json!(format!("{UNKNOWN_PREFIX}\u{202e}abc")),
                        ])
                        .sboxed(),
                    ),
                ));
                out.push((
                    format!("control-chars:{name}"),
                    set(
                        name,
                        select(vec![
                            json!(format!("{UNKNOWN_PREFIX}a\u{0}b")),
                            json!(format!("{UNKNOWN_PREFIX}tab\there")),
                            json!(format!("{UNKNOWN_PREFIX}line\nbreak")),
                            json!(format!("{UNKNOWN_PREFIX}\u{1b}[31m")),
                        ])
                        .sboxed(),
                    ),
                ));
            }
        }
        if !self.fields.iter().any(|f| f.name == field::FACILITY_CODE) {
            out.push((
                format!("extra-field:{}", field::FACILITY_CODE),
                Just(vec![Edit::Set(field::FACILITY_CODE.into(), json!("WH-01"))]).sboxed(),
            ));
        }
        out.push((
            "extra-field:unknown".into(),
            Just(vec![Edit::Set(
                "x-stockwire-extra".into(),
                json!({"note": "ignore me"}),
            )])
            .sboxed(),
        ));
        out
    }

    /// The numeric field's other spelling of `count` (a tolerated variant), if any.
    fn other_spelling(&self, count: u32) -> Option<Edit> {
        self.fields.iter().find_map(|f| {
            self.numeric(f).map(|sp| {
                let v = match sp {
                    Spelling::Integer => json!(count.to_string()),
                    Spelling::Digits => json!(count),
                };
                Edit::Set(f.name.clone(), v)
            })
        })
    }

    /// A batch for the metamorphic probes: a tolerated item first, then distinct valid items.
    fn metamorphic_batch(&self) -> SBoxedStrategy<Vec<ItemSpec>> {
        let this = self.clone();
        self.catalog_items(2, 4)
            .prop_map(move |mut items| {
                if let Some(first) = items.first_mut() {
                    if let Some(e) = this.other_spelling(first.count.max(1)) {
                        first.count = first.count.max(1);
                        first.edits = vec![e];
                    }
                }
                items
            })
            .sboxed()
    }

    fn large(&self, n: usize) -> CaseSpec {
        let mut items: Vec<ItemSpec> = (0..self.catalog.len().min(n))
            .map(|i| ItemSpec {
                base: Base::Catalog(i),
                count: 7,
                edits: vec![],
            })
            .collect();
        let mut k = 0u32;
        while items.len() < n {
            items.push(ItemSpec {
                base: Base::Unknown(1_000_000 + k),
                count: 7,
                edits: vec![],
            });
            k += 1;
        }
        CaseSpec::single(&format!("large-batch:{n}"), items)
    }

    /// One single-item case per spelling of [`DIGIT_STRING_SPELLINGS`] (a count written as
    /// digits) or [`NUMBER_SPELLINGS`] (a JSON number) on each count field, on the first catalog
    /// item: fixed, so each spelling is sent in every run whatever the seed draws.
    fn spelling_cases(&self) -> Vec<CaseSpec> {
        let mut out = Vec::new();
        for f in &self.fields {
            let Some(sp) = self.numeric(f) else { continue };
            let edits: Vec<(String, Edit)> = match sp {
                Spelling::Digits => DIGIT_STRING_SPELLINGS
                    .iter()
                    .map(|s| {
                        (
                            Value::String((*s).into()).to_string(),
                            Edit::Set(f.name.clone(), json!(s)),
                        )
                    })
                    .collect(),
                Spelling::Integer => NUMBER_SPELLINGS
                    .iter()
                    .map(|s| ((*s).to_string(), Edit::Raw(f.name.clone(), (*s).into())))
                    .collect(),
            };
            for (label, edit) in edits {
                let item = ItemSpec {
                    base: Base::Catalog(0),
                    count: 1,
                    edits: vec![edit],
                };
                out.push(CaseSpec::single(
                    &format!("spelling:{}:{label}", f.name),
                    vec![item],
                ));
            }
        }
        out
    }

    /// The same item twice in one batch with different values, around another valid item
    /// (when the catalog has one): fixed cases, sent [`DUPLICATE_REPEATS`] times with other
    /// values so a partner that keeps the last value only some of the time is caught.
    fn duplicate_cases(&self) -> Vec<CaseSpec> {
        (0..DUPLICATE_REPEATS)
            .map(|k| {
                let n = self.catalog.len().max(1);
                let first = ItemSpec {
                    base: Base::Catalog(k % n),
                    // The last value is lower, then higher, than the first.
                    count: if k % 2 == 0 {
                        40 + k as u32
                    } else {
                        20 + k as u32
                    },
                    edits: vec![],
                };
                let mut last = first.clone();
                last.count = if k % 2 == 0 {
                    30 + k as u32
                } else {
                    50 + k as u32
                };
                let mut items = vec![first];
                if n > 1 {
                    items.push(ItemSpec {
                        base: Base::Catalog((k + 1) % n),
                        count: 5,
                        edits: vec![],
                    });
                }
                items.push(last);
                CaseSpec::single(&format!("duplicates-{}", k + 1), items)
            })
            .collect()
    }

    /// The fixed probes, in run order, each a strategy (so each can shrink): the probes the
    /// random cases are drawn from ([`GenContext::pool`]), the large batches, then the fixed
    /// spellings and duplicates (last, so a seed draws the same random cases as before them).
    pub fn plan(&self) -> Vec<SBoxedStrategy<CaseSpec>> {
        let mut plan = self.probes();
        plan.push(Just(self.large(1000)).sboxed());
        plan.push(Just(self.large(10_000)).sboxed());
        for case in self
            .spelling_cases()
            .into_iter()
            .chain(self.duplicate_cases())
        {
            plan.push(Just(case).sboxed());
        }
        plan
    }

    /// The probes random cases are drawn from, each a strategy.
    fn probes(&self) -> Vec<SBoxedStrategy<CaseSpec>> {
        let mut plan: Vec<SBoxedStrategy<CaseSpec>> = Vec::new();
        plan.push(
            self.catalog_items(1, 1)
                .prop_map(|i| CaseSpec::single("valid-single", i))
                .sboxed(),
        );
        plan.push(
            self.catalog_items(2, 6)
                .prop_map(|i| CaseSpec::single("valid-batch", i))
                .sboxed(),
        );
        plan.push(
            self.catalog_items(1, 1)
                .prop_map(|mut i| {
                    i[0].count = 0;
                    CaseSpec::single("zero-inventory", i)
                })
                .sboxed(),
        );
        plan.push(
            (
                self.catalog_items(0, 3),
                proptest::collection::vec(Self::unknown_item(), 1..=3),
            )
                .prop_map(|(mut a, b)| {
                    a.extend(b);
                    CaseSpec::single("unknown-items", a)
                })
                .sboxed(),
        );
        for (kind, edits) in self.field_probes() {
            plan.push(self.with_bad_item(kind, edits));
        }
        plan.push(
            self.catalog_items(1, 3)
                .prop_map(|mut items| {
                    let mut dup = items[0].clone();
                    dup.count = dup.count.wrapping_add(1) % 1000;
                    items.push(dup);
                    CaseSpec::single("duplicates", items)
                })
                .sboxed(),
        );
        let env = |kind: &'static str, e: Envelope| {
            self.catalog_items(1, 2)
                .prop_map(move |items| CaseSpec {
                    envelope: e.clone(),
                    ..CaseSpec::single(kind, items)
                })
                .sboxed()
        };
        plan.push(env("empty-list", Envelope::Empty));
        plan.push(env("missing-list", Envelope::Missing));
        plan.push(env("body-is-array", Envelope::BodyIsArray));
        plan.push(
            (
                self.catalog_items(1, 2),
                select(vec![json!({}), json!("items"), json!(1), Value::Null]),
            )
                .prop_map(|(items, v)| CaseSpec {
                    envelope: Envelope::ListIs(v),
                    ..CaseSpec::single("list-not-array", items)
                })
                .sboxed(),
        );
        plan.push(
            (self.catalog_items(1, 3), 1u16..1000)
                .prop_map(|(items, cut)| CaseSpec {
                    transport: Transport::Malformed(cut),
                    ..CaseSpec::single("malformed-json", items)
                })
                .sboxed(),
        );
        plan.push(
            (
                self.catalog_items(1, 3),
                select(vec![
                    "text/plain",
                    "application/x-www-form-urlencoded",
                    "application/xml",
                ]),
            )
                .prop_map(|(items, ct)| CaseSpec {
                    transport: Transport::ContentType(ct.into()),
                    ..CaseSpec::single("wrong-content-type", items)
                })
                .sboxed(),
        );
        if self.auth {
            plan.push(
                self.catalog_items(1, 3)
                    .prop_map(|items| CaseSpec {
                        transport: Transport::NoKey,
                        ..CaseSpec::single("missing-apikey", items)
                    })
                    .sboxed(),
            );
            plan.push(
                self.catalog_items(1, 3)
                    .prop_map(|items| CaseSpec {
                        transport: Transport::WrongKey,
                        ..CaseSpec::single("wrong-apikey", items)
                    })
                    .sboxed(),
            );
        }
        plan.push(
            (
                self.metamorphic_batch(),
                proptest::collection::vec(Self::unknown_item(), 0..=2),
            )
                .prop_map(|(mut a, b)| {
                    a.extend(b);
                    CaseSpec {
                        probe: Probe::Repeat,
                        ..CaseSpec::single("idempotence", a)
                    }
                })
                .sboxed(),
        );
        plan.push(
            (self.metamorphic_batch(), 0usize..8)
                .prop_map(|(items, r)| CaseSpec {
                    probe: Probe::Reorder(r),
                    ..CaseSpec::single("reorder", items)
                })
                .sboxed(),
        );
        plan.push(
            self.metamorphic_batch()
                .prop_map(|items| CaseSpec {
                    probe: Probe::Split,
                    ..CaseSpec::single("split-batch", items)
                })
                .sboxed(),
        );
        plan.push(
            (self.catalog_items(0, 2), 0..ID_SHAPES.len(), Self::count())
                .prop_map(|(mut items, shape, count)| {
                    items.push(ItemSpec {
                        base: Base::Shaped(shape),
                        count,
                        edits: vec![],
                    });
                    CaseSpec::single(&format!("id-shape:{}", ID_SHAPES[shape].0), items)
                })
                .sboxed(),
        );
        plan
    }

    /// The strategy random cases are drawn from once the fixed probes are done: every probe
    /// except the large batches and the fixed cases, with extra weight on plain valid and mixed
    /// batches.
    pub fn pool(&self) -> SBoxedStrategy<CaseSpec> {
        let plan = self.probes();
        let mut weighted: Vec<(u32, SBoxedStrategy<CaseSpec>)> =
            plan.into_iter().map(|s| (1, s)).collect();
        if let Some(first) = weighted.get_mut(1) {
            first.0 = 6;
        }
        if let Some(mixed) = weighted.get_mut(3) {
            mixed.0 = 4;
        }
        Union::new_weighted(weighted).sboxed()
    }

    fn item_value(&self, it: &ItemSpec) -> Value {
        let (p, v) = match it.base {
            Base::Catalog(i) if !self.catalog.is_empty() => {
                let e = &self.catalog[i % self.catalog.len()];
                (e.product_id.clone(), e.variant_id.clone())
            }
            Base::Catalog(i) => (
                format!("{UNKNOWN_PREFIX}P{i}"),
                format!("{UNKNOWN_PREFIX}V{i}"),
            ),
            Base::Unknown(n) => (
                format!("{UNKNOWN_PREFIX}P{n}"),
                format!("{UNKNOWN_PREFIX}V{n}"),
            ),
            Base::Shaped(i) => {
                let (_, p, v) = ID_SHAPES[i % ID_SHAPES.len()];
                (p.to_string(), v.to_string())
            }
        };
        let mut m = valid_item_value(self.profile, &p, &v, it.count);
        for e in &it.edits {
            match e {
                Edit::Remove(f) => {
                    m.remove(f);
                }
                Edit::Set(f, val) => {
                    m.insert(f.clone(), val.clone());
                }
                Edit::Raw(f, raw) => {
                    m.insert(
                        f.clone(),
                        Value::String(format!("{RAW_MARK}{raw}{RAW_MARK}")),
                    );
                }
            }
        }
        Value::Object(m)
    }

    fn request(&self, spec: &CaseSpec, items: &[ItemSpec]) -> HttpRequest {
        let list: Vec<Value> = items.iter().map(|i| self.item_value(i)).collect();
        let body = match &spec.envelope {
            Envelope::List => request_with_list(Value::Array(list)),
            Envelope::Empty => request_with_list(json!([])),
            Envelope::Missing => json!({"items": list}),
            Envelope::ListIs(v) => request_with_list(v.clone()),
            Envelope::BodyIsArray => Value::Array(list),
        };
        let mut text = serde_json::to_string(&body).unwrap_or_default();
        for it in items {
            for e in &it.edits {
                if let Edit::Raw(_, raw) = e {
                    let mark = Value::String(format!("{RAW_MARK}{raw}{RAW_MARK}")).to_string();
                    text = text.replace(&mark, raw);
                }
            }
        }
        if let Transport::Malformed(cut) = spec.transport {
            let len = text.len();
            let mut at =
                ((len as u64 * cut as u64) / 1000).clamp(1, len.saturating_sub(1) as u64) as usize;
            while at > 0 && !text.is_char_boundary(at) {
                at -= 1;
            }
            text.truncate(at.max(1));
        }
        let ct = match &spec.transport {
            Transport::ContentType(ct) => ct.clone(),
            _ => "application/json".into(),
        };
        let mut headers = vec![
            Header {
                name: "Content-Type".into(),
                value: ct,
            },
            Header {
                name: "Accept".into(),
                value: "application/json".into(),
            },
        ];
        match spec.transport {
            Transport::NoKey => {}
            Transport::WrongKey => headers.push(Header {
                name: API_KEY_HEADER.into(),
                value: WRONG_KEY.into(),
            }),
            _ if self.auth => headers.push(Header {
                name: API_KEY_HEADER.into(),
                value: API_KEY_PLACEHOLDER.into(),
            }),
            _ => {}
        }
        HttpRequest::post(&self.url, headers, text)
    }

    /// The requests a case sends, in order.
    pub fn render(&self, spec: &CaseSpec) -> Vec<HttpRequest> {
        let first = self.request(spec, &spec.items);
        match spec.probe {
            Probe::Single => vec![first],
            Probe::Repeat => vec![first.clone(), first],
            Probe::Reorder(r) => {
                let n = spec.items.len();
                if n < 2 {
                    return vec![first];
                }
                let mut rotated = spec.items.clone();
                rotated.rotate_left(1 + r % (n - 1));
                vec![first, self.request(spec, &rotated)]
            }
            Probe::Split => {
                let mut v = vec![first];
                for it in &spec.items {
                    v.push(self.request(spec, std::slice::from_ref(it)));
                }
                v
            }
        }
    }

    /// A single-item request for `item` (used to confirm zero/extra-field failures).
    pub fn control(&self, item: Value) -> HttpRequest {
        let mut headers = vec![
            Header {
                name: "Content-Type".into(),
                value: "application/json".into(),
            },
            Header {
                name: "Accept".into(),
                value: "application/json".into(),
            },
        ];
        if self.auth {
            headers.push(Header {
                name: API_KEY_HEADER.into(),
                value: API_KEY_PLACEHOLDER.into(),
            });
        }
        HttpRequest::post(
            &self.url,
            headers,
            request_with_list(json!([item])).to_string(),
        )
    }
}

/// Draws cases from the fixed plan, then from the pool, with one seeded runner.
pub struct Generator {
    runner: TestRunner,
    plan: Vec<SBoxedStrategy<CaseSpec>>,
    pool: SBoxedStrategy<CaseSpec>,
    next: usize,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

/// A proptest runner whose every choice derives from `seed` (ChaCha, no persistence).
pub fn seeded_runner(seed: u64) -> TestRunner {
    let mut bytes = [0u8; 32];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(
            &(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).to_le_bytes(),
        );
    }
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

impl Generator {
    /// A generator for `ctx` seeded with `seed`.
    pub fn new(ctx: &GenContext, seed: u64) -> Self {
        Generator {
            runner: seeded_runner(seed),
            plan: ctx.plan(),
            pool: ctx.pool(),
            next: 0,
        }
    }

    /// Number of fixed probes.
    pub fn plan_len(&self) -> usize {
        self.plan.len()
    }

    /// The next case and its value tree.
    pub fn next_case(&mut self) -> Option<CaseTree> {
        let i = self.next;
        self.next += 1;
        let strategy = if i < self.plan.len() {
            &self.plan[i]
        } else {
            &self.pool
        };
        strategy.new_tree(&mut self.runner).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::classify::{ClassifyContext, ItemVerdict, classify};
    use crate::model::policies::Policies;

    fn ctx(profile: Profile) -> GenContext {
        let catalog = vec![CatalogEntry::new("P1", "V1"), CatalogEntry::new("P2", "V2")];
        GenContext::new(profile, catalog, true, "http://x/updateInventory".into())
    }

    /// Every spelling is a fixed case of the plan, written into the body as it is, and the
    /// schema crate's rules find each invalid (never a count).
    #[test]
    fn every_spelling_is_planned_sent_as_written_and_invalid() {
        for (profile, spellings) in [
            (
                Profile::V2,
                DIGIT_STRING_SPELLINGS
                    .iter()
                    .map(|s| Value::String((*s).into()).to_string())
                    .collect::<Vec<_>>(),
            ),
            (
                Profile::V1,
                NUMBER_SPELLINGS.iter().map(|s| s.to_string()).collect(),
            ),
        ] {
            let g = ctx(profile);
            let cases = g.spelling_cases();
            assert_eq!(cases.len(), spellings.len(), "{profile:?}");
            let cx = ClassifyContext {
                profile,
                catalog: g.catalog.clone(),
                auth_configured: true,
                policies: Policies::default(),
            };
            for (case, sp) in cases.iter().zip(&spellings) {
                let req = &g.render(case)[0];
                assert!(
                    req.body.contains(&format!(":{sp}}}")),
                    "{profile:?} {sp}: {}",
                    req.body
                );
                let class = classify(req, &cx);
                assert!(
                    matches!(class.items()[0].verdict, ItemVerdict::Invalid(_)),
                    "{profile:?} {sp}: {:?}",
                    class.items()[0]
                );
            }
            // The plan ends with them and the duplicates, after the large batches; the random
            // cases are drawn from the probes alone.
            let plan = g.plan();
            let fixed = spellings.len() + DUPLICATE_REPEATS;
            assert_eq!(plan.len(), g.probes().len() + 2 + fixed);
        }
    }

    /// The fixed duplicate cases name one catalog item twice, the last value different from
    /// the first (lower, then higher), around another item.
    #[test]
    fn duplicate_cases_name_an_item_twice_with_other_values() {
        let g = ctx(Profile::V1);
        let cases = g.duplicate_cases();
        assert_eq!(cases.len(), DUPLICATE_REPEATS);
        for (k, c) in cases.iter().enumerate() {
            let first = &c.items[0];
            let last = &c.items[c.items.len() - 1];
            assert_eq!(first.base, last.base);
            assert_eq!(c.items.len(), 3);
            assert_eq!(last.count < first.count, k % 2 == 0, "{c:?}");
        }
    }
}
