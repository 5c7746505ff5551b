//! `--restore`: setting the stock back at the end of a run (also after Ctrl-C and after a run
//! that ends in an error). With a read-back, each item goes back to the stock read before the
//! run first touched it; without, to the catalog's stated stock (for a discovered item, the
//! listed stock, plus its blocked units when the listing shows the stock left after
//! `blockedInventory`: the partner's available-stock choice). An item that had never been
//! set cannot be unset through `/updateInventory`: such items are listed, as are items the
//! partner did not accept.

use std::collections::BTreeMap;

use stockwire_schema::{CatalogEntry, InventoryItem, InventoryRequest, ItemKey, Profile};

use crate::checks;
use crate::client::http::{HttpRequest, Outcome};
use crate::model::report::RestoreResult;
use crate::readers::state::Tracker;

/// What restoring needs from the engine that ran the cases, and no more: the engine implements
/// it, so the restore does not depend on the engine.
pub(crate) trait StockWriter {
    /// The contract version requests are written for.
    fn profile(&self) -> Profile;
    /// An `/updateInventory` request as the run sends it (URL, headers, apiKey placeholder),
    /// with `body`.
    fn request(&self, body: String) -> HttpRequest;
    /// Sends `req` through the run's client.
    async fn send(&self, req: &HttpRequest) -> Outcome;
    /// Per item of `req`, whether `outcome` reports it applied (`None`: it tells nothing about
    /// items, e.g. no response or a 5xx).
    fn applied(&self, req: &HttpRequest, outcome: &Outcome) -> Option<BTreeMap<ItemKey, bool>>;
}

/// Sends `items` (key, count) in batches of 100; returns the keys not applied and requests sent.
async fn send(
    writer: &impl StockWriter,
    items: &[(ItemKey, u32)],
) -> (Vec<(ItemKey, String)>, u64) {
    let mut refused = Vec::new();
    let mut requests = 0;
    for chunk in items.chunks(100) {
        let list: Vec<InventoryItem> = chunk
            .iter()
            .map(|(k, n)| InventoryItem::new(writer.profile(), &k.product_id, &k.variant_id, *n))
            .collect();
        let req = match serde_json::to_string(&InventoryRequest::new(list)) {
            Ok(b) => writer.request(b),
            Err(e) => {
                for (k, _) in chunk {
                    refused.push((k.clone(), format!("cannot build the request: {e}")));
                }
                continue;
            }
        };
        let outcome = writer.send(&req).await;
        requests += 1;
        let applied = writer.applied(&req, &outcome);
        for (k, _) in chunk {
            match applied.as_ref().and_then(|m| m.get(k)) {
                Some(true) => {}
                Some(false) => refused.push((k.clone(), "refused by the partner".into())),
                None => refused.push((
                    k.clone(),
                    crate::text::outcome_line(&outcome)
                        .chars()
                        .take(120)
                        .collect(),
                )),
            }
        }
    }
    (refused, requests)
}

/// What `from_catalog` sets an entry back to: its stated stock, plus its blocked units when
/// the listing it was read from shows the stock left after them (`lists_available`); the
/// stock sent to `/updateInventory` is the stored stock, blocked units included.
pub(crate) fn restore_value(e: &CatalogEntry, lists_available: bool) -> Option<u32> {
    let stock = e.stock?;
    Some(match e.blocked {
        Some(b) if lists_available => stock.saturating_add(b),
        _ => stock,
    })
}

/// Where `from_catalog`'s values came from, as the report names it.
pub(crate) const SOURCE_LISTED_PLUS_BLOCKED: &str = "listing-plus-blocked";

/// Restores the catalog's stated stock (no read-back); under the available-stock choice
/// (`lists_available`), a listed item's stock plus its blocked units. Returns the result and
/// requests sent.
pub(crate) async fn from_catalog(
    writer: &impl StockWriter,
    catalog: &[CatalogEntry],
    lists_available: bool,
) -> (RestoreResult, u64) {
    let items: Vec<(ItemKey, u32)> = catalog
        .iter()
        .filter_map(|e| restore_value(e, lists_available).map(|s| (e.key(), s)))
        .collect();
    let added_blocked = lists_available && catalog.iter().any(|e| e.blocked.is_some());
    let (refused, requests) = send(writer, &items).await;
    (
        RestoreResult {
            source: if added_blocked {
                SOURCE_LISTED_PLUS_BLOCKED.into()
            } else {
                "catalog".into()
            },
            restored: (items.len() - refused.len()) as u64,
            failed: refused.len() as u64,
            without_stock: (catalog.len() - items.len()) as u64,
            not_restored: refused
                .iter()
                .map(|(k, why)| format!("{}: {why}", checks::short_key(k)))
                .collect(),
            never_set: vec![],
        },
        requests,
    )
}

/// Restores each item the run read to its first reading. Returns the result and requests sent.
pub(crate) async fn from_read_back(
    writer: &impl StockWriter,
    tracker: &Tracker,
) -> (RestoreResult, u64) {
    let originals: BTreeMap<ItemKey, Option<i64>> = tracker.originals();
    let known = tracker.known();
    let mut items = Vec::new();
    let mut never_set = Vec::new();
    let mut not_restored = Vec::new();
    for (k, first) in &originals {
        let now = known.get(k).copied();
        match first {
            Some(v) if now == Some(Some(*v)) => {}
            Some(v) => match u32::try_from(*v) {
                Ok(n) => items.push((k.clone(), n)),
                Err(_) => not_restored.push(format!(
                    "{}: the value read before the run ({v}) cannot be sent",
                    checks::short_key(k)
                )),
            },
            None if now == Some(None) => {}
            None => never_set.push(checks::short_key(k)),
        }
    }
    let (refused, requests) = send(writer, &items).await;
    not_restored.extend(
        refused
            .iter()
            .map(|(k, why)| format!("{}: {why}", checks::short_key(k))),
    );
    (
        RestoreResult {
            source: "read-back".into(),
            restored: (items.len() - refused.len()) as u64,
            failed: refused.len() as u64,
            without_stock: 0,
            not_restored,
            never_set,
        },
        requests,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_available_stock_choice_adds_the_blocked_units_back() {
        let mut e = CatalogEntry::new("P", "V");
        assert_eq!(restore_value(&e, true), None);
        e.stock = Some(3);
        assert_eq!(restore_value(&e, true), Some(3));
        e.blocked = Some(2);
        assert_eq!(restore_value(&e, false), Some(3));
        assert_eq!(restore_value(&e, true), Some(5));
        e.blocked = Some(u32::MAX);
        assert_eq!(restore_value(&e, true), Some(u32::MAX));
    }
}
