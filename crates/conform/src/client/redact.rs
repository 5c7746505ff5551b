//! Redaction of secrets (the apiKey, the token, the password) from everything the runner
//! records or prints, in every form a partner may echo them: as is, JSON-escaped (`\/`,
//! `\uXXXX`, any mix), URL-encoded (`%XX` in either case, `+` for a space) and base64
//! (standard or URL-safe alphabet, at any alignment inside a longer encoded text).

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::Regex;

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Replaces every secret in text by `[REDACTED]`.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Short secrets, each in any mix of spellings.
    patterns: Vec<Regex>,
    /// Every whole spelling of the long secrets.
    long: Vec<String>,
    /// `long`, as one automaton (its size is a small multiple of the spellings' bytes).
    long_matcher: Option<AhoCorasick>,
}

/// The base64 alphabets (standard, URL-safe).
const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// The base64 text every encoding of a longer text containing `secret` at byte offset
/// `k mod 3` shares: the characters that depend only on the secret's bytes.
fn base64_cores(secret: &str) -> Vec<String> {
    let s = secret.as_bytes();
    let mut out = Vec::new();
    for k in 0..3usize {
        let mut padded = vec![0u8; k];
        padded.extend_from_slice(s);
        // Whole 3-byte groups that lie entirely inside the secret.
        let first_group = k.div_ceil(3);
        let last_group = padded.len() / 3;
        if last_group <= first_group {
            continue;
        }
        let inner = &padded[first_group * 3..last_group * 3];
        for alphabet in [STD, URL] {
            let core = base64(inner, alphabet);
            if core.len() >= 8 {
                out.push(core);
            }
        }
    }
    out
}

/// One character of a secret in each form a JSON string or a URL may spell it.
fn char_alternatives(c: char) -> String {
    let mut alts = vec![regex::escape(&c.to_string())];
    let mut units = [0u16; 2];
    let json: Vec<String> = c
        .encode_utf16(&mut units)
        .iter()
        .map(|u| format!("\\\\u(?i:{u:04x})"))
        .collect();
    alts.push(json.concat());
    match c {
        '/' => alts.push(r"\\/".into()),
        '"' => alts.push(r#"\\""#.into()),
        '\\' => alts.push(r"\\\\".into()),
        ' ' => alts.push(r"\+".into()),
        _ => {}
    }
    let mut buf = [0u8; 4];
    let pct: Vec<String> = c
        .encode_utf8(&mut buf)
        .bytes()
        .map(|b| format!("%(?i:{b:02x})"))
        .collect();
    alts.push(pct.concat());
    format!("(?:{})", alts.join("|"))
}

/// Secrets up to this many bytes are found in any mix of escapes; longer ones in each whole
/// spelling ([`whole_spellings`]).
const MIXED_SPELLINGS_UP_TO: usize = 256;

/// A secret as a JSON string spells it (serde_json's escaping, and with `\/`), and URL-encoded
/// (upper- and lower-case `%XX`, a space as `+` or `%20`): each whole, deduplicated.
fn whole_spellings(secret: &str) -> Vec<String> {
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or(secret)
        .to_string();
    let pct = |upper: bool, plus: bool| -> String {
        let mut out = String::with_capacity(secret.len() * 3);
        for b in secret.bytes() {
            match b {
                b' ' if plus => out.push('+'),
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(char::from(b))
                }
                _ if upper => out.push_str(&format!("%{b:02X}")),
                _ => out.push_str(&format!("%{b:02x}")),
            }
        }
        out
    };
    let mut out = vec![
        secret.to_string(),
        json.replace('/', "\\/"),
        json,
        pct(true, false),
        pct(false, false),
        pct(true, true),
        pct(false, true),
    ];
    out.sort();
    out.dedup();
    out
}

impl Redactor {
    /// A redactor for these secrets (those shorter than 3 characters are ignored).
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut r = Redactor::default();
        for s in secrets {
            r.add(&s);
        }
        r
    }

    /// Adds a secret.
    pub fn add(&mut self, secret: &str) {
        if secret.chars().count() < 3 {
            return;
        }
        // A short secret is matched in any mix of spellings, character by character. A long
        // one (a token of kilobytes) in its whole spellings only, by one automaton: a pattern
        // of alternatives per character compiles to megabytes per kilobyte of secret, past
        // regex's size limit, and the secret then went unredacted.
        if secret.len() > MIXED_SPELLINGS_UP_TO {
            self.long.extend(whole_spellings(secret));
            self.long.extend(base64_cores(secret));
            self.long.sort();
            self.long.dedup();
            self.long_matcher = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                // An NFA: a few bytes per pattern byte (a DFA of a 10 KiB token took 84 MB).
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .build(&self.long)
                .ok();
            return;
        }
        let spelled: String = secret.chars().map(char_alternatives).collect();
        let mut alts = vec![spelled];
        alts.extend(base64_cores(secret).iter().map(|c| regex::escape(c)));
        if let Ok(re) = Regex::new(&alts.join("|")) {
            self.patterns.push(re);
        }
    }

    /// Whether it has no secret to redact (neither a short one nor a long one).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty() && self.long.is_empty()
    }

    /// `text` with every secret, in every form, replaced.
    pub fn redact(&self, text: &str) -> String {
        self.redact_owned(text.to_string())
    }

    /// `text` with every secret replaced; `text` itself comes back, not a copy, when it holds
    /// none (a response body of megabytes is held once).
    pub fn redact_owned(&self, text: String) -> String {
        let mut s = match &self.long_matcher {
            Some(ac) if ac.is_match(&text) => {
                ac.replace_all(&text, &vec![REDACTED; self.long.len()])
            }
            _ => text,
        };
        for re in &self.patterns {
            if re.is_match(&s) {
                s = re.replace_all(&s, REDACTED).into_owned();
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr/et+kéy 42";

    fn r() -> Redactor {
        Redactor::new([SECRET.to_string(), "".to_string()])
    }

    fn hidden(text: &str) {
        let out = r().redact(text);
        assert!(out.contains(REDACTED), "{text} -> {out}");
        assert!(!out.contains("s3cr"), "{text} -> {out}");
    }

    #[test]
    fn plain() {
        hidden(&format!("key {SECRET}!"));
    }

    #[test]
    fn json_escaped_forms() {
        // serde_json's own escaping, a slash escaped, every character \u-escaped, and a mix.
        hidden(&serde_json::to_string(SECRET).unwrap());
        hidden(r#"{"echo":"s3cr\/et+k\u00e9y 42"}"#);
        let all: String = SECRET
            .encode_utf16()
            .map(|u| format!("\\u{u:04X}"))
            .collect();
        hidden(&format!(r#"{{"echo":"{all}"}}"#));
    }

    #[test]
    fn url_encoded_forms() {
        hidden("https://h/x?k=s3cr%2Fet%2Bk%C3%A9y+42&z=1");
        hidden("k=s3cr%2fet%2bk%c3%a9y%2042");
    }

    #[test]
    fn base64_at_any_alignment() {
        for prefix in ["", "a", "ab", "Basic user:"] {
            let text = format!("{prefix}{SECRET} trailing");
            for alphabet in [STD, URL] {
                let encoded = base64(text.as_bytes(), alphabet);
                let out = r().redact(&format!("Authorization: {encoded}"));
                assert!(out.contains(REDACTED), "{prefix:?}: {encoded} -> {out}");
            }
        }
    }

    #[test]
    fn a_long_secret_is_found_in_each_whole_spelling_with_a_small_pattern() {
        // A token of 10 KiB with characters every spelling changes.
        let secret: String = "tok/en+ é".repeat(1200);
        let r = Redactor::new([secret.clone()]);
        let json = serde_json::to_string(&secret).unwrap();
        let url: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let b64 = base64(format!("x{secret}").as_bytes(), URL);
        for text in [
            format!("k {secret} z"),
            format!("{{\"echo\":{json}}}"),
            format!("{{\"echo\":{}}}", json.replace('/', "\\/")),
            format!("https://h/x?k={url}&z=1"),
            format!("https://h/x?k={}&z=1", url.to_lowercase()),
            format!("Authorization: {b64}"),
        ] {
            let out = r.redact(&text);
            assert!(out.contains(REDACTED), "{}", &text[..40]);
            assert!(!out.contains("tok/en+ é"), "{}", &text[..40]);
        }
        // Bounded by structure: the automaton holds the whole spellings, a small multiple of
        // the secret's bytes (no pattern of alternatives per character).
        let held = r.long_matcher.as_ref().map_or(0, AhoCorasick::memory_usage);
        assert!(
            held > 0 && held < secret.len() * 400,
            "automaton of {held} bytes"
        );
        assert!(r.patterns.is_empty());
        // A redactor that holds only a long secret still has something to redact (a token
        // from a re-login of kilobytes went unredacted while this said "empty").
        assert!(!r.is_empty());
    }

    #[test]
    fn other_text_is_left_alone() {
        let t = "status SUCCESS, 0 failed entries; s3cr is not the secret";
        assert_eq!(r().redact(t), t);
    }
}
