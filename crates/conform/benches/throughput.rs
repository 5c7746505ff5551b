//! Cases/s and requests/s of the runner against the reference mock (stockwire-mock, no
//! scenario), with the default budget. Run: `cargo bench -p stockwire-conform --bench throughput`
//! (optionally `-- --runs 5 --cases 200 --profile v2`).

use std::time::Instant;

use stockwire_conform::events::NoSink;
use stockwire_conform::{Credentials, RunOptions};
use stockwire_mock::MockMarketplace;
use stockwire_schema::Profile;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let runs: u64 = arg("--runs").and_then(|s| s.parse().ok()).unwrap_or(5);
    let cases: u64 = arg("--cases")
        .and_then(|s| s.parse().ok())
        .unwrap_or(stockwire_conform::config::DEFAULT_CASES);
    let profile: Profile = arg("--profile")
        .and_then(|s| s.parse().ok())
        .unwrap_or(Profile::V1);
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
        let mock = match MockMarketplace::builder().profile(profile).catalog(stockwire_mock::demo::catalog()).start().await {
            Ok(m) => m,
            Err(e) => {
                eprintln!("cannot start the mock: {e}");
                return;
            }
        };
        println!("runner throughput against the reference mock ({profile}, {cases} cases per run, {runs} runs)");
        println!("{:>4} {:>8} {:>9} {:>9} {:>9} {:>11} {:>10}", "run", "cases", "requests", "seconds", "cases/s", "requests/s", "violations");
        let (mut tc, mut tr, mut ts) = (0u64, 0u64, 0f64);
        for seed in 1..=runs {
            let mut o = RunOptions::new(mock.url());
            o.profile = profile;
            o.catalog = stockwire_mock::demo::catalog();
            o.credentials = Credentials::Login {
                username: stockwire_mock::demo::USERNAME.into(),
                password: stockwire_mock::demo::PASSWORD.into(),
            };
            o.seed = seed;
            o.cases = cases;
            let t = Instant::now();
            let r = match stockwire_conform::run(o, &mut NoSink).await {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("run failed: {e}");
                    return;
                }
            };
            let secs = t.elapsed().as_secs_f64();
            tc += r.summary.cases;
            tr += r.summary.requests;
            ts += secs;
            println!(
                "{seed:>4} {:>8} {:>9} {:>9.2} {:>9.0} {:>11.0} {:>10}",
                r.summary.cases,
                r.summary.requests,
                secs,
                r.summary.cases as f64 / secs,
                r.summary.requests as f64 / secs,
                r.summary.violations
            );
        }
        println!(
            " all {:>8} {:>9} {:>9.2} {:>9.0} {:>11.0}",
            tc,
            tr,
            ts,
            tc as f64 / ts,
            tr as f64 / ts
        );
    });
}
