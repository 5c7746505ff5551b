//! The run budget: `--duration` instead of `--cases`, and the `--rate` ceiling.

use std::time::{Duration, Instant};

use stockwire_conform::events::NoSink;
use stockwire_conform::{Credentials, RunOptions};
use stockwire_mock::MockMarketplace;

async fn options(mock: &MockMarketplace) -> RunOptions {
    let mut o = RunOptions::new(mock.url());
    o.catalog = stockwire_mock::demo::catalog();
    o.credentials = Credentials::ApiKey(mock.token(stockwire_mock::demo::SELLER).unwrap());
    o.seed = 11;
    o.policies.latency_budget = stockwire_conform::config::Dur(std::time::Duration::from_secs(120));
    o
}

async fn correct_mock() -> MockMarketplace {
    MockMarketplace::builder()
        .catalog(stockwire_mock::demo::catalog())
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duration_budget_runs_cases_until_it_is_spent() {
    let mock = correct_mock().await;
    let mut o = options(&mock).await;
    o.cases = 1; // ignored when a duration is set
    o.duration = Some(Duration::from_millis(1500));
    let r = stockwire_conform::run(o, &mut NoSink).await.unwrap();
    assert!(r.summary.cases > 1, "generated {} cases", r.summary.cases);
    assert_eq!(r.summary.exit_code, 0);
    // Cases are generated until the budget is spent, so the run lasts at least that long.
    assert!(
        r.summary.duration_ms >= 1500,
        "{} ms",
        r.summary.duration_ms
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_ceiling_spaces_requests_out() {
    let mock = correct_mock().await;
    let mut o = options(&mock).await;
    o.cases = 12;
    o.concurrency = 4;
    o.rate = Some(40.0);
    let t0 = Instant::now();
    let r = stockwire_conform::run(o, &mut NoSink).await.unwrap();
    let elapsed = t0.elapsed();
    assert_eq!(r.summary.exit_code, 0);
    // A lower bound only (a slow machine can only make it longer): n requests at 40/s need at
    // least (n - 1) / 40 seconds.
    let floor = Duration::from_secs_f64((r.summary.requests.saturating_sub(1)) as f64 / 40.0);
    assert!(
        elapsed >= floor,
        "{} requests in {elapsed:?}, faster than 40/s",
        r.summary.requests
    );
}
