//! The catalog format shared by the mock marketplace and the conformance runner: which items
//! exist (for a seller), and the stock each should hold.
//!
//! Two spellings of one format: a JSON array of objects with `productId`, `variantId` and
//! optional `stock` and `seller`, or CSV with a header row of the same names. Its JSON Schema is
//! published as `schemas/catalog.schema.json`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::model::ItemKey;

/// One item of a catalog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
}

impl CatalogEntry {
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
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

const FIELDS: [&str; 4] = ["productId", "variantId", "stock", "seller"];

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
    /// Reads one entry from JSON, `{"productId", "variantId", "stock"?, "seller"?}` (what
    /// `stockwire conform --item` takes). Errors point into the entry.
    pub fn from_json_value(value: &Value) -> Result<CatalogEntry, EntryError> {
        let err = |at: String, message: String| EntryError { at, message };
        let Value::Object(map) = value else {
            return Err(err(
                String::new(),
                format!(
                    "each entry must be an object {{productId, variantId, stock?, seller?}}, got {}",
                    kind(value)
                ),
            ));
        };
        if let Some(k) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(err(
                format!("/{}", pointer_token(k)),
                format!("unknown field (known: {})", FIELDS.join(", ")),
            ));
        }
        let text_field = |name: &str, required: bool| -> Result<Option<String>, EntryError> {
            match map.get(name) {
                None | Some(Value::Null) if !required => Ok(None),
                None | Some(Value::Null) => {
                    Err(err(String::new(), format!("`{name}` is required")))
                }
                Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
                Some(_) => Err(err(format!("/{name}"), "must be a non-empty string".into())),
            }
        };
        let stock = match map.get("stock") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|&n| n <= i32::MAX as u32)
                    .ok_or_else(|| {
                        err(
                            "/stock".into(),
                            format!("must be an integer from 0 to 2147483647, got {v}"),
                        )
                    })?,
            ),
        };
        Ok(CatalogEntry {
            product_id: text_field("productId", true)?.unwrap_or_default(),
            variant_id: text_field("variantId", true)?.unwrap_or_default(),
            stock,
            seller: text_field("seller", false)?,
        })
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
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        let is_csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if is_csv {
            Catalog::from_csv(path, &text)
        } else {
            Catalog::from_json(path, &text)
        }
    }

    /// Parses the JSON spelling; `file` only names it in errors.
    pub fn from_json(file: &Path, text: &str) -> Result<Catalog, CatalogError> {
        let value: Value = serde_json::from_str(text).map_err(|e| CatalogError::Syntax {
            file: file.to_path_buf(),
            line: e.line(),
            message: format!(
                "not valid JSON: {}",
                crate::error::strip_position(&e.to_string())
            ),
        })?;
        let entry_err = |at: String, message: String| CatalogError::Entry {
            file: file.to_path_buf(),
            at,
            message,
        };
        let Value::Array(items) = value else {
            return Err(entry_err(
                "(document)".into(),
                "a catalog is a JSON array of {productId, variantId, stock?, seller?}".into(),
            ));
        };
        let mut entries = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let entry = CatalogEntry::from_json_value(item)
                .map_err(|e| entry_err(format!("/{i}{}", e.at), e.message))?;
            entries.push(entry);
        }
        let c = Catalog { entries };
        c.check_unique(file, |i| format!("/{i}"))?;
        Ok(c)
    }

    /// Parses the CSV spelling (header row `productId,variantId[,stock][,seller]`).
    pub fn from_csv(file: &Path, text: &str) -> Result<Catalog, CatalogError> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(false)
            .from_reader(text.as_bytes());
        let syntax = |e: csv::Error| CatalogError::Syntax {
            file: file.to_path_buf(),
            line: e.position().map_or(1, |p| p.line() as usize),
            message: format!("not valid CSV: {e}"),
        };
        let headers = reader.headers().map_err(syntax)?.clone();
        let mut col = [None; 4];
        for (i, h) in headers.iter().enumerate() {
            match FIELDS.iter().position(|f| f.eq_ignore_ascii_case(h)) {
                Some(k) => col[k] = Some(i),
                None => {
                    return Err(CatalogError::Entry {
                        file: file.to_path_buf(),
                        at: "line 1".into(),
                        message: format!("unknown column `{h}` (known: {})", FIELDS.join(", ")),
                    });
                }
            }
        }
        for (k, name) in FIELDS.iter().enumerate().take(2) {
            if col[k].is_none() {
                return Err(CatalogError::Entry {
                    file: file.to_path_buf(),
                    at: "line 1".into(),
                    message: format!("the header row has no `{name}` column"),
                });
            }
        }
        let mut entries = Vec::new();
        let mut lines = Vec::new();
        for record in reader.records() {
            let record = record.map_err(syntax)?;
            let line = record.position().map_or(0, |p| p.line() as usize);
            let cell = |k: usize| col[k].and_then(|c| record.get(c)).unwrap_or("");
            let err = |name: &str, message: String| CatalogError::Entry {
                file: file.to_path_buf(),
                at: format!("line {line}, column {name}"),
                message,
            };
            for (k, name) in FIELDS.iter().enumerate().take(2) {
                if cell(k).is_empty() {
                    return Err(err(name, "must not be empty".into()));
                }
            }
            let stock = match cell(2) {
                "" => None,
                s => Some(
                    s.parse::<u32>()
                        .ok()
                        .filter(|&n| n <= i32::MAX as u32)
                        .ok_or_else(|| {
                            err(
                                "stock",
                                format!("must be an integer from 0 to 2147483647, got `{s}`"),
                            )
                        })?,
                ),
            };
            entries.push(CatalogEntry {
                product_id: cell(0).to_string(),
                variant_id: cell(1).to_string(),
                stock,
                seller: Some(cell(3).to_string()).filter(|s| !s.is_empty()),
            });
            lines.push(line);
        }
        let c = Catalog { entries };
        c.check_unique(file, |i| {
            format!("line {}", lines.get(i).copied().unwrap_or(0))
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
        Ok(())
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
        assert!(c("productId,sku\n").contains("unknown column `sku`"));
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
        ] {
            let doc: Value = serde_json::from_str(text).unwrap();
            let parsed = Catalog::from_json(Path::new("c.json"), text).is_ok();
            assert_eq!(v.is_valid(&doc), parsed, "{text}");
        }
    }
}
