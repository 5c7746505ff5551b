//! The stock ledger: per seller, the stock set by requests (reads fall back to the catalog's
//! `stock`), and the rows the admin API and `MockMarketplace::ledger` show.

use serde::{Deserialize, Serialize};
use stockwire_schema::ItemKey;

use super::catalog::{CatalogIndex, HashMap, UNSET};
use super::tokens::Credentials;

/// `:`, then both ids. Unambiguous for any ids, and a lookup reuses one buffer instead of
/// allocating an [`ItemKey`] per item.
pub(crate) fn pair_key<'b>(buf: &'b mut String, product: &str, variant: &str) -> &'b str {
    buf.clear();
    // The length's digits without the formatting machinery (this runs twice per item).
    buf.push_str(itoa::Buffer::new().format(product.len()));
    buf.push(':');
    buf.push_str(product);
    buf.push_str(variant);
    buf
}

/// The (product, variant) of a key written by [`pair_key`].
pub(crate) fn split_pair_key(k: &str) -> Option<(&str, &str)> {
    let (n, rest) = k.split_once(':')?;
    let n: usize = n.parse().ok()?;
    Some((rest.get(..n)?, rest.get(n..)?))
}

/// What a ledger slot holds: a stock count (`u32`) or an exact number (`f64`), with the
/// value that marks a slot as never set.
pub(crate) trait Slot: Copy + std::fmt::Debug {
    /// The mark of a slot never set.
    const UNSET: Self;
    /// Whether the slot holds a value.
    fn is_set(self) -> bool;
}

impl Slot for u32 {
    const UNSET: u32 = UNSET;
    fn is_set(self) -> bool {
        self != UNSET
    }
}

impl Slot for f64 {
    /// A JSON number is never NaN.
    const UNSET: f64 = f64::NAN;
    fn is_set(self) -> bool {
        !self.is_nan()
    }
}

/// One seller's values set by requests (stock counts unless said otherwise).
#[derive(Debug, Clone)]
pub(crate) struct SellerStock<T: Slot = u32> {
    /// By catalog entry index ([`Slot::UNSET`] where nothing was set): an item found in the
    /// catalog is set without a second hash lookup. Grows to the highest entry set, once per
    /// seller.
    by_entry: Vec<T>,
    /// Items without a catalog (every item exists then), by [`pair_key`].
    by_key: HashMap<Box<str>, T>,
}

impl<T: Slot> Default for SellerStock<T> {
    fn default() -> Self {
        SellerStock {
            by_entry: Vec::new(),
            by_key: HashMap::default(),
        }
    }
}

impl<T: Slot> SellerStock<T> {
    /// Sets the value of catalog entry `i`.
    pub fn set_entry(&mut self, i: u32, n: T) {
        let i = i as usize;
        if i >= self.by_entry.len() {
            self.by_entry.resize(i + 1, T::UNSET);
        }
        self.by_entry[i] = n;
    }

    /// Sets the value of an item without a catalog entry (`key` from [`pair_key`]).
    pub fn set_key(&mut self, key: &str, n: T) {
        match self.by_key.get_mut(key) {
            Some(v) => *v = n,
            None => {
                self.by_key.insert(key.into(), n);
            }
        }
    }

    /// The value set for catalog entry `i`, if any.
    pub fn entry(&self, i: u32) -> Option<T> {
        self.by_entry
            .get(i as usize)
            .copied()
            .filter(|&v| v.is_set())
    }

    /// The value set for an item without a catalog entry (`key` from [`pair_key`]), if any.
    pub fn key(&self, key: &str) -> Option<T> {
        self.by_key.get(key).copied()
    }

    /// Every value set: by catalog entry, then by item key, as (product, variant, value).
    pub fn each<'s>(
        &'s self,
        catalog: Option<&'s CatalogIndex>,
    ) -> impl Iterator<Item = (&'s str, &'s str, T)> + 's {
        let by_entry = self
            .by_entry
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_set())
            .filter_map(move |(i, &v)| {
                let c = catalog?;
                (i < c.len()).then(|| {
                    let (p, var) = c.key_of(i as u32);
                    (p, var, v)
                })
            });
        let by_key = self
            .by_key
            .iter()
            .filter_map(|(k, &v)| split_pair_key(k).map(|(p, var)| (p, var, v)));
        by_entry.chain(by_key)
    }
}

/// Current values by seller, then item (stock counts unless said otherwise). Holds only values
/// set by requests; reads of stock fall back to the catalog's `stock`.
pub(crate) type Ledger<T = u32> = HashMap<String, SellerStock<T>>;

/// One row of the ledger as the admin API and [`crate::MockMarketplace::ledger`] show it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockRow {
    /// Seller.
    pub seller: String,
    /// Product ID.
    pub product_id: String,
    /// Variant ID.
    pub variant_id: String,
    /// Current stock.
    pub stock: u32,
}

/// One value an update call set, as `GET /__admin/ledger?call=ID` and
/// [`crate::MockMarketplace::values`] show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueRow {
    /// Seller.
    pub seller: String,
    /// Product ID.
    pub product_id: String,
    /// Variant ID.
    pub variant_id: String,
    /// The value set (a count, or a number as sent).
    pub value: serde_json::Number,
}

/// Every value set by requests in `ledger` (of `seller`, all when `None`), sorted.
pub(crate) fn value_rows<T: Slot>(
    ledger: &Ledger<T>,
    catalog: Option<&CatalogIndex>,
    seller: Option<&str>,
    number: impl Fn(T) -> Option<serde_json::Number>,
) -> Vec<ValueRow> {
    let mut rows: Vec<ValueRow> = ledger
        .iter()
        .filter(|(s, _)| seller.is_none_or(|x| x == s.as_str()))
        .flat_map(|(s, items)| {
            items.each(catalog).filter_map(|(p, v, x)| {
                Some(ValueRow {
                    seller: s.clone(),
                    product_id: p.to_string(),
                    variant_id: v.to_string(),
                    value: number(x)?,
                })
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        (&a.seller, &a.product_id, &a.variant_id).cmp(&(&b.seller, &b.product_id, &b.variant_id))
    });
    rows
}

/// Every known stock of `seller` (all when `None`), sorted: the catalog's `stock` of each
/// seller's entries, then what requests set (`ledger`: a copy taken under its lock).
pub(crate) fn rows(
    ledger: Ledger,
    catalog: Option<&CatalogIndex>,
    sellers: &[Credentials],
    seller: Option<&str>,
) -> Vec<StockRow> {
    let mut rows = std::collections::BTreeMap::new();
    for s in sellers {
        if seller.is_some_and(|x| x != s.seller) {
            continue;
        }
        if let Some(c) = catalog {
            for i in 0..c.len() as u32 {
                if c.belongs_to(i, &s.seller)
                    && let Some(st) = c.stock_of(i)
                {
                    let (p, v) = c.key_of(i);
                    rows.insert((s.seller.clone(), ItemKey::new(p, v)), st);
                }
            }
        }
    }
    for (s, items) in ledger {
        if seller.is_some_and(|x| x != s) {
            continue;
        }
        if let Some(c) = catalog {
            for (i, &v) in items.by_entry.iter().enumerate() {
                if v != UNSET && i < c.len() {
                    let (p, var) = c.key_of(i as u32);
                    rows.insert((s.clone(), ItemKey::new(p, var)), v);
                }
            }
        }
        for (k, v) in items.by_key {
            if let Some((p, var)) = split_pair_key(&k) {
                rows.insert((s.clone(), ItemKey::new(p, var)), v);
            }
        }
    }
    rows.into_iter()
        .map(|((seller, k), stock)| StockRow {
            seller,
            product_id: k.product_id,
            variant_id: k.variant_id,
            stock,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_keys_split_back_whatever_the_ids_hold() {
        let mut b = String::new();
        for (p, v) in [("a:b", "c"), ("", "x"), ("12", "3:4"), ("\0", "")] {
            let k = pair_key(&mut b, p, v).to_string();
            assert_eq!(split_pair_key(&k), Some((p, v)));
        }
        assert_ne!(
            pair_key(&mut b, "ab", "c").to_string(),
            pair_key(&mut String::new(), "a", "bc")
        );
    }
}
