//! The run's apiKey, shared by every clone of a client: the key itself, whether it has worked,
//! and what happens when it stops working. With seller credentials ([`Relogin`]) a 401 on a
//! token that worked before means the token expired: the client logs in again once and re-sends
//! the request, and the observed lifetime (time and requests from login to the first 401) is
//! kept for the report. A 401 straight after a fresh login is a real refusal (no loop: at most
//! one new login per request and [`MAX_RELOGINS`] per run). With an apiKey alone, the first 401
//! after the key worked is kept as the request from which it stopped working.
//!
//! It owns the key's life; what a refusal means for the checks is the engine's. It uses only
//! `redact`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::client::redact::Redactor;

/// New logins after expired tokens, at most, in one run.
pub const MAX_RELOGINS: u32 = 20;

/// A login that gives a fresh token (the runner's `/authToken` call), or says why not.
pub type LoginFuture<'a> = Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;

/// Logs in again for a fresh token when the one in use expired.
pub trait Relogin: Send + Sync {
    /// A fresh token, or why none was had.
    fn login(&self) -> LoginFuture<'_>;
}

/// One token that stopped working after it had worked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expiry {
    /// Time from the login that issued it to its first 401.
    pub after: Duration,
    /// Requests sent with it before that 401 (the 401 itself not counted).
    pub requests: u64,
}

/// What happened to the run's key, for the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyStats {
    /// Tokens that expired (a 401 after they worked), in order.
    pub expiries: Vec<Expiry>,
    /// New logins made after them.
    pub relogins: u32,
    /// Why a new login failed, when one did (the run went on with the expired token).
    pub relogin_failed: Option<String>,
    /// Whether the cap of new logins was reached.
    pub capped: bool,
    /// Without seller credentials: the request (1-based, of those sent with the key) from which
    /// the key stopped working after it had worked.
    pub stopped_at: Option<u64>,
    /// Requests sent with the run's key.
    pub sent: u64,
}

#[derive(Debug)]
struct Inner {
    key: Option<Arc<str>>,
    /// Bumped by each new token.
    generation: u64,
    /// The current token was answered other than 401 at least once.
    worked: bool,
    issued: Instant,
    sent_with_current: u64,
    stats: KeyStats,
}

/// The key of a client and its clones (see the module docs).
pub struct KeyState {
    inner: Mutex<Inner>,
    relogin: RwLock<Option<Arc<dyn Relogin>>>,
    /// One new login at a time: requests refused together wait for it and re-send.
    login_lock: tokio::sync::Mutex<()>,
    /// Tokens obtained by new logins, kept out of every recorded body.
    redactor: RwLock<Redactor>,
}

impl std::fmt::Debug for KeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyState").finish_non_exhaustive()
    }
}

/// The key a request was sent with: its generation and its number among the key's requests.
#[derive(Debug, Clone)]
pub struct Use {
    /// The key substituted for the placeholder.
    pub key: Option<Arc<str>>,
    generation: u64,
    number: u64,
}

/// What the client does after a 401 on a request sent with the run's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After401 {
    /// A fresh token is in use (obtained now, or by another request meanwhile): re-send once.
    Resend,
    /// The refusal stands: the key never worked (wrong credentials, or a fresh token refused
    /// at once).
    Refused,
    /// The key worked and stopped: no new login was possible (an apiKey alone, a new login
    /// that failed, or the cap reached). The partner's right, not a violation.
    Expired,
}

impl KeyState {
    /// A state holding `key` (none: requests carry no apiKey).
    pub fn new(key: Option<String>) -> Self {
        KeyState {
            inner: Mutex::new(Inner {
                key: key.map(Arc::from),
                generation: 0,
                worked: false,
                issued: Instant::now(),
                sent_with_current: 0,
                stats: KeyStats::default(),
            }),
            relogin: RwLock::new(None),
            login_lock: tokio::sync::Mutex::new(()),
            redactor: RwLock::new(Redactor::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Sets how to log in again when a token expires.
    pub fn set_relogin(&self, r: Arc<dyn Relogin>) {
        if let Ok(mut g) = self.relogin.write() {
            *g = Some(r);
        }
    }

    /// Whether a key is set.
    pub fn has_key(&self) -> bool {
        self.lock().key.is_some()
    }

    /// Takes the current key for one request.
    pub fn take(&self) -> Use {
        let mut g = self.lock();
        g.stats.sent += 1;
        g.sent_with_current += 1;
        Use {
            key: g.key.clone(),
            generation: g.generation,
            number: g.stats.sent,
        }
    }

    /// A request sent with `u` was answered other than 401: its key works.
    pub fn worked(&self, u: &Use) {
        let mut g = self.lock();
        if g.generation == u.generation {
            g.worked = true;
        }
    }

    /// A request sent with `u` was answered 401: logs in again when the token had worked and
    /// seller credentials are given, and says whether to re-send.
    pub async fn refused(&self, u: &Use) -> After401 {
        let _one = self.login_lock.lock().await;
        let relogin = {
            let mut g = self.lock();
            if g.generation != u.generation {
                // Another request logged in again meanwhile.
                return After401::Resend;
            }
            if !g.worked {
                // Never worked (or a fresh token refused at once): a real refusal.
                return After401::Refused;
            }
            let expiry = Expiry {
                after: g.issued.elapsed(),
                requests: g.sent_with_current.saturating_sub(1),
            };
            let relogin = self.relogin.read().ok().and_then(|r| r.clone());
            let Some(relogin) = relogin else {
                if g.stats.stopped_at.is_none() {
                    g.stats.stopped_at = Some(u.number);
                }
                return After401::Expired;
            };
            if g.stats.relogin_failed.is_some() {
                return After401::Expired;
            }
            if g.stats.relogins >= MAX_RELOGINS {
                g.stats.capped = true;
                return After401::Expired;
            }
            g.stats.expiries.push(expiry);
            relogin
        };
        let fresh = relogin.login().await;
        let mut g = self.lock();
        match fresh {
            Ok(token) => {
                if let Ok(mut r) = self.redactor.write() {
                    r.add(&token);
                }
                g.key = Some(Arc::from(token));
                g.generation += 1;
                g.worked = false;
                g.issued = Instant::now();
                g.sent_with_current = 0;
                g.stats.relogins += 1;
                After401::Resend
            }
            Err(why) => {
                g.stats.relogin_failed = Some(why);
                After401::Expired
            }
        }
    }

    /// Removes the tokens of new logins from `text`.
    pub fn redact(&self, text: String) -> String {
        match self.redactor.read() {
            Ok(r) if !r.is_empty() => r.redact_owned(text),
            _ => text,
        }
    }

    /// What happened to the key so far.
    pub fn stats(&self) -> KeyStats {
        self.lock().stats.clone()
    }
}
