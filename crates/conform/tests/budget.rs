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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_batch_failure_is_bisected_to_the_smallest_failing_size() {
    // A partner that answers 500 from 300 items on: only the fixed large batches reach it.
    let scenario = stockwire_mock::Scenario::parse(
        "[[rules]]\nname = \"big-500\"\nmatch = { batchSize = { min = 300 } }\neffect = { status = 500 }\n",
        stockwire_mock::scenario::Format::Toml,
        "test",
    )
    .unwrap();
    let mock = MockMarketplace::builder()
        .catalog(stockwire_mock::demo::catalog())
        .scenario(scenario)
        .start()
        .await
        .unwrap();
    let mut o = options(&mock).await;
    o.cases = 60;
    let r = stockwire_conform::run(o, &mut NoSink).await.unwrap();
    let f = r
        .failures
        .iter()
        .find(|f| f.check == "no-server-error")
        .expect("the 500 is reported");
    assert!(f.case_kind.starts_with("large-batch"), "{}", f.case_kind);
    let shrink = f.shrink.as_ref().expect("shrink info");
    assert_eq!(shrink.final_items, 300, "{shrink:?}");
    assert!(shrink.original_items >= 1000);
}
