//! `stockwire schema …`: derive schemas from spec pages, rebuild or check `schemas/`, export
//! OpenAPI, and validate JSON files.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use stockwire_schema::generate::{check_drift, derive_dir, generate, to_pretty, write_all};
use stockwire_schema::{Page, Part, Profile, RULES, contract, derive_page, read_json_file};

use crate::exit_codes;

/// The `schema` subcommands.
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Read a documentation page and print the JSON Schema its tables define.
    ///
    /// Prints one JSON document with `request`, `response` and/or `query` members (whichever
    /// tables the page has), or only one part with --part. Errors name the file, line and cell.
    Derive(DeriveArgs),
    /// Regenerate schemas/ from the spec pages and overlays, or check it has not drifted.
    Build(BuildArgs),
    /// Print the merged schema (derived + overlay) that validation uses for a profile.
    Show(ShowArgs),
    /// Write the OpenAPI 3.1 document of a profile.
    Openapi(OpenapiArgs),
    /// Validate a request and/or response JSON file; with both, also check the semantic rules.
    ///
    /// Exit code 1 when anything is violated, 2 when a file cannot be read or is not JSON.
    Validate(ValidateArgs),
    /// List the semantic rules with their id, severity and rationale.
    Rules,
    /// List the calls of the API family stockwire knows: id, method, path, usage, role, page.
    Calls(CallsArgs),
}

/// Arguments of `schema calls`.
#[derive(Debug, Args)]
pub struct CallsArgs {
    /// Contract version: v1 or v2 (the inventory push reads another page under v2).
    #[arg(long, default_value = "v1")]
    pub profile: Profile,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// Arguments of `schema derive`.
#[derive(Debug, Args)]
pub struct DeriveArgs {
    /// The markdown page to read (front matter, parameter tables, payload examples).
    pub page: PathBuf,
    /// Print only this part's schema.
    #[arg(long, value_enum)]
    pub part: Option<PartArg>,
}

/// A part of an exchange, as a CLI value.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PartArg {
    /// The request body.
    Request,
    /// The response body.
    Response,
    /// The query string.
    Query,
}

impl From<PartArg> for Part {
    fn from(p: PartArg) -> Part {
        match p {
            PartArg::Request => Part::Request,
            PartArg::Response => Part::Response,
            PartArg::Query => Part::Query,
        }
    }
}

/// Arguments of `schema build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Folder of spec pages.
    #[arg(long, default_value = "fixtures/spec")]
    pub spec: PathBuf,
    /// Folder of overlays.
    #[arg(long, default_value = "schemas/overlays")]
    pub overlays: PathBuf,
    /// Folder to write (or check).
    #[arg(long, default_value = "schemas")]
    pub out: PathBuf,
    /// Write nothing; exit 1 and print a diff if the committed files differ.
    #[arg(long)]
    pub check: bool,
}

/// Arguments of `schema show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Contract version: v1 (integer inventory) or v2 (digit-string inventory).
    #[arg(long, default_value = "v1")]
    pub profile: Profile,
    /// The call whose schema to print (see `stockwire schema calls`).
    #[arg(long, default_value = "updateInventory", value_name = "ID")]
    pub call: String,
    /// Which schema of the call.
    #[arg(long, value_enum, default_value = "request")]
    pub part: ShowPart,
}

/// Which merged schema `schema show` prints.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShowPart {
    /// The request body (POST calls).
    Request,
    /// The response body.
    Response,
    /// The query parameters (GET calls; the login's POST body too).
    Query,
    /// One item of an update's list (e.g. one inventoryList item).
    Item,
    /// Shorthand for --call authToken --part query.
    AuthQuery,
    /// Shorthand for --call authToken --part response.
    AuthResponse,
}

/// Arguments of `schema openapi`.
#[derive(Debug, Args)]
pub struct OpenapiArgs {
    /// Contract version: v1 or v2.
    #[arg(long, default_value = "v1")]
    pub profile: Profile,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

/// Arguments of `schema validate`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).multiple(true).args(["request", "response", "query"])))]
pub struct ValidateArgs {
    /// The call the files belong to (see `stockwire schema calls`).
    #[arg(long, default_value = "updateInventory", value_name = "ID")]
    pub call: String,
    /// A request body to validate (a JSON file).
    #[arg(long)]
    pub request: Option<PathBuf>,
    /// A response body to validate (a JSON file).
    #[arg(long)]
    pub response: Option<PathBuf>,
    /// A query string to validate, e.g. 'pageNumber=1&pageSize=50&publishedStatus=PUBLISHED'.
    #[arg(long, value_name = "QUERY")]
    pub query: Option<String>,
    /// Contract version: v1 or v2.
    #[arg(long, default_value = "v1")]
    pub profile: Profile,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// Output format of `schema validate`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// One line per violation.
    Text,
    /// A JSON document `{"valid", "violations": [...]}`.
    Json,
}

/// Runs a `schema` subcommand and returns its exit code.
pub fn run(cmd: SchemaCommand) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    match cmd {
        SchemaCommand::Derive(a) => derive(&a, &mut out),
        SchemaCommand::Build(a) => build(&a, &mut out),
        SchemaCommand::Show(a) => {
            let (id, part) = match a.part {
                ShowPart::AuthQuery => ("authToken", ShowPart::Query),
                ShowPart::AuthResponse => ("authToken", ShowPart::Response),
                p => (a.call.as_str(), p),
            };
            let call = find_call(a.profile, id)?;
            let s = match part {
                ShowPart::Item => call.item_schema(),
                ShowPart::Request => call.schema(Part::Request),
                ShowPart::Query | ShowPart::AuthQuery => call.schema(Part::Query),
                ShowPart::Response | ShowPart::AuthResponse => call.schema(Part::Response),
            };
            let Some(s) = s else {
                bail!(
                    "call `{id}` has no {} schema (it has: {})",
                    format!("{part:?}").to_lowercase(),
                    call.parts()
                        .map(|p| p.as_str())
                        .chain(call.item_schema().map(|_| "item"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            };
            out.write_all(to_pretty(s).as_bytes())?;
            Ok(exit_codes::OK)
        }
        SchemaCommand::Openapi(a) => {
            let text = to_pretty(&stockwire_schema::openapi(a.profile));
            match a.out {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => out.write_all(text.as_bytes())?,
            }
            Ok(exit_codes::OK)
        }
        SchemaCommand::Validate(a) => validate(&a, &mut out),
        SchemaCommand::Rules => {
            for r in RULES {
                writeln!(
                    out,
                    "{:<26} {:<6} {}",
                    r.id,
                    r.severity.to_string(),
                    r.rationale
                )?;
            }
            Ok(exit_codes::OK)
        }
        SchemaCommand::Calls(a) => calls(&a, &mut out),
    }
}

/// The call `id` of `profile`'s contract, or an error that lists the ids.
fn find_call(profile: Profile, id: &str) -> Result<&'static stockwire_schema::Call> {
    let c = contract(profile);
    match c.call(id) {
        Some(call) => Ok(call),
        None => bail!(
            "unknown call `{id}` (known: {})",
            c.calls()
                .iter()
                .map(|x| x.id())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn calls(a: &CallsArgs, out: &mut impl Write) -> Result<u8> {
    let c = contract(a.profile);
    if a.format == Format::Json {
        let list: Vec<Value> = c
            .calls()
            .iter()
            .map(|x| {
                json!({
                    "id": x.id(),
                    "role": x.shape().group(),
                    "methods": x.methods(),
                    "path": x.path(),
                    "usage": x.usage(),
                    "page": x.def().page_id(a.profile),
                    "title": x.title(),
                })
            })
            .collect();
        out.write_all(to_pretty(&json!({"profile": a.profile, "calls": list})).as_bytes())?;
        return Ok(exit_codes::OK);
    }
    writeln!(
        out,
        "{:<16} {:<15} {:<10} {:<17} {:<10} PAGE",
        "CALL", "ROLE", "METHOD", "PATH", "USAGE"
    )?;
    for x in c.calls() {
        let methods: Vec<&str> = x.methods().iter().map(|m| m.as_str()).collect();
        let usage = match x.usage() {
            stockwire_schema::Usage::Mandatory => "mandatory",
            stockwire_schema::Usage::Optional => "optional",
        };
        writeln!(
            out,
            "{:<16} {:<15} {:<10} {:<17} {:<10} fixtures/spec/{}.md",
            x.id(),
            x.shape().group(),
            methods.join(","),
            x.path(),
            usage,
            x.def().page_id(a.profile)
        )?;
    }
    Ok(exit_codes::OK)
}

fn derive(a: &DeriveArgs, out: &mut impl Write) -> Result<u8> {
    let page = Page::read(&a.page)?;
    let derived = derive_page(&page)?;
    for w in &derived.warnings {
        eprintln!("warning: {w}");
    }
    let doc = match a.part {
        None => derived.to_document(),
        Some(p) => {
            let part: Part = p.into();
            match derived.part(part) {
                Some(s) => s.clone(),
                None => bail!(
                    "{}: the page has no {part} parameter table (it has: {})",
                    a.page.display(),
                    derived
                        .parts
                        .keys()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
    };
    out.write_all(to_pretty(&doc).as_bytes())?;
    Ok(exit_codes::OK)
}

fn build(a: &BuildArgs, out: &mut impl Write) -> Result<u8> {
    let files = generate(&a.spec, &a.overlays)?;
    for page in derive_dir(&a.spec)?.values() {
        for w in &page.warnings {
            eprintln!("warning: {w}");
        }
    }
    if a.check {
        let drift = check_drift(&files, &a.out);
        if drift.is_empty() {
            writeln!(
                out,
                "schemas up to date: {} files match {}",
                files.len(),
                a.spec.display()
            )?;
            return Ok(exit_codes::OK);
        }
        for d in &drift {
            writeln!(out, "{} has drifted from the spec:\n{}", d.path, d.diff)?;
        }
        writeln!(
            out,
            "{} of {} files differ; run `stockwire schema build` to regenerate",
            drift.len(),
            files.len()
        )?;
        return Ok(exit_codes::VIOLATIONS);
    }
    for p in write_all(&files, &a.out)? {
        writeln!(out, "wrote {}", p.display())?;
    }
    Ok(exit_codes::OK)
}

fn load(path: &Path) -> Result<Value> {
    Ok(read_json_file(path)?)
}

/// One line of the validation report (`--format json` prints these as they are).
#[derive(Debug, serde::Serialize)]
struct Finding {
    file: PathBuf,
    kind: &'static str,
    pointer: String,
    rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    severity: Option<stockwire_schema::Severity>,
    message: String,
}

impl Finding {
    fn schema(file: &Path, v: stockwire_schema::SchemaViolation) -> Self {
        Finding {
            file: file.to_path_buf(),
            kind: "schema",
            pointer: v.pointer,
            rule: v.keyword,
            severity: None,
            message: v.message,
        }
    }
}

fn validate(a: &ValidateArgs, out: &mut impl Write) -> Result<u8> {
    let call = find_call(a.profile, &a.call)?;
    let mut report: Vec<Finding> = Vec::new();
    let request = a.request.as_deref().map(load).transpose()?;
    let response = a.response.as_deref().map(load).transpose()?;
    if let Some(q) = &a.query {
        if call.schema(Part::Query).is_none() {
            bail!("call `{}` takes no query parameters", call.id());
        }
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(q.trim_start_matches('?').as_bytes())
                .into_owned()
                .collect();
        for v in call.validate_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            report.push(Finding::schema(Path::new("(query)"), v));
        }
    }
    if let (Some(path), Some(req)) = (&a.request, &request) {
        let part = if call.schema(Part::Request).is_some() {
            Part::Request
        } else {
            Part::Query
        };
        for v in call.validate(part, req) {
            report.push(Finding::schema(path, v));
        }
    }
    if let (Some(path), Some(resp)) = (&a.response, &response) {
        for v in call.validate(Part::Response, resp) {
            report.push(Finding::schema(path, v));
        }
        if let (Some(req), Some(m)) = (&request, call.update()) {
            for v in stockwire_schema::rules::check_update(m, req, resp) {
                report.push(Finding {
                    file: path.clone(),
                    kind: "semantic",
                    pointer: v.pointer,
                    rule: v.rule,
                    severity: Some(v.severity),
                    message: v.message,
                });
            }
        }
    }
    let valid = report.is_empty();
    if a.format == Format::Json {
        out.write_all(
            to_pretty(&json!({"profile": a.profile, "valid": valid, "violations": report}))
                .as_bytes(),
        )?;
    } else if valid {
        let what: Vec<String> = [&a.request, &a.response]
            .into_iter()
            .flatten()
            .map(|p| p.display().to_string())
            .chain(a.query.iter().map(|q| format!("query {q:?}")))
            .collect();
        writeln!(out, "valid ({}): {}", a.profile, what.join(", "))?;
    } else {
        for v in &report {
            let pointer = if v.pointer.is_empty() {
                "(document)"
            } else {
                &v.pointer
            };
            let sev = v.severity.map(|s| format!("{s} ")).unwrap_or_default();
            writeln!(
                out,
                "{}: {pointer}: [{sev}{}] {}",
                v.file.display(),
                v.rule,
                v.message
            )?;
        }
        writeln!(
            out,
            "{} violation{}",
            report.len(),
            if report.len() == 1 { "" } else { "s" }
        )?;
    }
    Ok(if valid {
        exit_codes::OK
    } else {
        exit_codes::VIOLATIONS
    })
}
