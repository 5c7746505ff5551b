//! The go-live flow's cost against the reference mock: discovery of a 1,000-variant listing (500
//! products of 2 variants, 10 pages) against the same run on the same items given as a catalog,
//! and a run that reads stock back through the listing against the same run without a reader.
//! Run: `cargo bench -p stockwire-conform --bench golive` (optionally `-- --runs 3 --cases 200`).

use std::time::Instant;

use stockwire_conform::config::StockFrom;
use stockwire_conform::events::NoSink;
use stockwire_conform::{Credentials, RunOptions};
use stockwire_mock::MockMarketplace;
use stockwire_schema::{Catalog, CatalogEntry, Profile};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// 500 products of 2 variants each, 5 in stock.
fn catalog() -> Catalog {
    let mut entries = Vec::new();
    for p in 0..500 {
        for v in 0..2 {
            let mut e = CatalogEntry::new(format!("BENCH-{p:03}"), format!("BENCH-{p:03}-{v}"));
            e.stock = Some(5);
            entries.push(e);
        }
    }
    Catalog { entries }
}

fn options(url: String, cases: u64, seed: u64) -> RunOptions {
    let mut o = RunOptions::new(url);
    o.profile = Profile::V1;
    o.credentials = Credentials::Login {
        username: stockwire_mock::demo::USERNAME.into(),
        password: stockwire_mock::demo::PASSWORD.into(),
    };
    o.seller = Some(stockwire_mock::demo::SELLER.into());
    o.seed = seed;
    o.cases = cases;
    o.no_restore = true;
    o
}

/// Mean seconds of `runs` runs of `make(seed)`; `None` when a run fails.
async fn time(runs: u64, make: impl Fn(u64) -> RunOptions) -> Option<(f64, u64)> {
    let mut total = 0.0;
    let mut requests = 0;
    for seed in 1..=runs {
        let t = Instant::now();
        match stockwire_conform::run(make(seed), &mut NoSink).await {
            Ok(r) => requests += r.summary.requests,
            Err(e) => {
                eprintln!("run failed: {e}");
                return None;
            }
        }
        total += t.elapsed().as_secs_f64();
    }
    Some((total / runs as f64, requests / runs))
}

fn main() {
    let runs: u64 = arg("--runs").and_then(|s| s.parse().ok()).unwrap_or(3);
    let cases: u64 = arg("--cases")
        .and_then(|s| s.parse().ok())
        .unwrap_or(stockwire_conform::config::DEFAULT_CASES);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start runtime: {e}");
            return;
        }
    };
    rt.block_on(async {
        let mock = match MockMarketplace::builder()
            .profile(Profile::V1)
            .catalog(catalog())
            .start()
            .await
        {
            Ok(m) => m,
            Err(e) => {
                eprintln!("cannot start the mock: {e}");
                return;
            }
        };
        let url = mock.url();
        println!(
            "go-live flow against the reference mock (1,000 variants, 500 products; {cases} cases, mean of {runs} runs)"
        );
        // Discovery alone: the count, 10 pages, the page past the end, the filters and the
        // key probes, with a token from the mock.
        let o = options(url.clone(), cases, 1);
        let client = match stockwire_conform::http::Client::new(
            stockwire_conform::http::ClientOptions::from_run(&o, 4),
            None,
            stockwire_conform::http::Redactor::new(Vec::new()),
        ) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("cannot build the client: {e}");
                return;
            }
        };
        let token = match stockwire_conform::runner::fetch_token(
            &client,
            &url,
            &o,
            stockwire_mock::demo::USERNAME,
            stockwire_mock::demo::PASSWORD,
        )
        .await
        {
            Ok(t) => t,
            Err(e) => {
                eprintln!("cannot log in: {e}");
                return;
            }
        };
        let mut client = client;
        client.set_api_key(Some(token));
        let mut spent = 0.0;
        for _ in 0..runs {
            let t = Instant::now();
            let d = stockwire_conform::discovery::discover(&client, &url, Profile::V1, 10_000).await;
            spent += t.elapsed().as_secs_f64();
            if d.entries.len() != 1000 || d.pages() != 10 {
                eprintln!("discovered {} variants on {} pages", d.entries.len(), d.pages());
            }
        }
        println!(
            "discovery alone: {:.3} s (1,000 variants, 10 pages; budget 2 s)",
            spent / runs as f64
        );
        let given = |seed| {
            let mut o = options(url.clone(), cases, seed);
            o.discovery = false;
            o.catalog = catalog();
            o.stock_from = Some(StockFrom::None);
            o
        };
        let discovered = |seed| {
            let mut o = options(url.clone(), cases, seed);
            o.stock_from = Some(StockFrom::None);
            o
        };
        let listing = |seed| {
            let mut o = options(url.clone(), cases, seed);
            o.stock_from = Some(StockFrom::Listing);
            o
        };
        let rows = [
            ("given catalog, no reader", time(runs, given).await),
            ("discovery, no reader", time(runs, discovered).await),
            ("discovery, listing reader", time(runs, listing).await),
        ];
        println!("{:<28} {:>9} {:>9}", "run", "seconds", "requests");
        for (name, t) in &rows {
            match t {
                Some((s, r)) => println!("{name:<28} {s:>9.3} {r:>9}"),
                None => println!("{name:<28} {:>9} {:>9}", "failed", "-"),
            }
        }
        if let [(_, Some((g, _))), (_, Some((d, _))), (_, Some((l, _)))] = rows {
            println!(
                "run with discovery minus the run on the same items given: {:+.3} s (budget 2 s)",
                d - g
            );
            println!("listing reader: {:.2}x the run without a reader (budget 3x)", l / d);
        }
    });
}
