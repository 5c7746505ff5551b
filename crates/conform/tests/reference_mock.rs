//! The reference mock (a correct partner) yields zero violations across many seeds.

use stockwire_conform::events::NoSink;
use stockwire_conform::{Credentials, RunOptions};
use stockwire_mock::MockMarketplace;
use stockwire_schema::Profile;

async fn run_against_mock(profile: Profile, seed: u64, cases: u64) -> stockwire_conform::Report {
    let mock = MockMarketplace::builder()
        .profile(profile)
        .catalog(stockwire_mock::demo::catalog())
        .start()
        .await
        .unwrap();
    let mut o = RunOptions::new(mock.url());
    o.profile = profile;
    o.catalog = stockwire_mock::demo::catalog();
    o.seller = Some(stockwire_mock::demo::SELLER.into());
    o.credentials = Credentials::Login {
        username: stockwire_mock::demo::USERNAME.into(),
        password: stockwire_mock::demo::PASSWORD.into(),
    };
    o.seed = seed;
    o.cases = cases;
    // Speed is measured in the benchmark, not asserted here (debug builds are slow).
    o.policies.latency_budget = stockwire_conform::config::Dur(std::time::Duration::from_secs(120));
    let r = stockwire_conform::run(o, &mut NoSink).await.unwrap();
    if !r.failures.is_empty() {
        eprintln!("{}", stockwire_conform::console::summary(&r));
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_mock_has_no_violations_across_seeds() {
    for seed in 1..=5u64 {
        for profile in [Profile::V1, Profile::V2] {
            let r = run_against_mock(profile, seed, 80).await;
            let failed: Vec<&str> = r.failed_checks().map(|c| c.id.as_str()).collect();
            assert!(failed.is_empty(), "seed {seed} {profile}: {failed:?}");
            assert!(
                r.warnings.is_empty(),
                "seed {seed} {profile}: {:?}",
                r.warnings
            );
            assert_eq!(r.summary.exit_code, 0);
        }
    }
}
