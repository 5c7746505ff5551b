//! One source of truth for the exchange's shape: outside `stockwire-schema` and outside tests,
//! no code reads or builds the exchange JSON (the request and response of `/updateInventory`
//! and `/authToken`) by a literal member name. Such code uses the schema crate's typed models,
//! its lenient views and builders, or the constants of `stockwire_schema::exchange::{field,
//! pointer}`.
//!
//! The member names are not listed here: they are every property name of the committed
//! schemas under `schemas/v1` and `schemas/v2`, so a field added to a page is covered too.
//!
//! What counts as a use: the name as a whole string literal (`.get("status")`, `["productId"]`,
//! `json!({"status": …})`, `.insert("inventory".into(), …)`, `append_pair("username", …)`), the
//! name quoted inside a string that holds JSON text (`r#"{"status":"FAILED"}"#`,
//! `"{\"status\": …}"`), and a JSON pointer literal that starts with it (`.pointer("/status")`,
//! `"/inventoryList/{}"`). Messages that merely mention a field (`"status SUCCESS but
//! failedProductList has 1 entry"`) are not uses. Comments and `#[cfg(test)]` items are skipped.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use stockwire_tests::root;

/// Folders whose code may name exchange members: the schema crate owns the shape; tests and
/// benches are harnesses that build raw payloads on purpose.
const OWNERS: [&str; 1] = ["crates/schema/"];

/// Folders left out while they are being rewritten (none now: the mock reads requests through
/// `stockwire_schema::borrowed` and builds answers from the models and `exchange`).
const TEMPORARILY_EXCLUDED: [&str; 0] = [];

/// Lines that use a member name for something other than the exchange, each with its reason.
/// Every entry must still match a line (a stale entry fails the test).
const ALLOWED: [(&str, &str, &str); 9] = [
    (
        "crates/mock/src/admin/endpoints.rs",
        r#""status": "ok""#,
        "the admin API's own acknowledgement, not the exchange",
    ),
    (
        "crates/mock/src/admin/endpoints.rs",
        r#""status" => f.status"#,
        "a query parameter of GET /__admin/journal (filter by HTTP status)",
    ),
    (
        "crates/mock/src/admin/endpoints.rs",
        r#""productId" => f.product_id"#,
        "a query parameter of GET /__admin/journal (filter by item)",
    ),
    (
        "crates/mock/src/http/answer.rs",
        r#""rule": rule, "message""#,
        "the mock's own violation object (pointer, rule, message) listed under `violations`",
    ),
    (
        "crates/conform/src/config/settings.rs",
        r#"requires = "password""#,
        "clap argument id of --username's companion flag, not a JSON member",
    ),
    (
        "crates/conform/src/config/settings.rs",
        r#"requires = "username""#,
        "clap argument id of --password's companion flag, not a JSON member",
    ),
    (
        "crates/cli/src/schema_cmd.rs",
        r#""id": x.id(),"#,
        "a call's id in `stockwire schema calls --format json` (the listing's `id` is a product's), not the exchange",
    ),
    (
        "crates/cli/src/schema_cmd.rs",
        r#""title": x.title(),"#,
        "a call's page title in `stockwire schema calls --format json` (the listing's `title` is a variant's), not the exchange",
    ),
    (
        "crates/cli/src/conform_cmd.rs",
        r#""id": c.id"#,
        "a check's id in `--list-checks --format json` (the listing's `id` is a product's), not the exchange",
    ),
];

/// Every property name of the committed exchange schemas.
fn member_names() -> BTreeSet<String> {
    fn collect(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::Object(props)) = m.get("properties") {
                    out.extend(props.keys().cloned());
                }
                m.values().for_each(|x| collect(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for profile in ["v1", "v2"] {
        let dir = root().join("schemas").join(profile);
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            collect(&v, &mut out);
        }
    }
    out
}

/// The member names a line of code uses as exchange JSON.
fn uses(line: &str, names: &BTreeSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    for n in names {
        let quoted = format!("\"{n}\"");
        let escaped = format!("\\\"{n}\\\"");
        let pointer = format!("\"/{n}");
        let as_literal = line.match_indices(&quoted).any(|(i, _)| {
            // `"status"` inside `\"status\"` is the escaped form, counted below.
            !line[..i].ends_with('\\')
        });
        let as_pointer = line.match_indices(&pointer).any(|(i, _)| {
            let rest = &line[i + pointer.len()..];
            rest.starts_with(['"', '/', '{'])
        });
        if as_literal || line.contains(&escaped) || as_pointer {
            found.push(n.clone());
        }
    }
    found
}

/// Code lines of a Rust file with their numbers: comments and `#[cfg(test)]` items left out.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut skipping = false;
    let mut depth: i64 = 0;
    let mut opened = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            skipping = true;
            depth = 0;
            opened = false;
            continue;
        }
        if skipping {
            for c in line.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            // An item without a body (`#[cfg(test)] use …;`) ends at its semicolon.
            if (opened && depth <= 0) || (!opened && t.ends_with(';')) {
                skipping = false;
            }
            continue;
        }
        if t.starts_with("//") {
            continue;
        }
        out.push((i + 1, line));
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            // Integration tests and benches are harnesses, not product code.
            if !matches!(name, "target" | "tests" | "benches") {
                rust_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn detector_finds_literal_reads_and_builds_but_not_messages() {
    let names: BTreeSet<String> = ["status", "failedProductList", "inventoryList", "productId"]
        .into_iter()
        .map(String::from)
        .collect();
    for bad in [
        r#"let s = v.get("failedProductList");"#,
        r#"x.pointer("/status")"#,
        r#"j.pointer(&format!("/inventoryList/{}", i))"#,
        r#"json!({"status": "FAILED", "failedProductList": []})"#,
        r#"let l = &v["inventoryList"];"#,
        r#"m.insert("productId".into(), v);"#,
        r##"const BODY: &str = r#"{"status":"FAILED"}"#;"##,
        r#"let b = "{\"status\": 1}";"#,
    ] {
        assert!(!uses(bad, &names).is_empty(), "not detected: {bad}");
    }
    for fine in [
        r#"format!("status SUCCESS but failedProductList has {n} entries")"#,
        "v.get(field::FAILED_PRODUCT_LIST)",
        r#"json!({"statusCode": 1})"#,
        r#"let p = "/statusbar";"#,
    ] {
        assert!(uses(fine, &names).is_empty(), "false positive: {fine}");
    }
    let text = "fn a() {}\n// v.get(\"status\")\n#[cfg(test)]\nmod tests {\n    fn t() { v.get(\"status\"); }\n}\nfn b() { v.get(\"status\"); }\n";
    let lines: Vec<usize> = code_lines(text)
        .into_iter()
        .filter(|(_, l)| !uses(l, &names).is_empty())
        .map(|(n, _)| n)
        .collect();
    assert_eq!(lines, vec![7]);
}

#[test]
fn no_code_outside_the_schema_crate_names_exchange_members() {
    let names = member_names();
    for expected in [
        "inventoryList",
        "productId",
        "status",
        "failedProductList",
        "accessToken",
    ] {
        assert!(
            names.contains(expected),
            "{expected} missing from {names:?}"
        );
    }
    let root = root();
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    files.sort();
    assert!(files.len() > 20, "found only {} files", files.len());
    let mut hits = Vec::new();
    let mut allowed_used = vec![false; ALLOWED.len()];
    for path in &files {
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if OWNERS
            .iter()
            .chain(&TEMPORARILY_EXCLUDED)
            .any(|o| rel.starts_with(o))
        {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in code_lines(&text) {
            let used = uses(line, &names);
            if used.is_empty() {
                continue;
            }
            if let Some(k) = ALLOWED
                .iter()
                .position(|(file, frag, _)| rel == *file && line.contains(frag))
            {
                allowed_used[k] = true;
                continue;
            }
            hits.push(format!(
                "{rel}:{n}: {} in `{}`",
                used.join(", "),
                line.trim()
            ));
        }
    }
    assert!(
        hits.is_empty(),
        "exchange JSON read or built by literal member names outside stockwire-schema (use \
         stockwire_schema::exchange or the typed models):\n{}",
        hits.join("\n")
    );
    for (k, used) in allowed_used.iter().enumerate() {
        assert!(used, "stale allowlist entry: {:?}", ALLOWED[k]);
    }
}
