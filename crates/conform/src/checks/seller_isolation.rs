//! `seller-isolation`: with two sellers' credentials, an update by one seller never changes the
//! other's stock, neither for an item both hold (the same ids) nor for an item only the other
//! holds (one seller cannot update another's items: refused, or without effect on its stock).
//! Each seller writes in turn and the other's stock is read before and after.

use stockwire_schema::Severity;

use super::check::{Check, Eval, RunFact, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The check.
pub const CHECK: Check = Check {
    id: "seller-isolation",
    severity: Severity::Must,
    category: Category::State,
    eval: Eval::Run(judge),
    rationale: "An apiKey is a seller's: an update that lands on another seller's stock (a master account writing to the first seller it finds) corrupts stock that seller never sent.",
    shrink: false,
    replayable: false,
    confirm: None,
    catalog_evidence: false,
    needs: &[
        Need {
            resource: Resource::SecondSeller,
            loss: Loss::Skipped,
            why: "only a second seller's stock shows whether one seller's update reaches another's",
        },
        Need {
            resource: Resource::StockProbe,
            loss: Loss::Skipped,
            why: "what each seller holds shows only by reading its stock back (its listing, --stock-probe, or a stockwire mock's ledger)",
        },
    ],
};

/// Whose item a probe wrote: one both sellers hold, or one only the other seller holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shared {
    /// An item both sellers hold (the same productId and variantId).
    Both,
    /// An item only the other seller holds.
    OtherOnly,
}

/// One write by one seller and the other seller's stock of the item, read before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct IsolationProbe {
    /// The seller that wrote (`A` is the seller under test, `B` the second seller).
    pub writer: &'static str,
    /// The seller whose stock was read.
    pub other: &'static str,
    /// Whose item it is.
    pub shared: Shared,
    /// The item, shown short.
    pub item: String,
    /// The inventory sent.
    pub sent: i64,
    /// What the writer's answer said of the item (`reported applied`, `refused`, …).
    pub answer: String,
    /// The other seller's stock before (`None`: not read; `Some(None)`: never set).
    pub before: Option<Option<i64>>,
    /// The other seller's stock after.
    pub after: Option<Option<i64>>,
}

/// What the isolation probes found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IsolationFacts {
    /// The probes, in the order made.
    pub probes: Vec<IsolationProbe>,
}

fn shown(v: Option<i64>) -> String {
    v.map_or_else(|| "nothing (never set)".into(), |n| n.to_string())
}

/// Judges the probes; nothing when no probe read the other seller's stock before and after.
pub fn judge(fact: &RunFact<'_>) -> Option<Verdict> {
    let RunFact::SellerIsolation(f) = *fact else {
        return None;
    };
    let mut read = 0;
    for p in &f.probes {
        let (Some(before), Some(after)) = (p.before, p.after) else {
            continue;
        };
        read += 1;
        if before == after {
            continue;
        }
        let what = match p.shared {
            Shared::Both => format!(
                "seller {}'s update of its own item {} (inventory {}, {}) changed seller {}'s stock of the same item from {} to {}: the partner wrote to a seller other than the one whose apiKey sent it",
                p.writer,
                p.item,
                p.sent,
                p.answer,
                p.other,
                shown(before),
                shown(after)
            ),
            Shared::OtherOnly => format!(
                "seller {} updated seller {}'s item {} (not in its own catalog; inventory {}, {}): seller {}'s stock changed from {} to {}",
                p.writer,
                p.other,
                p.item,
                p.sent,
                p.answer,
                p.other,
                shown(before),
                shown(after)
            ),
        };
        return Some(Verdict::fail(CHECK.id, what));
    }
    (read > 0).then(|| Verdict::pass(CHECK.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(shared: Shared, before: Option<i64>, after: Option<i64>) -> IsolationProbe {
        IsolationProbe {
            writer: "B",
            other: "A",
            shared,
            item: "P1/V1".into(),
            sent: 17,
            answer: "reported applied".into(),
            before: Some(before),
            after: Some(after),
        }
    }

    #[test]
    fn unchanged_stock_passes_a_change_fails_and_nothing_read_says_nothing() {
        let pass = IsolationFacts {
            probes: vec![probe(Shared::Both, Some(10), Some(10))],
        };
        assert!(judge(&RunFact::SellerIsolation(&pass)).is_some_and(|v| v.failure.is_none()));
        let fail = IsolationFacts {
            probes: vec![
                probe(Shared::Both, Some(10), Some(10)),
                probe(Shared::OtherOnly, None, Some(17)),
            ],
        };
        let v = judge(&RunFact::SellerIsolation(&fail)).unwrap();
        let m = v.failure.unwrap();
        assert!(m.contains("seller B updated seller A's item P1/V1"), "{m}");
        assert!(m.contains("from nothing (never set) to 17"), "{m}");
        let unread = IsolationFacts {
            probes: vec![IsolationProbe {
                after: None,
                ..probe(Shared::Both, Some(1), Some(2))
            }],
        };
        assert!(judge(&RunFact::SellerIsolation(&unread)).is_none());
    }
}
