//! The token store: each seller's credentials and stable token, the tokens `/authToken`
//! issued under a lifetime, revocations, and how often each seller authenticated.
//!
//! Without a lifetime, a seller's token is derived from its credentials and never changes, so
//! a pasted apiKey keeps working (the fast path: one hash-map lookup, no lock). With a
//! lifetime, `/authToken` issues a fresh token on each call; every token lives until its own
//! expiry (an overlap, as real platforms allow), counted in time or in requests. A revocation
//! (`POST /__admin/tokens/revoke`) ends every token of a seller at once.
//!
//! How long tokens live is the scenario's `[[tokens]]` section, passed in as compiled rules;
//! a refused token is answered by the call that checked it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::scenario::tokens::{Life, TokenRule, life_for};

/// A seller's login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// Seller name (what catalog entries' `seller` and scenario `seller` match).
    pub seller: String,
    /// Username for `/authToken`.
    pub username: String,
    /// Password for `/authToken`.
    pub password: String,
}

impl Credentials {
    /// Credentials from their three parts.
    pub fn new(
        seller: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Credentials {
            seller: seller.into(),
            username: username.into(),
            password: password.into(),
        }
    }

    /// The token `/authToken` issues for these credentials: stable across restarts, so a
    /// printed curl example keeps working.
    pub fn token(&self) -> String {
        // FNV-1a: a mock's token only has to be unique per seller and stable.
        let mut h: u64 = 0xcbf29ce484222325;
        for b in self
            .seller
            .bytes()
            .chain([0])
            .chain(self.username.bytes())
            .chain([0])
            .chain(self.password.bytes())
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
        let name: String = self
            .seller
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        format!("swk-{name}-{h:016x}")
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenRefusal {
    /// It matches no seller's token.
    Unknown,
    /// It outlived its lifetime (the seller it belonged to, and why).
    Expired(usize, String),
    /// It was revoked (the seller it belonged to, and why).
    Revoked(usize, String),
}

impl TokenRefusal {
    /// The seller a refused token belonged to, when it was known.
    pub fn seller(&self) -> Option<usize> {
        match self {
            TokenRefusal::Unknown => None,
            TokenRefusal::Expired(i, _) | TokenRefusal::Revoked(i, _) => Some(*i),
        }
    }
}

#[derive(Debug, Clone)]
struct Issued {
    seller: usize,
    at: Duration,
    life: Option<Life>,
    uses: u64,
    revoked: bool,
}

#[derive(Debug, Default)]
struct TokenState {
    issued: HashMap<String, Issued>,
    /// Each seller's fresh tokens, oldest first: the oldest goes when the seller holds more
    /// than the cap, and expired ones are dropped from the front as new ones are issued.
    by_seller: HashMap<usize, VecDeque<String>>,
    revoked_stable: HashSet<usize>,
    epoch: Duration,
}

impl Issued {
    /// Whether the token is past its lifetime at `now`.
    fn expired(&self, now: Duration) -> bool {
        self.life.is_some_and(|l| {
            l.duration.is_some_and(|d| now >= self.at + d)
                || l.requests.is_some_and(|r| self.uses >= r)
        })
    }
}

/// Every token the mock knows, and how often each seller authenticated.
#[derive(Debug)]
pub(crate) struct Tokens {
    stable: HashMap<String, usize>,
    /// Set once a fresh token was issued or a token revoked: from then on every check takes
    /// the lock. Never set in a run without lifetimes or revocations.
    slow: AtomicBool,
    state: Mutex<TokenState>,
    auths: Vec<AtomicU64>,
    next: AtomicU64,
    /// Live tokens one seller may hold at once.
    per_seller: usize,
}

impl Tokens {
    /// The stable tokens of these sellers; `now` is when stable tokens count as issued; a
    /// seller holds at most `per_seller` issued tokens at once (the oldest goes first).
    pub fn new(sellers: &[Credentials], now: Duration, per_seller: usize) -> Tokens {
        Tokens {
            per_seller: per_seller.max(1),
            stable: sellers
                .iter()
                .enumerate()
                .map(|(i, s)| (s.token(), i))
                .collect(),
            slow: AtomicBool::new(false),
            state: Mutex::new(TokenState {
                epoch: now,
                ..TokenState::default()
            }),
            auths: sellers.iter().map(|_| AtomicU64::new(0)).collect(),
            next: AtomicU64::new(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TokenState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The seller (index) a token belongs to, counting one use of it when `counted` (a token
    /// good for a number of requests counts the inventory push's).
    pub fn check(
        &self,
        token: &str,
        now: Duration,
        rules: &[TokenRule],
        sellers: &[Credentials],
        counted: bool,
    ) -> Result<usize, TokenRefusal> {
        if rules.is_empty() && !self.slow.load(Ordering::Relaxed) {
            return self.stable.get(token).copied().ok_or(TokenRefusal::Unknown);
        }
        let mut st = self.lock();
        if !st.issued.contains_key(token) {
            let Some(&idx) = self.stable.get(token) else {
                return Err(TokenRefusal::Unknown);
            };
            let name = sellers.get(idx).map_or("", |s| s.seller.as_str());
            if st.revoked_stable.contains(&idx) {
                return Err(TokenRefusal::Revoked(idx, revoked_message(name)));
            }
            let Some(life) = life_for(rules, name) else {
                return Ok(idx);
            };
            // A stable token under a lifetime counts as issued at start (or reset).
            let at = st.epoch;
            st.issued.insert(
                token.to_string(),
                Issued {
                    seller: idx,
                    at,
                    life: Some(life),
                    uses: 0,
                    revoked: false,
                },
            );
        }
        let Some(t) = st.issued.get_mut(token) else {
            return Err(TokenRefusal::Unknown);
        };
        let name = sellers.get(t.seller).map_or("", |s| s.seller.as_str());
        if t.revoked {
            return Err(TokenRefusal::Revoked(t.seller, revoked_message(name)));
        }
        if let Some(life) = t.life {
            if let Some(d) = life.duration
                && now >= t.at + d
            {
                return Err(TokenRefusal::Expired(
                    t.seller,
                    format!(
                        "apiKey expired: it was issued {} ago and tokens of seller `{name}` live {}; get a new one from /authToken",
                        humantime::format_duration(secs(now.saturating_sub(t.at))),
                        life.describe()
                    ),
                ));
            }
            if let Some(n) = life.requests
                && t.uses >= n
            {
                return Err(TokenRefusal::Expired(
                    t.seller,
                    format!(
                        "apiKey expired: it was good for {n} request{} (tokens of seller `{name}` live {}); get a new one from /authToken",
                        if n == 1 { "" } else { "s" },
                        life.describe()
                    ),
                ));
            }
        }
        if counted {
            t.uses += 1;
        }
        Ok(t.seller)
    }

    /// Issues a token to a seller after a successful `/authToken`: a fresh one while a
    /// lifetime applies, else the stable one (which a new login un-revokes).
    pub fn issue(
        &self,
        seller: usize,
        now: Duration,
        rules: &[TokenRule],
        sellers: &[Credentials],
    ) -> String {
        if let Some(c) = self.auths.get(seller) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let Some(cred) = sellers.get(seller) else {
            return String::new();
        };
        let stable = cred.token();
        let life = life_for(rules, &cred.seller);
        if life.is_none() && !self.slow.load(Ordering::Relaxed) {
            return stable;
        }
        let mut st = self.lock();
        let Some(life) = life else {
            st.revoked_stable.remove(&seller);
            st.issued.remove(&stable);
            return stable;
        };
        self.slow.store(true, Ordering::Relaxed);
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let token = format!(
            "swk-{}-{:016x}",
            cred.seller,
            crate::scenario::mix(n ^ (now.as_nanos() as u64).rotate_left(17) ^ 0x5eed)
        );
        let TokenState {
            issued, by_seller, ..
        } = &mut *st;
        let queue = by_seller.entry(seller).or_default();
        // Expired tokens at the front are forgotten (each once: amortised constant time), and
        // the oldest live ones go while the seller is at the cap.
        while let Some(front) = queue.front() {
            let stale = issued.get(front).is_none_or(|t| t.expired(now));
            if !stale && queue.len() < self.per_seller {
                break;
            }
            if let Some(old) = queue.pop_front() {
                issued.remove(&old);
            }
        }
        issued.insert(
            token.clone(),
            Issued {
                seller,
                at: now,
                life: Some(life),
                uses: 0,
                revoked: false,
            },
        );
        queue.push_back(token.clone());
        token
    }

    /// Revokes every token of a seller; returns how many issued tokens it ended (the stable
    /// token counts as one).
    pub fn revoke(&self, seller: usize) -> usize {
        self.slow.store(true, Ordering::Relaxed);
        let mut st = self.lock();
        let mut n = 0;
        for t in st.issued.values_mut() {
            if t.seller == seller && !t.revoked {
                t.revoked = true;
                n += 1;
            }
        }
        if st.revoked_stable.insert(seller) {
            n += 1;
        }
        n
    }

    /// How many times a seller obtained a token from `/authToken` since start or reset.
    pub fn authentications(&self, seller: usize) -> u64 {
        self.auths
            .get(seller)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Forgets issued tokens, revocations and counts; stable tokens count as issued at `now`.
    pub fn reset(&self, now: Duration) {
        let mut st = self.lock();
        st.issued.clear();
        st.by_seller.clear();
        st.revoked_stable.clear();
        st.epoch = now;
        for c in &self.auths {
            c.store(0, Ordering::Relaxed);
        }
    }
}

fn revoked_message(seller: &str) -> String {
    format!(
        "apiKey revoked: the tokens of seller `{seller}` were revoked; get a new one from /authToken"
    )
}

/// Whole seconds, for messages.
fn secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::tokens::{TokenLifetime, TokenRule};

    fn rules(toml: &str) -> Vec<TokenRule> {
        #[derive(Deserialize)]
        struct T {
            tokens: Vec<TokenLifetime>,
        }
        let t: T = toml::from_str(toml).unwrap();
        t.tokens
            .iter()
            .enumerate()
            .map(|(i, t)| TokenRule::compile(i, t, "t").unwrap())
            .collect()
    }

    fn sellers() -> Vec<Credentials> {
        vec![
            Credentials::new("demo", "u", "p"),
            Credentials::new("other", "o", "q"),
        ]
    }

    #[test]
    fn tokens_are_stable_and_per_seller() {
        let a = Credentials::new("demo", "u", "p");
        assert_eq!(a.token(), Credentials::new("demo", "u", "p").token());
        assert_ne!(a.token(), Credentials::new("other", "u", "p").token());
        assert!(a.token().starts_with("swk-demo-"));
    }

    #[test]
    fn without_a_lifetime_tokens_are_stable() {
        let s = sellers();
        let t = Tokens::new(&s, Duration::ZERO, 1_000);
        let a = t.issue(0, Duration::from_secs(5), &[], &s);
        assert_eq!(a, s[0].token());
        assert_eq!(
            t.check(&a, Duration::from_secs(99_999), &[], &s, true),
            Ok(0)
        );
        assert_eq!(
            t.check("nope", Duration::ZERO, &[], &s, true),
            Err(TokenRefusal::Unknown)
        );
        assert_eq!(t.authentications(0), 1);
    }

    #[test]
    fn fresh_tokens_overlap_and_expire_on_their_own() {
        let s = sellers();
        let r = rules("[[tokens]]\nseller = 'demo'\nlifetime = '10m'\n");
        let t = Tokens::new(&s, Duration::ZERO, 1_000);
        let min = |m: u64| Duration::from_secs(60 * m);
        let a = t.issue(0, min(0), &r, &s);
        let b = t.issue(0, min(5), &r, &s);
        assert_ne!(a, b);
        assert_eq!(t.check(&a, min(9), &r, &s, true), Ok(0));
        assert_eq!(t.check(&b, min(9), &r, &s, true), Ok(0));
        let Err(TokenRefusal::Expired(_, m)) = t.check(&a, min(10), &r, &s, true) else {
            panic!("a should have expired");
        };
        assert!(m.contains("expired") && m.contains("10m"), "{m}");
        assert_eq!(t.check(&b, min(14), &r, &s, true), Ok(0));
        // The other seller has no lifetime: its stable token lives on.
        assert_eq!(t.check(&s[1].token(), min(600), &r, &s, true), Ok(1));
        // The stable token of `demo` counts as issued at start.
        assert!(matches!(
            t.check(&s[0].token(), min(11), &r, &s, true),
            Err(TokenRefusal::Expired(..))
        ));
    }

    #[test]
    fn request_counted_lifetimes_and_revocation() {
        let s = sellers();
        let r = rules("[[tokens]]\nrequests = 2\n");
        let t = Tokens::new(&s, Duration::ZERO, 1_000);
        let a = t.issue(0, Duration::ZERO, &r, &s);
        assert!(t.check(&a, Duration::ZERO, &r, &s, true).is_ok());
        assert!(t.check(&a, Duration::ZERO, &r, &s, true).is_ok());
        assert!(matches!(
            t.check(&a, Duration::ZERO, &r, &s, true),
            Err(TokenRefusal::Expired(_, m)) if m.contains("2 requests")
        ));
        let b = t.issue(0, Duration::ZERO, &r, &s);
        assert!(t.revoke(0) >= 1);
        assert!(matches!(
            t.check(&b, Duration::ZERO, &r, &s, true),
            Err(TokenRefusal::Revoked(..))
        ));
        let c = t.issue(0, Duration::ZERO, &r, &s);
        assert!(t.check(&c, Duration::ZERO, &r, &s, true).is_ok());
        // Revoking a stable token; logging in again restores it.
        let none: Vec<TokenRule> = Vec::new();
        t.revoke(1);
        assert!(matches!(
            t.check(&s[1].token(), Duration::ZERO, &none, &s, true),
            Err(TokenRefusal::Revoked(..))
        ));
        assert_eq!(t.issue(1, Duration::ZERO, &none, &s), s[1].token());
        assert_eq!(
            t.check(&s[1].token(), Duration::ZERO, &none, &s, true),
            Ok(1)
        );
        assert_eq!(t.authentications(0), 3);
    }

    /// 100,000 logins under a long lifetime: the store keeps at most the cap per seller (the
    /// oldest goes first), every kept token still works, and a pushed-out one is unknown.
    #[test]
    fn a_seller_holds_at_most_the_cap_of_live_tokens() {
        let s = sellers();
        let r = rules("[[tokens]]\nlifetime = \"1h\"\n");
        let t = Tokens::new(&s, Duration::ZERO, 50);
        let mut first = String::new();
        let mut last = Vec::new();
        for i in 0..100_000u64 {
            let tok = t.issue(0, Duration::from_millis(i), &r, &s);
            if i == 0 {
                first = tok.clone();
            }
            if i >= 100_000 - 50 {
                last.push(tok);
            }
        }
        let st = t.lock();
        assert_eq!(st.issued.len(), 50);
        assert_eq!(st.by_seller.get(&0).map(VecDeque::len), Some(50));
        drop(st);
        let now = Duration::from_secs(60);
        for tok in &last {
            assert_eq!(t.check(tok, now, &r, &s, true), Ok(0));
        }
        assert_eq!(
            t.check(&first, now, &r, &s, true),
            Err(TokenRefusal::Unknown)
        );
    }

    /// Expired tokens are forgotten as new ones are issued, without waiting for the cap.
    #[test]
    fn expired_tokens_are_dropped_as_new_ones_come() {
        let s = sellers();
        let r = rules("[[tokens]]\nlifetime = \"10s\"\n");
        let t = Tokens::new(&s, Duration::ZERO, 1_000);
        for i in 0..100u64 {
            t.issue(0, Duration::from_secs(i), &r, &s);
        }
        // Tokens live 10 s: at most the 10 or 11 issued in the last 10 s are held.
        assert!(t.lock().issued.len() <= 11, "{}", t.lock().issued.len());
    }
}
