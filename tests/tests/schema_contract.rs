//! The schema crate seen from outside: committed schemas match the spec, the pages' examples
//! behave as documented, the `stockwire schema` commands work and fail clearly.

use serde_json::{Value, json};
use stockwire_schema::generate::{check_drift, generate};
use stockwire_schema::{Profile, check_exchange, contract};
use stockwire_tests::{fixture, root, stockwire};

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

#[test]
fn committed_schemas_match_the_spec_pages() {
    let files = generate(&fixture("spec"), &root().join("schemas/overlays")).unwrap();
    assert_eq!(
        files.len(),
        21,
        "5 derived pages + 8 merged schemas per profile (2 parts for each of 4 calls)"
    );
    let drift = check_drift(&files, &root().join("schemas"));
    let report: String = drift.iter().map(|d| d.diff.clone()).collect();
    assert!(
        drift.is_empty(),
        "schemas/ has drifted from fixtures/spec (run `stockwire schema build`):\n{report}"
    );
}

#[test]
fn build_check_reports_a_drifted_file_with_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let r = stockwire(&["schema", "build", "--out", out]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = stockwire(&["schema", "build", "--check", "--out", out]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // Someone edits a committed schema by hand: the check names it and shows the change.
    let path = dir.path().join("v1/updateinventory.request.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"minimum\": 0", "\"minimum\": 1")).unwrap();
    let r = stockwire(&["schema", "build", "--check", "--out", out]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("v1/updateinventory.request.json has drifted"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("-            \"minimum\": 1,\n+            \"minimum\": 0,"),
        "{}",
        r.stdout
    );
}

#[test]
fn page_examples_validate_and_the_response_example_breaks_a_rule() {
    for profile in Profile::ALL {
        let c = contract(profile);
        let req_example = &c.request_schema()["examples"][0];
        let resp_example = &c.response_schema()["examples"][0];
        assert!(
            c.validate_request(req_example).is_empty(),
            "{profile}: {req_example}"
        );
        // The page pairs SUCCESS with a failed entry: the shape is fine...
        assert!(c.validate_response(resp_example).is_empty(), "{profile}");
        // ...but the semantic rules flag it.
        let v = check_exchange(req_example, resp_example);
        let ids: Vec<&str> = v.iter().map(|x| x.rule.as_str()).collect();
        assert_eq!(ids, ["success-without-failures"], "{profile}");
    }
    // The v1 example uses an integer; under v2 the same payload is a type error, and back.
    let v1_example = &contract(Profile::V1).request_schema()["examples"][0];
    let v = contract(Profile::V2).validate_request(v1_example);
    assert_eq!(v[0].pointer, "/inventoryList/0/inventory");
    assert_eq!(v[0].keyword, "type");
}

#[test]
fn derive_prints_request_and_response_for_each_spec_page() {
    for (page, parts) in [
        ("updateinventory.md", vec!["request", "response"]),
        ("current-page.md", vec!["request", "response"]),
        ("authtoken.md", vec!["response", "query"]),
    ] {
        let path = format!("fixtures/spec/{page}");
        let r = stockwire(&["schema", "derive", &path]);
        assert_eq!(r.code, 0, "{page}: {}", r.stderr);
        let doc = parse(&r.stdout);
        for p in &parts {
            assert_eq!(
                doc[p]["$schema"], "https://json-schema.org/draft/2020-12/schema",
                "{page} {p}"
            );
        }
        let r = stockwire(&["schema", "derive", &path, "--part", parts[0]]);
        assert_eq!(r.code, 0);
        assert_eq!(parse(&r.stdout), doc[parts[0]]);
    }
    let r = stockwire(&[
        "schema",
        "derive",
        "fixtures/spec/authtoken.md",
        "--part",
        "request",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("has no request parameter table (it has: response, query)"),
        "{}",
        r.stderr
    );
}

#[test]
fn derive_handles_other_pages_of_the_same_format() {
    let r = stockwire(&["schema", "derive", "fixtures/pages/good/productlisting.md"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc = parse(&r.stdout);
    assert_eq!(doc["endpoint"], "/listings");
    let listing = &doc["request"]["properties"]["listing"];
    assert_eq!(listing["type"], "object");
    assert_eq!(listing["properties"]["attributes"]["type"], "array");
    assert_eq!(
        listing["properties"]["attributes"]["items"]["properties"]["values"]["items"]["type"],
        "string"
    );
    assert_eq!(
        listing["properties"]["shipping"]["properties"]["dimensions"]["properties"]["length"]["default"],
        10
    );
    assert_eq!(listing["properties"]["price"]["examples"], json!([12.5]));
    assert_eq!(doc["query"]["properties"]["dryRun"]["default"], false);
    assert_eq!(
        doc["response"]["properties"]["listingId"]["type"],
        "integer"
    );
}

#[test]
fn notes_cells_split_every_annotation_in_any_order() {
    let path = "fixtures/pages/good/pricing-notes.md";
    let r = stockwire(&["schema", "derive", path, "--part", "request"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc = parse(&r.stdout);
    let f = &doc["properties"]["priceList"]["items"]["properties"];
    let currencies = json!(["INR", "USD", "AED"]);
    // Allowable + Default, both orders.
    assert_eq!(f["currency"]["enum"], currencies);
    assert_eq!(f["currency"]["default"], "INR");
    assert_eq!(f["taxCurrency"]["enum"], currencies);
    assert_eq!(f["taxCurrency"]["default"], "INR");
    // Allowable + Eg, both orders (`Eg.:` too), typed by TYPE.
    assert_eq!(f["roundTo"]["enum"], json!([0.5, 1.0, 5.0]));
    assert_eq!(f["roundTo"]["examples"], json!([0.5]));
    assert_eq!(f["minimumUnits"]["enum"], json!([1, 2, 3]));
    assert_eq!(f["minimumUnits"]["examples"], json!([2]));
    // Eg + Default, both orders: a dot inside a value is not a separator.
    assert_eq!(f["mrp"]["examples"], json!([2.5]));
    assert_eq!(f["mrp"]["default"], json!(0.0));
    assert_eq!(f["discount"]["default"], json!(0.0));
    assert_eq!(f["discount"]["examples"], json!([12.5]));
    // All three, after free text that goes into the description.
    assert_eq!(f["region"]["enum"], json!(["NORTH", "SOUTH"]));
    assert_eq!(f["region"]["default"], "NORTH");
    assert_eq!(f["region"]["examples"], json!(["SOUTH"]));
    assert_eq!(f["region"]["description"], "Sales region. Shown to buyers");
    // Fixed, Opt and Rec.
    assert_eq!(f["channel"]["const"], "WEB");
    assert_eq!(f["rounding"]["enum"], json!(["UP", "DOWN", "NEAREST"]));
    assert_eq!(f["rounding"]["examples"], json!(["NEAREST"]));
    assert_eq!(
        f["rounding"]["description"],
        "Rounding mode. Optional; options: UP, DOWN, NEAREST. Recommended: NEAREST."
    );
    // A date is a pattern, not format date-time (which would refuse the documented dates).
    let pattern = f["validFrom"]["pattern"].as_str().unwrap();
    assert_eq!(pattern, stockwire_schema::derive::DATE_PATTERN);
    assert!(f["validFrom"].get("format").is_none());
    // An unknown annotation word stays in the description, with a warning naming the cell.
    assert_eq!(f["unit"]["description"], "Pricing unit. Unit: per piece");
    assert_eq!(f["unit"]["examples"], json!(["piece"]));
    assert!(
        r.stderr.contains(&format!(
            "warning: {path}:44: NOTES cell `Unit: per piece; Eg: piece`: unknown annotation word `Unit:`"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.matches("warning:").count(), 1, "{}", r.stderr);

    // The derived schema does what it says on payloads.
    let schema = jsonschema::validator_for(&doc).unwrap();
    let item = |extra: Value| {
        let mut it = json!({"sku": "A-1", "mrp": 10.0});
        it.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"priceList": [it]})
    };
    assert!(schema.is_valid(&item(
        json!({"currency": "USD", "validFrom": "2017-01-02T08:12:53"})
    )));
    assert!(!schema.is_valid(&item(json!({"currency": "EUR"}))));
    assert!(!schema.is_valid(&item(json!({"channel": "APP"}))));
    assert!(!schema.is_valid(&item(json!({"validFrom": "2017-01-02T08:12:53Z"}))));
}

#[test]
fn flat_tables_and_tables_without_mandatory_derive() {
    let r = stockwire(&["schema", "derive", "fixtures/pages/good/shipment-flat.md"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    let doc = parse(&r.stdout);
    let req = &doc["request"];
    let p = &req["properties"];
    // Flat: every row is a top-level field.
    assert_eq!(p.as_object().unwrap().len(), 7);
    assert_eq!(p["trackingNumbers"]["type"], "array");
    assert_eq!(p["trackingNumbers"]["items"]["type"], "string");
    assert_eq!(p["dispatched"]["type"], "boolean");
    assert_eq!(p["dispatched"]["default"], false);
    assert_eq!(p["weight"]["type"], "number");
    assert_eq!(p["dimensions"]["type"], "object");
    assert_eq!(p["courier"]["type"], "object");
    assert_eq!(p["dispatchedAt"]["type"], "string");
    assert!(p["dispatchedAt"]["pattern"].is_string());
    // "As applied" is a comment, not a requirement.
    assert_eq!(req["required"], json!(["shipmentCode", "dispatched"]));
    assert!(
        p["weight"]["$comment"]
            .as_str()
            .unwrap()
            .contains("`As applied`; not made required"),
        "{}",
        p["weight"]
    );
    // No MANDATORY column: no `required`, and the schema says why.
    let resp = &doc["response"];
    assert!(resp.get("required").is_none(), "{resp}");
    assert!(
        resp["$comment"]
            .as_str()
            .unwrap()
            .contains("no MANDATORY column"),
        "{resp}"
    );
    assert_eq!(
        resp["properties"]["status"]["enum"],
        json!(["SUCCESS", "FAILED"])
    );
}

#[test]
fn broken_pages_name_file_line_and_cell() {
    let cases = [
        (
            "unknown-type.md",
            ":17: TYPE cell `integr`: unknown TYPE word",
        ),
        (
            "orphan-level.md",
            ":17: LEVEL cell `2.2`: no earlier row has LEVEL 2",
        ),
        ("short-row.md", ":17: row has 3 cells but the header has 6"),
        (
            "default-not-allowed.md",
            ":17: NOTES cell `Allowable: INR, USD, AED Default: EUR`: `Default:` \"EUR\" is not one of the `Allowable:` values (INR, USD, AED)",
        ),
        (
            "bad-allowable.md",
            ":17: NOTES cell `Allowable: 1, two`: value `two` is not an integer",
        ),
        (
            "duplicate-level.md",
            ":17: LEVEL cell `1.1`: this LEVEL is used by an earlier row",
        ),
        (
            "bad-example.md",
            ":9: the request payload example is not valid JSON: trailing comma",
        ),
        (
            "container-without-example.md",
            ":15: TYPE cell `-`: container `-` whose shape cannot be told",
        ),
        ("no-front-matter.md", ":1: missing front matter"),
    ];
    let dir = std::fs::read_dir(fixture("pages/bad")).unwrap().count();
    assert_eq!(dir, cases.len(), "every bad page has a case here");
    for (file, want) in cases {
        let path = format!("fixtures/pages/bad/{file}");
        let r = stockwire(&["schema", "derive", &path]);
        assert_eq!(r.code, 2, "{file}");
        assert!(
            r.stderr.contains(&format!("{path}{want}")),
            "{file}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{file}: {}", r.stderr);
    }
    let r = stockwire(&["schema", "derive", "fixtures/pages/bad/nope.md"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("fixtures/pages/bad/nope.md: cannot read"),
        "{}",
        r.stderr
    );
}

#[test]
fn validate_accepts_good_files_and_lists_every_violation() {
    let r = stockwire(&[
        "schema",
        "validate",
        "--request",
        "fixtures/requests/good/v1-two-items.json",
    ]);
    assert_eq!(
        (r.code, r.stdout.trim()),
        (0, "valid (v1): fixtures/requests/good/v1-two-items.json")
    );
    let r = stockwire(&[
        "schema",
        "validate",
        "--profile",
        "v2",
        "--request",
        "fixtures/requests/good/v2-digit-string.json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let r = stockwire(&[
        "schema",
        "validate",
        "--request",
        "fixtures/requests/bad/v1-three-problems.json",
    ]);
    assert_eq!(r.code, 1);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", r.stdout);
    assert!(
        lines[0]
            .ends_with("/inventoryList/0/inventory: [minimum] -5 is less than the minimum of 0"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("/inventoryList/1: [required] \"variantId\" is a required property"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("/inventoryList/2/inventory: [type]"),
        "{}",
        lines[2]
    );
    assert_eq!(lines[3], "3 violations");
}

#[test]
fn validate_with_both_files_checks_the_semantic_rules() {
    let r = stockwire(&[
        "schema",
        "validate",
        "--format",
        "json",
        "--request",
        "fixtures/requests/good/v1-two-items.json",
        "--response",
        "fixtures/responses/bad/success-with-failure.json",
    ]);
    assert_eq!(r.code, 1);
    let doc = parse(&r.stdout);
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["violations"][0]["kind"], "semantic");
    assert_eq!(doc["violations"][0]["rule"], "success-without-failures");
    assert_eq!(doc["violations"][0]["severity"], "MUST");
    let r = stockwire(&[
        "schema",
        "validate",
        "--request",
        "fixtures/requests/good/v1-two-items.json",
        "--response",
        "fixtures/responses/good/partial-success.json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let r = stockwire(&[
        "schema",
        "validate",
        "--response",
        "fixtures/responses/bad/unknown-status.json",
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("/status: [enum]"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("/failedProductList/0: [required] \"message\" is a required property"),
        "{}",
        r.stdout
    );
}

#[test]
fn validate_reports_unreadable_and_malformed_files_without_panicking() {
    let r = stockwire(&[
        "schema",
        "validate",
        "--request",
        "fixtures/requests/bad/truncated.json",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(
            "fixtures/requests/bad/truncated.json:3:0: not valid JSON: EOF while parsing"
        ),
        "{}",
        r.stderr
    );
    let r = stockwire(&[
        "schema",
        "validate",
        "--request",
        "fixtures/requests/missing.json",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("missing.json: cannot read"),
        "{}",
        r.stderr
    );
    let r = stockwire(&["schema", "validate"]);
    assert_eq!(r.code, 2, "a file is required");
    let r = stockwire(&[
        "schema",
        "validate",
        "--profile",
        "v3",
        "--request",
        "x.json",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown profile `v3`"), "{}", r.stderr);
}

#[test]
fn openapi_export_loads_in_an_openapi_library() {
    for profile in ["v1", "v2"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("openapi.json");
        let r = stockwire(&[
            "schema",
            "openapi",
            "--profile",
            profile,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let text = std::fs::read_to_string(&out).unwrap();
        let spec = oas3::from_json(&text).unwrap_or_else(|e| panic!("{profile}: {e}"));
        assert_eq!(spec.openapi, "3.1.0");
        let mut ops: Vec<(String, String)> = spec
            .operations()
            .map(|(path, method, _)| (path, method.to_string()))
            .collect();
        ops.sort();
        assert_eq!(
            ops,
            [
                ("/authToken".to_string(), "GET".to_string()),
                ("/authToken".to_string(), "POST".to_string()),
                ("/products".to_string(), "GET".to_string()),
                ("/productsCount".to_string(), "GET".to_string()),
                ("/updateInventory".to_string(), "POST".to_string()),
            ]
        );
        // Every call but the login carries the apiKey header; the catalog calls take their
        // query parameters from the pages' tables, with the overlay's rules.
        for (path, method, op) in spec.operations() {
            let secured = op.security.iter().any(|s| s.0.contains_key("apiKey"));
            assert_eq!(secured, path != "/authToken", "{profile}: {method} {path}");
        }
        let doc = parse(&text);
        let params = |path: &str| -> Vec<(String, bool)> {
            doc["paths"][path]["get"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap().to_string(),
                        p["required"].as_bool().unwrap(),
                    )
                })
                .collect()
        };
        assert_eq!(
            params("/products"),
            [
                ("pageNumber".to_string(), false),
                ("pageSize".to_string(), true),
                ("skus".to_string(), false),
                ("publishedStatus".to_string(), true)
            ]
        );
        assert_eq!(
            params("/productsCount"),
            [("publishedStatus".to_string(), true)]
        );
        assert_eq!(
            doc["paths"]["/products"]["get"]["responses"]["401"]["content"]["application/json"]["schema"]
                ["$ref"],
            "#/components/schemas/ErrorMessage"
        );
        let variant = &doc["components"]["schemas"]["ProductsResponse"]["properties"]["products"]["items"]
            ["properties"]["variants"]["items"];
        assert_eq!(
            variant["required"],
            serde_json::json!(["variantId", "sku", "inventory"])
        );
        let (_, _, op) = spec
            .operations()
            .find(|(p, _, _)| p == "/updateInventory")
            .unwrap();
        let body = op.request_body.as_ref().unwrap().resolve(&spec).unwrap();
        let schema = body.content["application/json"]
            .schema
            .as_ref()
            .unwrap()
            .resolve(&spec);
        assert!(
            schema.is_ok(),
            "{profile}: request schema reference resolves"
        );
        let doc = parse(&text);
        assert_eq!(
            doc["components"]["securitySchemes"]["apiKey"]["in"],
            "header"
        );
        let inv = &doc["components"]["schemas"]["UpdateInventoryRequest"]["properties"]["inventoryList"]
            ["items"]["properties"]["inventory"];
        assert_eq!(
            inv["type"],
            if profile == "v1" { "integer" } else { "string" }
        );
    }
}

#[test]
fn the_calls_of_the_family_are_listed_shown_and_validated() {
    let r = stockwire(&["schema", "calls"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for line in [
        "authToken        authentication  GET,POST   /authToken        mandatory  fixtures/spec/authtoken.md",
        "products         listing         GET        /products         mandatory  fixtures/spec/getproducts.md",
    ] {
        assert!(r.stdout.contains(line), "{}", r.stdout);
    }
    let r = stockwire(&["schema", "calls", "--profile", "v2", "--format", "json"]);
    let doc = parse(&r.stdout);
    assert_eq!(doc["calls"][3]["page"], "updateinventory-current");
    assert_eq!(doc["calls"][2]["methods"], serde_json::json!(["GET"]));

    let r = stockwire(&[
        "schema",
        "show",
        "--call",
        "productsCount",
        "--part",
        "response",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(parse(&r.stdout)["properties"]["count"]["type"], "integer");
    let r = stockwire(&["schema", "show", "--call", "products", "--part", "request"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("call `products` has no request schema (it has: response, query)"),
        "{}",
        r.stderr
    );
    let r = stockwire(&["schema", "show", "--call", "orders"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(
            "unknown call `orders` (known: authToken, productsCount, products, updateInventory)"
        ),
        "{}",
        r.stderr
    );

    // A query string is read as the server reads it and checked against the page's table.
    let r = stockwire(&[
        "schema",
        "validate",
        "--call",
        "products",
        "--query",
        "pageNumber=abc&pageSize=51&publishedStatus=PUBLISHED",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("/pageNumber: [pattern]"), "{}", r.stdout);
    assert!(
        r.stdout.contains("/pageSize: [const] \"50\" was expected"),
        "{}",
        r.stdout
    );
    let r = stockwire(&[
        "schema",
        "validate",
        "--call",
        "products",
        "--query",
        "pageSize=50&publishedStatus=PUBLISHED&skus=A%2CB",
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.json");
    std::fs::write(
        &page,
        r#"{"products":[{"id":"P1","variants":[{"variantId":"V1","inventory":-2}]}]}"#,
    )
    .unwrap();
    let r = stockwire(&[
        "schema",
        "validate",
        "--call",
        "products",
        "--response",
        page.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("/products/0/variants/0: [required] \"sku\" is a required property"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("/products/0/variants/0/inventory: [minimum]"),
        "{}",
        r.stdout
    );
}

#[test]
fn rules_lists_every_semantic_rule() {
    let r = stockwire(&["schema", "rules"]);
    assert_eq!(r.code, 0);
    for rule in stockwire_schema::RULES {
        assert!(r.stdout.contains(rule.id), "{}", r.stdout);
    }
    let r = stockwire(&["schema", "show", "--profile", "v2", "--part", "item"]);
    assert_eq!(r.code, 0);
    assert_eq!(
        parse(&r.stdout)["properties"]["inventory"]["type"],
        "string"
    );
}
