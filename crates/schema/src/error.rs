//! Errors met while reading pages, overlays and JSON files.

use std::path::PathBuf;

/// Something wrong with a spec page, an overlay or a schema file, located by file and line.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The page's structure is broken (front matter, table layout, example JSON).
    #[error("{}:{line}: {message}", file.display())]
    Page {
        /// The page.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// One table cell holds something the deriver does not understand.
    #[error("{}:{line}: {column} cell `{value}`: {message}", file.display())]
    Cell {
        /// The page.
        file: PathBuf,
        /// 1-based line of the row.
        line: usize,
        /// Column name (LEVEL, PARAMETER, TYPE, DESCRIPTION, MANDATORY, NOTES).
        column: String,
        /// The cell's text.
        value: String,
        /// What is wrong.
        message: String,
    },
    /// An overlay file is not valid JSON or does not have the expected shape.
    #[error("{}: {message}", file.display())]
    Overlay {
        /// The overlay file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A page that a profile needs is missing from the spec folder.
    #[error("{}: no page with id `{id}` (profile {profile} needs it)", dir.display())]
    MissingPage {
        /// The folder searched.
        dir: PathBuf,
        /// Front matter id looked for.
        id: String,
        /// The profile that needs it.
        profile: String,
    },
}

/// A JSON document that could not be loaded (not UTF-8, not JSON).
#[derive(Debug, thiserror::Error)]
pub enum JsonFileError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid JSON.
    #[error("{}:{line}:{column}: not valid JSON: {message}", file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
}

/// Reads a JSON file, reporting syntax errors with line and column.
pub fn read_json_file(path: &std::path::Path) -> Result<serde_json::Value, JsonFileError> {
    let bytes = std::fs::read(path).map_err(|source| JsonFileError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| JsonFileError::Syntax {
        file: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })
}

/// serde_json appends " at line X column Y" to its messages; we print the position up front.
pub(crate) fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
