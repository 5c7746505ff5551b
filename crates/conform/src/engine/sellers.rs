//! `seller-isolation`'s probes, run once after the cases when a second seller's credentials are
//! given: each seller in turn updates items both sellers hold (the same ids) and items only the
//! other holds, and the other seller's stock of them is read before and after through that
//! seller's own reader (its listing through its own apiKey, the probe with its name, or a
//! stockwire mock's ledger rows of that seller). With `--restore`, whatever the probes changed
//! on either seller is set back to the value read first, through that seller's own apiKey.
//!
//! It owns the probes and their restore; the verdict is the check's
//! ([`crate::checks::seller_isolation`]), and reading a seller's catalog is discovery's.

use std::collections::BTreeMap;

use stockwire_schema::{CatalogEntry, InventoryItem, InventoryRequest, ItemKey};

use crate::checks::seller_isolation::{IsolationFacts, IsolationProbe, Shared};
use crate::checks::short_key;
use crate::client::http::Client;
use crate::engine::execute::Engine;
use crate::readers::observe::StockReader;
use crate::readers::restore::StockWriter;

/// Items probed per kind (held by both, held by the other only) and per writing seller.
pub const ITEMS_PER_KIND: usize = 2;

/// One seller as the probes use it.
pub(crate) struct Seller<'a> {
    /// `A` (the seller under test) or `B` (the second seller).
    pub(crate) name: &'static str,
    /// A client sending with this seller's apiKey.
    pub(crate) client: &'a Client,
    /// This seller's stock.
    pub(crate) reader: &'a StockReader,
    /// This seller's items.
    pub(crate) catalog: &'a [CatalogEntry],
}

/// What the probes found and cost.
#[derive(Debug, Default)]
pub(crate) struct Isolation {
    /// For the check.
    pub(crate) facts: IsolationFacts,
    /// Updates sent (reads not counted).
    pub(crate) requests: u64,
    /// Items set back (`B: P1/V1`).
    pub(crate) restored: Vec<String>,
    /// Items the probes changed that could not be set back, with why.
    pub(crate) not_restored: Vec<String>,
}

/// Reads `keys` through `reader`: a value per key (`None`: not read).
async fn read(reader: &StockReader, keys: &[ItemKey]) -> Vec<Option<Option<i64>>> {
    if keys.is_empty() {
        return vec![];
    }
    reader
        .read_many(keys)
        .await
        .into_iter()
        .map(Result::ok)
        .collect()
}

/// A count that differs from `before`, so that a write reaching that stock shows.
fn distinct(before: Option<Option<i64>>, salt: i64) -> u32 {
    let b = before.flatten().unwrap_or(0);
    let v = if b > 1_000 { b - salt } else { b + salt };
    u32::try_from(v.max(0)).unwrap_or(salt as u32)
}

/// Sends `items` as one update through `client`; per item, what the answer said of it.
async fn send(
    engine: &Engine,
    client: &Client,
    items: &[(ItemKey, u32)],
) -> BTreeMap<ItemKey, String> {
    let profile = engine.profile();
    let list: Vec<InventoryItem> = items
        .iter()
        .map(|(k, n)| InventoryItem::new(profile, &k.product_id, &k.variant_id, *n))
        .collect();
    let Ok(body) = serde_json::to_string(&InventoryRequest::new(list)) else {
        return BTreeMap::new();
    };
    let req = engine.request(body);
    let outcome = client.send(&req).await;
    let applied = engine.applied(&req, &outcome);
    items
        .iter()
        .map(|(k, _)| {
            let said = match applied.as_ref().and_then(|m| m.get(k)) {
                Some(true) => "reported applied".to_string(),
                Some(false) => "refused".to_string(),
                None => crate::text::elide(&crate::text::outcome_line(&outcome), 80),
            };
            (k.clone(), said)
        })
        .collect()
}

/// The keys of `catalog` that `reader` can read, keeping those `keep` accepts, at most `n`.
fn pick(
    catalog: &[CatalogEntry],
    reader: &StockReader,
    keep: impl Fn(&ItemKey) -> bool,
    n: usize,
) -> Vec<ItemKey> {
    catalog
        .iter()
        .map(CatalogEntry::key)
        .filter(|k| reader.can_read(k) && keep(k))
        .take(n)
        .collect()
}

/// Keeps each value read as `s`'s first reading of its key, unless one is kept already.
fn note(
    first: &mut BTreeMap<(&'static str, ItemKey), Option<i64>>,
    s: &Seller<'_>,
    keys: &[ItemKey],
    vals: &[Option<Option<i64>>],
) {
    for (k, v) in keys.iter().zip(vals) {
        if let Some(v) = v {
            first.entry((s.name, k.clone())).or_insert(*v);
        }
    }
}

/// Runs the probes (see the module docs); `restore` sets back what they changed.
pub(crate) async fn probe(
    engine: &Engine,
    a: &Seller<'_>,
    b: &Seller<'_>,
    restore: bool,
) -> Isolation {
    let mut out = Isolation::default();
    let holds = |s: &Seller<'_>, k: &ItemKey| s.catalog.iter().any(|e| &e.key() == k);
    let both = pick(
        a.catalog,
        a.reader,
        |k| holds(b, k) && b.reader.can_read(k),
        ITEMS_PER_KIND,
    );
    let a_only = pick(a.catalog, a.reader, |k| !holds(b, k), ITEMS_PER_KIND);
    let b_only = pick(b.catalog, b.reader, |k| !holds(a, k), ITEMS_PER_KIND);
    // Each seller's first reading of every item the probes may change, for the restore.
    let mut first: BTreeMap<(&'static str, ItemKey), Option<i64>> = BTreeMap::new();
    for (writer, other, others_only) in [(a, b, &b_only), (b, a, &a_only)] {
        let mut watched = both.clone();
        watched.extend(others_only.iter().cloned());
        if watched.is_empty() {
            continue;
        }
        let before = read(other.reader, &watched).await;
        note(&mut first, other, &watched, &before);
        let own = read(writer.reader, &both).await;
        note(&mut first, writer, &both, &own);
        let at = |k: &ItemKey| watched.iter().position(|x| x == k).and_then(|i| before[i]);
        let mut answers: BTreeMap<ItemKey, (Shared, u32, String)> = BTreeMap::new();
        for (group, shared, salt) in [
            (&both, Shared::Both, 7),
            (others_only, Shared::OtherOnly, 9),
        ] {
            if group.is_empty() {
                continue;
            }
            let items: Vec<(ItemKey, u32)> = group
                .iter()
                .map(|k| (k.clone(), distinct(Some(at(k).flatten()), salt)))
                .collect();
            let said = send(engine, writer.client, &items).await;
            out.requests += 1;
            for (k, n) in items {
                let s = said.get(&k).cloned().unwrap_or_default();
                answers.insert(k, (shared, n, s));
            }
        }
        let after = read(other.reader, &watched).await;
        for (i, k) in watched.iter().enumerate() {
            let Some((shared, sent, answer)) = answers.get(k) else {
                continue;
            };
            out.facts.probes.push(IsolationProbe {
                writer: writer.name,
                other: other.name,
                shared: *shared,
                item: short_key(k),
                sent: i64::from(*sent),
                answer: answer.clone(),
                before: before.get(i).copied().flatten(),
                after: after.get(i).copied().flatten(),
            });
        }
    }
    if restore {
        for s in [a, b] {
            let keys: Vec<ItemKey> = first
                .keys()
                .filter(|(n, _)| *n == s.name)
                .map(|(_, k)| k.clone())
                .collect();
            let now = read(s.reader, &keys).await;
            let mut back = Vec::new();
            for (k, v) in keys.iter().zip(now) {
                let was = first.get(&(s.name, k.clone())).copied().flatten();
                match (was, v) {
                    (_, Some(v)) if v == was => {}
                    (Some(n), _) => match u32::try_from(n) {
                        Ok(n) => back.push((k.clone(), n)),
                        Err(_) => out.not_restored.push(format!(
                            "{}: {}: {n} cannot be sent",
                            s.name,
                            short_key(k)
                        )),
                    },
                    (None, _) => out.not_restored.push(format!(
                        "{}: {}: never set before the probes (cannot be unset)",
                        s.name,
                        short_key(k)
                    )),
                }
            }
            if back.is_empty() {
                continue;
            }
            let said = send(engine, s.client, &back).await;
            out.requests += 1;
            for (k, _) in &back {
                match said.get(k).map(String::as_str) {
                    Some("reported applied") => {
                        out.restored.push(format!("{}: {}", s.name, short_key(k)))
                    }
                    other => out.not_restored.push(format!(
                        "{}: {}: {}",
                        s.name,
                        short_key(k),
                        other.unwrap_or("no answer")
                    )),
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_value_always_differs_from_the_stock_before() {
        for before in [
            None,
            Some(None),
            Some(Some(0)),
            Some(Some(5)),
            Some(Some(5_000)),
        ] {
            let v = i64::from(distinct(before, 7));
            assert_ne!(Some(v), before.flatten(), "{before:?}");
        }
    }
}
