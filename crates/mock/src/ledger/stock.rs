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
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = product.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        buf.push(char::from(d));
    }
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

/// One seller's stock set by requests.
#[derive(Debug, Default, Clone)]
pub(crate) struct SellerStock {
    /// By catalog entry index ([`UNSET`] where nothing was set): an item found in the catalog
    /// is set without a second hash lookup. Grows to the highest entry set, once per seller.
    by_entry: Vec<u32>,
    /// Items without a catalog (every item exists then), by [`pair_key`].
    by_key: HashMap<Box<str>, u32>,
}

impl SellerStock {
    /// Sets the stock of catalog entry `i`.
    pub fn set_entry(&mut self, i: u32, n: u32) {
        let i = i as usize;
        if i >= self.by_entry.len() {
            self.by_entry.resize(i + 1, UNSET);
        }
        self.by_entry[i] = n;
    }

    /// Sets the stock of an item without a catalog entry (`key` from [`pair_key`]).
    pub fn set_key(&mut self, key: &str, n: u32) {
        match self.by_key.get_mut(key) {
            Some(v) => *v = n,
            None => {
                self.by_key.insert(key.into(), n);
            }
        }
    }

    /// The stock set for catalog entry `i`, if any.
    pub fn entry(&self, i: u32) -> Option<u32> {
        self.by_entry
            .get(i as usize)
            .copied()
            .filter(|&v| v != UNSET)
    }

    /// The stock set for an item without a catalog entry (`key` from [`pair_key`]), if any.
    pub fn key(&self, key: &str) -> Option<u32> {
        self.by_key.get(key).copied()
    }
}

/// Current stock by seller, then item. Holds only values set by requests; reads fall back to
/// the catalog's `stock`.
pub(crate) type Ledger = HashMap<String, SellerStock>;

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
