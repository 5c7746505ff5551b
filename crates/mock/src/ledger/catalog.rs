//! The catalog, compacted and indexed: one hash probe finds an item's entry for a seller, and
//! a suggestion for an unknown item looks at a bounded number of entries, whatever the
//! catalog's size.

use std::hash::BuildHasher;

use stockwire_schema::catalog::{default_sku_exceptions, for_each_entry};
use stockwire_schema::exchange::needs_no_escape;
use stockwire_schema::{Catalog, CatalogEntry, ItemKey};

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
    /// Entries by SKU code (hash of the code; several sellers may give one code).
    skus: hashbrown::HashTable<u32>,
    /// Default SKU codes that are not the variant id (rare: a variantId two entries share).
    default_sku: HashMap<u32, Box<str>>,
    /// The listing of every seller, then (when entries name sellers) one per seller.
    listings: Vec<SellerListing>,
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

/// `product/variant` of two ids, lower-cased, compared with `want` (lower-cased already)
/// without writing either: ASCII byte by byte, anything else char by char.
fn cmp_folded(p: &[u8], v: &[u8], want: &[u8]) -> std::cmp::Ordering {
    let shown = p.iter().chain(b"/").chain(v).copied();
    if p.is_ascii() && v.is_ascii() && want.is_ascii() {
        return shown
            .map(|b| b.to_ascii_lowercase())
            .cmp(want.iter().copied());
    }
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let (p, v, w) = (text(p), text(v), text(want));
    p.chars()
        .chain(std::iter::once('/'))
        .chain(v.chars())
        .flat_map(char::to_lowercase)
        .cmp(w.chars())
}

/// Two entries' `product/variant`, lower-cased, compared without writing either.
fn cmp_folded_ids(a: (&[u8], &[u8]), b: (&[u8], &[u8])) -> std::cmp::Ordering {
    let ascii = |(p, v): (&[u8], &[u8])| p.is_ascii() && v.is_ascii();
    if ascii(a) && ascii(b) {
        fn lower<'a>((p, v): (&'a [u8], &'a [u8])) -> impl Iterator<Item = u8> + 'a {
            p.iter()
                .chain(b"/")
                .chain(v)
                .map(|b| b.to_ascii_lowercase())
        }
        return lower(a).cmp(lower(b));
    }
    let folded = |(p, v): (&[u8], &[u8])| {
        format!(
            "{}/{}",
            String::from_utf8_lossy(p),
            String::from_utf8_lossy(v)
        )
        .to_lowercase()
    };
    folded(a).cmp(&folded(b))
}

/// In an entry's flags byte (after its ids in the arena): which listing members follow.
const HAS_SKU: u8 = 1;
const HAS_TITLE: u8 = 2;
const HAS_BRAND: u8 = 4;
const HAS_PRICE: u8 = 8;
const HAS_MRP: u8 = 16;
const HAS_BLOCKED: u8 = 32;
const UNPUBLISHED: u8 = 64;
/// Some text of the entry (an id, its SKU code, title or brand) has a character JSON escapes:
/// its listing is written the slow way, checked text by text. Set when the entry is read, so
/// that a page of ordinary entries copies their bytes as they are.
const ESCAPES: u8 = 128;

/// How a catalog entry is listed (`GET /products`), read from the arena; absent members take
/// their defaults where the listing is built.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Listed<'a> {
    /// The SKU code the file gives, if any (see [`CatalogIndex::sku_of`] for the default).
    pub sku: Option<&'a str>,
    /// The variant's title.
    pub title: Option<&'a str>,
    /// The product's brand.
    pub brand: Option<&'a str>,
    /// The listing price.
    pub listing_price: Option<f64>,
    /// The maximum retail price.
    pub mrp: Option<f64>,
    /// Units held back.
    pub blocked: Option<u32>,
    /// Whether the entry is published.
    pub published: bool,
}

/// A listed entry whose texts need no JSON escape, as bytes ([`CatalogIndex::plain_listed`]):
/// what a page copies as it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlainListed<'a> {
    /// The productId.
    pub product: &'a [u8],
    /// The variantId.
    pub variant: &'a [u8],
    /// The SKU code (the file's, else the default).
    pub sku: &'a [u8],
    /// The file's title (the default is the ids).
    pub title: Option<&'a [u8]>,
    /// The product's brand.
    pub brand: Option<&'a [u8]>,
    /// The listing price.
    pub listing_price: Option<f64>,
    /// The maximum retail price.
    pub mrp: Option<f64>,
    /// Units held back.
    pub blocked: Option<u32>,
}

/// The listing of one seller (or of every seller, when no entry names one): its products in
/// the order of their first published entry, and how many published variants it has.
#[derive(Debug, Default)]
struct SellerListing {
    /// The seller (`None`: the listing every seller shares).
    seller: Option<Box<str>>,
    /// Per product, in the order of its first published entry the seller sees: where its
    /// entries start in `entries` (a page is a slice of it: no search, no filter).
    runs: Vec<u32>,
    /// The published entries the seller sees, grouped by product in listing order, each
    /// product's in file order (4 bytes an entry).
    entries: Vec<u32>,
}

fn push_text(out: &mut Vec<u8>, s: &str) {
    push_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn read_array<const N: usize>(b: &[u8], at: &mut usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(s) = b.get(*at..*at + N) {
        out.copy_from_slice(s);
    }
    *at += N;
    out
}

/// Builds a [`CatalogIndex`] one entry at a time (from a file read entry by entry, so that no
/// whole `Catalog` is ever held).
#[derive(Debug)]
pub(crate) struct IndexBuilder {
    ids: Vec<u8>,
    at: Vec<usize>,
    stock: Vec<u32>,
    owner: Vec<u32>,
    owners: Vec<Box<str>>,
    index: hashbrown::HashTable<Slot>,
    shared: HashMap<u32, Vec<u32>>,
    hasher: foldhash::fast::RandomState,
    /// Entries by SKU code (the file's `sku`s while reading; the defaults are added at the end).
    skus: hashbrown::HashTable<u32>,
}

impl IndexBuilder {
    /// An empty builder with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        IndexBuilder {
            ids: Vec::with_capacity(n * 16),
            at: Vec::with_capacity(n),
            stock: Vec::with_capacity(n),
            owner: Vec::new(),
            owners: Vec::new(),
            index: hashbrown::HashTable::with_capacity(n),
            shared: HashMap::default(),
            hasher: foldhash::fast::RandomState::default(),
            skus: hashbrown::HashTable::with_capacity(n),
        }
    }

    fn owner_of(&self, i: u32) -> u32 {
        self.owner.get(i as usize).copied().unwrap_or(EVERY_SELLER)
    }

    fn explicit_sku(&self, i: u32) -> Option<&str> {
        let at = *self.at.get(i as usize)?;
        listed_at(&self.ids, at).sku
    }

    /// Adds an entry. With `check`, an entry that repeats an item of the same seller, or
    /// gives a SKU code another item the same seller sees has, is refused with the catalog
    /// format's message (the one `Catalog::read` gives) and nothing is added.
    pub fn push(&mut self, e: CatalogEntry, check: bool) -> Result<(), String> {
        let i = self.at.len() as u32;
        let o = match &e.seller {
            None => EVERY_SELLER,
            Some(s) => match self.owners.iter().position(|x| **x == **s) {
                Some(o) => o as u32,
                None => {
                    self.owners.push(s.as_str().into());
                    (self.owners.len() - 1) as u32
                }
            },
        };
        let (p, v) = (e.product_id.as_bytes(), e.variant_id.as_bytes());
        let h = self.hasher.hash_one((p, v));
        let arena = &self.ids;
        let existing = self
            .index
            .find(h, |s| ids_at(arena, s.at) == (p, v))
            .map(|s| s.entry & !SHARED_KEY);
        if check {
            if let Some(first) = existing {
                let same = match self.shared.get(&first) {
                    Some(all) => all.iter().any(|&j| self.owner_of(j) == o),
                    None => self.owner_of(first) == o,
                };
                if same {
                    return Err(format!("{} is listed twice for the same seller", e.key()));
                }
            }
            if let Some(sku) = e.sku.as_deref() {
                let hs = self.hasher.hash_one(sku.as_bytes());
                let clash = self.skus.iter_hash(hs).any(|&j| {
                    let oj = self.owner_of(j);
                    self.explicit_sku(j) == Some(sku)
                        && (oj == EVERY_SELLER || o == EVERY_SELLER || oj == o)
                });
                if clash {
                    return Err(format!(
                        "sku `{sku}` is given to two items {}(a SKU code names one item of a seller)",
                        e.seller
                            .as_ref()
                            .map_or("of every seller ".to_string(), |s| format!(
                                "of seller `{s}` "
                            ))
                    ));
                }
            }
        }
        let start = self.ids.len();
        push_len(&mut self.ids, p.len());
        push_len(&mut self.ids, v.len());
        self.ids.extend_from_slice(p);
        self.ids.extend_from_slice(v);
        let flags = [
            (e.sku.is_some(), HAS_SKU),
            (e.title.is_some(), HAS_TITLE),
            (e.brand.is_some(), HAS_BRAND),
            (e.listing_price.is_some(), HAS_PRICE),
            (e.mrp.is_some(), HAS_MRP),
            (e.blocked.is_some(), HAS_BLOCKED),
            (!e.is_published(), UNPUBLISHED),
            (
                ![&e.product_id, &e.variant_id]
                    .into_iter()
                    .chain([&e.sku, &e.title, &e.brand].into_iter().flatten())
                    .all(|t| needs_no_escape(t)),
                ESCAPES,
            ),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .fold(0u8, |acc, (_, bit)| acc | bit);
        self.ids.push(flags);
        for t in [&e.sku, &e.title, &e.brand].into_iter().flatten() {
            push_text(&mut self.ids, t);
        }
        for x in [e.listing_price, e.mrp].into_iter().flatten() {
            self.ids.extend_from_slice(&x.to_le_bytes());
        }
        if let Some(b) = e.blocked {
            self.ids.extend_from_slice(&b.to_le_bytes());
        }
        self.at.push(start);
        self.stock.push(e.stock.unwrap_or(UNSET));
        if o != EVERY_SELLER {
            if self.owner.is_empty() {
                self.owner.resize(i as usize, EVERY_SELLER);
            }
            self.owner.push(o);
        } else if !self.owner.is_empty() {
            self.owner.push(EVERY_SELLER);
        }
        if let Some(sku) = e.sku.as_deref() {
            let hs = self.hasher.hash_one(sku.as_bytes());
            let (ids, at, hasher) = (&self.ids, &self.at, &self.hasher);
            self.skus.insert_unique(hs, i, |&j| {
                let a = at.get(j as usize).copied().unwrap_or(0);
                hasher.hash_one(listed_at(ids, a).sku.unwrap_or_default().as_bytes())
            });
        }
        let named = if o != EVERY_SELLER { SHARED_KEY } else { 0 };
        match existing {
            Some(first) => {
                let arena = &self.ids;
                if let Some(slot) = self.index.find_mut(h, |s| ids_at(arena, s.at) == (p, v)) {
                    slot.entry |= SHARED_KEY;
                }
                self.shared
                    .entry(first)
                    .or_insert_with(|| vec![first])
                    .push(i);
            }
            None => {
                let (arena, hasher) = (&self.ids, &self.hasher);
                self.index.insert_unique(
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
        Ok(())
    }

    /// The index: suggestion orders, default SKU codes and their lookup.
    pub fn finish(self) -> CatalogIndex {
        let n = self.at.len();
        let IndexBuilder {
            mut ids,
            at,
            stock,
            owner,
            owners,
            index,
            shared,
            hasher,
            skus,
        } = self;
        ids.shrink_to_fit();
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
            skus,
            default_sku: HashMap::default(),
            listings: Vec::new(),
        };
        // Default SKU codes: the shared rule, over every entry of the file.
        let defaults: Vec<(u32, Box<str>)> = default_sku_exceptions(n, |i| {
            let (p, v) = me.key_of(i as u32);
            (p, v, me.listed(i as u32).sku)
        })
        .into_iter()
        .map(|(i, c)| (i as u32, c.into_boxed_str()))
        .collect();
        me.default_sku = defaults.into_iter().collect();
        // Room for every entry first: growing the table as codes are added re-hashed every
        // code already in it (each a decode of the arena), which was a fifth of the start-up
        // with a 1,000,000-item catalog read from a file.
        let mut skus = std::mem::take(&mut me.skus);
        skus.reserve(n.saturating_sub(skus.len()), |&j| {
            me.hasher.hash_one(me.sku_of(j).as_bytes())
        });
        for i in 0..n as u32 {
            if me.listed(i).sku.is_none() {
                let hs = me.hasher.hash_one(me.sku_of(i).as_bytes());
                skus.insert_unique(hs, i, |&j| me.hasher.hash_one(me.sku_of(j).as_bytes()));
            }
        }
        me.skus = skus;
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
        // Compared in place, never copied: a lower-cased copy of every key was a transient
        // 1,000,000 strings (and their allocations) at start-up. Stable, so ties keep file
        // order; a file in spelling order is one run and sorts in linear time.
        let mut folded = all;
        folded.sort_by(|&a, &b| cmp_folded_ids(me.ids_of(a), me.ids_of(b)));
        me.folded = folded;
        me.sorted = sorted;
        me.by_product = by_product;
        me.listings = vec![me.listing_for(None)];
        me
    }
}

/// An entry of the arena, decoded once: its ids, its flags and its listing members as bytes.
struct RawEntry<'a> {
    product: &'a [u8],
    variant: &'a [u8],
    flags: u8,
    sku: Option<&'a [u8]>,
    title: Option<&'a [u8]>,
    brand: Option<&'a [u8]>,
    listing_price: Option<f64>,
    mrp: Option<f64>,
    blocked: Option<u32>,
}

/// The entry starting at `at` in the arena.
fn entry_at(ids: &[u8], mut at: usize) -> RawEntry<'_> {
    let p = read_len(ids, &mut at);
    let v = read_len(ids, &mut at);
    let product = ids.get(at..at + p).unwrap_or_default();
    let variant = ids.get(at + p..at + p + v).unwrap_or_default();
    at += p + v;
    let flags = ids.get(at).copied().unwrap_or(0);
    at += 1;
    let mut text = |bit: u8| {
        (flags & bit != 0).then(|| {
            let n = read_len(ids, &mut at);
            let t = ids.get(at..at + n).unwrap_or_default();
            at += n;
            t
        })
    };
    let sku = text(HAS_SKU);
    let title = text(HAS_TITLE);
    let brand = text(HAS_BRAND);
    let mut price =
        |bit: u8| (flags & bit != 0).then(|| f64::from_le_bytes(read_array::<8>(ids, &mut at)));
    let listing_price = price(HAS_PRICE);
    let mrp = price(HAS_MRP);
    let blocked =
        (flags & HAS_BLOCKED != 0).then(|| u32::from_le_bytes(read_array::<4>(ids, &mut at)));
    RawEntry {
        product,
        variant,
        flags,
        sku,
        title,
        brand,
        listing_price,
        mrp,
        blocked,
    }
}

/// The listing members of the entry starting at `at` in the arena.
fn listed_at(ids: &[u8], at: usize) -> Listed<'_> {
    fn text(t: Option<&[u8]>) -> Option<&str> {
        t.map(|t| std::str::from_utf8(t).unwrap_or_default())
    }
    let e = entry_at(ids, at);
    Listed {
        sku: text(e.sku),
        title: text(e.title),
        brand: text(e.brand),
        listing_price: e.listing_price,
        mrp: e.mrp,
        blocked: e.blocked,
        published: e.flags & UNPUBLISHED == 0,
    }
}

impl CatalogIndex {
    /// Indexes a catalog held in memory (entries that repeat an item are kept, the first
    /// found wins, as before; [`CatalogIndex::read`] refuses them).
    pub fn new(catalog: Catalog) -> Self {
        let mut b = IndexBuilder::with_capacity(catalog.entries.len());
        for e in catalog.entries {
            let _ = b.push(e, false);
        }
        b.finish()
    }

    /// Indexes a catalog file entry by entry (JSON or CSV, the shared format), refusing an
    /// item or a SKU code given twice with the format's message, without holding a `Catalog`.
    pub fn read(path: &std::path::Path) -> Result<Self, stockwire_schema::CatalogError> {
        let mut b = IndexBuilder::with_capacity(0);
        for_each_entry(path, |e, _| b.push(e, true))?;
        Ok(b.finish())
    }

    /// Prepares the listing of each of these sellers (a seller's listing holds the entries of
    /// every seller and its own). Without entries that name a seller, all share one listing.
    pub fn prepare_listings(&mut self, sellers: &[&str]) {
        let mut listings = vec![self.listing_for(None)];
        if !self.owner.is_empty() {
            for s in sellers {
                listings.push(self.listing_for(Some(s)));
            }
        }
        self.listings = listings;
    }

    fn listing_for(&self, seller: Option<&str>) -> SellerListing {
        let n = self.len();
        // Each entry's product, numbered by the by-product order (entries of one product are
        // adjacent there).
        let mut product_of = vec![0u32; n];
        // Each product's first position in `by_product`, by product number.
        let mut run_at: Vec<u32> = Vec::new();
        let mut ordinal = 0u32;
        let mut prev: Option<&[u8]> = None;
        for (pos, &i) in self.by_product.iter().enumerate() {
            let p = self.ids_of(i).0;
            if prev.is_some_and(|q| q != p) {
                ordinal += 1;
            }
            if prev.is_none_or(|q| q != p) {
                run_at.push(pos as u32);
            }
            prev = Some(p);
            product_of[i as usize] = ordinal;
        }
        let mut seen = vec![false; if n == 0 { 0 } else { ordinal as usize + 1 }];
        let mut out = SellerListing {
            seller: seller.map(Into::into),
            ..SellerListing::default()
        };
        for i in 0..n as u32 {
            let visible = match seller {
                Some(s) => self.belongs_to(i, s),
                None => self.owner_of(i) == EVERY_SELLER,
            };
            if !visible || !self.listed(i).published {
                continue;
            }
            let k = product_of[i as usize] as usize;
            if !seen[k] {
                seen[k] = true;
                out.runs.push(run_at.get(k).copied().unwrap_or(0));
            }
        }
        // Each product's entries, read once here from where they start in `by_product`; a
        // page copies them from `entries` instead.
        for r in &mut out.runs {
            let b = *r as usize;
            *r = out.entries.len() as u32;
            let run = self.by_product.get(b..).unwrap_or_default();
            let p = run.first().map(|&i| self.ids_of(i).0);
            out.entries.extend(
                run.iter()
                    .copied()
                    .take_while(|&i| Some(self.ids_of(i).0) == p)
                    .filter(|&i| {
                        let visible = match seller {
                            Some(s) => self.belongs_to(i, s),
                            None => self.owner_of(i) == EVERY_SELLER,
                        };
                        visible && self.listed(i).published
                    }),
            );
        }
        out.runs.shrink_to_fit();
        out.entries.shrink_to_fit();
        out
    }

    fn seller_listing(&self, seller: &str) -> Option<&SellerListing> {
        self.listings
            .iter()
            .find(|l| l.seller.as_deref() == Some(seller))
            .or_else(|| self.listings.first())
    }

    /// How many published variants `seller` lists.
    pub fn published_count(&self, seller: &str) -> u64 {
        self.seller_listing(seller)
            .map_or(0, |l| l.entries.len() as u64)
    }

    /// How many products `seller`'s listing holds.
    pub fn listed_product_count(&self, seller: &str) -> usize {
        self.seller_listing(seller).map_or(0, |l| l.runs.len())
    }

    /// The products of `seller`'s listing (each by its first published entry), in order.
    #[cfg(test)]
    pub fn listed_products(&self, seller: &str) -> Vec<u32> {
        (0..self.listed_product_count(seller))
            .filter_map(|k| self.listed_variants_of(seller, k).first().copied())
            .collect()
    }

    /// The published entries of the product of entry `first` that `seller` sees, in file
    /// order.
    #[cfg(test)]
    pub fn listed_variants<'s>(
        &'s self,
        seller: &'s str,
        first: u32,
    ) -> impl Iterator<Item = u32> + 's {
        let p = self.ids_of(first).0;
        let b = self.by_product.partition_point(|&i| self.ids_of(i).0 < p);
        self.variants_from(seller, b)
    }

    /// The published entries `seller` sees of the `k`th product of its listing (products in
    /// the order of their first published entry), in file order: a slice of the listing,
    /// without a search or a filter.
    pub fn listed_variants_of(&self, seller: &str, k: usize) -> &[u32] {
        let Some(l) = self.seller_listing(seller) else {
            return &[];
        };
        let start = l.runs.get(k).map_or(l.entries.len(), |&r| r as usize);
        let end = l.runs.get(k + 1).map_or(l.entries.len(), |&r| r as usize);
        l.entries.get(start..end).unwrap_or_default()
    }

    /// The published entries `seller` sees of the product whose entries start at `b` in
    /// `by_product`.
    #[cfg(test)]
    fn variants_from<'s>(&'s self, seller: &'s str, b: usize) -> impl Iterator<Item = u32> + 's {
        let run = self.by_product.get(b..).unwrap_or_default();
        let p = run.first().map(|&i| self.ids_of(i).0);
        run.iter()
            .copied()
            .take_while(move |&i| Some(self.ids_of(i).0) == p)
            .filter(move |&i| self.belongs_to(i, seller) && self.listed(i).published)
    }

    /// The published entry `seller` sees whose SKU code is `sku`, if any.
    pub fn find_sku(&self, seller: &str, sku: &str) -> Option<u32> {
        let h = self.hasher.hash_one(sku.as_bytes());
        self.skus
            .iter_hash(h)
            .copied()
            .filter(|&j| self.sku_of(j) == sku && self.belongs_to(j, seller))
            .min()
            .filter(|&j| self.listed(j).published)
    }

    /// Entry `i` as a page lists it, when none of its texts needs a JSON escape (checked when
    /// the entry was read): its ids, SKU code (the default's exceptions included), title,
    /// brand, prices and blocked units, as bytes, in one read of the arena.
    pub fn plain_listed(&self, i: u32) -> Option<PlainListed<'_>> {
        let e = entry_at(&self.ids, *self.at.get(i as usize)?);
        if e.flags & ESCAPES != 0 {
            return None;
        }
        let sku = match e.sku {
            Some(s) => s,
            None if self.default_sku.is_empty() => e.variant,
            None => match self.default_sku.get(&i) {
                Some(s) if needs_no_escape(s) => s.as_bytes(),
                Some(_) => return None,
                None => e.variant,
            },
        };
        Some(PlainListed {
            product: e.product,
            variant: e.variant,
            sku,
            title: e.title,
            brand: e.brand,
            listing_price: e.listing_price,
            mrp: e.mrp,
            blocked: e.blocked,
        })
    }

    /// The listing members of entry `i`.
    pub fn listed(&self, i: u32) -> Listed<'_> {
        self.at
            .get(i as usize)
            .map_or_else(Listed::default, |&a| listed_at(&self.ids, a))
    }

    /// Entry `i`'s SKU code: the file's `sku`, else the default of the shared rule
    /// (`stockwire_schema::catalog::default_skus`, whose exceptions are held here).
    pub fn sku_of(&self, i: u32) -> &str {
        self.sku_with(i, &self.listed(i))
    }

    /// Entry `i`'s SKU code when its listing members `l` are read already (a page reads each
    /// entry's members once).
    pub(crate) fn sku_with<'s>(&'s self, i: u32, l: &Listed<'s>) -> &'s str {
        if let Some(s) = l.sku {
            return s;
        }
        match self.default_sku.get(&i) {
            Some(s) => s,
            None => self.key_of(i).1,
        }
    }

    fn owner_of(&self, i: u32) -> u32 {
        self.owner.get(i as usize).copied().unwrap_or(EVERY_SELLER)
    }

    /// Bytes the index holds on the heap (capacities, not lengths).
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.skus.capacity() * (size_of::<u32>() + 1)
            + self
                .listings
                .iter()
                .map(|l| (l.runs.capacity() + l.entries.capacity()) * size_of::<u32>())
                .sum::<usize>()
            + self.ids.capacity()
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
        let folded = |i: u32| {
            let (p, v) = self.ids_of(i);
            cmp_folded(p, v, lower.as_bytes())
        };
        let f = self.folded.partition_point(|&i| folded(i).is_lt());
        candidates.extend(
            self.folded[f..]
                .iter()
                .take(SAME_PRODUCT)
                .take_while(|&&i| folded(i).is_eq()),
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

    #[test]
    fn listing_members_round_trip_and_each_seller_sees_its_products_in_order() {
        let e = |p: &str, v: &str| CatalogEntry::new(p, v);
        let ix = {
            let mut ix = CatalogIndex::new(Catalog {
                entries: vec![
                    CatalogEntry {
                        sku: Some("S-1".into()),
                        title: Some("Shirt".into()),
                        brand: Some("B".into()),
                        listing_price: Some(9.5),
                        mrp: Some(12.0),
                        blocked: Some(2),
                        stock: Some(4),
                        ..e("SHIRT", "V1")
                    },
                    e("MUG", "V1"),
                    CatalogEntry {
                        seller: Some("acme".into()),
                        ..e("SHIRT", "V2")
                    },
                    CatalogEntry {
                        published: Some(false),
                        ..e("DRAFT", "D1")
                    },
                ],
            });
            ix.prepare_listings(&["acme", "globex"]);
            ix
        };
        let l = ix.listed(0);
        assert_eq!(
            (l.sku, l.title, l.brand, l.listing_price, l.mrp, l.blocked),
            (
                Some("S-1"),
                Some("Shirt"),
                Some("B"),
                Some(9.5),
                Some(12.0),
                Some(2)
            )
        );
        assert!(l.published && !ix.listed(3).published);
        assert_eq!(ix.stock_of(0), Some(4));
        // Default SKU codes follow the shared rule: V1 is two entries' variantId.
        assert_eq!(ix.sku_of(1), "MUG-V1");
        assert_eq!(ix.sku_of(2), "V2");
        assert_eq!(ix.find_sku("globex", "MUG-V1"), Some(1));
        assert_eq!(ix.find_sku("globex", "V2"), None);
        assert_eq!(ix.find_sku("acme", "V2"), Some(2));
        assert_eq!(ix.find_sku("acme", "D1"), None, "unpublished");
        assert_eq!(
            (ix.published_count("acme"), ix.published_count("globex")),
            (3, 2)
        );
        assert_eq!(ix.listed_products("acme"), [0, 1]);
        let shirt: Vec<u32> = ix.listed_variants("acme", 0).collect();
        assert_eq!(ix.listed_variants_of("acme", 0), shirt);
        assert_eq!(shirt, [0, 2]);
        let shirt: Vec<u32> = ix.listed_variants("globex", 0).collect();
        assert_eq!(shirt, [0]);
    }

    #[test]
    fn a_file_read_entry_by_entry_refuses_an_item_given_twice_for_one_seller() {
        let dir = std::env::temp_dir().join(format!("swk-cat-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ok = dir.join("ok.csv");
        std::fs::write(&ok, "productId,variantId,seller\nP,V,\nP,V,acme\n").unwrap();
        let ix = CatalogIndex::read(&ok).unwrap();
        assert_eq!(ix.len(), 2);
        let twice = dir.join("twice.csv");
        std::fs::write(
            &twice,
            "productId,variantId,seller\nP,V,acme\nQ,V,\nP,V,acme\n",
        )
        .unwrap();
        let e = CatalogIndex::read(&twice).unwrap_err().to_string();
        assert!(
            e.ends_with("line 4: P/V is listed twice for the same seller"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
