//! The published scenario JSON Schema is current, and every shipped scenario validates and
//! loads.

use stockwire_mock::Scenario;
use stockwire_tests::{fixture, root};

#[test]
fn committed_scenario_schema_is_the_generated_one() {
    let generated = stockwire_mock::scenario::json_schema();
    let path = root().join("schemas/scenario.schema.json");
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&generated).unwrap() + "\n",
        )
        .unwrap();
    }
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        committed, generated,
        "run `stockwire mock scenario-schema > schemas/scenario.schema.json`"
    );
}

#[test]
fn every_fixture_scenario_validates_and_loads() {
    let schema = stockwire_mock::scenario::json_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut n = 0;
    for entry in std::fs::read_dir(fixture("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let value: serde_json::Value = match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => toml::from_str(&text).unwrap(),
            Some("yaml" | "yml") => serde_norway::from_str(&text).unwrap(),
            _ => serde_json::from_str(&text).unwrap(),
        };
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        Scenario::read(&path).unwrap_or_else(|e| panic!("{e}"));
        n += 1;
    }
    assert!(n >= 5);
}
