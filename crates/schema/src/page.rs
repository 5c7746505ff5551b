//! Reading a documentation page: front matter, "Basic Information", parameter tables and the
//! JSON examples under the payload headings.
//!
//! The parser knows the *format* of the pages (markdown, pipe tables, fenced examples) and
//! nothing about any particular endpoint; [`crate::derive`] turns what it reads into JSON Schema.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::SpecError;

/// Which part of an exchange a parameter table or example describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// The request body ("Request Parameters", "Request Payload").
    Request,
    /// The response body ("Response Parameters", "Response Payload").
    Response,
    /// The query string ("Query Parameters").
    Query,
}

impl Part {
    /// Every part, in the order derived documents list them.
    pub const ALL: [Part; 3] = [Part::Request, Part::Response, Part::Query];

    /// The member name used for this part in derived documents (`request`, `response`, `query`).
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Request => "request",
            Part::Response => "response",
            Part::Query => "query",
        }
    }

    /// Parses a member name (`request`, `response`, `query`).
    pub fn parse(s: &str) -> Option<Part> {
        match s {
            "request" => Some(Part::Request),
            "response" => Some(Part::Response),
            "query" => Some(Part::Query),
            _ => None,
        }
    }

    fn from_heading(words: &str, kind: &str) -> Option<Part> {
        let words = words.to_ascii_lowercase();
        let words = words.trim();
        let prefix = words.strip_suffix(kind)?.trim();
        match prefix {
            "request" | "request body" => Some(Part::Request),
            "response" | "response body" => Some(Part::Response),
            "query" | "query string" => Some(Part::Query),
            _ => None,
        }
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One cell of a table with the line it was read from (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// The cell's text, trimmed.
    pub text: String,
    /// 1-based line number in the page.
    pub line: usize,
}

/// One row of a parameter table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamRow {
    /// 1-based line number of the row.
    pub line: usize,
    /// LEVEL column, e.g. `1.2` (the row's number in a flat table without LEVEL).
    pub level: String,
    /// PARAMETER column: the field name.
    pub name: String,
    /// TYPE column, e.g. `string` or `-` for a container.
    pub ty: String,
    /// DESCRIPTION column (`-` when empty).
    pub description: String,
    /// MANDATORY column (`Yes`, `No`, `-`, or words such as `As applied`; `-` when the table has
    /// no MANDATORY column).
    pub mandatory: String,
    /// NOTES column: annotations (`Allowable: …`, `Default: …`, `Eg: …`, …), free text, or `-`.
    pub notes: String,
}

/// A parameter table found under a "… Parameters" heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamTable {
    /// Which part of the exchange it describes.
    pub part: Part,
    /// 1-based line of the table's header row.
    pub line: usize,
    /// Whether the table has a LEVEL column. A flat table has none: every row is a top-level
    /// field, and its rows get LEVELs `1`, `2`, … in order.
    pub has_level: bool,
    /// Whether the table has a MANDATORY column. Without one, which fields are required is
    /// unknown (rows read `-`).
    pub has_mandatory: bool,
    /// The rows, in document order.
    pub rows: Vec<ParamRow>,
}

/// A JSON example found in a fenced block under a "… Payload" heading.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Which part of the exchange it shows.
    pub part: Part,
    /// 1-based line of the opening fence.
    pub line: usize,
    /// The parsed example.
    pub value: Value,
}

/// Everything the deriver needs from one page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Where the page was read from (used in error messages).
    pub file: PathBuf,
    /// Front matter `id`.
    pub id: String,
    /// Front matter `title`.
    pub title: String,
    /// Rows of the "Basic Information" table (`NAME` → `DETAILS`), in order.
    pub info: Vec<(String, String)>,
    /// Parameter tables, at most one per part.
    pub tables: Vec<ParamTable>,
    /// Payload examples, at most one per part.
    pub examples: Vec<Example>,
}

impl Page {
    /// Reads and parses a page from disk.
    pub fn read(path: &Path) -> Result<Page, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        Page::parse(path, &text)
    }

    /// Parses page text; `file` is only used to name the page in errors.
    pub fn parse(file: &Path, text: &str) -> Result<Page, SpecError> {
        Parser::new(file, text).run()
    }

    /// The parameter table for `part`, if the page has one.
    pub fn table(&self, part: Part) -> Option<&ParamTable> {
        self.tables.iter().find(|t| t.part == part)
    }

    /// The payload example for `part`, if the page has one.
    pub fn example(&self, part: Part) -> Option<&Example> {
        self.examples.iter().find(|e| e.part == part)
    }

    /// A "Basic Information" value whose NAME starts with `name` (case-insensitive).
    pub fn info(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.info
            .iter()
            .find(|(k, _)| k.to_ascii_lowercase().starts_with(&name))
            .map(|(_, v)| v.as_str())
    }

    /// The endpoint path from "Basic Information" (`End Point`), e.g. `/updateInventory`.
    pub fn endpoint(&self) -> Option<&str> {
        self.info("end point").or_else(|| self.info("endpoint"))
    }

    /// The HTTP methods from "Basic Information" (`Request Type`), upper-cased, e.g. `["POST"]`.
    pub fn methods(&self) -> Vec<String> {
        let Some(raw) = self.info("request type") else {
            return Vec::new();
        };
        const KNOWN: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
        let mut out = Vec::new();
        for word in raw.split(|c: char| !c.is_ascii_alphabetic()) {
            let up = word.to_ascii_uppercase();
            if KNOWN.contains(&up.as_str()) && !out.contains(&up) {
                out.push(up);
            }
        }
        out
    }
}

struct Parser<'a> {
    file: &'a Path,
    lines: Vec<&'a str>,
}

const COLUMNS: [&str; 6] = [
    "LEVEL",
    "PARAMETER",
    "TYPE",
    "DESCRIPTION",
    "MANDATORY",
    "NOTES",
];

impl<'a> Parser<'a> {
    fn new(file: &'a Path, text: &'a str) -> Self {
        Parser {
            file,
            lines: text.lines().collect(),
        }
    }

    fn err(&self, line: usize, message: impl Into<String>) -> SpecError {
        SpecError::Page {
            file: self.file.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    fn run(self) -> Result<Page, SpecError> {
        let (id, title, mut i) = self.front_matter()?;
        let mut page = Page {
            file: self.file.to_path_buf(),
            id,
            title,
            info: Vec::new(),
            tables: Vec::new(),
            examples: Vec::new(),
        };
        let mut heading = String::new();
        let mut heading_line = 0;
        while i < self.lines.len() {
            let line = self.lines[i].trim();
            if let Some(h) = line.strip_prefix('#') {
                heading = h.trim_start_matches('#').trim().to_string();
                heading_line = i + 1;
                i += 1;
                continue;
            }
            if line.starts_with("```") {
                let end = self.fence_end(i)?;
                if let Some(part) = Part::from_heading(&heading, "payload") {
                    if page.example(part).is_some() {
                        return Err(self.err(
                            i + 1,
                            format!("second {part} payload example (the first is enough)"),
                        ));
                    }
                    let body = self.lines[i + 1..end].join("\n");
                    let value: Value = serde_json::from_str(&body).map_err(|e| {
                        self.err(
                            i + 2 + e.line().saturating_sub(1),
                            format!(
                                "the {part} payload example is not valid JSON: {}",
                                crate::error::strip_position(&e.to_string())
                            ),
                        )
                    })?;
                    page.examples.push(Example {
                        part,
                        line: i + 1,
                        value,
                    });
                }
                i = end + 1;
                continue;
            }
            if line.starts_with('|') {
                let end = self.table_end(i);
                if heading.eq_ignore_ascii_case("basic information") {
                    page.info = self.info_table(i, end)?;
                } else if let Some(part) = Part::from_heading(&heading, "parameters") {
                    if page.table(part).is_some() {
                        return Err(self.err(
                            i + 1,
                            format!(
                                "second {part} parameter table under heading at line {heading_line}"
                            ),
                        ));
                    }
                    let table = self.param_table(part, i, end)?;
                    page.tables.push(table);
                }
                i = end;
                continue;
            }
            i += 1;
        }
        if page.tables.is_empty() {
            return Err(self.err(
                self.lines.len().max(1),
                "no parameter table found (expected a `LEVEL | PARAMETER | TYPE | …` table under a \
                 \"Request Parameters\", \"Response Parameters\" or \"Query Parameters\" heading)",
            ));
        }
        Ok(page)
    }

    /// Returns (id, title, first line after the front matter).
    fn front_matter(&self) -> Result<(String, String, usize), SpecError> {
        let first = self.lines.iter().position(|l| !l.trim().is_empty());
        let Some(start) = first.filter(|&s| self.lines[s].trim() == "---") else {
            return Err(self.err(
                1,
                "missing front matter (a `---` block with `id:` and `title:`)",
            ));
        };
        let Some(end) = (start + 1..self.lines.len()).find(|&j| self.lines[j].trim() == "---")
        else {
            return Err(self.err(start + 1, "front matter is not closed by a `---` line"));
        };
        let mut id = None;
        let mut title = None;
        for j in start + 1..end {
            if let Some((k, v)) = self.lines[j].split_once(':') {
                let v = v.trim().trim_matches('"').trim_matches('\'').to_string();
                match k.trim() {
                    "id" => id = Some(v),
                    "title" => title = Some(v),
                    _ => {}
                }
            }
        }
        let id = id
            .filter(|s| !s.is_empty())
            .ok_or_else(|| self.err(start + 1, "front matter has no `id:`"))?;
        let valid_id = id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
        if !valid_id {
            return Err(self.err(
                start + 1,
                format!("front matter id `{id}` may only use letters, digits, `-`, `_` and `.`"),
            ));
        }
        let title = title.unwrap_or_else(|| id.clone());
        Ok((id, title, end + 1))
    }

    fn fence_end(&self, open: usize) -> Result<usize, SpecError> {
        (open + 1..self.lines.len())
            .find(|&j| self.lines[j].trim().starts_with("```"))
            .ok_or_else(|| self.err(open + 1, "code block is not closed by ```"))
    }

    fn table_end(&self, start: usize) -> usize {
        (start..self.lines.len())
            .find(|&j| !self.lines[j].trim().starts_with('|'))
            .unwrap_or(self.lines.len())
    }

    fn split_row(line: &str) -> Vec<String> {
        let t = line.trim();
        let t = t.strip_prefix('|').unwrap_or(t);
        let t = t.strip_suffix('|').unwrap_or(t);
        t.split('|').map(|c| c.trim().to_string()).collect()
    }

    fn is_separator(cells: &[String]) -> bool {
        !cells.is_empty()
            && cells
                .iter()
                .all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-' || ch == ':' || ch == ' '))
    }

    fn info_table(&self, start: usize, end: usize) -> Result<Vec<(String, String)>, SpecError> {
        let mut out = Vec::new();
        for j in start + 1..end {
            let cells = Self::split_row(self.lines[j]);
            if Self::is_separator(&cells) {
                continue;
            }
            if cells.len() < 2 {
                return Err(self.err(j + 1, "Basic Information row needs NAME and DETAILS cells"));
            }
            out.push((cells[0].clone(), cells[1].clone()));
        }
        Ok(out)
    }

    fn param_table(&self, part: Part, start: usize, end: usize) -> Result<ParamTable, SpecError> {
        let header = Self::split_row(self.lines[start]);
        // PARAMETER and TYPE are needed; a flat table has no LEVEL, some response tables have
        // no MANDATORY, and a missing DESCRIPTION or NOTES column reads as `-`.
        let mut index = [None; 6];
        for (col, h) in header.iter().enumerate() {
            let name = h.trim().trim_matches('*').trim();
            match COLUMNS.iter().position(|c| c.eq_ignore_ascii_case(name)) {
                Some(pos) if index[pos].is_none() => index[pos] = Some(col),
                Some(_) => {
                    return Err(self.err(
                        start + 1,
                        format!("{part} parameter table has two {name} columns"),
                    ));
                }
                None => {
                    return Err(self.err(
                        start + 1,
                        format!(
                            "{part} parameter table has a column `{name}` the deriver does not \
                             know (known: {}; PARAMETER and TYPE are needed)",
                            COLUMNS.join(", ")
                        ),
                    ));
                }
            }
        }
        for needed in [1, 2] {
            if index[needed].is_none() {
                return Err(self.err(
                    start + 1,
                    format!(
                        "{part} parameter table has no {} column (header: {})",
                        COLUMNS[needed],
                        header.join(" | ")
                    ),
                ));
            }
        }
        let mut rows = Vec::new();
        let mut body = start + 1;
        if body < end && Self::is_separator(&Self::split_row(self.lines[body])) {
            body += 1;
        } else {
            return Err(self.err(
                start + 2,
                "table header is not followed by a separator row (`|---|---|…`)",
            ));
        }
        for j in body..end {
            let mut cells = Self::split_row(self.lines[j]);
            // A trailing empty cell comes from lines like `| … | - |  ` with stray pipes.
            while cells.len() > header.len() && cells.last().is_some_and(|c| c.is_empty()) {
                cells.pop();
            }
            if cells.len() != header.len() {
                return Err(self.err(
                    j + 1,
                    format!(
                        "row has {} cells but the header has {}",
                        cells.len(),
                        header.len()
                    ),
                ));
            }
            let get = |k: usize| index[k].map(|c| cells[c].clone());
            rows.push(ParamRow {
                line: j + 1,
                level: get(0).unwrap_or_else(|| (rows.len() + 1).to_string()),
                name: get(1).unwrap_or_default(),
                ty: get(2).unwrap_or_default(),
                description: get(3).unwrap_or_else(|| "-".into()),
                mandatory: get(4).unwrap_or_else(|| "-".into()),
                notes: get(5).unwrap_or_else(|| "-".into()),
            });
        }
        if rows.is_empty() {
            return Err(self.err(start + 1, format!("{part} parameter table has no rows")));
        }
        Ok(ParamTable {
            part,
            line: start + 1,
            has_level: index[0].is_some(),
            has_mandatory: index[4].is_some(),
            rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "---\nid: demo\ntitle: Demo\n---\n\n## Basic Information\n\n| NAME | DETAILS |\n|:--|:--|\n| End Point | /demo |\n| Request Type | GET (a POST variant too) |\n\n## Request Payload\n\n```js\n{\"a\": [{\"b\": 1}]}\n```\n\n## Request Parameters\n| LEVEL | PARAMETER | TYPE | DESCRIPTION | MANDATORY | NOTES |\n|:--|:--|:--:|:--|:--:|:--|\n| 1 | a | - | - | - | - |\n| 1.1 | b | integer | B | Yes | Eg: 4 |  \n";

    #[test]
    fn reads_front_matter_info_tables_and_examples() {
        let page = Page::parse(Path::new("demo.md"), PAGE).unwrap();
        assert_eq!(page.id, "demo");
        assert_eq!(page.title, "Demo");
        assert_eq!(page.endpoint(), Some("/demo"));
        assert_eq!(page.methods(), vec!["GET", "POST"]);
        let table = page.table(Part::Request).unwrap();
        assert_eq!(table.rows.len(), 2);
        assert_eq!(table.rows[1].level, "1.1");
        assert_eq!(table.rows[1].notes, "Eg: 4");
        assert_eq!(table.rows[1].line, 23);
        assert_eq!(
            page.example(Part::Request).unwrap().value,
            serde_json::json!({"a": [{"b": 1}]})
        );
    }

    #[test]
    fn short_row_names_file_and_line() {
        let bad = PAGE.replace(
            "| 1.1 | b | integer | B | Yes | Eg: 4 |",
            "| 1.1 | b | integer |",
        );
        let err = Page::parse(Path::new("x/demo.md"), &bad).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("x/demo.md:23:"), "{msg}");
        assert!(msg.contains("3 cells but the header has 6"), "{msg}");
    }

    #[test]
    fn missing_column_and_front_matter_are_errors() {
        let bad = PAGE.replace("| MANDATORY ", "| REQUIRED ");
        let msg = Page::parse(Path::new("d.md"), &bad)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("d.md:20:") && msg.contains("column `REQUIRED` the deriver does not know"),
            "{msg}"
        );
        let msg = Page::parse(Path::new("d.md"), "# no front matter\n")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("d.md:1:") && msg.contains("front matter"),
            "{msg}"
        );
    }

    #[test]
    fn flat_tables_and_missing_optional_columns() {
        let flat = PAGE
            .replace("| LEVEL | PARAMETER | TYPE | DESCRIPTION | MANDATORY | NOTES |\n|:--|:--|:--:|:--|:--:|:--|", "| PARAMETER | TYPE | DESCRIPTION |\n|:--|:--|:--|")
            .replace("| 1 | a | - | - | - | - |", "| a | - | - |")
            .replace("| 1.1 | b | integer | B | Yes | Eg: 4 |", "| b | integer | B |");
        let page = Page::parse(Path::new("f.md"), &flat).unwrap();
        let t = page.table(Part::Request).unwrap();
        assert!(!t.has_level && !t.has_mandatory);
        assert_eq!(t.rows[0].level, "1");
        assert_eq!(t.rows[1].level, "2");
        assert_eq!(t.rows[1].mandatory, "-");
        assert_eq!(t.rows[1].notes, "-");
        assert_eq!(t.rows[1].description, "B");
        let no_type = flat.replace("| PARAMETER | TYPE |", "| PARAMETER | KIND |");
        let msg = Page::parse(Path::new("f.md"), &no_type)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("column `KIND`"), "{msg}");
    }

    #[test]
    fn broken_example_names_its_line() {
        let bad = PAGE.replace("{\"a\": [{\"b\": 1}]}", "{\"a\": [{\"b\": 1}]");
        let msg = Page::parse(Path::new("d.md"), &bad)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("d.md:16:"), "{msg}");
        assert!(
            msg.contains("request payload example is not valid JSON"),
            "{msg}"
        );
    }

    #[test]
    fn page_without_tables_is_an_error() {
        let msg = Page::parse(Path::new("d.md"), "---\nid: x\n---\ntext\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("no parameter table"), "{msg}");
    }
}
