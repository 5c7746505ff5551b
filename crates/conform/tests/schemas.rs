//! The committed JSON Schemas (report, stockwire.toml) equal the generated ones, and real output
//! validates against them. Regenerate with `STOCKWIRE_BLESS=1 cargo test -p stockwire-conform --test schemas`.

use std::path::PathBuf;

use serde_json::Value;
use stockwire_conform::config::config_schema;
use stockwire_conform::report::report_schema;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap();
    s.push('\n');
    s
}

fn committed(rel: &str, generated: &Value) -> Value {
    let path = root().join(rel);
    if std::env::var_os("STOCKWIRE_BLESS").is_some() {
        std::fs::write(&path, pretty(generated)).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        text,
        pretty(generated),
        "{rel} is stale: rerun with STOCKWIRE_BLESS=1"
    );
    serde_json::from_str(&text).unwrap()
}

#[test]
fn committed_schemas_match_the_types() {
    committed("schemas/report.schema.json", &report_schema());
    committed("schemas/stockwire-toml.schema.json", &config_schema());
}

#[test]
fn the_example_config_validates_and_loads() {
    let schema = committed("schemas/stockwire-toml.schema.json", &config_schema());
    let path = root().join("fixtures/conform/stockwire.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let as_json: Value =
        serde_json::to_value(toml::from_str::<toml::Value>(&text).unwrap()).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&as_json).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let (cfg, warnings) = stockwire_conform::ConfigFile::load(&path).unwrap();
    assert!(warnings.is_empty());
    let o = cfg
        .run_options("http://127.0.0.1:1".into(), |v| {
            (v == "PARTNER_API_KEY").then(|| "k".to_string())
        })
        .unwrap();
    assert_eq!(o.cases, 300);
    assert!(matches!(
        o.credentials,
        stockwire_conform::Credentials::ApiKey(_)
    ));
    assert_eq!(o.catalog.len(), 5);
}

#[test]
fn a_literal_secret_draws_a_warning_and_a_missing_env_var_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("stockwire.toml");
    std::fs::write(&p, "[auth]\napi-key = \"abc\"\n").unwrap();
    let (_, warnings) = stockwire_conform::ConfigFile::load(&p).unwrap();
    assert!(warnings[0].contains("literal secret"), "{warnings:?}");
    std::fs::write(&p, "[auth]\napi-key-env = \"NOPE_NOT_SET\"\n").unwrap();
    let (cfg, _) = stockwire_conform::ConfigFile::load(&p).unwrap();
    let e = cfg.run_options("http://x".into(), |_| None).unwrap_err();
    assert!(e.to_string().contains("NOPE_NOT_SET"), "{e}");
    std::fs::write(&p, "[budget]\ncasez = 3\n").unwrap();
    let e = stockwire_conform::ConfigFile::load(&p).unwrap_err();
    assert!(e.to_string().contains("casez"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_report_validates_against_the_schema() {
    let schema = committed("schemas/report.schema.json", &report_schema());
    let mock = stockwire_mock::MockMarketplace::builder()
        .catalog(stockwire_mock::demo::catalog())
        .scenario(stockwire_mock::demo::scenario())
        .start()
        .await
        .unwrap();
    let mut o = stockwire_conform::RunOptions::new(mock.url());
    o.catalog = stockwire_mock::demo::catalog();
    o.credentials = stockwire_conform::Credentials::Login {
        username: stockwire_mock::demo::USERNAME.into(),
        password: stockwire_mock::demo::PASSWORD.into(),
    };
    o.seed = 4;
    o.cases = 40;
    let r = stockwire_conform::run(o, &mut stockwire_conform::events::NoSink)
        .await
        .unwrap();
    // The demo scenario scripts defects: the runner finds some.
    assert!(r.summary.exit_code == 1 && !r.failures.is_empty());
    let v = jsonschema::validator_for(&schema).unwrap();
    let doc: Value = serde_json::from_str(&r.to_json()).unwrap();
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(!r.to_json().contains(stockwire_mock::demo::PASSWORD));
    let junit = stockwire_conform::junit::to_junit(&r);
    assert_eq!(
        junit.matches("<testcase ").count(),
        stockwire_conform::checks::registry().len()
    );
    assert!(junit.contains("<failure"));
}
