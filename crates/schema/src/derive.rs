//! Turning a page's parameter tables into JSON Schema (draft 2020-12).
//!
//! Every keyword in a derived schema comes from a cell of the page: LEVEL gives nesting (a flat
//! table without LEVEL has only top-level fields), TYPE the JSON type (`-` is a container whose
//! array-or-object shape is read from the page's payload example), MANDATORY `Yes` gives
//! `required`, DESCRIPTION gives `description`, and NOTES give the annotations of the
//! documentation's "Notes for the reader" (`fixtures/spec/FACTS.md`):
//!
//! | NOTES annotation | schema |
//! |---|---|
//! | `Allowable: a, b` | `enum` (values split on commas, typed by TYPE) |
//! | `Default: x` | `default` (must be one of the `Allowable:` values) |
//! | `Eg: x` (`Eg.:`, `Eg.`) | `examples` |
//! | `Fixed: x` | `const` |
//! | `Opt: a, b` | not `required`; the options become the `enum` (or must be among `Allowable:`); the description says "Optional; options: a, b." |
//! | `Rec: x` | listed first in `examples`; the description says "Recommended: x." (not enforced) |
//! | free text | appended to `description` |
//!
//! Several annotations may share a cell in any order, with or without `;`, `.`, `<br>` or line
//! breaks between them ([`split_notes`]). An annotation word the deriver does not know
//! (`Unit: kg`) stays in the description and gives a [`DeriveWarning`].
//!
//! Other shapes the documentation uses: a MANDATORY cell other than Yes/No (`As applied`) is kept
//! as a `$comment` and does not make the field required; a table without a MANDATORY column
//! derives no `required` at all and says so in the schema's `$comment`; TYPE `true`/`false` mean
//! boolean, `list` an array; a field documented as a date (TYPE `date`, `datetime`, `timestamp`,
//! or a description or note naming `yyyy-MM-dd`) is a string with a `pattern` for the
//! documentation's UTC `yyyy-MM-dd'T'HH:mm:ss` ([`DATE_PATTERN`]), because JSON Schema's
//! `date-time` format requires an offset the documentation's dates do not have.
//!
//! What the tables do not say lives in overlays ([`crate::overlay`]), never here.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::error::SpecError;
use crate::page::{Page, ParamRow, ParamTable, Part};

/// The JSON Schema dialect every derived schema declares.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The `pattern` of a documented date: UTC `yyyy-MM-dd'T'HH:mm:ss` without offset or fraction,
/// e.g. `2017-01-02T08:12:53`.
pub const DATE_PATTERN: &str =
    "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$";

/// Something the deriver understood only partly: the schema is still derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeriveWarning {
    /// The page.
    pub file: std::path::PathBuf,
    /// 1-based line of the row.
    pub line: usize,
    /// Column name.
    pub column: String,
    /// The cell's text.
    pub value: String,
    /// What was not understood and what the deriver did instead.
    pub message: String,
}

impl std::fmt::Display for DeriveWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {} cell `{}`: {}",
            self.file.display(),
            self.line,
            self.column,
            self.value,
            self.message
        )
    }
}

/// The schemas derived from one page: one per part the page has a table for.
#[derive(Debug, Clone, PartialEq)]
pub struct DerivedPage {
    /// Front matter id of the page.
    pub id: String,
    /// Front matter title of the page.
    pub title: String,
    /// Endpoint path from "Basic Information", when the page states one.
    pub endpoint: Option<String>,
    /// HTTP methods from "Basic Information".
    pub methods: Vec<String>,
    /// "Usage" from "Basic Information" (`Mandatory`, `Optional`), when the page states it.
    pub usage: Option<String>,
    /// One schema per part, keyed by part.
    pub parts: BTreeMap<Part, Value>,
    /// What the deriver understood only partly (unknown annotation words…).
    pub warnings: Vec<DeriveWarning>,
}

impl DerivedPage {
    /// The schema for `part`, if the page has a table for it.
    pub fn part(&self, part: Part) -> Option<&Value> {
        self.parts.get(&part)
    }

    /// The whole derivation as one JSON document: `{"$comment", "id", "title", "endpoint",
    /// "methods", "usage"?, "request"?, "response"?, "query"?}`.
    pub fn to_document(&self) -> Value {
        let mut doc = Map::new();
        doc.insert(
            "$comment".into(),
            json!(format!(
                "Derived by `stockwire schema derive` from the tables of page `{}`. Do not edit: \
                 regenerate, and put additions in schemas/overlays/.",
                self.id
            )),
        );
        doc.insert("id".into(), json!(self.id));
        doc.insert("title".into(), json!(self.title));
        if let Some(e) = &self.endpoint {
            doc.insert("endpoint".into(), json!(e));
        }
        doc.insert("methods".into(), json!(self.methods));
        if let Some(u) = &self.usage {
            doc.insert("usage".into(), json!(u));
        }
        for (part, schema) in &self.parts {
            doc.insert(part.as_str().into(), schema.clone());
        }
        Value::Object(doc)
    }
}

/// Derives JSON Schema for every parameter table of `page`, and for every part the page shows
/// only by its payload example ([`derive_example`]).
pub fn derive_page(page: &Page) -> Result<DerivedPage, SpecError> {
    let mut parts = BTreeMap::new();
    let mut warnings = Vec::new();
    for table in &page.tables {
        parts.insert(table.part, derive_table(page, table, &mut warnings)?);
    }
    for example in &page.examples {
        parts
            .entry(example.part)
            .or_insert_with(|| derive_example(page, example.part, &example.value));
    }
    Ok(DerivedPage {
        id: page.id.clone(),
        title: page.title.clone(),
        endpoint: page.endpoint().map(str::to_string),
        methods: page.methods(),
        usage: page.info("usage").map(str::to_string),
        parts,
        warnings,
    })
}

/// The schema of a part the page shows only by its payload example (its parameter table is
/// missing): the nesting and the JSON type of each example value, and nothing more. No member
/// is `required` (which are mandatory is unknown), members the example does not show are
/// allowed, and a number is typed `number` (an example cannot tell an integer from a decimal).
/// The schema's `$comment` says so; what the caller's flow needs goes in an overlay.
pub fn derive_example(page: &Page, part: Part, example: &Value) -> Value {
    let mut root = Map::new();
    root.insert("$schema".into(), json!(DIALECT));
    root.insert(
        "$id".into(),
        json!(format!("urn:stockwire:{}:{}", page.id, part)),
    );
    root.insert("title".into(), json!(format!("{}: {}", page.title, part)));
    root.insert(
        "$comment".into(),
        json!(format!(
            "The page has no {part} parameter table, only a {part} payload example: this schema \
             is derived from the example. It states the nesting and the JSON type of each \
             example value and nothing more: no member is required (which are mandatory is \
             unknown), members the example does not show are allowed, and a number is typed \
             `number` (an example cannot tell an integer from a decimal)."
        )),
    );
    if let Value::Object(m) = example_schema(example) {
        root.extend(m);
    }
    root.insert("examples".into(), json!([example]));
    Value::Object(root)
}

/// The type and nesting of one example value.
fn example_schema(v: &Value) -> Value {
    match v {
        Value::Null => json!({}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(_) => json!({"type": "number"}),
        Value::String(_) => json!({"type": "string"}),
        Value::Array(items) => match items.first() {
            Some(first) => json!({"type": "array", "items": example_schema(first)}),
            None => json!({"type": "array"}),
        },
        Value::Object(members) => {
            let props: Map<String, Value> = members
                .iter()
                .map(|(k, v)| (k.clone(), example_schema(v)))
                .collect();
            json!({"type": "object", "properties": props})
        }
    }
}

/// The type words a TYPE cell may hold, and what they become.
const TYPE_WORDS: &str = "string, integer (int, long), number (double, float, decimal), boolean \
                          (bool, true, false), date (datetime, timestamp), object, array (list), \
                          `-` (container), or any of these followed by `[]`";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Date,
    Integer,
    Number,
    Boolean,
    Object,
    Array,
    /// `-`: array of objects or object, as the example shows.
    Container,
    /// `string[]` and friends.
    ArrayOf(Scalar),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    String,
    Integer,
    Number,
    Boolean,
    /// A string holding a UTC `yyyy-MM-dd'T'HH:mm:ss` date.
    Date,
}

impl Scalar {
    fn json_type(self) -> &'static str {
        match self {
            Scalar::String | Scalar::Date => "string",
            Scalar::Integer => "integer",
            Scalar::Number => "number",
            Scalar::Boolean => "boolean",
        }
    }
}

fn scalar_word(word: &str) -> Option<Scalar> {
    Some(match word {
        "string" | "str" | "text" => Scalar::String,
        "integer" | "int" | "long" => Scalar::Integer,
        "number" | "double" | "float" | "decimal" => Scalar::Number,
        // The documentation writes `true` (or `false`) where it means a boolean.
        "boolean" | "bool" | "true" | "false" => Scalar::Boolean,
        "date" | "datetime" | "date-time" | "timestamp" => Scalar::Date,
        _ => return None,
    })
}

fn parse_kind(cell: &str) -> Option<Kind> {
    let w = clean(cell).to_ascii_lowercase();
    if w == "-" || w.is_empty() {
        return Some(Kind::Container);
    }
    if let Some(inner) = w.strip_suffix("[]") {
        return scalar_word(inner.trim()).map(Kind::ArrayOf);
    }
    Some(match w.as_str() {
        "object" => Kind::Object,
        "array" | "list" => Kind::Array,
        other => match scalar_word(other)? {
            Scalar::String => Kind::String,
            Scalar::Date => Kind::Date,
            Scalar::Integer => Kind::Integer,
            Scalar::Number => Kind::Number,
            Scalar::Boolean => Kind::Boolean,
        },
    })
}

/// Strips markdown emphasis and code marks around a cell's text.
fn clean(cell: &str) -> &str {
    cell.trim().trim_matches('`').trim_matches('*').trim()
}

fn is_dash(cell: &str) -> bool {
    let c = clean(cell);
    c.is_empty() || c == "-"
}

struct Node<'a> {
    row: &'a ParamRow,
    kind: Kind,
    path: Vec<String>,
    children: Vec<usize>,
    notes: Notes,
}

fn cell_err(page: &Page, row: &ParamRow, column: &str, message: impl Into<String>) -> SpecError {
    SpecError::Cell {
        file: page.file.clone(),
        line: row.line,
        column: column.to_string(),
        value: row_cell(row, column).to_string(),
        message: message.into(),
    }
}

fn row_cell<'r>(row: &'r ParamRow, column: &str) -> &'r str {
    match column {
        "LEVEL" => &row.level,
        "PARAMETER" => &row.name,
        "TYPE" => &row.ty,
        "DESCRIPTION" => &row.description,
        "MANDATORY" => &row.mandatory,
        _ => &row.notes,
    }
}

fn derive_table(
    page: &Page,
    table: &ParamTable,
    warnings: &mut Vec<DeriveWarning>,
) -> Result<Value, SpecError> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut by_level: BTreeMap<Vec<u32>, usize> = BTreeMap::new();
    let mut roots: Vec<usize> = Vec::new();
    for row in &table.rows {
        let level: Vec<u32> = clean(&row.level)
            .split('.')
            .map(|p| p.parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| {
                cell_err(
                    page,
                    row,
                    "LEVEL",
                    "LEVEL must be numbers joined by dots, like 1 or 2.1",
                )
            })?;
        if by_level.contains_key(&level) {
            return Err(cell_err(
                page,
                row,
                "LEVEL",
                "this LEVEL is used by an earlier row",
            ));
        }
        let name = clean(&row.name).to_string();
        if name.is_empty() || name == "-" || name.chars().any(char::is_whitespace) {
            return Err(cell_err(
                page,
                row,
                "PARAMETER",
                "PARAMETER must be a field name without spaces",
            ));
        }
        let kind = parse_kind(&row.ty).ok_or_else(|| {
            cell_err(
                page,
                row,
                "TYPE",
                format!("unknown TYPE word (known: {TYPE_WORDS})"),
            )
        })?;
        let index = nodes.len();
        let path = if level.len() == 1 {
            roots.push(index);
            vec![name.clone()]
        } else {
            let parent_level = &level[..level.len() - 1];
            let Some(&parent) = by_level.get(parent_level) else {
                let parent_text: Vec<String> = parent_level.iter().map(u32::to_string).collect();
                return Err(cell_err(
                    page,
                    row,
                    "LEVEL",
                    format!(
                        "no earlier row has LEVEL {} to hold this field",
                        parent_text.join(".")
                    ),
                ));
            };
            if !matches!(
                nodes[parent].kind,
                Kind::Container | Kind::Object | Kind::Array
            ) {
                return Err(cell_err(
                    page,
                    row,
                    "LEVEL",
                    format!(
                        "its parent `{}` (line {}) has TYPE `{}`, which cannot hold fields",
                        clean(&nodes[parent].row.name),
                        nodes[parent].row.line,
                        clean(&nodes[parent].row.ty)
                    ),
                ));
            }
            nodes[parent].children.push(index);
            let mut p = nodes[parent].path.clone();
            p.push(name.clone());
            p
        };
        let siblings = if level.len() == 1 {
            &roots[..roots.len() - 1]
        } else {
            let parent = by_level[&level[..level.len() - 1]];
            let c = &nodes[parent].children;
            &c[..c.len() - 1]
        };
        if siblings.iter().any(|&s| clean(&nodes[s].row.name) == name) {
            return Err(cell_err(
                page,
                row,
                "PARAMETER",
                "a field of this name is already defined at this level",
            ));
        }
        by_level.insert(level, index);
        let notes = split_notes(&row.notes);
        for word in &notes.unknown {
            warnings.push(DeriveWarning {
                file: page.file.clone(),
                line: row.line,
                column: "NOTES".into(),
                value: row.notes.clone(),
                message: format!(
                    "unknown annotation word `{word}:` (known: {KNOWN_WORDS}); the text is kept \
                     in the description"
                ),
            });
        }
        nodes.push(Node {
            row,
            kind,
            path,
            children: Vec::new(),
            notes,
        });
    }

    let example = page.example(table.part).map(|e| &e.value);
    let mut root = Map::new();
    root.insert("$schema".into(), json!(DIALECT));
    root.insert(
        "$id".into(),
        json!(format!("urn:stockwire:{}:{}", page.id, table.part)),
    );
    root.insert(
        "title".into(),
        json!(format!("{}: {}", page.title, table.part)),
    );
    let (props, required) = object_members(page, table, &nodes, &roots, example)?;
    if !table.has_mandatory {
        root.insert(
            "$comment".into(),
            json!(format!(
                "The page's {} table has no MANDATORY column: which members are required is \
                 unknown, so no `required` is derived.",
                table.part
            )),
        );
    }
    root.insert("type".into(), json!("object"));
    root.insert("properties".into(), Value::Object(props));
    if !required.is_empty() {
        root.insert("required".into(), json!(required));
    }
    if let Some(e) = example {
        root.insert("examples".into(), json!([e]));
    }
    Ok(Value::Object(root))
}

fn object_members(
    page: &Page,
    table: &ParamTable,
    nodes: &[Node],
    members: &[usize],
    example: Option<&Value>,
) -> Result<(Map<String, Value>, Vec<String>), SpecError> {
    let mut props = Map::new();
    let mut required = Vec::new();
    for &m in members {
        let node = &nodes[m];
        let name = clean(&node.row.name).to_string();
        let mut schema = node_schema(page, table, nodes, m, example)?;
        let mandatory = clean(&node.row.mandatory);
        match mandatory.to_ascii_lowercase().as_str() {
            "yes" | "y" | "true" | "mandatory" | "required" => {
                if node.notes.has(Word::Opt) {
                    return Err(cell_err(
                        page,
                        node.row,
                        "NOTES",
                        "`Opt:` says the field is optional, but MANDATORY says Yes",
                    ));
                }
                required.push(name.clone());
            }
            "no" | "n" | "false" | "optional" | "-" | "" => {}
            _ => {
                // "As applied" and the like: a condition the schema cannot check.
                if let Value::Object(s) = &mut schema {
                    add_comment(
                        s,
                        &format!("MANDATORY on the page: `{mandatory}`; not made required."),
                    );
                }
            }
        }
        props.insert(name, schema);
    }
    if !table.has_mandatory {
        required.clear();
    }
    Ok((props, required))
}

fn add_comment(s: &mut Map<String, Value>, text: &str) {
    let joined = match s.get("$comment").and_then(Value::as_str) {
        Some(old) => format!("{old} {text}"),
        None => text.to_string(),
    };
    s.insert("$comment".into(), json!(joined));
}

fn add_description(s: &mut Map<String, Value>, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    let joined = match s.get("description").and_then(Value::as_str) {
        Some(old) if old.ends_with(['.', '!', '?', ':', ';']) => format!("{old} {text}"),
        Some(old) => format!("{old}. {text}"),
        None => text.to_string(),
    };
    s.insert("description".into(), json!(joined));
}

/// Finds the example value at `path`, stepping into the first element of arrays on the way.
fn example_at<'v>(example: Option<&'v Value>, path: &[String]) -> Option<&'v Value> {
    let mut cur = example?;
    for key in path {
        while let Value::Array(a) = cur {
            cur = a.first()?;
        }
        cur = cur.get(key)?;
    }
    Some(cur)
}

fn node_schema(
    page: &Page,
    table: &ParamTable,
    nodes: &[Node],
    index: usize,
    example: Option<&Value>,
) -> Result<Value, SpecError> {
    let part = table.part;
    let node = &nodes[index];
    let row = node.row;
    let mut s = Map::new();
    if !is_dash(&row.description) {
        s.insert("description".into(), json!(row.description.trim()));
    }
    let sample = example_at(example, &node.path);
    let scalar = match node.kind {
        Kind::String if documents_a_date(row) => Some(Scalar::Date),
        Kind::String => Some(Scalar::String),
        Kind::Date => Some(Scalar::Date),
        Kind::Integer => Some(Scalar::Integer),
        Kind::Number => Some(Scalar::Number),
        Kind::Boolean => Some(Scalar::Boolean),
        _ => None,
    };
    if let Some(sc) = scalar {
        if !node.children.is_empty() {
            let child = nodes[node.children[0]].row;
            return Err(cell_err(
                page,
                child,
                "LEVEL",
                format!(
                    "parent `{}` is a {}, which cannot hold fields",
                    row.name,
                    sc.json_type()
                ),
            ));
        }
        s.insert("type".into(), json!(sc.json_type()));
        apply_notes(page, row, &node.notes, sc, &mut s)?;
        return Ok(Value::Object(s));
    }
    if let Kind::ArrayOf(sc) = node.kind {
        s.insert("type".into(), json!("array"));
        let mut items = Map::new();
        items.insert("type".into(), json!(sc.json_type()));
        apply_notes(page, row, &node.notes, sc, &mut items)?;
        // Free text and Opt/Rec wording describe the field, not each element.
        if let Some(d) = items.remove("description") {
            s.insert("description".into(), d);
        }
        s.insert("items".into(), Value::Object(items));
        return Ok(Value::Object(s));
    }
    let is_array = match node.kind {
        Kind::Array => true,
        Kind::Object => false,
        _ => match sample {
            Some(Value::Array(_)) => true,
            Some(Value::Object(_)) => false,
            Some(other) => {
                return Err(cell_err(
                    page,
                    row,
                    "TYPE",
                    format!(
                        "container `-`, but the {part} payload example holds {} here, not an \
                         array or an object",
                        json_kind(other)
                    ),
                ));
            }
            None => {
                return Err(cell_err(
                    page,
                    row,
                    "TYPE",
                    format!(
                        "container `-` whose shape cannot be told: the {part} payload example \
                         has no `{}` to show whether it is an array or an object (give the page \
                         an example, or write TYPE as object or array)",
                        node.path.join(".")
                    ),
                ));
            }
        },
    };
    if !node.notes.annotations.is_empty() {
        return Err(cell_err(
            page,
            row,
            "NOTES",
            "annotations on a container are not understood (put them on its fields)",
        ));
    }
    for text in &node.notes.free {
        add_description(&mut s, text);
    }
    let object = if node.children.is_empty() {
        None
    } else {
        let (props, required) = object_members(page, table, nodes, &node.children, example)?;
        let mut o = Map::new();
        o.insert("type".into(), json!("object"));
        o.insert("properties".into(), Value::Object(props));
        if !required.is_empty() {
            o.insert("required".into(), json!(required));
        }
        Some(Value::Object(o))
    };
    if is_array {
        s.insert("type".into(), json!("array"));
        match object {
            Some(o) => {
                s.insert("items".into(), o);
            }
            None => {
                let first = match sample {
                    Some(Value::Array(a)) => a.first(),
                    _ => None,
                };
                if let Some(v) = first {
                    s.insert("items".into(), json!({ "type": json_kind(v) }));
                }
            }
        }
    } else {
        match object {
            Some(Value::Object(o)) => s.extend(o),
            _ => {
                s.insert("type".into(), json!("object"));
            }
        }
    }
    Ok(Value::Object(s))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether a string field is documented as a date: its description or notes give the
/// documentation's date format.
fn documents_a_date(row: &ParamRow) -> bool {
    let has = |t: &str| t.to_ascii_lowercase().contains("yyyy-mm-dd");
    has(&row.description) || has(&row.notes)
}

fn typed_value(page: &Page, row: &ParamRow, sc: Scalar, raw: &str) -> Result<Value, SpecError> {
    let raw = raw.trim().trim_matches('`').trim_matches('"');
    let bad = |what: &str| {
        cell_err(
            page,
            row,
            "NOTES",
            format!("value `{raw}` is not {what}, as TYPE says it must be"),
        )
    };
    Ok(match sc {
        Scalar::String => json!(raw),
        Scalar::Date => {
            if !is_documented_date(raw) {
                return Err(bad("a date written yyyy-MM-dd'T'HH:mm:ss"));
            }
            json!(raw)
        }
        Scalar::Integer => json!(raw.parse::<i64>().map_err(|_| bad("an integer"))?),
        Scalar::Number => {
            let n: f64 = raw.parse().map_err(|_| bad("a number"))?;
            serde_json::Number::from_f64(n)
                .map(Value::Number)
                .ok_or_else(|| bad("a finite number"))?
        }
        Scalar::Boolean => match raw.to_ascii_lowercase().as_str() {
            "true" => json!(true),
            "false" => json!(false),
            _ => return Err(bad("true or false")),
        },
    })
}

/// Whether `s` is a date as [`DATE_PATTERN`] describes it.
fn is_documented_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(99);
    b.len() == 19
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && (1..=12).contains(&num(5..7))
        && (1..=31).contains(&num(8..10))
        && num(11..13) < 24
        && num(14..16) < 60
        && num(17..19) < 60
}

/// An annotation word of the documentation's "Notes for the reader".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    /// `Allowable:` the set of valid values (case-sensitive).
    Allowable,
    /// `Default:` the default value.
    Default,
    /// `Eg:`, `Eg.:` or `Eg.`: an example of a correct value.
    Eg,
    /// `Fixed:` a value that must not be changed.
    Fixed,
    /// `Opt:` the parameter is optional; the options follow.
    Opt,
    /// `Rec:` the recommended option.
    Rec,
}

impl Word {
    const ALL: [(Word, &'static str); 6] = [
        (Word::Allowable, "allowable"),
        (Word::Default, "default"),
        (Word::Eg, "eg"),
        (Word::Fixed, "fixed"),
        (Word::Opt, "opt"),
        (Word::Rec, "rec"),
    ];

    /// The word as the documentation writes it, with its colon.
    pub fn label(self) -> &'static str {
        match self {
            Word::Allowable => "Allowable:",
            Word::Default => "Default:",
            Word::Eg => "Eg:",
            Word::Fixed => "Fixed:",
            Word::Opt => "Opt:",
            Word::Rec => "Rec:",
        }
    }
}

const KNOWN_WORDS: &str = "Allowable, Default, Eg (Eg., Eg.:), Fixed, Opt, Rec";

/// A NOTES cell split into its parts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Notes {
    /// The annotations in cell order, each with its value (separators trimmed).
    pub annotations: Vec<(Word, String)>,
    /// Free text (before the first annotation, or after a `;`, `<br>` or line break that ends
    /// an annotation's value), for the description.
    pub free: Vec<String>,
    /// Words that look like annotations (`Unit:`) but are not known.
    pub unknown: Vec<String>,
}

impl Notes {
    fn has(&self, w: Word) -> bool {
        self.annotations.iter().any(|(x, _)| *x == w)
    }
}

/// Where a known annotation word starts at byte `i` of `t` (lower-cased copy `lower`): returns
/// the word and the byte where its value starts.
fn marker_at(t: &str, lower: &str, i: usize) -> Option<(Word, usize)> {
    if i > 0
        && t[..i]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric)
    {
        return None;
    }
    for (word, text) in Word::ALL {
        if !lower[i..].starts_with(text) {
            continue;
        }
        let mut j = i + text.len();
        let rest = &t[j..];
        if word == Word::Eg {
            // `Eg:`, `Eg.:`, `Eg. ` (a dot then a space or the end).
            if let Some(r) = rest.strip_prefix(".:") {
                return Some((word, t.len() - r.len()));
            }
            if let Some(r) = rest.strip_prefix(':') {
                return Some((word, t.len() - r.len()));
            }
            if let Some(r) = rest.strip_prefix('.')
                && (r.is_empty() || r.starts_with(char::is_whitespace))
            {
                return Some((word, t.len() - r.len()));
            }
            continue;
        }
        // `Allowable(Fixed): x`: a qualified word reads as its qualifier (an allowable set
        // that is fixed to one value is that value).
        if let Some(inner) = rest.trim_start_matches([' ', '\t']).strip_prefix('(')
            && let Some(close) = inner.find(')')
        {
            let q = inner[..close].trim().to_ascii_lowercase();
            if let Some((qw, _)) = Word::ALL.iter().find(|(_, text)| *text == q) {
                let after = &inner[close + 1..];
                let sp = after.len() - after.trim_start_matches([' ', '\t']).len();
                if after[sp..].starts_with(':') {
                    return Some((*qw, t.len() - after.len() + sp + 1));
                }
            }
        }
        let spaces = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        j += spaces;
        if t[j..].starts_with(':') {
            return Some((word, j + 1));
        }
    }
    None
}

const SEPARATORS: [char; 6] = [' ', '\t', '\n', ';', '.', ','];

/// Splits a NOTES cell into annotations and free text, as the documentation writes them: any
/// order, several per cell, case-insensitive words, `;`, `.`, `<br>` or line breaks between them.
/// An annotation runs to the next known word, or to a `;`, `<br>` or line break after which the
/// text is free. A dot inside a value (`Eg: 2.5`) is part of it.
pub fn split_notes(cell: &str) -> Notes {
    let mut t = cell.replace("**", "");
    for br in ["<br />", "<br/>", "<br>", "<BR>", "<Br>"] {
        t = t.replace(br, "\n");
    }
    let mut notes = Notes::default();
    if is_dash(&t) {
        return notes;
    }
    let lower = t.to_ascii_lowercase();
    let mut marks: Vec<(usize, Word, usize)> = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if let Some((w, start)) = marker_at(&t, &lower, i) {
            marks.push((i, w, start));
            i = start;
            continue;
        }
        i += t[i..].chars().next().map_or(1, char::len_utf8);
    }
    let first = marks.first().map_or(t.len(), |m| m.0);
    push_free(&mut notes, &t[..first]);
    for (k, &(_, word, start)) in marks.iter().enumerate() {
        let end = marks.get(k + 1).map_or(t.len(), |m| m.0);
        let text = &t[start..end];
        let (value, free) = match text.find([';', '\n']) {
            Some(cut) => (&text[..cut], &text[cut..]),
            None => (text, ""),
        };
        notes
            .annotations
            .push((word, value.trim_matches(SEPARATORS).to_string()));
        push_free(&mut notes, free);
    }
    notes
}

fn push_free(notes: &mut Notes, text: &str) {
    for piece in text.split([';', '\n']) {
        let piece = piece.trim_matches(SEPARATORS);
        if piece.is_empty() || piece == "-" {
            continue;
        }
        if let Some((word, rest)) = piece.split_once(':') {
            let word = word.trim();
            let looks_like_a_word = !word.is_empty()
                && word.len() <= 24
                && word
                    .chars()
                    .all(|c| c.is_alphabetic() || c == '.' || c == ' ')
                && word.split_whitespace().count() <= 2
                && !rest.starts_with("//");
            if looks_like_a_word {
                notes.unknown.push(word.to_string());
            }
        }
        notes.free.push(piece.to_string());
    }
}

fn apply_notes(
    page: &Page,
    row: &ParamRow,
    notes: &Notes,
    sc: Scalar,
    s: &mut Map<String, Value>,
) -> Result<(), SpecError> {
    if sc == Scalar::Date {
        s.insert("pattern".into(), json!(DATE_PATTERN));
        add_comment(
            s,
            "A date as the documentation writes it: UTC yyyy-MM-dd'T'HH:mm:ss without offset, \
             which format date-time would refuse, hence a pattern.",
        );
    }
    for text in &notes.free {
        add_description(s, text);
    }
    let mut seen: Vec<Word> = Vec::new();
    let list = |v: &str| -> Result<Vec<Value>, SpecError> {
        v.split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| typed_value(page, row, sc, v))
            .collect()
    };
    let mut allowable: Option<Vec<Value>> = None;
    let mut options: Option<Vec<Value>> = None;
    let mut default = None;
    let mut fixed = None;
    let mut rec = None;
    let mut examples = Vec::new();
    for (word, value) in &notes.annotations {
        if seen.contains(word) && *word != Word::Eg {
            return Err(cell_err(
                page,
                row,
                "NOTES",
                format!("`{}` is given twice", word.label()),
            ));
        }
        seen.push(*word);
        let need_value = || {
            cell_err(
                page,
                row,
                "NOTES",
                format!("`{}` gives no value", word.label()),
            )
        };
        match word {
            Word::Allowable => {
                let values = list(value)?;
                if values.is_empty() {
                    return Err(cell_err(page, row, "NOTES", "`Allowable:` lists no values"));
                }
                allowable = Some(values);
            }
            Word::Opt => options = Some(list(value)?),
            Word::Default if value.is_empty() => return Err(need_value()),
            Word::Default => default = Some(typed_value(page, row, sc, value)?),
            Word::Eg if value.is_empty() => return Err(need_value()),
            Word::Eg => examples.push(typed_value(page, row, sc, value)?),
            Word::Fixed if value.is_empty() => return Err(need_value()),
            Word::Fixed => fixed = Some(typed_value(page, row, sc, value)?),
            Word::Rec if value.is_empty() => return Err(need_value()),
            Word::Rec => rec = Some(typed_value(page, row, sc, value)?),
        }
    }
    let shown = |v: &[Value]| {
        v.iter()
            .map(|x| x.as_str().map_or(x.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let outside = |what: &str, v: &Value, set: &[Value], from: &str| {
        cell_err(
            page,
            row,
            "NOTES",
            format!(
                "{what} {} is not one of the {from} values ({})",
                v,
                shown(set)
            ),
        )
    };
    if let (Some(opts), Some(allowed)) = (&options, &allowable)
        && let Some(o) = opts.iter().find(|o| !allowed.contains(o))
    {
        return Err(outside("`Opt:` option", o, allowed, "`Allowable:`"));
    }
    let (set, from) = match (&allowable, &options) {
        (Some(a), _) => (Some(a.clone()), "`Allowable:`"),
        (None, Some(o)) if !o.is_empty() => (Some(o.clone()), "`Opt:`"),
        _ => (None, ""),
    };
    for (what, v) in [
        ("`Default:`", &default),
        ("`Fixed:`", &fixed),
        ("`Rec:`", &rec),
    ] {
        if let (Some(v), Some(set)) = (v, &set)
            && !set.contains(v)
        {
            return Err(outside(what, v, set, from));
        }
    }
    if let (Some(f), Some(d)) = (&fixed, &default)
        && f != d
    {
        return Err(cell_err(
            page,
            row,
            "NOTES",
            format!("`Fixed:` {f} and `Default:` {d} disagree"),
        ));
    }
    if let Some(opts) = &options {
        if opts.is_empty() {
            add_description(s, "Optional.");
        } else {
            add_description(s, &format!("Optional; options: {}.", shown(opts)));
        }
    }
    if let Some(r) = &rec {
        add_description(
            s,
            &format!("Recommended: {}.", shown(std::slice::from_ref(r))),
        );
        examples.retain(|e| e != r);
        examples.insert(0, r.clone());
    }
    if let Some(set) = set {
        s.insert("enum".into(), Value::Array(set));
    }
    if let Some(f) = fixed {
        s.insert("const".into(), f);
    }
    if let Some(d) = default {
        s.insert("default".into(), d);
    }
    if !examples.is_empty() {
        s.insert("examples".into(), Value::Array(examples));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn page(tables: &str, example: &str) -> Result<DerivedPage, SpecError> {
        let text = format!(
            "---\nid: t\ntitle: T\n---\n## Response Payload\n```json\n{example}\n```\n## Response Parameters\n| LEVEL | PARAMETER | TYPE | DESCRIPTION | MANDATORY | NOTES |\n|---|---|---|---|---|---|\n{tables}"
        );
        derive_page(&Page::parse(Path::new("t.md"), &text)?)
    }

    #[test]
    fn nests_three_levels_and_reads_shapes_from_the_example() {
        let d = page(
            "| 1 | order | - | The order | Yes | - |\n| 1.1 | lines | - | - | - | - |\n| 1.1.1 | qty | number | Q | Yes | Default: 1.5 |\n| 1.2 | paid | boolean | - | No | Eg: true |\n| 2 | tags | string[] | - | No | Allowable: a, b |\n",
            r#"{"order": {"lines": [{"qty": 1}], "paid": false}, "tags": ["a"]}"#,
        )
        .unwrap();
        let s = d.part(Part::Response).unwrap();
        assert_eq!(s["required"], json!(["order"]));
        let order = &s["properties"]["order"];
        assert_eq!(order["type"], "object");
        assert_eq!(order["description"], "The order");
        let lines = &order["properties"]["lines"];
        assert_eq!(lines["type"], "array");
        assert_eq!(lines["items"]["properties"]["qty"]["default"], json!(1.5));
        assert_eq!(lines["items"]["required"], json!(["qty"]));
        assert_eq!(order["properties"]["paid"]["examples"], json!([true]));
        assert_eq!(s["properties"]["tags"]["items"]["enum"], json!(["a", "b"]));
    }

    #[test]
    fn unknown_type_word_names_file_line_and_cell() {
        let err = page("| 1 | a | strin | - | Yes | - |\n", "{}").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("t.md:12: TYPE cell `strin`"), "{msg}");
        assert!(msg.contains("unknown TYPE word"), "{msg}");
    }

    #[test]
    fn orphan_level_is_an_error_and_other_mandatory_words_are_comments() {
        let msg = page(
            "| 1 | a | - | - | - | - |\n| 2.1 | b | string | - | Yes | - |\n",
            r#"{"a":{}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(msg.contains("t.md:13: LEVEL cell `2.1`"), "{msg}");
        assert!(msg.contains("no earlier row has LEVEL 2"), "{msg}");
        // A MANDATORY word other than Yes/No is a condition the schema keeps as a comment.
        let d = page("| 1 | a | string | - | As applied | - |\n", "{}").unwrap();
        let s = d.part(Part::Response).unwrap();
        assert!(s.get("required").is_none());
        assert_eq!(
            s["properties"]["a"]["$comment"],
            "MANDATORY on the page: `As applied`; not made required."
        );
    }

    #[test]
    fn container_without_example_cannot_be_guessed() {
        let msg = page(
            "| 1 | list | - | - | - | - |\n| 1.1 | x | string | - | Yes | - |\n",
            "{}",
        )
        .unwrap_err()
        .to_string();
        assert!(msg.contains("shape cannot be told"), "{msg}");
    }

    #[test]
    fn typed_notes_are_checked() {
        let msg = page("| 1 | n | integer | - | Yes | Eg: ten |\n", "{}")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("`ten` is not an integer"), "{msg}");
        let d = page(
            "| 1 | n | integer | - | Yes | Eg: 10; refreshed hourly |\n",
            "{}",
        )
        .unwrap();
        let n = &d.part(Part::Response).unwrap()["properties"]["n"];
        assert_eq!(n["examples"], json!([10]));
        assert_eq!(n["description"], "refreshed hourly");
    }

    fn field(notes: &str, ty: &str) -> Result<(Value, Vec<DeriveWarning>), SpecError> {
        let d = page(
            &format!("| 1 | currency | {ty} | Currency | No | {notes} |\n"),
            "{}",
        )?;
        let s = d.part(Part::Response).cloned().unwrap_or_default();
        Ok((s["properties"]["currency"].clone(), d.warnings))
    }

    #[test]
    fn every_pair_of_annotations_splits_in_both_orders() {
        let allow = (
            "Allowable: INR, USD, AED",
            "enum",
            json!(["INR", "USD", "AED"]),
        );
        let default = ("Default: INR", "default", json!("INR"));
        let eg = ("Eg: USD", "examples", json!(["USD"]));
        for (a, b) in [
            (allow.clone(), default.clone()),
            (allow.clone(), eg.clone()),
            (default.clone(), eg.clone()),
        ] {
            for (x, y) in [(&a, &b), (&b, &a)] {
                for sep in [" ", "; ", ". ", "<br>", " <br/> "] {
                    let cell = format!("{}{sep}{}", x.0, y.0);
                    let (f, w) = field(&cell, "string").unwrap();
                    assert_eq!(f[x.1], x.2, "{cell}");
                    assert_eq!(f[y.1], y.2, "{cell}");
                    assert!(
                        f.get("description").is_some_and(|d| d == "Currency"),
                        "{cell}: {f}"
                    );
                    assert!(w.is_empty(), "{cell}");
                }
            }
        }
        let (f, _) = field("eg. USD DEFAULT: INR allowable: INR, USD, AED", "string").unwrap();
        assert_eq!(f["enum"], json!(["INR", "USD", "AED"]));
        assert_eq!(f["default"], "INR");
        assert_eq!(f["examples"], json!(["USD"]));
        let (f, _) = field("Eg.: 2.5 Default: 0", "number").unwrap();
        assert_eq!(f["examples"], json!([2.5]));
        assert_eq!(f["default"], json!(0.0));
    }

    #[test]
    fn free_text_goes_to_the_description_and_unknown_words_warn() {
        let (f, w) = field("Three letters. Allowable: INR, USD Default: INR", "string").unwrap();
        assert_eq!(f["description"], "Currency. Three letters");
        assert_eq!(f["enum"], json!(["INR", "USD"]));
        assert!(w.is_empty());
        let (f, w) = field("Unit: ISO 4217; Eg: INR", "string").unwrap();
        assert_eq!(f["description"], "Currency. Unit: ISO 4217");
        assert_eq!(f["examples"], json!(["INR"]));
        assert_eq!(w.len(), 1);
        let text = w[0].to_string();
        assert!(
            text.starts_with(
                "t.md:12: NOTES cell `Unit: ISO 4217; Eg: INR`: unknown annotation word `Unit:`"
            ),
            "{text}"
        );
    }

    #[test]
    fn default_outside_allowable_is_an_error() {
        let msg = field("Allowable: INR, USD Default: EUR", "string")
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("t.md:12: NOTES cell `Allowable: INR, USD Default: EUR`"),
            "{msg}"
        );
        assert!(
            msg.contains("`Default:` \"EUR\" is not one of the `Allowable:` values (INR, USD)"),
            "{msg}"
        );
        let msg = field("Default: 1; Default: 2", "integer")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("given twice"), "{msg}");
    }

    #[test]
    fn fixed_opt_and_rec() {
        let (f, _) = field("Fixed: INR", "string").unwrap();
        assert_eq!(f["const"], "INR");
        let (f, _) = field("Opt: INR, USD Rec: USD", "string").unwrap();
        assert_eq!(f["enum"], json!(["INR", "USD"]));
        assert_eq!(f["examples"], json!(["USD"]));
        assert_eq!(
            f["description"],
            "Currency. Optional; options: INR, USD. Recommended: USD."
        );
        let msg = field("Opt: INR, USD Rec: AED", "string")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("`Rec:` \"AED\" is not one of the `Opt:` values"),
            "{msg}"
        );
        let msg = field("Allowable: INR Fixed: USD", "string")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("`Fixed:` \"USD\""), "{msg}");
        let msg = page("| 1 | c | string | - | Yes | Opt: a, b |\n", "{}")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("`Opt:` says the field is optional"), "{msg}");
    }

    #[test]
    fn dates_get_a_pattern_not_a_format() {
        let (f, _) = field("Eg: 2017-01-02T08:12:53", "date").unwrap();
        assert_eq!(f["type"], "string");
        assert_eq!(f["pattern"], DATE_PATTERN);
        assert!(f.get("format").is_none());
        let re = |s: &str| is_documented_date(s);
        assert!(re("2017-01-02T08:12:53"));
        assert!(!re("2017-01-02T08:12:53Z"));
        assert!(!re("2017-13-02T08:12:53"));
        let msg = field("Eg: 2017-01-02", "date").unwrap_err().to_string();
        assert!(msg.contains("not a date"), "{msg}");
        let d = page(
            "| 1 | at | string | Time, yyyy-MM-dd'T'HH:mm:ss UTC | No | - |\n",
            "{}",
        )
        .unwrap();
        assert_eq!(
            d.part(Part::Response).unwrap()["properties"]["at"]["pattern"],
            DATE_PATTERN
        );
    }

    #[test]
    fn type_words_of_other_pages() {
        let d = page(
            "| 1 | ok | true | - | No | - |\n| 2 | tags | list | - | No | - |\n| 3 | n | number | - | No | - |\n| 4 | o | object | - | No | - |\n",
            r#"{"tags": ["a"]}"#,
        )
        .unwrap();
        let p = &d.part(Part::Response).unwrap()["properties"];
        assert_eq!(p["ok"]["type"], "boolean");
        assert_eq!(p["tags"]["type"], "array");
        assert_eq!(p["tags"]["items"]["type"], "string");
        assert_eq!(p["n"]["type"], "number");
        assert_eq!(p["o"]["type"], "object");
    }

    #[test]
    fn fields_under_a_scalar_are_rejected() {
        let msg = page(
            "| 1 | a | string | - | Yes | - |\n| 1.1 | b | string | - | Yes | - |\n",
            "{}",
        )
        .unwrap_err()
        .to_string();
        assert!(msg.contains("cannot hold fields"), "{msg}");
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let msg = page(
            "| 1 | a | string | - | Yes | - |\n| 2 | a | string | - | Yes | - |\n",
            "{}",
        )
        .unwrap_err()
        .to_string();
        assert!(msg.contains("already defined"), "{msg}");
    }

    #[test]
    fn a_part_shown_only_by_its_example_is_typed_from_it() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/spec");
        let d = derive_page(&Page::read(&root.join("getproducts.md")).unwrap()).unwrap();
        let r = d.part(Part::Response).unwrap();
        assert!(
            r["$comment"]
                .as_str()
                .unwrap()
                .contains("derived from the example")
        );
        let variant = &r["properties"]["products"]["items"]["properties"]["variants"]["items"];
        assert_eq!(variant["type"], "object");
        assert_eq!(variant["properties"]["inventory"]["type"], "number");
        assert_eq!(variant["properties"]["live"]["type"], "boolean");
        assert_eq!(
            variant["properties"]["itemPrice"]["properties"]["mrp"]["type"],
            "number"
        );
        assert_eq!(variant["properties"]["sku"]["type"], "string");
        // Nothing is required, and nothing forbids members the example does not show.
        let text = r.to_string();
        assert!(!text.contains("\"required\"") && !text.contains("additionalProperties"));
        assert_eq!(d.usage.as_deref(), Some("Mandatory"));
        // The page's query table is derived as any table: `Allowable(Fixed):` is a fixed value.
        let q = d.part(Part::Query).unwrap();
        assert_eq!(q["properties"]["publishedStatus"]["const"], "PUBLISHED");
        assert_eq!(q["properties"]["pageSize"]["const"], "50");
        assert_eq!(q["properties"]["pageNumber"]["default"], "1");
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        let n = split_notes("Allowable (Fixed): PUBLISHED");
        assert_eq!(
            n.annotations,
            [(Word::Fixed, "PUBLISHED".to_string())],
            "{n:?}"
        );
        assert!(n.free.is_empty() && n.unknown.is_empty(), "{n:?}");
    }
}
