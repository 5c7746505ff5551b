//! A borrowed, typed reading of a `POST /updateInventory` body and the contract's request rules
//! compiled for it: the fast path of a server that answers many large requests.
//!
//! [`parse_request`] reads the body once into structs that borrow their strings from it. The
//! reading is total over JSON: every JSON document gives a [`BorrowedRequest`] (values of the
//! wrong type are kept as a [`Scalar`] naming their kind), so a server can report every
//! problem with a JSON pointer without building a `serde_json::Value` tree. Members the
//! contract does not name are skipped (within a nesting budget), and a name that appears twice
//! in one object is recorded: parsers disagree on which value wins, so [`DUPLICATE_KEY`] makes
//! it a violation of its own.
//!
//! [`RequestRules`] are compiled from the committed request schema of a profile (the same
//! schema [`crate::Contract`] validates with); a property test shows both give the same
//! violations (pointer and keyword) for the same document.
//!
//! ```
//! use stockwire_schema::Profile;
//! use stockwire_schema::borrowed::{parse_request, request_rules};
//!
//! let body = br#"{"inventoryList":[{"productId":"P1","variantId":"V1","inventory":-1}]}"#;
//! let req = parse_request(body, 64).unwrap();
//! let rules = request_rules(Profile::V1);
//! assert!(rules.check_envelope(&req).is_empty());
//! let items = req.items().unwrap();
//! let v = rules.check_item(0, &items[0]);
//! assert_eq!((v[0].pointer.as_str(), v[0].keyword.as_str()), ("/inventoryList/0/inventory", "minimum"));
//! ```

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

use serde::Serialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::call::UpdateMembers;
use crate::contract::{Call, SchemaViolation, contract};
use crate::model::{Inventory, ItemKey, Status};
use crate::page::Part;
use crate::profile::Profile;
use crate::rules::{Rule, Severity};

/// A member name appears twice in one JSON object of the request.
pub const DUPLICATE_KEY: Rule = Rule {
    id: "duplicate-key",
    severity: Severity::Must,
    rationale: "RFC 8259 leaves the meaning of a repeated name open and parsers disagree on which value wins, so the item does not say one stock count.",
};

/// The kind of a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Boolean,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl Kind {
    /// The JSON Schema type name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Boolean => "boolean",
            Kind::Number => "number",
            Kind::String => "string",
            Kind::Array => "array",
            Kind::Object => "object",
        }
    }
}

/// A member value as read: scalars kept, arrays and objects only named by their kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    /// A string (borrowed from the body unless it held escapes).
    Str(Cow<'a, str>),
    /// A non-negative integer.
    UInt(u64),
    /// A negative integer.
    Int(i64),
    /// A number with a fraction or an exponent.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// `null`.
    Null,
    /// An array (its content is skipped).
    Array,
    /// An object (its content is skipped).
    Object,
}

impl Scalar<'_> {
    /// The kind of the value.
    pub fn kind(&self) -> Kind {
        match self {
            Scalar::Str(_) => Kind::String,
            Scalar::UInt(_) | Scalar::Int(_) | Scalar::Float(_) => Kind::Number,
            Scalar::Bool(_) => Kind::Boolean,
            Scalar::Null => Kind::Null,
            Scalar::Array => Kind::Array,
            Scalar::Object => Kind::Object,
        }
    }

    /// The string, if the value is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The text a failed entry may give an id of this value: a string as it is, a number or
    /// boolean by its JSON text, anything else as `""`.
    pub fn id_text(&self) -> Cow<'_, str> {
        match self {
            Scalar::Str(s) => Cow::Borrowed(s),
            Scalar::UInt(_) | Scalar::Int(_) | Scalar::Float(_) | Scalar::Bool(_) => {
                Cow::Owned(self.to_string())
            }
            _ => Cow::Borrowed(""),
        }
    }

    /// The value as the typed [`Inventory`] model, when it is a number or a string.
    pub fn inventory(&self) -> Option<Inventory> {
        match self {
            Scalar::Str(s) => Some(Inventory::Text(s.to_string())),
            Scalar::UInt(n) => Some(Inventory::Number((*n).into())),
            Scalar::Int(n) => Some(Inventory::Number((*n).into())),
            Scalar::Float(f) => serde_json::Number::from_f64(*f).map(Inventory::Number),
            _ => None,
        }
    }

    /// The stock count, if the value is a whole number in 0..2^31 written either way (the
    /// reading of [`Inventory::count`]).
    pub fn count(&self) -> Option<u32> {
        match self {
            Scalar::UInt(n) => u32::try_from(*n).ok().filter(|&n| n <= i32::MAX as u32),
            Scalar::Str(s) => {
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let t = s.trim_start_matches('0');
                if t.len() > 10 {
                    return None;
                }
                let n: u64 = if t.is_empty() { 0 } else { t.parse().ok()? };
                u32::try_from(n).ok().filter(|&n| n <= i32::MAX as u32)
            }
            _ => None,
        }
    }

    /// The value as JSON.
    pub fn to_value(&self) -> Value {
        match self {
            Scalar::Str(s) => Value::String(s.to_string()),
            Scalar::UInt(n) => Value::from(*n),
            Scalar::Int(n) => Value::from(*n),
            Scalar::Float(f) => Value::from(*f),
            Scalar::Bool(b) => Value::Bool(*b),
            Scalar::Null => Value::Null,
            Scalar::Array => Value::Array(Vec::new()),
            Scalar::Object => Value::Object(serde_json::Map::new()),
        }
    }
}

impl fmt::Display for Scalar<'_> {
    /// JSON text for scalars; `[…]` and `{…}` for the skipped containers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Str(s) => write!(f, "{}", Value::String(s.to_string())),
            Scalar::UInt(n) => write!(f, "{n}"),
            Scalar::Int(n) => write!(f, "{n}"),
            Scalar::Float(x) => write!(f, "{}", Value::from(*x)),
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Null => f.write_str("null"),
            Scalar::Array => f.write_str("[…]"),
            Scalar::Object => f.write_str("{…}"),
        }
    }
}

/// The role of an item member: what the call's definition names it for, or another member
/// its item schema names (by position in [`RequestRules::others`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The product id (`productId`).
    ProductId,
    /// The variant id (`variantId`).
    VariantId,
    /// The value the update sets (`inventory`).
    Value,
    /// The place (`facilityCode`), for calls that have one.
    Place,
    /// Another member the item schema names (`hsnCode`).
    Other(u8),
}

/// The name of the list member of `/updateInventory`.
pub const LIST: &str = crate::call::INVENTORY_MEMBERS.list;

/// One element of an update's list, read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BorrowedItem<'a> {
    /// The element's kind; the fields below are only read from an object.
    pub kind: Option<Kind>,
    /// The product id, if present.
    pub product_id: Option<Scalar<'a>>,
    /// The variant id, if present.
    pub variant_id: Option<Scalar<'a>>,
    /// The value (`inventory`), if present.
    pub value: Option<Scalar<'a>>,
    /// The place (`facilityCode`), if present.
    pub place: Option<Scalar<'a>>,
    /// Other members the item schema names, by their position in [`RequestRules::others`]
    /// (held inline: the documented item has one, `hsnCode`).
    pub others: Others<'a>,
    /// Member names that appear more than once (each once, in order of their repetition).
    pub duplicate_keys: Vec<Cow<'a, str>>,
}

impl<'a> BorrowedItem<'a> {
    /// The value of a field, if present.
    pub fn get(&self, f: Field) -> Option<&Scalar<'a>> {
        match f {
            Field::ProductId => self.product_id.as_ref(),
            Field::VariantId => self.variant_id.as_ref(),
            Field::Value => self.value.as_ref(),
            Field::Place => self.place.as_ref(),
            Field::Other(i) => self.others.get(i),
        }
    }

    /// Stores `v` as field `f`; true when the field was already there (a repeated name).
    fn put(&mut self, f: Field, v: Scalar<'a>) -> bool {
        let slot = match f {
            Field::ProductId => &mut self.product_id,
            Field::VariantId => &mut self.variant_id,
            Field::Value => &mut self.value,
            Field::Place => &mut self.place,
            Field::Other(i) => return self.others.put(i, v),
        };
        slot.replace(v).is_some()
    }

    /// Whether the element is a JSON object.
    pub fn is_object(&self) -> bool {
        self.kind == Some(Kind::Object)
    }

    /// The product id as a string (`None` when absent or not a string).
    pub fn product(&self) -> Option<&str> {
        self.product_id.as_ref().and_then(Scalar::as_str)
    }

    /// The variant id as a string (`None` when absent or not a string).
    pub fn variant(&self) -> Option<&str> {
        self.variant_id.as_ref().and_then(Scalar::as_str)
    }

    /// The place (`facilityCode`) as a string.
    pub fn facility(&self) -> Option<&str> {
        self.place.as_ref().and_then(Scalar::as_str)
    }

    /// The value as a stock count, when it is a whole number in 0..2^31.
    pub fn count(&self) -> Option<u32> {
        self.value.as_ref().and_then(Scalar::count)
    }

    /// The (productId, variantId) texts a failed entry names this item by (ids that are not
    /// strings by their JSON text, missing ones as `""`).
    pub fn id_texts(&self) -> (Cow<'_, str>, Cow<'_, str>) {
        fn t<'s>(s: &'s Option<Scalar<'_>>) -> Cow<'s, str> {
            s.as_ref().map_or(Cow::Borrowed(""), Scalar::id_text)
        }
        (t(&self.product_id), t(&self.variant_id))
    }

    /// The item's key (owned).
    pub fn key(&self) -> ItemKey {
        let (p, v) = self.id_texts();
        ItemKey::new(p, v)
    }
}

/// The members of an item beyond its ids, value and place ([`Field::Other`]), by position:
/// two inline (a request of 1,000 items with `hsnCode` allocates nothing per item), the rest
/// in a list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Others<'a> {
    inline: [Option<(u8, Scalar<'a>)>; 2],
    more: Vec<(u8, Scalar<'a>)>,
}

impl<'a> Others<'a> {
    /// The value of member `i`, if present.
    pub fn get(&self, i: u8) -> Option<&Scalar<'a>> {
        self.iter().find(|(k, _)| *k == i).map(|(_, v)| v)
    }

    /// Every member present, in the order first given.
    pub fn iter(&self) -> impl Iterator<Item = &(u8, Scalar<'a>)> {
        self.inline.iter().flatten().chain(self.more.iter())
    }

    /// Stores member `i`; true when it was already there (a repeated name).
    fn put(&mut self, i: u8, v: Scalar<'a>) -> bool {
        let slots = self.inline.iter_mut().flatten().chain(self.more.iter_mut());
        for old in slots {
            if old.0 == i {
                old.1 = v;
                return true;
            }
        }
        match self.inline.iter_mut().find(|s| s.is_none()) {
            Some(free) => *free = Some((i, v)),
            None => self.more.push((i, v)),
        }
        false
    }
}

/// The list member as read.
#[derive(Debug, Clone, PartialEq)]
pub enum List<'a> {
    /// An array: its elements.
    Array(Vec<BorrowedItem<'a>>),
    /// Something else: its kind.
    Other(Kind),
}

/// A request body as read by [`parse_request`].
#[derive(Debug, Clone, PartialEq)]
pub struct BorrowedRequest<'a> {
    /// The kind of the whole document.
    pub kind: Kind,
    /// The list, when the document is an object that has it.
    pub list: Option<List<'a>>,
    /// Top-level member names that appear more than once.
    pub duplicate_keys: Vec<Cow<'a, str>>,
}

impl<'a> BorrowedRequest<'a> {
    /// The items, when the list is an array.
    pub fn items(&self) -> Option<&[BorrowedItem<'a>]> {
        match &self.list {
            Some(List::Array(v)) => Some(v),
            _ => None,
        }
    }
}

/// Why a body could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Arrays and objects nest deeper than allowed.
    #[error("JSON nested more than {max} levels deep")]
    TooDeep {
        /// The most levels allowed.
        max: usize,
    },
    /// The list holds more items than allowed (reading stopped there: no more were held).
    #[error("more than {max} items")]
    TooManyItems {
        /// The most items allowed.
        max: usize,
    },
    /// Not JSON (syntax, encoding, trailing characters).
    #[error("{0}")]
    Syntax(#[source] serde_json::Error),
}

/// Reads an `/updateInventory` request body in one pass (see [`RequestRules::parse`], which
/// reads the body of any update call). `max_depth` bounds the nesting of arrays and objects (the
/// document itself is level 1; the items are level 3).
pub fn parse_request(body: &[u8], max_depth: usize) -> Result<BorrowedRequest<'_>, ParseError> {
    request_rules(Profile::V1).parse(body, max_depth)
}

/// The most items reserved before any is read.
const ITEMS_HINT_MAX: usize = 16 * 1024;

struct Ctx<'r> {
    max_depth: usize,
    too_deep: Cell<bool>,
    max_items: usize,
    too_many: Cell<bool>,
    items_hint: usize,
    rules: &'r RequestRules,
}

impl Ctx<'_> {
    /// The role of item member `k`, if the call names it.
    fn field(&self, k: &str) -> Option<Field> {
        let m = &self.rules.members;
        if k == m.product_id {
            Some(Field::ProductId)
        } else if k == m.variant_id {
            Some(Field::VariantId)
        } else if k == m.value {
            Some(Field::Value)
        } else if m.place == Some(k) {
            Some(Field::Place)
        } else {
            self.rules
                .others
                .iter()
                .position(|o| o == k)
                .map(|i| Field::Other(i as u8))
        }
    }

    fn enter<E: de::Error>(&self, depth: usize) -> Result<(), E> {
        if depth > self.max_depth {
            self.too_deep.set(true);
            return Err(E::custom("nested too deep"));
        }
        Ok(())
    }
}

/// Remembers member names to find repeated ones: a short list, then a set.
#[derive(Default)]
struct Names<'a> {
    few: Vec<Cow<'a, str>>,
    many: Option<HashSet<Cow<'a, str>>>,
}

impl<'a> Names<'a> {
    /// Records `name`; true when it was already seen.
    fn seen(&mut self, name: Cow<'a, str>) -> bool {
        if let Some(set) = &mut self.many {
            return !set.insert(name);
        }
        if self.few.contains(&name) {
            return true;
        }
        self.few.push(name);
        if self.few.len() > 16 {
            self.many = Some(self.few.drain(..).collect());
        }
        false
    }
}

fn note_duplicate<'a>(list: &mut Vec<Cow<'a, str>>, name: Cow<'a, str>) {
    if !list.contains(&name) {
        list.push(name);
    }
}

/// A member name: borrowed when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(KeySeed)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
}

/// Skips any value, within the nesting budget.
struct Skip<'c> {
    ctx: &'c Ctx<'c>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Skip<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.ctx.enter(self.depth + 1)?;
        while seq
            .next_element_seed(Skip {
                ctx: self.ctx,
                depth: self.depth + 1,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.ctx.enter(self.depth + 1)?;
        while map.next_key_seed(KeySeed)?.is_some() {
            map.next_value_seed(Skip {
                ctx: self.ctx,
                depth: self.depth + 1,
            })?;
        }
        Ok(())
    }
}

/// A member value of an item: scalars kept, containers skipped.
struct ScalarSeed<'c> {
    ctx: &'c Ctx<'c>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ScalarSeed<'_> {
    type Value = Scalar<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarSeed<'_> {
    type Value = Scalar<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(if v >= 0 {
            Scalar::UInt(v as u64)
        } else {
            Scalar::Int(v)
        })
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::UInt(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_string())))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skip {
            ctx: self.ctx,
            depth: self.depth,
        }
        .visit_seq(seq)?;
        Ok(Scalar::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Skip {
            ctx: self.ctx,
            depth: self.depth,
        }
        .visit_map(map)?;
        Ok(Scalar::Object)
    }
}

/// One element of the list (at nesting level 3 when it is an object).
struct ItemSeed<'c> {
    ctx: &'c Ctx<'c>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    type Value = BorrowedItem<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed<'_> {
    type Value = BorrowedItem<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an item")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        self.ctx.enter(self.depth + 1)?;
        let mut item = BorrowedItem {
            kind: Some(Kind::Object),
            ..BorrowedItem::default()
        };
        let mut others: Option<Names<'de>> = None;
        while let Some(k) = map.next_key_seed(KeySeed)? {
            let seed = ScalarSeed {
                ctx: self.ctx,
                depth: self.depth + 1,
            };
            match self.ctx.field(&k) {
                Some(f) => {
                    let v = map.next_value_seed(seed)?;
                    if item.put(f, v) {
                        note_duplicate(&mut item.duplicate_keys, k);
                    }
                }
                None => {
                    map.next_value_seed(Skip {
                        ctx: self.ctx,
                        depth: self.depth + 1,
                    })?;
                    if others.get_or_insert_with(Names::default).seen(k.clone()) {
                        note_duplicate(&mut item.duplicate_keys, k);
                    }
                }
            }
        }
        Ok(item)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        ScalarSeed {
            ctx: self.ctx,
            depth: self.depth,
        }
        .visit_seq(seq)?;
        Ok(BorrowedItem {
            kind: Some(Kind::Array),
            ..BorrowedItem::default()
        })
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(not_object(Kind::Boolean))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(not_object(Kind::Number))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(not_object(Kind::Number))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(not_object(Kind::Number))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(not_object(Kind::String))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(not_object(Kind::Null))
    }
}

fn not_object<'a>(kind: Kind) -> BorrowedItem<'a> {
    BorrowedItem {
        kind: Some(kind),
        ..BorrowedItem::default()
    }
}

/// The value of `inventoryList` (level 2 when an array).
struct ListSeed<'c> {
    ctx: &'c Ctx<'c>,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = List<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = List<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the list of items")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        self.ctx.enter(2)?;
        let hint = seq.size_hint().unwrap_or(self.ctx.items_hint);
        let mut items = Vec::with_capacity(hint.min(ITEMS_HINT_MAX));
        while let Some(it) = seq.next_element_seed(ItemSeed {
            ctx: self.ctx,
            depth: 2,
        })? {
            if items.len() == self.ctx.max_items {
                // Counted while reading: a list past the cap is never held (a body of `{}`
                // items is a third of a million items a MiB, 300 bytes each once read).
                self.ctx.too_many.set(true);
                return Err(de::Error::custom("too many items"));
            }
            items.push(it);
        }
        // The reservation guessed from the body's size can be a quarter too large (items of
        // 80 bytes, not 64): give the rest back (in place, or by mremap for a large list).
        if items.capacity() - items.len() > items.len() / 8 {
            items.shrink_to_fit();
        }
        Ok(List::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Skip {
            ctx: self.ctx,
            depth: 1,
        }
        .visit_map(map)?;
        Ok(List::Other(Kind::Object))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(List::Other(Kind::Boolean))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(List::Other(Kind::Number))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(List::Other(Kind::Number))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(List::Other(Kind::Number))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(List::Other(Kind::String))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(List::Other(Kind::Null))
    }
}

/// The whole document (level 1).
struct TopSeed<'c> {
    ctx: &'c Ctx<'c>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = BorrowedRequest<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

fn top<'a>(kind: Kind) -> BorrowedRequest<'a> {
    BorrowedRequest {
        kind,
        list: None,
        duplicate_keys: Vec::new(),
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = BorrowedRequest<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        self.ctx.enter(1)?;
        let mut r = top(Kind::Object);
        let mut others: Option<Names<'de>> = None;
        while let Some(k) = map.next_key_seed(KeySeed)? {
            if k == self.ctx.rules.members.list {
                let l = map.next_value_seed(ListSeed { ctx: self.ctx })?;
                if r.list.replace(l).is_some() {
                    note_duplicate(&mut r.duplicate_keys, k);
                }
            } else {
                map.next_value_seed(Skip {
                    ctx: self.ctx,
                    depth: 1,
                })?;
                if others.get_or_insert_with(Names::default).seen(k.clone()) {
                    note_duplicate(&mut r.duplicate_keys, k);
                }
            }
        }
        Ok(r)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skip {
            ctx: self.ctx,
            depth: 0,
        }
        .visit_seq(seq)?;
        Ok(top(Kind::Array))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(top(Kind::Boolean))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(top(Kind::Number))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(top(Kind::Number))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(top(Kind::Number))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(top(Kind::String))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(top(Kind::Null))
    }
}

/// Why the request schema could not be compiled into [`RequestRules`]: a keyword the typed
/// rules do not implement (a build defect for built-in calls, caught by this crate's tests).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the request schema of `{call}` (profile {profile}) uses {what}, which the typed rules do not implement"
)]
pub struct Unsupported {
    call: String,
    profile: Profile,
    what: String,
}

/// A JSON Schema type the item fields use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    String,
    Integer,
    Number,
}

impl Type {
    fn name(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Integer => "integer",
            Type::Number => "number",
        }
    }
}

/// The rules of one item field, from its schema.
#[derive(Debug, Clone)]
struct FieldRule {
    field: Field,
    name: String,
    ty: Option<Type>,
    min_length: Option<u64>,
    minimum: Option<(f64, Value)>,
    maximum: Option<(f64, Value)>,
    pattern: Option<(regex::Regex, String)>,
    /// `enum` (or `const`, as a one-value list): the values allowed.
    allowed: Option<Vec<Value>>,
}

/// The request schema of an update call, compiled for [`BorrowedRequest`]s: how the body is
/// read ([`RequestRules::parse`]) and checked.
#[derive(Debug, Clone)]
pub struct RequestRules {
    profile: Profile,
    members: UpdateMembers,
    others: Vec<String>,
    list_required: bool,
    min_items: Option<u64>,
    fields: Vec<FieldRule>,
    required: Vec<(Field, String)>,
}

const ANNOTATIONS: [&str; 6] = [
    "description",
    "$comment",
    "examples",
    "title",
    "$schema",
    "default",
];

impl RequestRules {
    /// Compiles the committed `/updateInventory` request schema of `profile`.
    pub fn compile(profile: Profile) -> Result<RequestRules, Unsupported> {
        RequestRules::for_call(contract(profile).inventory())
    }

    /// Compiles the request schema of an update call.
    pub fn for_call(call: &Call) -> Result<RequestRules, Unsupported> {
        let profile = call.profile();
        let unsupported = |what: String| Unsupported {
            call: call.id().to_string(),
            profile,
            what,
        };
        let members = *call
            .update()
            .ok_or_else(|| unsupported("a shape other than an update".into()))?;
        let list_name = members.list;
        let req = call
            .schema(Part::Request)
            .ok_or_else(|| unsupported("no request schema".into()))?;
        let known = |obj: &Value, allowed: &[&str], at: &str| -> Result<(), Unsupported> {
            if let Some(m) = obj.as_object() {
                for k in m.keys() {
                    if !allowed.contains(&k.as_str())
                        && !ANNOTATIONS.contains(&k.as_str())
                        && !k.starts_with("x-")
                        && k != "$id"
                    {
                        return Err(unsupported(format!("`{k}` at {at}")));
                    }
                }
            }
            Ok(())
        };
        known(req, &["type", "properties", "required"], "the document")?;
        if req.get("type").and_then(Value::as_str) != Some("object") {
            return Err(unsupported("a document type other than object".into()));
        }
        let props = req
            .get("properties")
            .and_then(Value::as_object)
            .ok_or_else(|| unsupported("no properties".into()))?;
        if props.keys().any(|k| k != list_name) {
            return Err(unsupported("members other than the list".into()));
        }
        let list_required = req
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|n| n.as_str() == Some(list_name)));
        let list = props
            .get(list_name)
            .ok_or_else(|| unsupported("no list".into()))?;
        known(list, &["type", "items", "minItems"], "the list")?;
        if list.get("type").and_then(Value::as_str) != Some("array") {
            return Err(unsupported("a list that is not an array".into()));
        }
        let min_items = list.get("minItems").and_then(Value::as_u64);
        let item = call
            .item_schema()
            .ok_or_else(|| unsupported("no item schema".into()))?;
        known(item, &["type", "properties", "required"], "the item")?;
        if item.get("type").and_then(Value::as_str) != Some("object") {
            return Err(unsupported("an item that is not an object".into()));
        }
        let mut others: Vec<String> = Vec::new();
        let role = |name: &str, others: &mut Vec<String>| -> Result<Field, Unsupported> {
            Ok(if name == members.product_id {
                Field::ProductId
            } else if name == members.variant_id {
                Field::VariantId
            } else if name == members.value {
                Field::Value
            } else if members.place == Some(name) {
                Field::Place
            } else {
                let i = match others.iter().position(|o| o == name) {
                    Some(i) => i,
                    None => {
                        others.push(name.to_string());
                        others.len() - 1
                    }
                };
                Field::Other(
                    u8::try_from(i)
                        .map_err(|_| unsupported("more than 255 item members".into()))?,
                )
            })
        };
        let mut fields = Vec::new();
        for (name, s) in item
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let field = role(name, &mut others)?;
            known(
                s,
                &[
                    "type",
                    "minLength",
                    "minimum",
                    "maximum",
                    "pattern",
                    "enum",
                    "const",
                ],
                name,
            )?;
            let ty = match s.get("type").and_then(Value::as_str) {
                None => None,
                Some("string") => Some(Type::String),
                Some("integer") => Some(Type::Integer),
                Some("number") => Some(Type::Number),
                Some(t) => return Err(unsupported(format!("type `{t}` for `{name}`"))),
            };
            let pattern = match s.get("pattern").and_then(Value::as_str) {
                None => None,
                Some(p) => Some((
                    regex::Regex::new(p)
                        .map_err(|e| unsupported(format!("pattern of `{name}` ({e})")))?,
                    p.to_string(),
                )),
            };
            fields.push(FieldRule {
                field,
                name: name.clone(),
                ty,
                min_length: s.get("minLength").and_then(Value::as_u64),
                minimum: bound(s, "minimum"),
                maximum: bound(s, "maximum"),
                pattern,
                allowed: match (s.get("enum"), s.get("const")) {
                    (Some(Value::Array(e)), _) => Some(e.clone()),
                    (None, Some(c)) => Some(vec![c.clone()]),
                    (None, None) => None,
                    (Some(_), _) => {
                        return Err(unsupported(format!(
                            "an `enum` of `{name}` that is not a list"
                        )));
                    }
                },
            });
        }
        let mut required = Vec::new();
        for n in item
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = n.as_str().unwrap_or_default();
            required.push((role(name, &mut others)?, name.to_string()));
        }
        Ok(RequestRules {
            profile,
            members,
            others,
            list_required,
            min_items,
            fields,
            required,
        })
    }

    /// The profile the rules belong to.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The members of the call the rules read.
    pub fn members(&self) -> &UpdateMembers {
        &self.members
    }

    /// The item members the schema names besides the call's own (ids, value, place), in the
    /// order [`Field::Other`] numbers them.
    pub fn others(&self) -> &[String] {
        &self.others
    }

    /// The name of a field.
    pub fn name(&self, f: Field) -> &str {
        match f {
            Field::ProductId => self.members.product_id,
            Field::VariantId => self.members.variant_id,
            Field::Value => self.members.value,
            Field::Place => self.members.place.unwrap_or_default(),
            Field::Other(i) => self.others.get(usize::from(i)).map_or("", String::as_str),
        }
    }

    /// Reads a request body in one pass. Every JSON document gives a [`BorrowedRequest`];
    /// `max_depth` bounds the nesting of arrays and objects (the document itself is level 1;
    /// the items are level 3).
    pub fn parse<'b>(
        &self,
        body: &'b [u8],
        max_depth: usize,
    ) -> Result<BorrowedRequest<'b>, ParseError> {
        self.parse_capped(body, max_depth, usize::MAX)
    }

    /// [`RequestRules::parse`] that stops with [`ParseError::TooManyItems`] at the first item
    /// past `max_items`, holding at most that many.
    pub fn parse_capped<'b>(
        &self,
        body: &'b [u8],
        max_depth: usize,
        max_items: usize,
    ) -> Result<BorrowedRequest<'b>, ParseError> {
        let ctx = Ctx {
            max_depth,
            too_deep: Cell::new(false),
            max_items,
            too_many: Cell::new(false),
            // Items are rarely shorter than 64 bytes: reserving for that many up front (within
            // a bound) saves growing the list by doubling, which copied more than the body's
            // size.
            items_hint: (body.len() / 64).min(ITEMS_HINT_MAX).min(max_items),
            rules: self,
        };
        let mut de = serde_json::Deserializer::from_slice(body);
        let r = (TopSeed { ctx: &ctx })
            .deserialize(&mut de)
            .and_then(|r| de.end().map(|_| r));
        match r {
            Ok(r) => Ok(r),
            Err(_) if ctx.too_deep.get() => Err(ParseError::TooDeep { max: max_depth }),
            Err(_) if ctx.too_many.get() => Err(ParseError::TooManyItems { max: max_items }),
            Err(e) => Err(ParseError::Syntax(e)),
        }
    }

    /// Every way the request breaks the schema outside its items (sorted like
    /// [`crate::Contract::validate_envelope`]).
    pub fn check_envelope(&self, r: &BorrowedRequest<'_>) -> Vec<SchemaViolation> {
        let mut out = Vec::new();
        if r.kind != Kind::Object {
            out.push(sv(
                "",
                "type",
                format!("{} is not of type \"object\"", kind_text(r.kind)),
            ));
            return out;
        }
        let list = self.members.list;
        match &r.list {
            None if self.list_required => out.push(sv(
                "",
                "required",
                format!("\"{list}\" is a required property"),
            )),
            None => {}
            Some(List::Other(k)) => out.push(sv(
                &format!("/{list}"),
                "type",
                format!("{} is not of type \"array\"", kind_text(*k)),
            )),
            Some(List::Array(items)) => {
                if let Some(min) = self.min_items
                    && (items.len() as u64) < min
                {
                    out.push(sv(
                        &format!("/{list}"),
                        "minItems",
                        format!("the list has {} item(s), fewer than {min}", items.len()),
                    ));
                }
            }
        }
        out
    }

    /// Whether one item meets the item schema (no allocation).
    pub fn item_is_valid(&self, item: &BorrowedItem<'_>) -> bool {
        if !item.is_object() {
            return false;
        }
        self.required.iter().all(|(f, _)| item.get(*f).is_some())
            && self.fields.iter().all(|r| match item.get(r.field) {
                None => true,
                Some(v) => field_ok(r, v),
            })
    }

    /// Every way one item breaks the item schema, with pointers into the whole request
    /// (`/inventoryList/{index}/…`), sorted like [`crate::Call::validate_item`].
    pub fn check_item(&self, index: usize, item: &BorrowedItem<'_>) -> Vec<SchemaViolation> {
        let at = format!("/{}/{index}", self.members.list);
        let mut out = Vec::new();
        if !item.is_object() {
            out.push(sv(
                &at,
                "type",
                format!(
                    "{} is not of type \"object\"",
                    kind_text(item.kind.unwrap_or(Kind::Null))
                ),
            ));
            return out;
        }
        for (f, name) in &self.required {
            if item.get(*f).is_none() {
                out.push(sv(
                    &at,
                    "required",
                    format!("\"{name}\" is a required property"),
                ));
            }
        }
        for r in &self.fields {
            let Some(v) = item.get(r.field) else { continue };
            let p = format!("{at}/{}", crate::exchange::pointer::escape(&r.name));
            if let Some(t) = r.ty
                && !type_ok(t, v)
            {
                out.push(sv(
                    &p,
                    "type",
                    format!("{v} is not of type \"{}\"", t.name()),
                ));
            }
            if let Some(x) = number(v) {
                if let Some((m, text)) = &r.minimum
                    && x < *m
                {
                    out.push(sv(
                        &p,
                        "minimum",
                        format!("{v} is less than the minimum of {text}"),
                    ));
                }
                if let Some((m, text)) = &r.maximum
                    && x > *m
                {
                    out.push(sv(
                        &p,
                        "maximum",
                        format!("{v} is greater than the maximum of {text}"),
                    ));
                }
            }
            if let Scalar::Str(s) = v {
                if let Some(n) = r.min_length
                    && (s.chars().count() as u64) < n
                {
                    out.push(sv(
                        &p,
                        "minLength",
                        format!(
                            "{v} is shorter than {n} character{}",
                            if n == 1 { "" } else { "s" }
                        ),
                    ));
                }
                if let Some((re, text)) = &r.pattern
                    && !re.is_match(s)
                {
                    out.push(sv(&p, "pattern", format!("{v} does not match \"{text}\"")));
                }
            }
            if let Some(allowed) = &r.allowed
                && !allowed_ok(allowed, v)
            {
                let (keyword, message) = match allowed.as_slice() {
                    [one] => ("const", format!("{one} was expected")),
                    _ => (
                        "enum",
                        format!("{v} is not one of {}", Value::Array(allowed.clone())),
                    ),
                };
                out.push(sv(&p, keyword, message));
            }
        }
        out.sort_by(|a, b| a.pointer.cmp(&b.pointer).then(a.keyword.cmp(&b.keyword)));
        out.dedup();
        out
    }
}

fn bound(s: &Value, keyword: &str) -> Option<(f64, Value)> {
    let v = s.get(keyword)?;
    Some((v.as_f64()?, v.clone()))
}

fn sv(pointer: &str, keyword: &str, message: String) -> SchemaViolation {
    SchemaViolation {
        pointer: pointer.to_string(),
        keyword: keyword.to_string(),
        message,
    }
}

fn kind_text(k: Kind) -> &'static str {
    match k {
        Kind::Null => "null",
        Kind::Boolean => "a boolean",
        Kind::Number => "a number",
        Kind::String => "a string",
        Kind::Array => "an array",
        Kind::Object => "an object",
    }
}

/// A number's value for the bounds (exact for the integers the bounds can tell apart).
fn number(v: &Scalar<'_>) -> Option<f64> {
    match v {
        Scalar::UInt(n) => Some(*n as f64),
        Scalar::Int(n) => Some(*n as f64),
        Scalar::Float(x) => Some(*x),
        _ => None,
    }
}

fn type_ok(t: Type, v: &Scalar<'_>) -> bool {
    match (t, v) {
        (Type::String, Scalar::Str(_)) => true,
        (Type::Integer, Scalar::UInt(_) | Scalar::Int(_)) => true,
        (Type::Integer, Scalar::Float(x)) => x.fract() == 0.0,
        (Type::Number, Scalar::UInt(_) | Scalar::Int(_) | Scalar::Float(_)) => true,
        _ => false,
    }
}

/// Whether `v` is one of `allowed` (JSON equality; containers never are).
fn allowed_ok(allowed: &[Value], v: &Scalar<'_>) -> bool {
    allowed.iter().any(|a| match (a, v) {
        (Value::String(a), Scalar::Str(s)) => a == s.as_ref(),
        (Value::Number(_), Scalar::UInt(_) | Scalar::Int(_) | Scalar::Float(_)) => {
            a.as_f64() == number(v)
        }
        (Value::Bool(a), Scalar::Bool(b)) => a == b,
        (Value::Null, Scalar::Null) => true,
        _ => false,
    })
}

fn field_ok(r: &FieldRule, v: &Scalar<'_>) -> bool {
    if let Some(allowed) = &r.allowed
        && !allowed_ok(allowed, v)
    {
        return false;
    }
    if let Some(t) = r.ty
        && !type_ok(t, v)
    {
        return false;
    }
    if let Some(x) = number(v)
        && (r.minimum.as_ref().is_some_and(|(m, _)| x < *m)
            || r.maximum.as_ref().is_some_and(|(m, _)| x > *m))
    {
        return false;
    }
    if let Scalar::Str(s) = v {
        // A char takes at most 4 bytes: only short strings need counting.
        if let Some(n) = r.min_length
            && (s.len() as u64) < n.saturating_mul(4)
            && (s.chars().count() as u64) < n
        {
            return false;
        }
        if let Some((re, _)) = &r.pattern
            && !re.is_match(s)
        {
            return false;
        }
    }
    true
}

/// The compiled request rules of `profile`, built on first use and shared afterwards.
pub fn request_rules(profile: Profile) -> &'static RequestRules {
    static V1: OnceLock<RequestRules> = OnceLock::new();
    static V2: OnceLock<RequestRules> = OnceLock::new();
    let cell = match profile {
        Profile::V1 => &V1,
        Profile::V2 => &V2,
    };
    cell.get_or_init(|| match RequestRules::compile(profile) {
        Ok(r) => r,
        // The schemas are compiled into the binary and this crate's tests compile the rules
        // of every profile: a failure here is a build defect, not bad input.
        Err(e) => panic!("{e}"),
    })
}

/// One entry of an update's list of failed items, borrowed, for writing a response without
/// owning every id and message (`M` is rendered with `Display` while serializing). The member
/// names are the call's.
#[derive(Debug, Clone)]
pub struct FailedRef<'a, M: fmt::Display> {
    /// The call's members (`productId`, `variantId`, `message`).
    pub members: &'a UpdateMembers,
    /// Product ID as sent.
    pub product_id: &'a str,
    /// Variant ID as sent.
    pub variant_id: &'a str,
    /// Why it failed.
    pub message: M,
}

impl<M: fmt::Display> Serialize for FailedRef<'_, M> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry(self.members.product_id, self.product_id)?;
        m.serialize_entry(self.members.variant_id, self.variant_id)?;
        m.serialize_entry(self.members.message, &Shown(&self.message))?;
        m.end()
    }
}

/// Serializes a `Display` value as a string, without collecting it first.
struct Shown<'m, M: fmt::Display>(&'m M);

impl<M: fmt::Display> Serialize for Shown<'_, M> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

/// The body of a processed update request, borrowed (the wire form of
/// [`crate::InventoryResponse`], with the call's member names); `L` serializes as the list of
/// failed entries (a slice of [`FailedRef`], or a type that writes them one by one without
/// collecting them).
#[derive(Debug, Clone)]
pub struct ResponseRef<'a, L: Serialize> {
    /// The call's members (`status`, `failedProductList`).
    pub members: &'a UpdateMembers,
    /// Outcome.
    pub status: Status,
    /// The failed entries.
    pub failed_product_list: L,
}

impl<L: Serialize> Serialize for ResponseRef<'_, L> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry(self.members.status, &self.status)?;
        m.serialize_entry(self.members.failures, &self.failed_product_list)?;
        m.end()
    }
}

impl<'a, L: Serialize> ResponseRef<'a, L> {
    /// The response when `failed` lists one entry per failed key and `failed_items` of the
    /// `sent_items` items sent belong to a failed key (a key fails as a whole): the status
    /// follows from how many distinct keys failed, as [`Status::for_outcome`] says.
    pub fn for_outcome(
        members: &'a UpdateMembers,
        sent_items: usize,
        failed_items: usize,
        failed: L,
    ) -> Self {
        ResponseRef {
            members,
            status: Status::for_outcome(sent_items, failed_items),
            failed_product_list: failed,
        }
    }
}

/// Member names of the exchange that carry a credential (a password, an issued token, an
/// `apiKey`): what a journal or a log must never show in clear.
pub const CREDENTIAL_MEMBERS: [&str; 4] = ["password", "accessToken", "apiKey", "token"];

/// Whether a JSON member or header name carries a credential (case-insensitive).
pub fn is_credential_name(name: &str) -> bool {
    CREDENTIAL_MEMBERS
        .iter()
        .any(|c| c.eq_ignore_ascii_case(name))
        || name.eq_ignore_ascii_case("authorization")
        || name.eq_ignore_ascii_case("proxy-authorization")
        || name.eq_ignore_ascii_case("cookie")
        || name.eq_ignore_ascii_case("set-cookie")
        || name.eq_ignore_ascii_case("x-api-key")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn a_list_past_the_item_cap_stops_the_reading_holding_at_most_the_cap() {
        let rules = request_rules(Profile::V1);
        let body = |n: usize| format!("{{\"inventoryList\":[{}]}}", vec!["{}"; n].join(","));
        let at_cap = body(1_000);
        let r = rules.parse_capped(at_cap.as_bytes(), 64, 1_000).unwrap();
        assert_eq!(r.items().map(<[_]>::len), Some(1_000));
        let past = body(100_000);
        assert!(matches!(
            rules.parse_capped(past.as_bytes(), 64, 1_000),
            Err(ParseError::TooManyItems { max: 1_000 })
        ));
        // Uncapped, the same list is read whole.
        let r = rules.parse(past.as_bytes(), 64).unwrap();
        assert_eq!(r.items().map(<[_]>::len), Some(100_000));
    }

    fn pk(v: &[SchemaViolation]) -> BTreeSet<(String, String)> {
        v.iter()
            .map(|x| (x.pointer.clone(), x.keyword.clone()))
            .collect()
    }

    /// The typed reading of `doc`: envelope violations, then item violations when the
    /// envelope holds an array.
    fn typed(profile: Profile, doc: &Value) -> BTreeSet<(String, String)> {
        let bytes = serde_json::to_vec(doc).unwrap();
        let r = parse_request(&bytes, 64).unwrap();
        let rules = request_rules(profile);
        let mut v = rules.check_envelope(&r);
        if r.kind == Kind::Object
            && let Some(items) = r.items()
        {
            for (i, it) in items.iter().enumerate() {
                let c = rules.check_item(i, it);
                assert_eq!(c.is_empty(), rules.item_is_valid(it), "{doc}");
                v.extend(c);
            }
        }
        pk(&v)
    }

    #[test]
    fn rules_compile_for_every_profile() {
        for p in Profile::ALL {
            RequestRules::compile(p).unwrap();
        }
    }

    #[test]
    fn duplicate_names_are_recorded_and_the_last_value_is_kept() {
        let body = br#"{"inventoryList":[{"productId":"P","variantId":"V","inventory":1,"inventory":99,"x":1,"x":2}],"a":1,"a":2}"#;
        let r = parse_request(body, 64).unwrap();
        assert_eq!(r.duplicate_keys, ["a"]);
        let it = &r.items().unwrap()[0];
        assert_eq!(it.duplicate_keys, ["inventory", "x"]);
        assert_eq!(it.count(), Some(99));
        let body = br#"{"inventoryList":[],"inventoryList":[{}]}"#;
        assert_eq!(parse_request(body, 64).unwrap().duplicate_keys, [LIST]);
    }

    #[test]
    fn many_unknown_members_still_find_repeats() {
        let mut m = String::from("{");
        for i in 0..100 {
            m.push_str(&format!("\"k{i}\":1,"));
        }
        m.push_str("\"k7\":2}");
        let body = format!("{{\"inventoryList\":[{m}]}}");
        let r = parse_request(body.as_bytes(), 64).unwrap();
        assert_eq!(r.items().unwrap()[0].duplicate_keys, ["k7"]);
    }

    #[test]
    fn nesting_beyond_the_budget_is_refused_and_escapes_are_read() {
        let deep = format!(
            "{{\"inventoryList\":[{{\"x\":{}1{}}}]}}",
            "[".repeat(10),
            "]".repeat(10)
        );
        assert!(matches!(
            parse_request(deep.as_bytes(), 8),
            Err(ParseError::TooDeep { max: 8 })
        ));
        assert!(parse_request(deep.as_bytes(), 13).is_ok());
        assert!(parse_request(deep.as_bytes(), 12).is_err());
        assert!(matches!(
            parse_request(b"{\"a\":", 8),
            Err(ParseError::Syntax(_))
        ));
        let r = parse_request(br#"{"inventoryList":[{"product\u0049d":"A\"B"}]}"#, 8).unwrap();
        assert_eq!(r.items().unwrap()[0].product(), Some("A\"B"));
    }

    #[test]
    fn messages_read_like_the_schema_validator() {
        let r = parse_request(
            br#"{"inventoryList":[{"productId":"","inventory":-5}]}"#,
            64,
        )
        .unwrap();
        let v = request_rules(Profile::V1).check_item(0, &r.items().unwrap()[0]);
        let text: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "/inventoryList/0: [required] \"variantId\" is a required property",
                "/inventoryList/0/inventory: [minimum] -5 is less than the minimum of 0",
                "/inventoryList/0/productId: [minLength] \"\" is shorter than 1 character",
            ]
        );
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            prop_oneof![-3i64..3, 2147483640i64..2147483656, any::<i64>()].prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            prop_oneof![
                Just(1.0f64),
                Just(-0.0),
                Just(2.5),
                Just(-1.5),
                Just(2147483647.0),
                Just(2147483648.0),
                Just(1e300)
            ]
            .prop_map(Value::from),
            "[0-9]{0,11}|[-+ 0-9a-z.]{0,5}|\\PC{0,3}".prop_map(Value::from),
            Just(json!([])),
            Just(json!([1, {"a": []}])),
            Just(json!({"k": "v"})),
        ]
    }

    fn item() -> impl Strategy<Value = Value> {
        let names = prop_oneof![
            Just("productId".to_string()),
            Just("variantId".to_string()),
            Just("inventory".to_string()),
            Just("hsnCode".to_string()),
            Just("facilityCode".to_string()),
            "[a-z]{1,3}",
        ];
        prop_oneof![
            8 => proptest::collection::vec((names, scalar()), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().collect())
            }),
            1 => scalar(),
        ]
    }

    fn document() -> impl Strategy<Value = Value> {
        prop_oneof![
            8 => (proptest::collection::vec(item(), 0..4), proptest::option::of(scalar()))
                .prop_map(|(items, other)| {
                    let mut m = serde_json::Map::new();
                    m.insert(LIST.into(), Value::Array(items));
                    if let Some(o) = other {
                        m.insert("meta".into(), o);
                    }
                    Value::Object(m)
                }),
            1 => scalar().prop_map(|v| json!({ LIST: v })),
            1 => scalar(),
            1 => Just(json!({"other": 1})),
        ]
    }

    proptest! {
        /// The typed rules and the JSON Schema find the same problems (pointer and keyword) in
        /// every document, for every profile.
        #[test]
        fn typed_rules_agree_with_the_schema(doc in document()) {
            for p in Profile::ALL {
                let want = pk(&contract(p).validate_request(&doc));
                prop_assert_eq!(typed(p, &doc), want, "profile {} document {}", p, doc);
            }
        }

        /// The typed count agrees with the model's reading of `inventory`.
        #[test]
        fn typed_count_agrees_with_the_model(v in scalar()) {
            let doc = json!({LIST: [{"inventory": v}]});
            let bytes = serde_json::to_vec(&doc).unwrap();
            let r = parse_request(&bytes, 64).unwrap();
            let it = &r.items().unwrap()[0];
            let model = serde_json::from_value::<Inventory>(doc[LIST][0]["inventory"].clone())
                .ok()
                .and_then(|i| i.count());
            prop_assert_eq!(it.count(), model);
        }
    }
}
