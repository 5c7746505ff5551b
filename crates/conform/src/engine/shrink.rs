//! Shrinking: a failing case reduced while it still fails its check, every candidate run and
//! judged afresh through the engine (with its read-back when the check is a state check). A
//! case with a value tree is simplified through it; a fixed large batch is bisected on its size;
//! then each string the case sets (an id, an inventory string) is bisected on its length.

use proptest::strategy::ValueTree;
use serde_json::Value;

use crate::checks::{self, Kind};
use crate::engine::cases::{CaseSpec, CaseTree, Edit};
use crate::engine::execute::{CaseRun, Engine};
use crate::model::report::ShrinkInfo;
use crate::readers::state::ReadPlan;

/// A string longer than this many characters gets a share of the shrink budget of its own.
const LONG_STRING: usize = 16;

/// Reduces a failing case while it still fails `check`, re-judging every candidate afresh.
pub(crate) async fn shrink(
    engine: &Engine,
    mut tree: CaseTree,
    check: &'static str,
    spec: CaseSpec,
    run: CaseRun,
    budget: u32,
) -> (CaseSpec, CaseRun, ShrinkInfo) {
    let original_items = spec.items.len();
    // A state check's failure shows only when the candidates are read back too.
    let plan = if checks::find(check).is_some_and(|c| c.kind() == Kind::State) {
        ReadPlan::FULL
    } else {
        ReadPlan::NONE
    };
    // A third of the budget is kept for the strings when the case sets a long one.
    let long_string =
        spec.items.iter().flat_map(|i| &i.edits).any(
            |e| matches!(e, Edit::Set(_, Value::String(s)) if s.chars().count() > LONG_STRING),
        );
    let total = budget;
    let budget = if long_string {
        budget - budget / 3
    } else {
        budget
    };
    let mut best = (spec, run);
    let mut steps = 0u32;
    let mut spent = 0u32;
    // Inventories of one-item candidates that passed: evidence for a value-range hint.
    let mut passed_values: Vec<u32> = Vec::new();
    if tree.simplify() {
        while spent < budget {
            let cand = tree.current();
            let r = engine.execute(&cand, plan).await;
            spent += r.requests;
            if r.fails(check) {
                steps += 1;
                best = (cand, r);
                if !tree.simplify() {
                    break;
                }
            } else {
                if let Some(n) = single_count(engine, &cand) {
                    passed_values.push(n);
                }
                if !tree.complicate() {
                    break;
                }
            }
        }
    } else if best.0.items.len() > 1 {
        // Fixed cases (the 1,000- and 10,000-item batches) have no value tree: bisect on the
        // batch size instead, keeping a prefix of the same items, to find the smallest batch
        // that still fails (a partner that breaks from some size on is reported at that size).
        let (mut passes, mut fails) = (0usize, best.0.items.len());
        while fails - passes > 1 && spent < budget {
            let mid = passes + (fails - passes) / 2;
            let mut cand = best.0.clone();
            cand.items.truncate(mid);
            let r = engine.execute(&cand, plan).await;
            spent += r.requests;
            if r.fails(check) {
                steps += 1;
                fails = mid;
                best = (cand, r);
            } else {
                passes = mid;
            }
        }
    }
    // Then the strings the case sets (ids, inventory strings): each shortened to the shortest
    // prefix that still fails, by bisection on its length.
    let (string_steps, string_spent) =
        shrink_strings(engine, &mut best, check, total.saturating_sub(spent), plan).await;
    steps += string_steps;
    spent += string_spent;
    let final_items = best.0.items.len();
    let smaller_value_passed =
        single_count(engine, &best.0).is_some_and(|low| passed_values.iter().any(|&n| n < low));
    (
        best.0,
        best.1,
        ShrinkInfo {
            steps,
            requests: spent,
            original_items,
            final_items,
            smaller_value_passed,
        },
    )
}

/// Shortens each string value the items of `best` set to the shortest prefix (at least one
/// character) that still fails `check`, bisecting on its length within `budget` requests;
/// returns the candidates kept and the requests spent.
async fn shrink_strings(
    engine: &Engine,
    best: &mut (CaseSpec, CaseRun),
    check: &'static str,
    budget: u32,
    plan: ReadPlan,
) -> (u32, u32) {
    let (mut steps, mut spent) = (0u32, 0u32);
    for i in 0..best.0.items.len() {
        for j in 0..best.0.items[i].edits.len() {
            let len = match &best.0.items[i].edits[j] {
                Edit::Set(_, Value::String(s)) => s.chars().count(),
                _ => continue,
            };
            // `fails` fails; `passes` is the longest length known (or taken) to pass.
            let (mut passes, mut fails) = (0usize, len);
            while fails - passes > 1 && spent < budget {
                let mid = passes + (fails - passes) / 2;
                let mut cand = best.0.clone();
                if let Edit::Set(_, Value::String(s)) = &mut cand.items[i].edits[j] {
                    *s = s.chars().take(mid).collect();
                }
                let r = engine.execute(&cand, plan).await;
                spent += r.requests.max(1);
                if r.fails(check) {
                    steps += 1;
                    fails = mid;
                    *best = (cand, r);
                } else {
                    passes = mid;
                }
            }
        }
    }
    (steps, spent)
}

/// The inventory of a one-item case with a valid count, as sent.
fn single_count(engine: &Engine, spec: &CaseSpec) -> Option<u32> {
    let [req] = engine.cases_ctx.render(spec).try_into().ok()?;
    let class = crate::checks::classify::classify(&req, &engine.cls);
    match class.items() {
        [one] => one.count,
        _ => None,
    }
}
