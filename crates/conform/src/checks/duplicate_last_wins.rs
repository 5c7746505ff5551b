//! `duplicate-last-wins`: when one batch names the same item twice with different values and
//! the partner applies it, the stock read back is the last value sent. Refusing such an item
//! is the partner's choice (reported as `duplicate-items` under "Partner choices"), judged by
//! no check; a partner that writes the copies concurrently keeps whichever write ends last.

use stockwire_schema::Severity;

use super::check::{Check, Eval, Fact, Stored, Verdict};
use crate::model::vocabulary::{Category, Loss, Need, Resource};

/// The partner-choice topic of what a partner does with an item named twice in one batch.
pub const TOPIC: &str = "duplicate-items";

/// The check.
pub const CHECK: Check = Check {
    id: "duplicate-last-wins",
    severity: Severity::Should,
    category: Category::State,
    eval: Eval::State(judge),
    shrink: true,
    replayable: true,
    confirm: None,
    catalog_evidence: false,
    needs: &[
        super::stored_value::KNOWN_ITEM,
        Need {
            resource: Resource::StockProbe,
            loss: Loss::Skipped,
            why: "which of the values sent was kept shows only by reading the stock back (--stock-probe, the listing, or a stockwire mock's ledger)",
        },
    ],
    rationale: "The caller's last value for an item is its newest; a partner that keeps an earlier one (or whichever write ends last) shows stale stock.",
};

/// An item applied from a batch that named it with several values (they are in the order
/// sent, the last one last) must hold the last of them. An item holding none of them is
/// `stored-value`'s failure, not this check's.
pub fn judge(item: &Stored<'_>) -> Option<Verdict> {
    let Fact::Applied(sent) = item.fact else {
        return None;
    };
    let [earlier @ .., last] = sent.as_slice() else {
        return None;
    };
    if earlier.is_empty() {
        return None;
    }
    let after = item.after?;
    if after == *last {
        return Some(Verdict::pass(CHECK.id));
    }
    if !earlier.contains(&after) {
        return None;
    }
    let values: Vec<String> = sent.iter().map(i64::to_string).collect();
    Some(Verdict::fail(
        CHECK.id,
        format!(
            "item {} was named {} times in one batch (inventory {}, in that order) and reported applied, but holds {after}, not the last value sent ({last}) ({})",
            item.key,
            sent.len(),
            values.join(", then "),
            item.settle
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(fact: &Fact, after: Option<i64>) -> Option<Verdict> {
        judge(&Stored {
            key: "P1/V1",
            fact,
            before: None,
            after,
            settle: "read once",
        })
    }

    #[test]
    fn the_last_value_wins() {
        let twice = Fact::Applied(vec![40, 30]);
        assert_eq!(stored(&twice, Some(30)), Some(Verdict::pass(CHECK.id)));
        let m = stored(&twice, Some(40)).and_then(|v| v.failure);
        assert_eq!(
            m.as_deref(),
            Some(
                "item P1/V1 was named 2 times in one batch (inventory 40, then 30, in that order) and reported applied, but holds 40, not the last value sent (30) (read once)"
            )
        );
        // Neither value: stored-value's failure. Sent once, refused or not read: nothing.
        assert_eq!(stored(&twice, Some(7)), None);
        assert_eq!(stored(&twice, None), None);
        assert_eq!(stored(&Fact::Applied(vec![5]), Some(4)), None);
        assert_eq!(stored(&Fact::NotNamed, Some(4)), None);
    }
}
