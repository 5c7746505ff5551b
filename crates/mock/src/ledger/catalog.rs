//! The catalog, compacted and indexed: one hash probe finds an item's entry for a seller, and
//! a suggestion for an unknown item looks at a bounded number of entries, whatever the
//! catalog's size.

use std::hash::BuildHasher;

use stockwire_schema::{Catalog, ItemKey};

/// The maps looked up per item of a request (catalog index, ledger): foldhash, seeded per
/// map, instead of SipHash, which was about a tenth of the CPU at 1,000-item requests.
pub(crate) type HashMap<K, V> = foldhash::HashMap<K, V>;

/// What a stock slot holds when nothing is known: no `stock` in the catalog file, or no value
/// set by a request (the ledger's slots, [`crate::ledger::stock`]).
pub(crate) const UNSET: u32 = u32::MAX;

/// Neighbours on each side of a key in the sorted catalog that a suggestion looks at.
const NEIGHBOURS: usize = 8;
/// Variants of one product a suggestion looks at.
const SAME_PRODUCT: usize = 64;

/// The catalog, compacted, with a hash index by item key and the orders suggestions are drawn
/// from. Every lookup and suggestion looks at a bounded number of entries, whatever the
/// catalog's size.
///
/// About 70 bytes per entry (a `Catalog` and maps of boxed keys took about 770): the ids live
/// in one arena, the index holds arena offsets, and the suggestion orders are entry numbers.
#[derive(Debug)]
pub(crate) struct CatalogIndex {
    /// Per entry: the product id's length and the variant id's length (LEB128), then both ids.
    ids: Vec<u8>,
    /// Where each entry starts in `ids`.
    at: Vec<usize>,
    /// Each entry's `stock` ([`UNSET`] when the file gives none).
    stock: Vec<u32>,
    /// Each entry's seller as an index into `owners` ([`EVERY_SELLER`]); empty when no entry
    /// names a seller.
    owner: Vec<u32>,
    /// The sellers entries name, each once.
    owners: Vec<Box<str>>,
    /// One slot per item key: its first entry in file order.
    index: hashbrown::HashTable<Slot>,
    /// Keys held by more than one entry (other sellers'): every entry, in file order, by the
    /// first one.
    shared: HashMap<u32, Vec<u32>>,
    hasher: foldhash::fast::RandomState,
    /// Entries in the spelling order of `product/variant` (neighbours of a typo).
    sorted: Vec<u32>,
    /// Entries by productId, then file order (other variants of a product).
    by_product: Vec<u32>,
    /// Entries by lower-cased `product/variant`, then file order (a difference of case only).
    folded: Vec<u32>,
}

/// An index slot: where the key's first entry starts in the arena, and the entry.
#[derive(Debug, Clone, Copy)]
struct Slot {
    at: usize,
    /// The entry number; [`SHARED_KEY`] set when the key has other entries or the entry names
    /// a seller (the lookup must then check the seller).
    entry: u32,
}

/// In [`Slot::entry`]: the seller must be checked.
const SHARED_KEY: u32 = 1 << 31;
/// In [`CatalogIndex::owner`]: the entry belongs to every seller.
const EVERY_SELLER: u32 = u32::MAX;

fn push_len(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn read_len(b: &[u8], at: &mut usize) -> usize {
    let mut n = 0usize;
    let mut shift = 0;
    while let Some(&x) = b.get(*at) {
        *at += 1;
        n |= usize::from(x & 0x7f) << shift;
        if x & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    n
}

/// The ids of the entry starting at `at` in the arena.
fn ids_at(ids: &[u8], mut at: usize) -> (&[u8], &[u8]) {
    let p = read_len(ids, &mut at);
    let v = read_len(ids, &mut at);
    let prod = ids.get(at..at + p).unwrap_or_default();
    let var = ids.get(at + p..at + p + v).unwrap_or_default();
    (prod, var)
}

/// `product/variant` of two ids, compared with `want` byte by byte (no copy).
fn cmp_shown(p: &[u8], v: &[u8], want: &str) -> std::cmp::Ordering {
    p.iter().chain(b"/").chain(v).copied().cmp(want.bytes())
}

impl CatalogIndex {
    pub fn new(catalog: Catalog) -> Self {
        let n = catalog.entries.len();
        let hasher = foldhash::fast::RandomState::default();
        let mut ids = Vec::with_capacity(
            catalog
                .entries
                .iter()
                .map(|e| e.product_id.len() + e.variant_id.len() + 2)
                .sum(),
        );
        let mut at = Vec::with_capacity(n);
        let mut stock = Vec::with_capacity(n);
        let mut owner = Vec::new();
        let mut owners: Vec<Box<str>> = Vec::new();
        let mut index: hashbrown::HashTable<Slot> = hashbrown::HashTable::with_capacity(n);
        let mut shared: HashMap<u32, Vec<u32>> = HashMap::default();
        for (i, e) in catalog.entries.iter().enumerate() {
            let i = i as u32;
            let start = ids.len();
            push_len(&mut ids, e.product_id.len());
            push_len(&mut ids, e.variant_id.len());
            ids.extend_from_slice(e.product_id.as_bytes());
            ids.extend_from_slice(e.variant_id.as_bytes());
            at.push(start);
            stock.push(e.stock.unwrap_or(UNSET));
            if let Some(s) = &e.seller {
                if owner.is_empty() {
                    owner.resize(i as usize, EVERY_SELLER);
                }
                let o = match owners.iter().position(|x| **x == **s) {
                    Some(o) => o,
                    None => {
                        owners.push(s.as_str().into());
                        owners.len() - 1
                    }
                };
                owner.push(o as u32);
            } else if !owner.is_empty() {
                owner.push(EVERY_SELLER);
            }
            let (p, v) = (e.product_id.as_bytes(), e.variant_id.as_bytes());
            let h = hasher.hash_one((p, v));
            let named = if e.seller.is_some() { SHARED_KEY } else { 0 };
            let arena = &ids;
            match index.find_mut(h, |s| ids_at(arena, s.at) == (p, v)) {
                Some(slot) => {
                    let first = slot.entry & !SHARED_KEY;
                    slot.entry |= SHARED_KEY;
                    shared.entry(first).or_insert_with(|| vec![first]).push(i);
                }
                None => {
                    index.insert_unique(
                        h,
                        Slot {
                            at: start,
                            entry: i | named,
                        },
                        |s| {
                            let (p, v) = ids_at(arena, s.at);
                            hasher.hash_one((p, v))
                        },
                    );
                }
            }
        }
        let mut me = CatalogIndex {
            ids,
            at,
            stock,
            owner,
            owners,
            index,
            shared,
            hasher,
            sorted: Vec::new(),
            by_product: Vec::new(),
            folded: Vec::new(),
        };
        drop(catalog);
        let all: Vec<u32> = (0..n as u32).collect();
        let mut sorted = all.clone();
        sorted.sort_by(|&a, &b| {
            let (pa, va) = me.ids_of(a);
            let (pb, vb) = me.ids_of(b);
            pa.iter()
                .chain(b"/")
                .chain(va)
                .cmp(pb.iter().chain(b"/").chain(vb))
        });
        let mut by_product = all.clone();
        by_product.sort_by(|&a, &b| me.ids_of(a).0.cmp(me.ids_of(b).0));
        let mut keyed: Vec<(Box<str>, u32)> = all
            .into_iter()
            .map(|i| (me.shown(i).to_lowercase().into_boxed_str(), i))
            .collect();
        keyed.sort();
        me.folded = keyed.into_iter().map(|(_, i)| i).collect();
        me.sorted = sorted;
        me.by_product = by_product;
        me
    }

    /// Bytes the index holds on the heap (capacities, not lengths).
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.ids.capacity()
            + self.at.capacity() * size_of::<usize>()
            + (self.stock.capacity() + self.owner.capacity()) * size_of::<u32>()
            + self
                .owners
                .iter()
                .map(|o| o.len() + size_of::<Box<str>>())
                .sum::<usize>()
            + self.index.capacity() * (size_of::<Slot>() + 1)
            + self
                .shared
                .values()
                .map(|v| v.capacity() * 4 + 32)
                .sum::<usize>()
            + (self.sorted.capacity() + self.by_product.capacity() + self.folded.capacity())
                * size_of::<u32>()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.at.len()
    }

    fn ids_of(&self, i: u32) -> (&[u8], &[u8]) {
        self.at
            .get(i as usize)
            .map_or((&[][..], &[][..]), |&a| ids_at(&self.ids, a))
    }

    /// The (productId, variantId) of entry `i`.
    pub fn key_of(&self, i: u32) -> (&str, &str) {
        let (p, v) = self.ids_of(i);
        (
            std::str::from_utf8(p).unwrap_or_default(),
            std::str::from_utf8(v).unwrap_or_default(),
        )
    }

    fn shown(&self, i: u32) -> String {
        let (p, v) = self.key_of(i);
        format!("{p}/{v}")
    }

    /// The `stock` entry `i` was given in the catalog.
    pub fn stock_of(&self, i: u32) -> Option<u32> {
        self.stock.get(i as usize).copied().filter(|&s| s != UNSET)
    }

    /// Whether entry `i` belongs to `seller` (entries without a seller belong to all).
    pub fn belongs_to(&self, i: u32, seller: &str) -> bool {
        match self.owner.get(i as usize) {
            None | Some(&EVERY_SELLER) => true,
            Some(&o) => self.owners.get(o as usize).is_some_and(|s| **s == *seller),
        }
    }

    /// The index of the entry for (product, variant) that belongs to `seller` (the shared
    /// format's rule: the first in file order). One hash probe; the seller is only checked
    /// when the key has an entry of a named seller.
    pub fn find_index(&self, seller: &str, product: &str, variant: &str) -> Option<u32> {
        let (p, v) = (product.as_bytes(), variant.as_bytes());
        let h = self.hasher.hash_one((p, v));
        let slot = self.index.find(h, |s| ids_at(&self.ids, s.at) == (p, v))?;
        if slot.entry & SHARED_KEY == 0 {
            return Some(slot.entry);
        }
        let first = slot.entry & !SHARED_KEY;
        match self.shared.get(&first) {
            Some(all) => all.iter().copied().find(|&i| self.belongs_to(i, seller)),
            None => self.belongs_to(first, seller).then_some(first),
        }
    }

    /// The entry for `key` that belongs to `seller`.
    #[cfg(test)]
    pub fn find(&self, seller: &str, key: &ItemKey) -> Option<u32> {
        self.find_index(seller, &key.product_id, &key.variant_id)
    }

    /// The seller's catalog item whose `productId/variantId` is closest to the given ids, among
    /// a bounded set of candidates: the same ids in another case, other variants of the same
    /// product, and the neighbours in spelling order.
    pub fn nearest(&self, seller: &str, product: &str, variant: &str) -> Option<ItemKey> {
        let want = format!("{product}/{variant}");
        let lower = want.to_lowercase();
        let mut candidates: Vec<u32> = Vec::new();
        let f = self
            .folded
            .partition_point(|&i| self.shown(i).to_lowercase() < lower);
        candidates.extend(
            self.folded[f..]
                .iter()
                .take(SAME_PRODUCT)
                .take_while(|&&i| self.shown(i).to_lowercase() == lower),
        );
        let b = self
            .by_product
            .partition_point(|&i| self.ids_of(i).0 < product.as_bytes());
        candidates.extend(
            self.by_product[b..]
                .iter()
                .take(SAME_PRODUCT)
                .take_while(|&&i| self.ids_of(i).0 == product.as_bytes()),
        );
        let at = self.sorted.partition_point(|&i| {
            let (p, v) = self.ids_of(i);
            cmp_shown(p, v, &want).is_lt()
        });
        let lo = at.saturating_sub(NEIGHBOURS);
        let hi = (at + NEIGHBOURS).min(self.sorted.len());
        candidates.extend(&self.sorted[lo..hi]);
        candidates
            .into_iter()
            .filter(|&i| self.belongs_to(i, seller))
            .map(|i| {
                let (p, v) = self.key_of(i);
                (distance(&want, &format!("{p}/{v}")), ItemKey::new(p, v))
            })
            .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)))
            .map(|(_, k)| k)
    }
}

/// Levenshtein distance (by chars).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockwire_schema::CatalogEntry;

    #[test]
    fn nearest_item_is_the_closest_spelling() {
        let c = Catalog {
            entries: ["SKU-1/V1", "SKU-2/V1", "OTHER/V9"]
                .iter()
                .map(|s| {
                    let (p, v) = s.split_once('/').unwrap();
                    CatalogEntry {
                        product_id: p.into(),
                        variant_id: v.into(),
                        stock: None,
                        ..Default::default()
                    }
                })
                .collect(),
        };
        let ix = CatalogIndex::new(c);
        assert_eq!(
            ix.nearest("x", "SKU-3", "V1"),
            Some(ItemKey::new("SKU-1", "V1"))
        );
        assert_eq!(
            ix.nearest("x", "sku-2", "v1"),
            Some(ItemKey::new("SKU-2", "V1"))
        );
        assert!(ix.find("x", &ItemKey::new("SKU-2", "V1")).is_some());
    }

    #[test]
    fn suggestions_look_at_a_bounded_number_of_entries() {
        // 20,000 items: a typo in the middle of the catalog still finds its neighbour, and
        // the candidates examined stay within the bounds whatever the catalog size.
        let c = Catalog {
            entries: (0..20_000)
                .map(|i| CatalogEntry {
                    product_id: format!("P{i:05}"),
                    variant_id: "V1".into(),
                    stock: None,
                    ..Default::default()
                })
                .collect(),
        };
        let ix = CatalogIndex::new(c);
        assert_eq!(
            ix.nearest("x", "P12345", "V2"),
            Some(ItemKey::new("P12345", "V1"))
        );
        assert_eq!(
            ix.nearest("x", "P1234x", "V1")
                .map(|k| k.product_id[..5].to_string()),
            Some("P1234".to_string())
        );
    }

    #[test]
    fn the_catalog_index_is_compact() {
        // The bound the peer benchmark's RSS depends on: about 70 bytes per entry for ids like
        // the benchmark's (`P01234`/`P01234-V1`), against about 770 before.
        let n = 20_000;
        let ix = CatalogIndex::new(Catalog {
            entries: (0..n)
                .map(|i| CatalogEntry {
                    product_id: format!("P{i:05}"),
                    variant_id: format!("P{i:05}-V1"),
                    stock: Some(3),
                    ..Default::default()
                })
                .collect(),
        });
        let per_entry = ix.heap_bytes() / n;
        assert!(per_entry <= 100, "{per_entry} bytes per entry");
        assert_eq!(ix.len(), n);
        assert_eq!(ix.key_of(123), ("P00123", "P00123-V1"));
        assert_eq!(ix.stock_of(123), Some(3));
    }

    #[test]
    fn a_key_held_by_several_sellers_finds_each_sellers_entry() {
        let entry = |p: &str, v: &str, seller: Option<&str>| CatalogEntry {
            product_id: p.into(),
            variant_id: v.into(),
            stock: None,
            seller: seller.map(Into::into),
            ..Default::default()
        };
        let ix = CatalogIndex::new(Catalog {
            entries: vec![
                entry("A", "1", Some("s1")),
                entry("A", "1", Some("s2")),
                entry("B", "1", None),
                entry("C", "1", Some("s2")),
            ],
        });
        assert_eq!(ix.find("s1", &ItemKey::new("A", "1")), Some(0));
        assert_eq!(ix.find("s2", &ItemKey::new("A", "1")), Some(1));
        assert_eq!(ix.find("s3", &ItemKey::new("A", "1")), None);
        assert_eq!(ix.find("s3", &ItemKey::new("B", "1")), Some(2));
        assert_eq!(ix.find("s1", &ItemKey::new("C", "1")), None);
        assert_eq!(ix.find("s2", &ItemKey::new("C", "1")), Some(3));
        // Ids whose concatenations agree are still different keys.
        assert_eq!(ix.find("s1", &ItemKey::new("A1", "")), None);
        assert!(ix.belongs_to(2, "anyone") && !ix.belongs_to(0, "s2"));
    }
}
