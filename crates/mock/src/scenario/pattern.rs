//! Text conditions (`"SKU-1"`, `{glob = "SKU-*"}`, `{regex = "^SKU-[0-9]+$"}`) and their
//! compiled form, shared by rule matches, token lifetimes and rate limits.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::ScenarioError;

/// A text condition: an exact string, `{glob = "SKU-*"}` or `{regex = "^SKU-[0-9]+$"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Pattern {
    /// Equal to this string.
    Exact(String),
    /// A glob (`*`, `?`, `[abc]`).
    Glob(GlobPattern),
    /// A regular expression (unanchored unless you anchor it).
    Regex(RegexPattern),
}

/// `{glob = "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobPattern {
    /// The glob.
    pub glob: String,
}

/// `{regex = "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegexPattern {
    /// The regular expression.
    pub regex: String,
}

/// A compiled [`Pattern`].
#[derive(Debug)]
pub(crate) enum CPattern {
    Exact(String),
    /// The matcher, the glob as written, and the literal text every match starts with.
    Glob(globset::GlobMatcher, String, Box<str>),
    /// The regex and the literal text every match starts with.
    Regex(regex::Regex, Box<str>),
}

/// The literal text every string a glob matches starts with: what comes before its first
/// special character (`*`, `?`, `[`, `{`, `\`).
fn glob_prefix(glob: &str) -> Box<str> {
    let end = glob.find(['*', '?', '[', '{', '\\']).unwrap_or(glob.len());
    glob[..end].into()
}

/// The literal text every string a regex matches starts with, when the regex is anchored with
/// a leading `^` and has no alternation; empty (no prefilter) otherwise. A character followed
/// by a quantifier is not part of it.
fn regex_prefix(re: &str) -> Box<str> {
    let Some(rest) = re.strip_prefix('^') else {
        return "".into();
    };
    if re.contains('|') {
        return "".into();
    }
    const SPECIAL: &[char] = &[
        '\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$',
    ];
    let end = rest.find(SPECIAL).unwrap_or(rest.len());
    let mut lit = &rest[..end];
    if rest[end..].starts_with(['*', '?', '{', '+'])
        && let Some((i, _)) = lit.char_indices().next_back()
    {
        lit = &lit[..i];
    }
    lit.into()
}

impl CPattern {
    pub(crate) fn compile(
        p: &Pattern,
        field: &str,
        err: &dyn Fn(String) -> ScenarioError,
    ) -> Result<Self, ScenarioError> {
        Ok(match p {
            Pattern::Exact(s) => CPattern::Exact(s.clone()),
            Pattern::Glob(g) => CPattern::Glob(
                globset::Glob::new(&g.glob)
                    .map_err(|e| err(format!("{field}: bad glob `{}`: {e}", g.glob)))?
                    .compile_matcher(),
                g.glob.clone(),
                glob_prefix(&g.glob),
            ),
            Pattern::Regex(r) => CPattern::Regex(
                regex::Regex::new(&r.regex)
                    .map_err(|e| err(format!("{field}: bad regex `{}`: {e}", r.regex)))?,
                regex_prefix(&r.regex),
            ),
        })
    }

    /// Whether `s` matches. A string without the pattern's literal start is rejected before
    /// the matcher runs: item rules test every item of every request, and a regex match
    /// (which borrows a cache from a shared pool) cost more than the rest of the rule.
    pub(crate) fn is_match(&self, s: &str) -> bool {
        match self {
            CPattern::Exact(e) => e == s,
            CPattern::Glob(g, _, pre) => s.starts_with(&**pre) && g.is_match(s),
            CPattern::Regex(r, pre) => s.starts_with(&**pre) && r.is_match(s),
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            CPattern::Exact(e) => format!("`{e}`"),
            CPattern::Glob(_, g, _) => format!("glob `{g}`"),
            CPattern::Regex(r, _) => format!("regex `{}`", r.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_starts_never_change_what_a_pattern_matches() {
        let err = |message: String| ScenarioError::Rule {
            origin: "t".into(),
            rule: "t".into(),
            message,
        };
        let globs = [
            "DISCONTINUED-*",
            "SKU-?",
            "a[bc]*",
            "x{1,2}",
            "\\*lit",
            "*",
            "",
            "PLAIN",
        ];
        let regexes = [
            "^X-[0-9]+$",
            "^ab*c",
            "^ab?",
            "^ab{2}",
            "^ab+",
            "^a|b",
            "^(?i)abc",
            "X-",
            "^é-[0-9]",
            "^\\d+",
            "^abc.*",
            "^",
            "^[ab]c",
        ];
        let texts = [
            "",
            "X-12",
            "X-",
            "x-12",
            "DISCONTINUED-1",
            "discontinued-1",
            "SKU-1",
            "ac",
            "abc",
            "abbc",
            "a",
            "b",
            "ABC",
            "é-1",
            "12",
            "abcd",
            "lit",
            "*lit",
            "x1",
            "bc",
            "PLAIN",
        ];
        for g in globs {
            let c = CPattern::compile(&Pattern::Glob(GlobPattern { glob: g.into() }), "t", &err)
                .unwrap();
            let plain = globset::Glob::new(g).unwrap().compile_matcher();
            for t in texts {
                assert_eq!(c.is_match(t), plain.is_match(t), "glob {g:?} on {t:?}");
            }
        }
        for r in regexes {
            let c = CPattern::compile(&Pattern::Regex(RegexPattern { regex: r.into() }), "t", &err)
                .unwrap();
            let plain = regex::Regex::new(r).unwrap();
            for t in texts {
                assert_eq!(c.is_match(t), plain.is_match(t), "regex {r:?} on {t:?}");
            }
        }
        assert_eq!(&*regex_prefix("^X-[0-9]+$"), "X-");
        assert_eq!(&*glob_prefix("DISCONTINUED-*"), "DISCONTINUED-");
    }
}
