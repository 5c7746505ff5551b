//! Overlays: the small, reviewed additions to a derived schema that the tables do not state but
//! the contract needs in the shape of a payload (`inventory` ≥ 0, a non-empty list, …).
//!
//! An overlay is a JSON file `{"$comment": why, "request"?: patch, "response"?: patch,
//! "query"?: patch}`; each patch is applied with JSON Merge Patch (RFC 7386: objects merge,
//! anything else replaces, `null` removes). Every patch object that sets a keyword must carry
//! its own `$comment` saying why, so the merged schema shows what we added and for what reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{SpecError, read_json_file};
use crate::page::Part;

/// Keywords that only lead to other schemas; a patch object holding nothing else needs no
/// `$comment` of its own.
const STRUCTURAL: [&str; 5] = ["properties", "items", "$defs", "prefixItems", "$comment"];

/// A parsed overlay file.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlay {
    /// Where it was read from.
    pub file: PathBuf,
    /// Why the overlay exists (its top-level `$comment`).
    pub comment: String,
    /// One merge patch per part.
    pub patches: BTreeMap<Part, Value>,
}

impl Overlay {
    /// Reads and checks an overlay file.
    pub fn read(path: &Path) -> Result<Overlay, SpecError> {
        let value = read_json_file(path).map_err(|e| SpecError::Overlay {
            file: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Overlay::from_value(path, value)
    }

    /// Checks an overlay document already parsed; `path` only names it in errors.
    pub fn from_value(path: &Path, value: Value) -> Result<Overlay, SpecError> {
        let err = |message: String| SpecError::Overlay {
            file: path.to_path_buf(),
            message,
        };
        let Value::Object(map) = value else {
            return Err(err("an overlay must be a JSON object".into()));
        };
        let mut comment = None;
        let mut patches = BTreeMap::new();
        for (key, v) in map {
            if key == "$comment" {
                comment = v.as_str().map(str::to_string);
                continue;
            }
            let Some(part) = Part::parse(&key) else {
                return Err(err(format!(
                    "unknown member `{key}` (expected $comment, request, response, query)"
                )));
            };
            if !v.is_object() {
                return Err(err(format!("/{key}: a patch must be a JSON object")));
            }
            check_comments(&v, &format!("/{key}")).map_err(err)?;
            patches.insert(part, v);
        }
        let comment = comment
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| err("an overlay needs a top-level `$comment` saying why".into()))?;
        Ok(Overlay {
            file: path.to_path_buf(),
            comment,
            patches,
        })
    }
}

fn check_comments(v: &Value, pointer: &str) -> Result<(), String> {
    let Value::Object(map) = v else {
        return Ok(());
    };
    let sets_keyword = map.keys().any(|k| !STRUCTURAL.contains(&k.as_str()));
    if sets_keyword && !map.contains_key("$comment") {
        return Err(format!(
            "{pointer}: sets {} without a `$comment` saying why",
            map.keys()
                .filter(|k| !STRUCTURAL.contains(&k.as_str()))
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (k, child) in map {
        match k.as_str() {
            "properties" | "$defs" => {
                if let Value::Object(props) = child {
                    for (name, sub) in props {
                        check_comments(sub, &format!("{pointer}/{k}/{name}"))?;
                    }
                }
            }
            "items" => check_comments(child, &format!("{pointer}/items"))?,
            _ => {}
        }
    }
    Ok(())
}

/// Applies an overlay's patch to a derived schema: JSON Merge Patch ([`merge_patch`]), except
/// that a `$comment` the patch sets where the derived schema already has one is appended to it,
/// so that the schema keeps both reasons (why it was derived as it was, and why the overlay adds
/// what it adds).
pub fn apply_overlay(target: &mut Value, patch: &Value) {
    let (Value::Object(t), Value::Object(p)) = (&mut *target, patch) else {
        merge_patch(target, patch);
        return;
    };
    for (k, v) in p {
        match (k.as_str(), t.get_mut(k), v) {
            ("$comment", Some(Value::String(old)), Value::String(new)) => {
                old.push(' ');
                old.push_str(new);
            }
            (_, _, Value::Null) => {
                t.remove(k);
            }
            (_, Some(existing), _) => apply_overlay(existing, v),
            (_, None, _) => {
                let mut fresh = Value::Null;
                merge_patch(&mut fresh, v);
                t.insert(k.clone(), fresh);
            }
        }
    }
}

/// Applies a JSON Merge Patch (RFC 7386) to `target`.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in patch_map {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut t = json!({"a": {"b": 1, "c": 2}, "d": [1, 2]});
        merge_patch(&mut t, &json!({"a": {"b": null, "e": 3}, "d": [9]}));
        assert_eq!(t, json!({"a": {"c": 2, "e": 3}, "d": [9]}));
    }

    #[test]
    fn overlay_comments_add_to_derived_ones() {
        let mut t = json!({"$comment": "derived", "type": "object", "properties": {"a": {"type": "string"}}});
        apply_overlay(
            &mut t,
            &json!({"$comment": "needed", "required": ["a"], "properties": {"a": {"minLength": 1, "$comment": "why"}, "b": {"x": 1}}}),
        );
        assert_eq!(
            t,
            json!({"$comment": "derived needed", "type": "object", "required": ["a"],
                   "properties": {"a": {"type": "string", "minLength": 1, "$comment": "why"}, "b": {"x": 1}}})
        );
    }

    #[test]
    fn every_rule_needs_a_comment() {
        let ok = json!({"$comment": "why", "request": {"properties": {"x": {"minimum": 0, "$comment": "stock is a count"}}}});
        assert!(Overlay::from_value(Path::new("o.json"), ok).is_ok());
        let bad = json!({"$comment": "why", "request": {"properties": {"x": {"minimum": 0}}}});
        let msg = Overlay::from_value(Path::new("o.json"), bad)
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            "o.json: /request/properties/x: sets `minimum` without a `$comment` saying why"
        );
        let msg = Overlay::from_value(Path::new("o.json"), json!({"request": {}}))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("top-level `$comment`"), "{msg}");
        let msg = Overlay::from_value(Path::new("o.json"), json!({"$comment": "x", "body": {}}))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("unknown member `body`"), "{msg}");
    }
}
