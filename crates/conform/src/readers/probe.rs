//! The stock probe (`--stock-probe`): a user's command, run through `sh -c`, that prints one
//! item's stored stock from the partner's own side (an internal read API, a SQL query, a
//! script), or nothing when the item has never been set.
//!
//! Ids reach the command in three ways, none of which lets an id become shell syntax:
//! - environment variables `STOCKWIRE_PRODUCT_ID`, `STOCKWIRE_VARIANT_ID`, `STOCKWIRE_SELLER`,
//!   `STOCKWIRE_FACILITY_CODE` (the robust way);
//! - placeholders `{productId}`, `{variantId}`, `{seller}`, `{facilityCode}`, each replaced by one
//!   single-quoted shell word (write them unquoted);
//! - `{productId:url}`-style forms, replaced by the percent-encoded id (only unreserved
//!   characters and `%XX` remain, so they are safe anywhere in a word, also inside quotes).
//!
//! Errors name the item, the command as written (never expanded, no environment values) and
//! what the command printed.

use std::process::Stdio;
use std::time::Duration;

use stockwire_schema::exchange::field;
use tokio::io::AsyncReadExt;

/// Default time a probe may take before it counts as failed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The item a probe reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemRef {
    /// Product ID, exactly as sent.
    pub product_id: String,
    /// Variant ID, exactly as sent.
    pub variant_id: String,
    /// The seller under test (empty when not set).
    pub seller: String,
    /// The facility code (empty when the item has none).
    pub facility_code: String,
}

impl std::fmt::Display for ItemRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}/{:?}", self.product_id, self.variant_id)
    }
}

/// Why a probe did not give a reading: a probe error (never a partner violation), or a number
/// that is not a valid stock ([`ProbeError::InvalidStock`], the partner's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// The command could not be started.
    #[error("stock probe for item {item} could not start (`{command}`): {message}")]
    Spawn {
        /// The item.
        item: String,
        /// The command as written.
        command: String,
        /// The OS error.
        message: String,
    },
    /// The command exited with a non-zero status.
    #[error("stock probe for item {item} exited with {status} (`{command}`); it printed: {output}")]
    Exit {
        /// The item.
        item: String,
        /// The command as written.
        command: String,
        /// Exit status as text.
        status: String,
        /// What it printed (stdout, then stderr), clipped.
        output: String,
    },
    /// The command did not finish in time (it was killed).
    #[error(
        "stock probe for item {item} took longer than {timeout} (`{command}`); it printed: {output}"
    )]
    Timeout {
        /// The item.
        item: String,
        /// The command as written.
        command: String,
        /// The time-out.
        timeout: String,
        /// What it printed before it was killed, clipped.
        output: String,
    },
    /// The command printed more than [`MAX_OUTPUT_BYTES`] (it was killed).
    #[error(
        "stock probe for item {item} printed more than {cap} bytes (`{command}`), so it was stopped; it began: {output}"
    )]
    TooMuchOutput {
        /// The item.
        item: String,
        /// The command as written.
        command: String,
        /// The cap, as text.
        cap: String,
        /// The start of what it printed, clipped.
        output: String,
    },
    /// The command printed a number that is not a valid stock (a fraction, a negative,
    /// `Infinity`, `NaN`, an exponent): evidence that the partner stored an invalid value, so a
    /// `stored-value` violation, not a probe error.
    #[error("item {item} holds {output}, which is not a valid stock (a whole number from 0)")]
    InvalidStock {
        /// The item.
        item: String,
        /// What the probe printed, clipped and quoted.
        output: String,
    },
    /// The command printed something other than a number, `null` or nothing.
    #[error(
        "stock probe for item {item} printed {output} (`{command}`), not an integer or nothing"
    )]
    NotInteger {
        /// The item.
        item: String,
        /// The command as written.
        command: String,
        /// What it printed, clipped and quoted.
        output: String,
    },
}

/// The most a probe may print, on standard output and on standard error each (4 KiB: an
/// integer needs a dozen bytes). Past it the probe is stopped and counts as one probe error,
/// so a probe that prints without end costs a few KiB, not the machine's memory.
pub const MAX_OUTPUT_BYTES: usize = 4 * 1024;

/// Reads `from` into `into` until the end or until more than `cap` bytes came; returns whether
/// the cap was passed (the rest is left unread).
async fn read_capped<R: tokio::io::AsyncRead + Unpin>(
    from: &mut R,
    into: &mut Vec<u8>,
    cap: usize,
) -> bool {
    let mut chunk = [0u8; 1024];
    loop {
        match from.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => {
                into.extend_from_slice(&chunk[..n]);
                if into.len() > cap {
                    into.truncate(cap);
                    return true;
                }
            }
        }
    }
}

/// A probe command as written by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockProbe {
    command: String,
    timeout: Duration,
}

/// Single-quotes `s` as one shell word.
pub fn shell_word(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Percent-encodes every byte outside the URL's unreserved set (RFC 3986).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What a probe that exited 0 printed: nothing or `null` (any case) is "never set", a whole
/// number from 0 is the stock; `Err(true)` for another number (`48.5`, `-3`, `Infinity`, `NaN`,
/// `1e3`: the partner stored an invalid value), `Err(false)` for anything else (words, several
/// lines: a probe error).
pub fn parse_output(printed: &str) -> Result<Option<i64>, bool> {
    let t = printed.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("null") {
        return Ok(None);
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        // Digits only: the stock, or a number too large for any stock.
        return t.parse::<i64>().map(Some).map_err(|_| true);
    }
    Err(t.parse::<f64>().is_ok())
}

fn clip(s: &str) -> String {
    let t = s.trim();
    let shown: String = t.chars().take(200).collect();
    let shown = crate::text::escape(&shown);
    if shown.is_empty() {
        "nothing".into()
    } else if t.chars().count() > 200 {
        format!("{shown:?}…")
    } else {
        format!("{shown:?}")
    }
}

impl StockProbe {
    /// A probe running `command` with `timeout`.
    pub fn new(command: impl Into<String>, timeout: Duration) -> Self {
        StockProbe {
            command: command.into(),
            timeout,
        }
    }

    /// The command as written.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The command with every placeholder replaced for `item`.
    pub fn expand(&self, item: &ItemRef) -> String {
        let fields: [(&str, &str); 4] = [
            // The placeholders are named after the exchange's members.
            (field::PRODUCT_ID, &item.product_id),
            (field::VARIANT_ID, &item.variant_id),
            ("seller", &item.seller),
            (field::FACILITY_CODE, &item.facility_code),
        ];
        let mut out = String::with_capacity(self.command.len());
        let mut rest = self.command.as_str();
        'scan: while let Some(at) = rest.find('{') {
            out.push_str(&rest[..at]);
            let tail = &rest[at..];
            for (name, value) in fields {
                let plain = format!("{{{name}}}");
                let url = format!("{{{name}:url}}");
                if tail.starts_with(&plain) {
                    out.push_str(&shell_word(value));
                    rest = &tail[plain.len()..];
                    continue 'scan;
                }
                if tail.starts_with(&url) {
                    out.push_str(&url_encode(value));
                    rest = &tail[url.len()..];
                    continue 'scan;
                }
            }
            out.push('{');
            rest = &tail[1..];
        }
        out.push_str(rest);
        out
    }

    /// Runs the probe for `item`: `Some(n)` for a stored integer, `None` for never set.
    pub async fn read(&self, item: &ItemRef) -> Result<Option<i64>, ProbeError> {
        let command = self.command.clone();
        let name = item.to_string();
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c")
            .arg(self.expand(item))
            .env("STOCKWIRE_PRODUCT_ID", &item.product_id)
            .env("STOCKWIRE_VARIANT_ID", &item.variant_id)
            .env("STOCKWIRE_SELLER", &item.seller)
            .env("STOCKWIRE_FACILITY_CODE", &item.facility_code)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        let mut child = cmd.spawn().map_err(|e| ProbeError::Spawn {
            item: name.clone(),
            command: command.clone(),
            message: e.to_string(),
        })?;
        let pid = child.id();
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut flooded = false;
        let collect = async {
            // Past the cap the probe is killed at once: the other stream then ends too.
            let a = async {
                let over = match stdout.as_mut() {
                    Some(s) => read_capped(s, &mut out, MAX_OUTPUT_BYTES).await,
                    None => false,
                };
                if over {
                    kill_group(pid);
                }
                over
            };
            let b = async {
                let over = match stderr.as_mut() {
                    Some(s) => read_capped(s, &mut err, MAX_OUTPUT_BYTES).await,
                    None => false,
                };
                if over {
                    kill_group(pid);
                }
                over
            };
            let (a, b) = tokio::join!(a, b);
            flooded = a || b;
            child.wait().await
        };
        let waited = tokio::time::timeout(self.timeout, collect).await;
        let printed = |out: &[u8], err: &[u8]| {
            let mut s = String::from_utf8_lossy(out).into_owned();
            let e = String::from_utf8_lossy(err);
            if !e.trim().is_empty() {
                if !s.trim().is_empty() {
                    s.push_str(" | stderr: ");
                } else {
                    s.push_str("stderr: ");
                }
                s.push_str(e.trim());
            }
            s
        };
        if flooded {
            return Err(ProbeError::TooMuchOutput {
                item: name,
                command,
                cap: MAX_OUTPUT_BYTES.to_string(),
                output: clip(&printed(&out, &err)),
            });
        }
        let status = match waited {
            Err(_) => {
                kill_group(pid);
                return Err(ProbeError::Timeout {
                    item: name,
                    command,
                    timeout: humantime::format_duration(self.timeout).to_string(),
                    output: clip(&printed(&out, &err)),
                });
            }
            Ok(Err(e)) => {
                return Err(ProbeError::Spawn {
                    item: name,
                    command,
                    message: e.to_string(),
                });
            }
            Ok(Ok(s)) => s,
        };
        if !status.success() {
            return Err(ProbeError::Exit {
                item: name,
                command,
                status: status.to_string(),
                output: clip(&printed(&out, &err)),
            });
        }
        let text = String::from_utf8_lossy(&out);
        parse_output(&text).map_err(|invalid| {
            if invalid {
                ProbeError::InvalidStock {
                    item: name,
                    output: clip(&text),
                }
            } else {
                ProbeError::NotInteger {
                    item: name,
                    command,
                    output: clip(&text),
                }
            }
        })
    }
}

/// Kills a timed-out probe's whole process group (the shell and what it started).
fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(p: &str, v: &str) -> ItemRef {
        ItemRef {
            product_id: p.into(),
            variant_id: v.into(),
            seller: "s 1".into(),
            facility_code: String::new(),
        }
    }

    #[test]
    fn placeholders_become_one_quoted_word_and_url_forms_are_encoded() {
        let p = StockProbe::new(
            "get {productId} {variantId:url} {seller} {other} {",
            DEFAULT_TIMEOUT,
        );
        assert_eq!(
            p.expand(&item("a'b", "x/y ü")),
            r"get 'a'\''b' x%2Fy%20%C3%BC 's 1' {other} {"
        );
    }

    #[tokio::test]
    async fn hostile_ids_stay_data() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("pwned");
        let id = format!("a'; touch {}; '", marker.display());
        let p = StockProbe::new(
            "test \"$STOCKWIRE_PRODUCT_ID\" = {productId} && echo 7",
            DEFAULT_TIMEOUT,
        );
        assert_eq!(p.read(&item(&id, "v")).await, Ok(Some(7)));
        let p = StockProbe::new(
            "printf '%s' {productId} >/dev/null; echo 3",
            DEFAULT_TIMEOUT,
        );
        assert_eq!(p.read(&item(&id, "v")).await, Ok(Some(3)));
        assert!(!marker.exists(), "an id was run as a command");
    }

    #[tokio::test]
    async fn empty_output_means_never_set() {
        let p = StockProbe::new("true", DEFAULT_TIMEOUT);
        assert_eq!(p.read(&item("p", "v")).await, Ok(None));
        let p = StockProbe::new("echo NULL", DEFAULT_TIMEOUT);
        assert_eq!(p.read(&item("p", "v")).await, Ok(None));
    }

    #[test]
    fn output_has_meaning() {
        for never in ["", "  \n", "null", "Null", "NULL\n"] {
            assert_eq!(parse_output(never), Ok(None), "{never:?}");
        }
        assert_eq!(parse_output(" 12\n"), Ok(Some(12)));
        assert_eq!(parse_output("0"), Ok(Some(0)));
        for invalid in [
            "48.5",
            "-3",
            "Infinity",
            "-Infinity",
            "NaN",
            "1e3",
            "99999999999999999999",
        ] {
            assert_eq!(parse_output(invalid), Err(true), "{invalid:?}");
        }
        for error in [
            "twelve",
            "12\n13",
            "12 items",
            "ERROR: relation does not exist",
        ] {
            assert_eq!(parse_output(error), Err(false), "{error:?}");
        }
    }

    #[tokio::test]
    async fn a_number_that_is_no_stock_is_the_partners_not_a_probe_error() {
        let p = StockProbe::new("echo 48.5", DEFAULT_TIMEOUT);
        let e = p.read(&item("P", "V")).await.unwrap_err();
        assert!(matches!(e, ProbeError::InvalidStock { .. }), "{e}");
        assert!(e.to_string().contains("\"48.5\""), "{e}");
    }

    #[tokio::test]
    async fn bad_probes_name_item_command_and_output_without_expanding() {
        let p = StockProbe::new("echo oops {productId}; exit 3", DEFAULT_TIMEOUT);
        let e = p.read(&item("P-1", "V-1")).await.unwrap_err().to_string();
        assert!(e.contains("\"P-1\"/\"V-1\""), "{e}");
        assert!(e.contains("`echo oops {productId}; exit 3`"), "{e}");
        assert!(e.contains("oops P-1"), "{e}");
        assert!(e.contains("exit status: 3"), "{e}");

        let p = StockProbe::new("echo twelve", DEFAULT_TIMEOUT);
        let e = p.read(&item("P", "V")).await.unwrap_err();
        assert!(matches!(e, ProbeError::NotInteger { .. }), "{e}");
        assert!(e.to_string().contains("\"twelve\""), "{e}");

        let p = StockProbe::new("echo started; sleep 5", Duration::from_millis(200));
        let e = p.read(&item("P", "V")).await.unwrap_err();
        assert!(matches!(e, ProbeError::Timeout { .. }), "{e}");
        assert!(e.to_string().contains("started"), "{e}");
    }

    #[tokio::test]
    async fn a_probe_that_prints_without_end_is_stopped_at_the_cap() {
        // 1 GiB of zeros would take the machine's memory if read whole.
        let p = StockProbe::new("head -c 1073741824 /dev/zero", Duration::from_secs(30));
        let e = p.read(&item("P", "V")).await.unwrap_err();
        assert!(matches!(e, ProbeError::TooMuchOutput { .. }), "{e}");
        assert!(
            e.to_string().contains("printed more than 4096 bytes"),
            "{e}"
        );
        // The same on standard error, while standard output stays quiet.
        let p = StockProbe::new("yes error >&2", Duration::from_secs(30));
        let e = p.read(&item("P", "V")).await.unwrap_err();
        assert!(matches!(e, ProbeError::TooMuchOutput { .. }), "{e}");
    }
}
