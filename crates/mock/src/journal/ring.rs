//! The bounded journal: a ring of entries bounded by a number of entries and a budget of stored
//! body bytes (whichever is exceeded first drops the oldest entries, and `dropped` counts
//! them), listed through filters and read in pages.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

use super::entry::JournalEntry;

/// Default number of journal entries kept.
pub const DEFAULT_CAP: usize = 1000;

/// Default budget of request and response body bytes the journal keeps: 1 MiB, the newest
/// entries (a thousand ordinary requests, or the last one of 10,000 items; the oldest go first
/// and `stats.dropped` counts them). The journal's bodies are most of what an idle mock holds
/// after large requests; `Builder::journal_bytes` raises it.
pub const DEFAULT_BYTE_BUDGET: usize = 1024 * 1024;

/// Most body bytes one page of the journal carries (what one reader of
/// `GET /__admin/journal` can make the mock hold); `next` in the answer continues.
pub const PAGE_BYTES: usize = 256 * 1024;

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this seller.
    pub seller: Option<String>,
    /// Only this path.
    pub path: Option<String>,
    /// Only requests routed to the call with this id (`products`).
    pub call: Option<String>,
    /// Only this HTTP status.
    pub status: Option<u16>,
    /// Only requests where this rule fired.
    pub rule: Option<String>,
    /// Only entries with an id greater than this.
    pub since: Option<u64>,
    /// Only requests whose body mentions this productId.
    pub product_id: Option<String>,
    /// At most this many (the newest).
    pub limit: Option<usize>,
}

impl Filter {
    fn keeps(&self, e: &JournalEntry) -> bool {
        self.seller
            .as_deref()
            .is_none_or(|s| e.seller.as_deref() == Some(s))
            && self.path.as_deref().is_none_or(|p| e.path == p)
            && self.call.as_deref().is_none_or(|c| e.call == Some(c))
            && self.status.is_none_or(|s| e.status == s)
            && self.rule.as_deref().is_none_or(|r| e.fired(r))
            && self.since.is_none_or(|s| e.id > s)
            && self
                .product_id
                .as_deref()
                .is_none_or(|p| e.mentions_product(p))
    }
}

#[derive(Debug, Default)]
struct Ring {
    entries: VecDeque<JournalEntry>,
    bytes: usize,
    dropped: u64,
    next_id: u64,
}

/// The bounded journal.
#[derive(Debug)]
pub struct Journal {
    ring: Mutex<Ring>,
    cap: usize,
    byte_budget: usize,
}

/// One page of the journal.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// Entries, oldest first.
    pub entries: Vec<JournalEntry>,
    /// The `since` to ask for the next page, when entries are left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// Counts describing the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalStats {
    /// Entries held.
    pub len: usize,
    /// Entries dropped (oldest first) to stay within the bounds, since start or reset.
    pub dropped: u64,
    /// Maximum entries held.
    pub cap: usize,
    /// Body bytes held.
    pub bytes: usize,
    /// Maximum body bytes held.
    pub byte_budget: usize,
}

impl Journal {
    /// A journal keeping at most `cap` entries and about `byte_budget` body bytes.
    pub fn new(cap: usize, byte_budget: usize) -> Journal {
        Journal {
            ring: Mutex::new(Ring {
                next_id: 1,
                ..Ring::default()
            }),
            cap,
            byte_budget,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends an entry (its id is assigned here) and returns the id.
    pub fn push(&self, mut e: JournalEntry) -> u64 {
        // Entries pushed out are freed after the lock is released, so concurrent requests do
        // not wait on each other's deallocations. Usually one entry goes: no list for it.
        let mut first: Option<JournalEntry> = None;
        let mut evicted: Vec<JournalEntry> = Vec::new();
        let id = {
            let mut r = self.lock();
            e.id = r.next_id;
            r.next_id += 1;
            let id = e.id;
            if self.cap == 0 {
                r.dropped += 1;
                return id;
            }
            r.bytes += e.weight();
            r.entries.push_back(e);
            while r.entries.len() > self.cap || (r.bytes > self.byte_budget && r.entries.len() > 1)
            {
                if let Some(old) = r.entries.pop_front() {
                    r.bytes -= old.weight();
                    r.dropped += 1;
                    match first {
                        None => first = Some(old),
                        Some(_) => evicted.push(old),
                    }
                }
            }
            id
        };
        drop((first, evicted));
        id
    }

    /// The entries the filter keeps, oldest first.
    pub fn list(&self, f: &Filter) -> Vec<JournalEntry> {
        let r = self.lock();
        let mut out: Vec<JournalEntry> = r.entries.iter().filter(|e| f.keeps(e)).cloned().collect();
        if let Some(l) = f.limit
            && out.len() > l
        {
            out.drain(..out.len() - l);
        }
        out
    }

    /// One page of the entries the filter keeps, oldest first, within `budget` body bytes: an
    /// entry too large for a page on its own is shown with its bodies cut (`clipped`). `next`
    /// is the `since` that continues, when entries are left.
    pub fn page(&self, f: &Filter, budget: usize) -> Page {
        let r = self.lock();
        let mut kept: Vec<&JournalEntry> = r.entries.iter().filter(|e| f.keeps(e)).collect();
        if let Some(l) = f.limit
            && kept.len() > l
        {
            kept.drain(..kept.len() - l);
        }
        let mut used = 0usize;
        let mut entries = Vec::new();
        let mut next = None;
        for e in kept {
            let w = e.weight();
            if !entries.is_empty() && used + w > budget {
                next = entries.last().map(|x: &JournalEntry| x.id);
                break;
            }
            used += w;
            let mut copy = e.clone();
            if w > budget {
                let half = budget / 2;
                copy.body = copy.body.slice(..copy.body.len().min(half));
                copy.response_body = copy
                    .response_body
                    .slice(..copy.response_body.len().min(half));
                copy.clipped = true;
            }
            entries.push(copy);
        }
        Page { entries, next }
    }

    /// Counts.
    pub fn stats(&self) -> JournalStats {
        let r = self.lock();
        JournalStats {
            len: r.entries.len(),
            dropped: r.dropped,
            cap: self.cap,
            bytes: r.bytes,
            byte_budget: self.byte_budget,
        }
    }

    /// Empties the journal (ids keep counting).
    pub fn clear(&self) {
        let mut r = self.lock();
        r.entries.clear();
        r.bytes = 0;
        r.dropped = 0;
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::journal::Headers;

    fn entry(body: &str) -> JournalEntry {
        JournalEntry {
            id: 0,
            at_ms: 0,
            elapsed_ms: 0,
            method: "POST".into(),
            path: "/updateInventory".into(),
            call: Some("updateInventory"),
            query: None,
            seller: Some("demo".into()),
            request_number: Some(1),
            headers: Headers::default(),
            body: Bytes::from(body.to_string()),
            status: 200,
            response_body: Bytes::new(),
            effects: vec![],
            applied: 1,
            failed_items: vec![],
            notes: vec![],
            duration_us: 0,
            clipped: false,
        }
    }

    #[test]
    fn a_page_holds_at_most_its_budget_and_pages_cover_everything() {
        let j = Journal::new(100, usize::MAX);
        for _ in 0..10 {
            j.push(entry(&"x".repeat(100_000)));
        }
        j.push(entry(&"y".repeat(1_000_000)));
        let mut since = None;
        let mut seen = Vec::new();
        for _ in 0..20 {
            let p = j.page(
                &Filter {
                    since,
                    ..Filter::default()
                },
                256 * 1024,
            );
            let held: usize = p
                .entries
                .iter()
                .map(|e| e.body.len() + e.response_body.len())
                .sum();
            assert!(held <= 256 * 1024, "{held} bytes in one page");
            seen.extend(p.entries.iter().map(|e| (e.id, e.clipped)));
            match p.next {
                Some(n) => since = Some(n),
                None => break,
            }
        }
        assert_eq!(seen.len(), 11);
        assert_eq!(seen.last(), Some(&(11, true)), "the 1 MB entry is clipped");
        assert!(seen[..10].iter().all(|(_, c)| !c));
    }

    #[test]
    fn oldest_go_first_and_are_counted() {
        let j = Journal::new(3, usize::MAX);
        for i in 0..5 {
            j.push(entry(&i.to_string()));
        }
        let ids: Vec<u64> = j.list(&Filter::default()).iter().map(|e| e.id).collect();
        assert_eq!(ids, [3, 4, 5]);
        assert_eq!(j.stats().dropped, 2);
        let j = Journal::new(100, 1000);
        for _ in 0..10 {
            j.push(entry(&"x".repeat(400)));
        }
        assert!(j.stats().len <= 2 && j.stats().dropped >= 8);
    }
}
