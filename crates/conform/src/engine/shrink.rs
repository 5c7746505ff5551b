//! Shrinking: a failing case reduced while it still fails its check, every candidate run and
//! judged afresh through the engine (with its read-back when the check is a state check). A
//! case with a value tree is simplified through it; a fixed large batch is bisected on its size.

use proptest::strategy::ValueTree;

use crate::checks::{self, Kind};
use crate::engine::cases::{CaseSpec, CaseTree};
use crate::engine::execute::{CaseRun, Engine};
use crate::model::report::ShrinkInfo;
use crate::readers::state::ReadPlan;

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
    let mut best = (spec, run);
    let mut steps = 0u32;
    let mut spent = 0u32;
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
            } else if !tree.complicate() {
                break;
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
    let final_items = best.0.items.len();
    (
        best.0,
        best.1,
        ShrinkInfo {
            steps,
            requests: spent,
            original_items,
            final_items,
        },
    )
}
