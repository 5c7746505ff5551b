//! Producing the committed schema files under `schemas/` from the spec pages and overlays, and
//! checking that the committed files have not drifted from them.
//!
//! Layout written (relative to the schemas folder):
//! - `derived/{page-id}.json`: what the tables alone say (`stockwire schema derive`).
//! - `{profile}/{call}.{part}.json`, for every call of [`crate::call::FAMILY`] (`{call}` is
//!   the call's lower-cased id): derived + `overlays/common/{call}.json` +
//!   `overlays/{profile}/{call}.json`; these are what validation uses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::call::{self, CallDef};
use crate::derive::{DerivedPage, derive_page};
use crate::error::SpecError;
use crate::overlay::{Overlay, apply_overlay};
use crate::page::{Page, Part};
use crate::profile::Profile;

/// One file the generator would write.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedFile {
    /// Path relative to the schemas folder, with `/` separators.
    pub path: String,
    /// The JSON document.
    pub value: Value,
}

impl GeneratedFile {
    /// The file's text as committed: pretty JSON with a final newline.
    pub fn text(&self) -> String {
        to_pretty(&self.value)
    }
}

/// Pretty JSON with a final newline, the format of every committed schema.
pub fn to_pretty(value: &Value) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
    s.push('\n');
    s
}

/// Reads every `*.md` page of `spec_dir` and derives it, keyed by front matter id.
pub fn derive_dir(spec_dir: &Path) -> Result<BTreeMap<String, DerivedPage>, SpecError> {
    let io = |source| SpecError::Io {
        file: spec_dir.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(spec_dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    paths.sort();
    let mut out = BTreeMap::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|source| SpecError::Io {
            file: path.clone(),
            source,
        })?;
        // Pages without parameter tables (notes, facts) are not endpoints: skip them. Every
        // parameter table, flat or nested, has a PARAMETER column.
        let has_table = text.lines().any(|l| {
            let l = l.trim();
            l.starts_with('|') && l.to_ascii_uppercase().contains("PARAMETER")
        });
        if !has_table {
            continue;
        }
        let page = Page::parse(&path, &text)?;
        let derived = derive_page(&page)?;
        out.insert(derived.id.clone(), derived);
    }
    Ok(out)
}

/// Applies the overlays that exist for `profile`/`call` to a derived page.
pub fn merge(
    derived: &DerivedPage,
    profile: Profile,
    call: &CallDef,
    overlay_dir: &Path,
) -> Result<BTreeMap<Part, Value>, SpecError> {
    let stem = call.stem();
    let mut parts = derived.parts.clone();
    let mut used = Vec::new();
    for folder in ["common", profile.as_str()] {
        let file = overlay_dir.join(folder).join(format!("{stem}.json"));
        if !file.exists() {
            continue;
        }
        let overlay = Overlay::read(&file)?;
        for (part, patch) in &overlay.patches {
            let Some(target) = parts.get_mut(part) else {
                return Err(SpecError::Overlay {
                    file: file.clone(),
                    message: format!(
                        "patches the {part}, but page `{}` has no {part} table",
                        derived.id
                    ),
                });
            };
            apply_overlay(target, patch);
        }
        used.push(format!("overlays/{folder}/{stem}.json"));
    }
    for (part, schema) in parts.iter_mut() {
        if let Value::Object(map) = schema {
            map.insert(
                "$id".into(),
                json!(format!("urn:stockwire:{profile}:{stem}:{part}")),
            );
            map.insert(
                "x-stockwire-source".into(),
                json!({
                    "page": derived.id,
                    "overlays": used,
                    "regenerate": "stockwire schema build",
                }),
            );
        }
    }
    Ok(parts)
}

/// Everything that belongs under `schemas/`, computed from `spec_dir` and `overlay_dir`.
pub fn generate(spec_dir: &Path, overlay_dir: &Path) -> Result<Vec<GeneratedFile>, SpecError> {
    let pages = derive_dir(spec_dir)?;
    let mut files = Vec::new();
    for (id, derived) in &pages {
        files.push(GeneratedFile {
            path: format!("derived/{id}.json"),
            value: derived.to_document(),
        });
    }
    for profile in Profile::ALL {
        for call in call::FAMILY {
            let id = call.page_id(profile);
            let Some(derived) = pages.get(id) else {
                return Err(SpecError::MissingPage {
                    dir: spec_dir.to_path_buf(),
                    id: id.to_string(),
                    profile: profile.to_string(),
                });
            };
            for (part, schema) in merge(derived, profile, call, overlay_dir)? {
                files.push(GeneratedFile {
                    path: format!("{profile}/{}.{part}.json", call.stem()),
                    value: schema,
                });
            }
        }
    }
    Ok(files)
}

/// A committed file that differs from what the generator produces.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    /// Path relative to the schemas folder.
    pub path: String,
    /// A unified diff from the committed text to the generated one (empty file if missing).
    pub diff: String,
}

/// Compares generated files with those under `schemas_dir`; returns one entry per difference.
pub fn check_drift(files: &[GeneratedFile], schemas_dir: &Path) -> Vec<Drift> {
    let mut out = Vec::new();
    for f in files {
        let want = f.text();
        let have = std::fs::read_to_string(schemas_dir.join(&f.path)).unwrap_or_default();
        if have != want {
            let diff = similar::TextDiff::from_lines(&have, &want)
                .unified_diff()
                .context_radius(3)
                .header(
                    &format!("committed/{}", f.path),
                    &format!("derived/{}", f.path),
                )
                .to_string();
            out.push(Drift {
                path: f.path.clone(),
                diff,
            });
        }
    }
    out
}

/// Writes generated files under `schemas_dir`, creating folders; returns the paths written.
pub fn write_all(files: &[GeneratedFile], schemas_dir: &Path) -> Result<Vec<PathBuf>, SpecError> {
    let mut written = Vec::new();
    for f in files {
        let path = schemas_dir.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| SpecError::Io {
                file: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, f.text()).map_err(|source| SpecError::Io {
            file: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}
