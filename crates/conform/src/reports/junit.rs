//! JUnit XML from a report: one test suite per call of the family (authentication, count,
//! listing, update), one test case per check (passed, failed with the minimal request and curl,
//! or skipped), for CI dashboards; a run that could not be carried out adds an errored test
//! case `run` with the error, in a suite of its own.

use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use crate::error::ConformError;
use crate::model::report::{CheckStatus, Report};
use crate::reports::view::RunView;

/// The JUnit XML text of a report (see [`render`]).
pub fn to_junit(report: &Report) -> String {
    render(&RunView::of(report))
}

/// The JUnit XML text of a run's view.
pub fn render(v: &RunView) -> String {
    let new_suite = |name: &str| {
        let mut suite = TestSuite::new(format!("stockwire conform ({}): {name}", v.profile));
        suite.add_property(("seed", v.seed.to_string().as_str()));
        suite.add_property(("target", v.target.as_str()));
        suite
    };
    let mut suites: Vec<TestSuite> = Vec::new();
    if let Some((kind, message)) = &v.error {
        let mut suite = new_suite("run");
        // The run did not happen: one errored test case says why, so CI shows an error, not a
        // green or empty suite.
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
        s.set_type(kind.clone());
        s.set_message(message.clone());
        s.set_description(format!("{message}\nexit code {}", v.exit_code));
        let mut tc = TestCase::new("run", s);
        tc.set_classname("stockwire.conform");
        suite.add_test_case(tc);
        suites.push(suite);
    }
    let mut current: Option<(String, TestSuite)> = None;
    for c in &v.checks {
        if current.as_ref().is_none_or(|(call, _)| *call != c.call) {
            if let Some((_, done)) = current.take() {
                suites.push(done);
            }
            current = Some((c.call.clone(), new_suite(&c.call)));
        }
        let Some((_, suite)) = current.as_mut() else {
            continue;
        };
        let status = match c.status {
            CheckStatus::Passed => TestCaseStatus::success(),
            CheckStatus::Skipped => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(c.skip_reason.clone().unwrap_or_default());
                s
            }
            CheckStatus::Failed => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                let f = v.failures.iter().find(|f| f.check == c.id);
                s.set_type(c.severity.clone());
                s.set_message(
                    f.map_or_else(|| format!("{} failure(s)", c.failed), |f| f.message.clone()),
                );
                if let Some(f) = f {
                    let mut d = format!("{}; {}\n", c.evaluations, f.case);
                    for e in &f.exchanges {
                        let Some(curl) = &e.curl else { continue };
                        d.push_str(&format!("\n{curl}\n-> {}\n", e.response_line()));
                    }
                    s.set_description(d);
                }
                s
            }
        };
        let mut tc = TestCase::new(c.id.clone(), status);
        tc.set_classname(format!(
            "stockwire.conform.{}.{}",
            c.call,
            c.category.as_str()
        ));
        suite.add_test_case(tc);
    }
    suites.extend(current.map(|(_, s)| s));
    // The run's time, once, on the first suite (the suites ran together).
    if let Some(first) = suites.first_mut() {
        first.set_time(Duration::from_millis(v.duration_ms));
    }
    let mut r = quick_junit::Report::new("stockwire-conform");
    r.add_test_suites(suites);
    r.to_string().unwrap_or_default()
}

/// Writes the JUnit report.
pub fn write_junit(report: &Report, path: &Path) -> Result<(), ConformError> {
    crate::reports::report::write_file(path, &to_junit(report))
}
