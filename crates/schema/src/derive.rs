//! Turning a page's parameter tables into JSON Schema (draft 2020-12).
//!
//! Every keyword in a derived schema comes from a cell of the page: LEVEL gives nesting, TYPE the
//! JSON type (`-` is a container whose array-or-object shape is read from the page's payload
//! example), MANDATORY `Yes` gives `required`, DESCRIPTION gives `description`, and NOTES give
//! `enum` (`Allowable:`), `examples` (`Eg:`) and `default` (`Default:`). What the tables do not
//! say lives in overlays ([`crate::overlay`]), never here.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::error::SpecError;
use crate::page::{Page, ParamRow, ParamTable, Part};

/// The JSON Schema dialect every derived schema declares.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

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
    /// One schema per part, keyed by part.
    pub parts: BTreeMap<Part, Value>,
}

impl DerivedPage {
    /// The schema for `part`, if the page has a table for it.
    pub fn part(&self, part: Part) -> Option<&Value> {
        self.parts.get(&part)
    }

    /// The whole derivation as one JSON document: `{"$comment", "id", "title", "endpoint",
    /// "methods", "request"?, "response"?, "query"?}`.
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
        for (part, schema) in &self.parts {
            doc.insert(part.as_str().into(), schema.clone());
        }
        Value::Object(doc)
    }
}

/// Derives JSON Schema for every parameter table of `page`.
pub fn derive_page(page: &Page) -> Result<DerivedPage, SpecError> {
    let mut parts = BTreeMap::new();
    for table in &page.tables {
        parts.insert(table.part, derive_table(page, table)?);
    }
    Ok(DerivedPage {
        id: page.id.clone(),
        title: page.title.clone(),
        endpoint: page.endpoint().map(str::to_string),
        methods: page.methods(),
        parts,
    })
}

/// The type words a TYPE cell may hold, and what they become.
const TYPE_WORDS: &str = "string, integer (int, long), number (double, float, decimal), boolean \
                          (bool), object, array, `-` (container), or any of these followed by `[]`";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
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
}

impl Scalar {
    fn json_type(self) -> &'static str {
        match self {
            Scalar::String => "string",
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
        "boolean" | "bool" => Scalar::Boolean,
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

fn derive_table(page: &Page, table: &ParamTable) -> Result<Value, SpecError> {
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
        nodes.push(Node {
            row,
            kind,
            path,
            children: Vec::new(),
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
    let (props, required) = object_members(page, table.part, &nodes, &roots, example)?;
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
    part: Part,
    nodes: &[Node],
    members: &[usize],
    example: Option<&Value>,
) -> Result<(Map<String, Value>, Vec<String>), SpecError> {
    let mut props = Map::new();
    let mut required = Vec::new();
    for &m in members {
        let node = &nodes[m];
        let name = clean(&node.row.name).to_string();
        props.insert(name.clone(), node_schema(page, part, nodes, m, example)?);
        match clean(&node.row.mandatory).to_ascii_lowercase().as_str() {
            "yes" | "y" | "true" | "mandatory" | "required" => required.push(name),
            "no" | "n" | "false" | "optional" | "-" | "" => {}
            _ => {
                return Err(cell_err(
                    page,
                    node.row,
                    "MANDATORY",
                    "MANDATORY must be Yes, No or -",
                ));
            }
        }
    }
    Ok((props, required))
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
    part: Part,
    nodes: &[Node],
    index: usize,
    example: Option<&Value>,
) -> Result<Value, SpecError> {
    let node = &nodes[index];
    let row = node.row;
    let mut s = Map::new();
    if !is_dash(&row.description) {
        s.insert("description".into(), json!(row.description.trim()));
    }
    let sample = example_at(example, &node.path);
    let scalar = match node.kind {
        Kind::String => Some(Scalar::String),
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
        apply_notes(page, row, sc, &mut s)?;
        return Ok(Value::Object(s));
    }
    if let Kind::ArrayOf(sc) = node.kind {
        s.insert("type".into(), json!("array"));
        let mut items = Map::new();
        items.insert("type".into(), json!(sc.json_type()));
        apply_notes(page, row, sc, &mut items)?;
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
    if !is_dash(&row.notes) {
        return Err(cell_err(
            page,
            row,
            "NOTES",
            "notes on a container are not understood (put them on its fields)",
        ));
    }
    let object = if node.children.is_empty() {
        None
    } else {
        let (props, required) = object_members(page, part, nodes, &node.children, example)?;
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

fn apply_notes(
    page: &Page,
    row: &ParamRow,
    sc: Scalar,
    s: &mut Map<String, Value>,
) -> Result<(), SpecError> {
    if is_dash(&row.notes) {
        return Ok(());
    }
    let mut free = Vec::new();
    for segment in row
        .notes
        .split(';')
        .map(str::trim)
        .filter(|x| !x.is_empty())
    {
        let (key, rest) = match segment.split_once(':') {
            Some((k, r)) => (k.trim().to_ascii_lowercase(), r.trim()),
            None => (String::new(), segment),
        };
        match key.trim_end_matches('.') {
            "allowable" | "allowed" | "allowed values" | "allowable values" | "values" => {
                let mut values = Vec::new();
                for v in rest.split(',').map(str::trim).filter(|v| !v.is_empty()) {
                    values.push(typed_value(page, row, sc, v)?);
                }
                if values.is_empty() {
                    return Err(cell_err(page, row, "NOTES", "`Allowable:` lists no values"));
                }
                s.insert("enum".into(), Value::Array(values));
            }
            "eg" | "e.g" | "example" | "examples" => {
                s.insert(
                    "examples".into(),
                    json!([typed_value(page, row, sc, rest)?]),
                );
            }
            "default" => {
                s.insert("default".into(), typed_value(page, row, sc, rest)?);
            }
            _ => free.push(segment.to_string()),
        }
    }
    if !free.is_empty() {
        s.insert(
            "$comment".into(),
            json!(format!("Note from the page: {}", free.join("; "))),
        );
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
    fn orphan_level_and_bad_mandatory_are_errors() {
        let msg = page(
            "| 1 | a | - | - | - | - |\n| 2.1 | b | string | - | Yes | - |\n",
            r#"{"a":{}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(msg.contains("t.md:13: LEVEL cell `2.1`"), "{msg}");
        assert!(msg.contains("no earlier row has LEVEL 2"), "{msg}");
        let msg = page("| 1 | a | string | - | Perhaps | - |\n", "{}")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("MANDATORY cell `Perhaps`"), "{msg}");
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
        assert_eq!(n["$comment"], "Note from the page: refreshed hourly");
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
}
