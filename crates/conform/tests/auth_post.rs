//! `/authToken`: GET with a query string, POST with a JSON body when GET is not allowed.

use std::time::Duration;

use serde_json::json;
use stockwire_conform::http::{Client, ClientOptions, Redactor};
use stockwire_conform::runner::fetch_token;
use stockwire_conform::{ConformError, RunOptions};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client() -> Client {
    let opts = ClientOptions {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        max_response_bytes: 1 << 20,
        insecure: false,
        rate: None,
        max_idle: 2,
        extra_headers: Vec::new(),
        cacert: None,
        throttle_budget: Duration::from_secs(1),
    };
    Client::new(opts, None, Redactor::new(Vec::<String>::new())).unwrap()
}

/// A partner whose `/authToken` only takes POST with a JSON body.
async fn post_only_partner() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/authToken"))
        .respond_with(ResponseTemplate::new(405))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/authToken"))
        .and(body_json(
            json!({"username": "seller", "password": "s3cret"}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": "SUCCESS", "accessToken": "tok-123"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/authToken"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"status": "INVALID_CREDENTIALS"})),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn falls_back_to_post_when_get_is_not_allowed() {
    let server = post_only_partner().await;
    let opts = RunOptions::new(server.uri());
    let token = fetch_token(&client(), &server.uri(), &opts, "seller", "s3cret")
        .await
        .unwrap();
    assert_eq!(token, "tok-123");
    let methods: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.method.to_string())
        .collect();
    assert_eq!(methods, ["GET", "POST"]);
}

#[tokio::test]
async fn refused_credentials_are_an_auth_failure_without_the_password() {
    let server = post_only_partner().await;
    let opts = RunOptions::new(server.uri());
    let err = fetch_token(&client(), &server.uri(), &opts, "seller", "wrong-pass")
        .await
        .unwrap_err();
    assert!(matches!(err, ConformError::AuthFailed { .. }), "{err}");
    assert!(err.to_string().contains("INVALID_CREDENTIALS"), "{err}");
    assert!(!err.to_string().contains("wrong-pass"), "{err}");
}

/// A partner that answers a 1 MB token: it would be sent on every request and redacted from
/// every output in all its spellings, so the run refuses it before anything else is sent.
#[tokio::test]
async fn a_token_larger_than_16_kib_is_refused_before_any_case() {
    let server = MockServer::start().await;
    let huge = "t".repeat(1 << 20);
    Mock::given(method("GET"))
        .and(path("/authToken"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": "SUCCESS", "accessToken": huge})),
        )
        .mount(&server)
        .await;
    let mut opts = RunOptions::new(server.uri());
    opts.credentials = stockwire_conform::Credentials::Login {
        username: "seller".into(),
        password: "s3cret".into(),
    };
    opts.max_response_bytes = 4 << 20;
    let err = stockwire_conform::run(opts, &mut stockwire_conform::events::NoSink)
        .await
        .unwrap_err();
    assert!(matches!(err, ConformError::AuthFailed { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("the accessToken is 1048576 bytes, more than the 16 KiB"),
        "{err}"
    );
    // The login is the only request: no case carried the token.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

/// A partner whose GET `/authToken` answers `get_status` (a handler reading a body a GET does
/// not have), while POST hands out a token; `/updateInventory` applies what the token sends.
async fn get_broken_partner(get_status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/authToken"))
        .respond_with(
            ResponseTemplate::new(get_status).set_body_string(
                "TypeError: Cannot read properties of undefined (reading 'username')",
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/authToken"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": "SUCCESS", "accessToken": "tok-123"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/updateInventory"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": "SUCCESS", "failedProductList": []})),
        )
        .mount(&server)
        .await;
    server
}

fn login_options(server: &MockServer) -> RunOptions {
    let mut opts = RunOptions::new(server.uri());
    opts.credentials = stockwire_conform::Credentials::Login {
        username: "seller".into(),
        password: "s3cret".into(),
    };
    opts.cases = 10;
    opts.discovery = false;
    opts.checks = vec!["auth-token-response".into()];
    opts
}

async fn methods(server: &MockServer, p: &str) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == p)
        .map(|r| r.method.to_string())
        .collect()
}

#[tokio::test]
async fn a_get_answering_500_is_a_violation_and_the_run_logs_in_with_post() {
    let server = get_broken_partner(500).await;
    let report = stockwire_conform::run(
        login_options(&server),
        &mut stockwire_conform::events::NoSink,
    )
    .await
    .unwrap();
    let check = report
        .checks
        .iter()
        .find(|c| c.id == "auth-token-response")
        .unwrap();
    assert!(check.failed > 0, "{check:?}");
    let f = report
        .failures
        .iter()
        .find(|f| f.check == "auth-token-response")
        .unwrap();
    assert!(
        f.message.contains("GET /authToken") && f.message.contains("HTTP 500"),
        "{}",
        f.message
    );
    assert!(f.message.contains("logged in with POST"), "{}", f.message);
    assert_eq!(methods(&server, "/authToken").await, ["GET", "POST"]);
    // The rest was certified with the POST token.
    assert!(report.summary.cases > 0);
    assert_eq!(report.summary.exit_code, 1);
    assert!(!report.failures.iter().any(|f| f.message.contains("s3cret")));
}

#[tokio::test]
async fn a_post_only_partner_is_a_choice_not_a_violation() {
    let server = get_broken_partner(405).await;
    let report = stockwire_conform::run(
        login_options(&server),
        &mut stockwire_conform::events::NoSink,
    )
    .await
    .unwrap();
    let check = report
        .checks
        .iter()
        .find(|c| c.id == "auth-token-response")
        .unwrap();
    assert_eq!(check.failed, 0, "{:?}", report.failures);
    assert!(check.passed > 0);
    assert!(
        report
            .choices
            .iter()
            .any(|c| c.topic == "auth-method" && c.choice.contains("POST only")),
        "{:?}",
        report.choices
    );
}

#[tokio::test]
async fn auth_method_forces_one_method() {
    let server = get_broken_partner(500).await;
    let mut opts = login_options(&server);
    opts.auth_method = Some(stockwire_conform::config::AuthMethod::Post);
    let report = stockwire_conform::run(opts, &mut stockwire_conform::events::NoSink)
        .await
        .unwrap();
    assert_eq!(methods(&server, "/authToken").await, ["POST"]);
    assert!(report.failures.is_empty(), "{:?}", report.failures);

    let server = get_broken_partner(500).await;
    let mut opts = login_options(&server);
    opts.auth_method = Some(stockwire_conform::config::AuthMethod::Get);
    let err = stockwire_conform::run(opts, &mut stockwire_conform::events::NoSink)
        .await
        .unwrap_err();
    assert!(matches!(err, ConformError::AuthFailed { .. }), "{err}");
    assert_eq!(methods(&server, "/authToken").await, ["GET"]);
}
