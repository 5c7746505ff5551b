//! What a check is: its identity (stable id, severity, category, rationale, needs), where the
//! runner evaluates it ([`Kind`]), the verdicts and observations it gives, and what a state check
//! is given (an item read back, [`Stored`]).

use stockwire_schema::Severity;

use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// What a check judges, which decides where the runner evaluates it. Two kinds are equal when
/// they are the same kind (a state check's judge is not compared).
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// One exchange on its own ([`crate::checks::evaluate`]).
    Exchange,
    /// A relation between the exchanges of one case (order, batch, repetition).
    Relation,
    /// What the partner stored, read back after a case ([`crate::readers::state`]): the function judges
    /// one item read back, and returns nothing for an item outside the check's scope.
    State(StateJudge),
    /// The run as a whole (latency, the token call).
    Run,
}

impl PartialEq for Kind {
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

impl Eq for Kind {}

impl std::hash::Hash for Kind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
    }
}

/// Judges one item read back after a case (see [`Stored`]).
pub type StateJudge = fn(&Stored<'_>) -> Option<Verdict>;

/// What a case did to one item, as far as its answers tell.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// Reported applied with one of these counts (more than one when the request named the
    /// item more than once).
    Applied(Vec<i64>),
    /// Refused (why); `auth` when the request was refused for its apiKey.
    Refused {
        /// Why, e.g. "reported failed" or "sent without an apiKey".
        why: String,
        /// Refused for its apiKey (missing or wrong).
        auth: bool,
    },
    /// Not named by the case: a neighbor of an item that was.
    NotNamed,
}

/// One item read back after a case: what the case did to it, what it held before (when known)
/// and what it holds now.
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    /// The item, as `productId/variantId`.
    pub key: &'a str,
    /// What the case did to it.
    pub fact: &'a Fact,
    /// What it held before the case: `None` when not known, `Some(None)` when never set.
    pub before: Option<Option<i64>>,
    /// What it holds now (`None`: never set).
    pub after: Option<i64>,
    /// How long the read-back waited for the value to settle, as words for a message.
    pub settle: &'a str,
}

impl Stored<'_> {
    /// A stock value in words.
    pub fn shown(v: Option<i64>) -> String {
        v.map_or("nothing (never set)".to_string(), |n| n.to_string())
    }

    /// The verdict of `check` on an item that must hold what it held before: `None` when the
    /// before is not known.
    pub fn unchanged(&self, check: &'static str, what: &str) -> Option<Verdict> {
        let before = self.before?;
        Some(if before == self.after {
            Verdict::pass(check)
        } else {
            Verdict::fail(
                check,
                format!(
                    "item {} ({what}) changed from {} to {}",
                    self.key,
                    Self::shown(before),
                    Self::shown(self.after)
                ),
            )
        })
    }
}

/// A check's identity: stable id, severity, category, kind, a one-line rationale, and what it
/// needs from the run beyond a reachable target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// Stable id used in reports, configs and `--checks`.
    pub id: &'static str,
    /// MUST or SHOULD.
    pub severity: Severity,
    /// What the check looks at.
    pub category: Category,
    /// Where the runner evaluates it.
    pub kind: Kind,
    /// Why it holds, in one line.
    pub rationale: &'static str,
    /// What the check loses when the run lacks something (empty: nothing).
    pub needs: &'static [Need],
}

/// The catalog need of the checks that judge whether a valid item is applied.
pub(crate) const NEEDS_KNOWN_ITEM: &[Need] = &[Need {
    resource: Resource::Catalog,
    loss: Loss::Skipped,
    why: "no item is known to exist at the partner, so none can show that a valid update is applied",
}];

/// The catalog need of the checks that compare per-item outcomes across requests.
pub(crate) const NEEDS_KNOWN_ITEM_TO_COMPARE: &[Need] = &[Need {
    resource: Resource::Catalog,
    loss: Loss::Skipped,
    why: "every item sent is unknown to the partner, so every batch is refused and no outcome can differ",
}];

/// The outcome of one check on one exchange (or probe).
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The check's id.
    pub check: &'static str,
    /// `None` when it passed, else what is wrong.
    pub failure: Option<String>,
}

impl Verdict {
    /// A pass.
    pub fn pass(check: &'static str) -> Self {
        Verdict {
            check,
            failure: None,
        }
    }
    /// A failure with a message.
    pub fn fail(check: &'static str, message: impl Into<String>) -> Self {
        Verdict {
            check,
            failure: Some(message.into()),
        }
    }
}

/// A choice the partner made where the contract allows several (FACTS.md, "differences a
/// checking tool must tolerate").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Observation {
    /// Which difference, e.g. `rejection-style`.
    pub topic: &'static str,
    /// The choice seen, e.g. `HTTP 400`.
    pub choice: String,
}
