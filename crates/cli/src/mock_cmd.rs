//! `stockwire mock`: run the mock marketplace (and `mock verify`, `mock check`,
//! `mock scenario-schema`). Parses flags and hands over to `stockwire-mock`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use stockwire_mock::scenario::{Engine, ScenarioLimits};
use stockwire_mock::verify::{Expectation, ItemRef, RateQuery, RequestQuery, SellerQuery};
use stockwire_mock::{Credentials, Limits, MockMarketplace, Scenario, demo};
use stockwire_schema::Profile;

use std::io::Write;

use crate::{OutputFormat, exit_codes};

/// Writes `url` to `path` atomically (a temporary file renamed into place), so a script polling
/// for the file never reads half a line.
fn write_ready_file(path: &std::path::Path, url: &str) -> Result<()> {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, format!("{url}\n"))
        .with_context(|| format!("--ready-file: cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("--ready-file: cannot write {}", path.display()))?;
    Ok(())
}

const AFTER_HELP: &str = "\
With no flags: a ready-to-use marketplace on 127.0.0.1:8080 with the demo catalog, the demo
seller (username demo, password demo-pass) and the demo scenario (SKU-X fails with 'Mismatch',
DISCONTINUED-* items fail, every 7th request is a 503). The banner prints an apiKey and a curl
command that works when pasted.

A scenario in a few lines (scenario.toml), \"SKU-X fails with 'Mismatch', every 3rd request
is a 503\":

  [[rules]]
  match = { productId = \"SKU-X\" }
  effect = { fail = \"Mismatch\" }

  [[rules]]
  match = { request = { every = 3 } }
  effect = { status = 503, retryAfter = 2 }

  stockwire mock --scenario scenario.toml --watch

Over time (docs/mock.md, \"Time, tokens and rate limits\"):

  [[tokens]]                 # tokens expire; /authToken issues fresh ones
  lifetime = \"15m\"           # or: requests = 100
  [[rateLimits]]             # token bucket per seller: 429 + Retry-After
  rate = 5
  burst = 10
  [[rules]]                  # 503 every day 02:00-02:15 UTC
  match = { daily = { from = \"02:00\", to = \"02:15\" } }
  effect = { status = 503 }
  [[rules]]                  # log-normal latency
  effect = { delay = { p50 = \"80ms\", p99 = \"1.5s\" } }

  stockwire mock verify --min-reauthentications 1 --honoured-retry-after --max-rate 15

Record a real partner, then replay it offline:

  stockwire mock --record-from https://partner.example --record-to rec/
  stockwire mock --scenario rec/scenario.toml --catalog rec/catalog.json

More: docs/mock.md, fixtures/scenarios/, schemas/scenario.schema.json.
Admin API: GET /__admin/journal, GET /__admin/ledger, POST /__admin/reset, PUT /__admin/scenario,
POST /__admin/verify, POST /__admin/tokens/revoke?seller=NAME, GET /__admin/health.";

/// Arguments of `stockwire mock`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, after_help = AFTER_HELP)]
pub struct MockArgs {
    /// Something other than running the mock.
    #[command(subcommand)]
    pub cmd: Option<MockSub>,
    /// Port to listen on (0 = any free port; the one taken is printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Contract version: v1 (integer inventory) or v2 (digit-string inventory).
    #[arg(long, default_value = "v1")]
    pub profile: Profile,
    /// Items that exist: a JSON or CSV catalog (productId, variantId, stock?, seller?, and the
    /// listing's sku?, title?, brand?, listingPrice?, mrp?, blocked?, published?), read entry
    /// by entry. Default: the demo catalog.
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// Scripted behaviour: a TOML, YAML or JSON scenario. Default: the demo scenario.
    #[arg(long, value_name = "FILE", conflicts_with = "no_scenario")]
    pub scenario: Option<PathBuf>,
    /// Run no scenario: a correct partner with no scripted misbehaviour.
    #[arg(long)]
    pub no_scenario: bool,
    /// Reload the --scenario file when it changes.
    #[arg(long, requires = "scenario")]
    pub watch: bool,
    /// Accept /updateInventory without an apiKey.
    #[arg(long)]
    pub no_auth: bool,
    /// Print one line per request to standard error.
    #[arg(long)]
    pub log_requests: bool,
    /// A seller as NAME:USERNAME:PASSWORD (repeatable). Default: the demo seller.
    #[arg(long = "seller", value_name = "NAME:USER:PASSWORD")]
    pub sellers: Vec<String>,
    /// Journal entries kept (oldest dropped first).
    #[arg(long, default_value_t = stockwire_mock::journal::DEFAULT_CAP)]
    pub journal_cap: usize,
    /// Largest request body in bytes (larger → 413).
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub max_body: usize,
    /// Most items per request (more → 413), counted while the body is read so that a longer
    /// list is never held in memory.
    #[arg(long, default_value_t = stockwire_mock::DEFAULT_MAX_ITEMS)]
    pub max_items: usize,
    /// Body bytes held at once: update bodies of 64 KiB or more from reading until answered,
    /// and answers of 64 KiB or more until written to their client. A body that finds no room
    /// within the body time-out is answered 503.
    #[arg(long, value_name = "BYTES", default_value_t = 3 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..))]
    pub body_budget: u64,
    /// Most SKU codes one listing request may name in `skus` (more → 400 naming the limit).
    #[arg(long, default_value_t = stockwire_mock::DEFAULT_MAX_SKUS)]
    pub max_skus: usize,
    /// Most open connections; at the cap the longest-idle connection is closed for a new one,
    /// and a new client is answered 503 only when every connection is busy.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// Live tokens one seller may hold when a scenario gives tokens a lifetime: every
    /// /authToken call issues a fresh token, and past this many the seller's oldest goes.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_tokens_per_seller: u64,
    /// Threads that serve connections (default 1). Batches of 32 KiB or more are parsed on a
    /// separate pool sized to the cores whatever this is; one thread serves small requests
    /// fastest on a machine shared with the client, more help only many busy clients.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: u16,
    /// Record mode: partner answer bytes held at once until written to their clients; an
    /// answer that finds no room within 5 s is answered 502.
    #[arg(long, value_name = "BYTES", default_value_t = 128 * 1024 * 1024, requires = "record_from")]
    pub record_budget: usize,
    /// Record a real partner: forward every request to this URL and answer with its reply.
    #[arg(long, value_name = "URL", requires = "record_to")]
    pub record_from: Option<String>,
    /// Where the recording (scenario.toml and catalog.json) is written when the mock stops.
    #[arg(long, value_name = "DIR", requires = "record_from")]
    pub record_to: Option<PathBuf>,
    /// Require `Authorization: Bearer TOKEN` on /__admin/* (GET /__admin/health stays open).
    #[arg(long, env = "STOCKWIRE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Once listening, write the base URL (one line) to this file, for scripts that wait on it.
    #[arg(long, value_name = "FILE")]
    pub ready_file: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub caps: ScenarioCaps,
}

/// Caps on a scenario (a file, `--watch` reloads, `PUT /__admin/scenario`, `mock check`).
#[derive(Debug, Clone, Copy, Args)]
pub struct ScenarioCaps {
    /// Largest scenario text in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = ScenarioLimits::default().max_bytes)]
    pub max_scenario_bytes: usize,
    /// Deepest nesting of arrays and objects in a scenario text.
    #[arg(long, value_name = "N", default_value_t = ScenarioLimits::default().max_depth)]
    pub max_scenario_depth: usize,
    /// Most rules, token lifetimes and rate limits in a scenario, together.
    #[arg(long, value_name = "N", default_value_t = ScenarioLimits::default().max_rules)]
    pub max_scenario_rules: usize,
    /// Largest compiled size of one regex pattern in a scenario, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = ScenarioLimits::default().max_pattern_bytes)]
    pub max_pattern_bytes: usize,
}

impl ScenarioCaps {
    /// The caps as the mock library takes them.
    pub fn limits(&self) -> ScenarioLimits {
        ScenarioLimits {
            max_bytes: self.max_scenario_bytes,
            max_depth: self.max_scenario_depth,
            max_rules: self.max_scenario_rules,
            max_pattern_bytes: self.max_pattern_bytes,
        }
    }
}

/// Subcommands of `stockwire mock`.
#[derive(Debug, Subcommand)]
pub enum MockSub {
    /// Ask a running mock questions; exit 0 when every expectation holds, 1 otherwise.
    Verify(VerifyArgs),
    /// Check a scenario file and print its rules.
    Check {
        /// The scenario file (TOML, YAML or JSON).
        file: PathBuf,
        #[command(flatten)]
        #[allow(missing_docs)]
        caps: ScenarioCaps,
    },
    /// Print the JSON Schema of scenario files.
    ScenarioSchema,
}

/// Arguments of `stockwire mock verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The mock's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Current stock: [SELLER:]PRODUCT/VARIANT=N (repeatable).
    #[arg(long, value_name = "[SELLER:]PRODUCT/VARIANT=N")]
    pub stock: Vec<String>,
    /// Some request set the item (to N when given): [SELLER:]PRODUCT/VARIANT[=N] (repeatable).
    #[arg(long, value_name = "[SELLER:]PRODUCT/VARIANT[=N]")]
    pub was_set: Vec<String>,
    /// Exactly N /updateInventory requests were journaled; CALL=N: exactly N requests to that
    /// call (e.g. products=3). Repeatable.
    #[arg(long, value_name = "[CALL=]N")]
    pub requests: Vec<String>,
    /// At least N /updateInventory requests were journaled; CALL=N: at least N to that call.
    /// Repeatable.
    #[arg(long, value_name = "[CALL=]N")]
    pub min_requests: Vec<String>,
    /// The seller read the count of its listings (a count call answered 200).
    #[arg(long)]
    pub count_read: bool,
    /// The seller pulled the listing to its end: every page from 1 up to an empty or short
    /// page was answered.
    #[arg(long)]
    pub listing_pulled: bool,
    /// The seller re-authenticated exactly N times (successful /authToken calls after the first).
    #[arg(long, value_name = "N")]
    pub reauthentications: Option<u64>,
    /// The seller re-authenticated at least N times.
    #[arg(long, value_name = "N")]
    pub min_reauthentications: Option<u64>,
    /// The seller never sent more than R /updateInventory requests in any 1-second window.
    #[arg(long, value_name = "R")]
    pub max_rate: Option<f64>,
    /// The seller sent no request before the time a Retry-After had advised.
    #[arg(long)]
    pub honoured_retry_after: bool,
    /// The seller the re-authentication, rate and Retry-After checks are about (default: the
    /// mock's first seller).
    #[arg(long, value_name = "NAME")]
    pub seller: Option<String>,
    /// Output format: text (default) or json (schema: schemas/mock-verify.schema.json).
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// Same as --format json.
    #[arg(long)]
    pub json: bool,
    /// The mock's admin token, when it was started with one.
    #[arg(long, env = "STOCKWIRE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
}

fn item_ref(spec: &str) -> Result<(ItemRef, Option<u32>)> {
    let (item, value) = match spec.rsplit_once('=') {
        Some((i, v)) => (
            i,
            Some(
                v.trim()
                    .parse::<u32>()
                    .with_context(|| format!("`{spec}`: `{v}` is not a stock count"))?,
            ),
        ),
        None => (spec, None),
    };
    let (seller, pv) = match item.split_once(':') {
        Some((s, pv)) => (Some(s.to_string()), pv),
        None => (None, item),
    };
    let Some((p, v)) = pv.split_once('/') else {
        bail!("`{spec}`: expected [SELLER:]PRODUCT/VARIANT[=N]");
    };
    Ok((
        ItemRef {
            seller,
            product_id: p.to_string(),
            variant_id: v.to_string(),
        },
        value,
    ))
}

/// `N` or `CALL=N`.
fn call_count(flag: &str, spec: &str) -> Result<(Option<String>, u64)> {
    let (call, n) = match spec.rsplit_once('=') {
        Some((c, n)) if !c.trim().is_empty() => (Some(c.trim().to_string()), n),
        Some((_, n)) => (None, n),
        None => (None, spec),
    };
    let n = n
        .trim()
        .parse::<u64>()
        .with_context(|| format!("{flag} `{spec}`: expected N or CALL=N (e.g. products=3)"))?;
    Ok((call, n))
}

fn verify(a: &VerifyArgs) -> Result<u8> {
    let mut expect = Vec::new();
    for s in &a.stock {
        let (r, v) = item_ref(s)?;
        if v.is_none() {
            bail!("--stock `{s}`: give the expected value, e.g. P1/V1=0");
        }
        expect.push(Expectation {
            stock: Some(r),
            equals: v,
            ..Expectation::default()
        });
    }
    for s in &a.was_set {
        let (r, v) = item_ref(s)?;
        expect.push(Expectation {
            was_set: Some(r),
            to: v,
            ..Expectation::default()
        });
    }
    for (flag, specs, exact) in [
        ("--requests", &a.requests, true),
        ("--min-requests", &a.min_requests, false),
    ] {
        for spec in specs {
            let (call, n) = call_count(flag, spec)?;
            expect.push(Expectation {
                requests: Some(RequestQuery {
                    call,
                    ..RequestQuery::default()
                }),
                count: exact.then_some(n),
                min: (!exact).then_some(n),
                ..Expectation::default()
            });
        }
    }
    let who = SellerQuery {
        seller: a.seller.clone(),
    };
    if a.count_read {
        expect.push(Expectation {
            count_read: Some(who.clone()),
            ..Expectation::default()
        });
    }
    if a.listing_pulled {
        expect.push(Expectation {
            listing_pulled: Some(who.clone()),
            ..Expectation::default()
        });
    }
    if a.reauthentications.is_some() || a.min_reauthentications.is_some() {
        expect.push(Expectation {
            reauthenticated: Some(who.clone()),
            count: a.reauthentications,
            min: a.min_reauthentications,
            ..Expectation::default()
        });
    }
    if let Some(r) = a.max_rate {
        expect.push(Expectation {
            max_rate: Some(RateQuery {
                seller: a.seller.clone(),
                per_second: r,
                window: None,
            }),
            ..Expectation::default()
        });
    }
    if a.honoured_retry_after {
        expect.push(Expectation {
            honoured_retry_after: Some(who),
            ..Expectation::default()
        });
    }
    if expect.is_empty() {
        bail!(
            "nothing to verify: give --stock, --was-set, --requests, --min-requests, --count-read, --listing-pulled, --reauthentications, --min-reauthentications, --max-rate or --honoured-retry-after"
        );
    }
    let report = match stockwire_mock::verify::remote_with_token(
        &a.url,
        a.admin_token.as_deref(),
        &expect,
    ) {
        Ok(r) => r,
        Err(e @ stockwire_mock::verify::RemoteError::Io { .. }) => {
            eprintln!("error: {e}");
            return Ok(exit_codes::UNREACHABLE);
        }
        Err(e) => return Err(e.into()),
    };
    let mut out = std::io::stdout().lock();
    if a.json || a.format == OutputFormat::Json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        for c in &report.results {
            writeln!(out, "{} {}", if c.ok { "ok  " } else { "FAIL" }, c.message)?;
        }
    }
    Ok(if report.ok {
        exit_codes::OK
    } else {
        exit_codes::VIOLATIONS
    })
}

fn seller(spec: &str) -> Result<Credentials> {
    let mut it = spec.splitn(3, ':');
    match (it.next(), it.next(), it.next()) {
        (Some(n), Some(u), Some(p)) if !n.is_empty() && !u.is_empty() => {
            Ok(Credentials::new(n, u, p))
        }
        _ => bail!("--seller `{spec}`: expected NAME:USERNAME:PASSWORD"),
    }
}

/// Runs `stockwire mock`.
pub fn run(args: MockArgs) -> Result<u8> {
    match &args.cmd {
        Some(MockSub::Verify(v)) => return verify(v),
        Some(MockSub::ScenarioSchema) => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&stockwire_mock::scenario::json_schema())?
            )?;
            return Ok(exit_codes::OK);
        }
        Some(MockSub::Check { file, caps }) => {
            let s = Scenario::read_with(file, &caps.limits())?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{}: {} rule(s), {} token lifetime(s), {} rate limit(s), seed {}",
                file.display(),
                s.rules.len(),
                s.tokens.len(),
                s.rate_limits.len(),
                s.seed
            )?;
            for (i, r) in s.rules.iter().enumerate() {
                writeln!(
                    out,
                    "  {}: match {} → effect {}",
                    r.name.clone().unwrap_or_else(|| format!("rule-{}", i + 1)),
                    serde_json::to_string(&r.when)?,
                    serde_json::to_string(&r.effect)?
                )?;
            }
            for line in Engine::new(s)?.describe() {
                writeln!(out, "  = {line}")?;
            }
            return Ok(exit_codes::OK);
        }
        None => {}
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let mut b = MockMarketplace::builder()
        .profile(args.profile)
        .journal_cap(args.journal_cap)
        .log_requests(args.log_requests)
        .admin_token(args.admin_token.clone())
        .scenario_limits(args.caps.limits())
        .limits(Limits {
            max_body_bytes: args.max_body,
            max_items: Some(args.max_items),
            max_skus: args.max_skus,
            body_bytes_in_flight: usize::try_from(args.body_budget).unwrap_or(usize::MAX),
            record_bytes_in_flight: args.record_budget,
            max_connections: args.max_connections,
            max_tokens_per_seller: usize::try_from(args.max_tokens_per_seller)
                .unwrap_or(usize::MAX),
            ..Limits::default()
        });
    // A catalog file is read entry by entry when the mock starts (its index is built as it
    // is read; no whole catalog is held).
    let catalog_name = match &args.catalog {
        Some(p) => {
            b = b.catalog_file(p.clone());
            p.display().to_string()
        }
        None => {
            b = b.catalog(demo::catalog());
            "built-in demo".to_string()
        }
    };
    let scenario_label = if args.no_scenario {
        "none (a correct partner)".to_string()
    } else if let Some(p) = &args.scenario {
        let s = Scenario::read_with(p, &args.caps.limits())?;
        let l = format!("{} ({} rules)", p.display(), s.rules.len());
        b = b.scenario(s);
        l
    } else {
        b = b.scenario(demo::scenario());
        "built-in demo: SKU-X fails with 'Mismatch', DISCONTINUED-* fail, every 7th request is a 503".into()
    };
    for s in &args.sellers {
        b = b.seller(seller(s)?);
    }
    if args.no_auth {
        b = b.no_auth();
    }
    if let (Some(from), Some(to)) = (&args.record_from, &args.record_to) {
        b = b.record(from.clone(), to.clone());
    }
    let addr = SocketAddr::new(args.bind, args.port);
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    b = b.listener(listener);
    // One thread serves the connections by default: a small request is then answered on the
    // thread that read it, with no hand-off and no lock contended between threads; large
    // batches go to the blocking pool (`Limits::inline_body_bytes`), which uses every core.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(args.threads))
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let m = b.start().await?;
        let catalog_label = format!(
            "{catalog_name} ({} items)",
            m.catalog_items().unwrap_or(0)
        );
        if args.watch
            && let Some(p) = &args.scenario
        {
            m.watch_scenario_file(p.clone())?;
        }
        match m.recording() {
            Some((partner, dir)) => println!(
                "stockwire mock: recording on {}: forwarding every request to {partner}\n  the recording goes to {} when you stop (Ctrl-C)",
                m.url(),
                dir.display()
            ),
            None => print_banner(&m, &catalog_label, &scenario_label, args.no_auth),
        }
        if let Some(path) = &args.ready_file {
            write_ready_file(path, &m.url())?;
        }
        shutdown_signal().await;
        eprintln!("stopping: letting in-flight requests finish…");
        let recording = m.finish_recording();
        m.shutdown().await;
        if let Some(r) = recording {
            let r = r?;
            println!(
                "recorded {} request(s), {} item(s): {} ({} rules) and {}",
                r.requests,
                r.items,
                r.scenario.display(),
                r.rules,
                r.catalog.display()
            );
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(exit_codes::OK)
}

fn print_banner(m: &MockMarketplace, catalog: &str, scenario: &str, no_auth: bool) {
    let url = m.url();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "stockwire mock: marketplace listening on {url} (profile {})",
        m.profile()
    );
    let _ = writeln!(out, "  catalog:  {catalog}");
    let _ = writeln!(out, "  scenario: {scenario}");
    let creds = m.credentials();
    for c in &creds {
        let _ = writeln!(
            out,
            "  seller {}: username {}, password {}, apiKey {}",
            c.seller,
            c.username,
            c.password,
            c.token()
        );
    }
    if no_auth {
        let _ = writeln!(out, "  auth: off (--no-auth), apiKey not required");
    }
    if let Some(c) = creds.first() {
        let _ = writeln!(
            out,
            "\nGet a token:\n  curl -s '{url}/authToken?username={}&password={}'",
            c.username, c.password
        );
        let token = if no_auth { None } else { Some(c.token()) };
        let _ = writeln!(
            out,
            "Update inventory:\n  {}",
            demo::curl(&url, token.as_deref(), &demo::example_request(m.profile()))
        );
        let _ = writeln!(
            out,
            "Count the listings:\n  {}\nList them (page 1):\n  {}",
            demo::count_curl(&url, token.as_deref(), m.profile()),
            demo::listing_curl(&url, token.as_deref(), m.profile())
        );
    }
    let _ = writeln!(
        out,
        "Inspect: curl -s {url}/__admin/journal  and  curl -s {url}/__admin/ledger\nCtrl-C stops (in-flight requests finish)."
    );
    let _ = out.flush();
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
