//! The admin API under `/__admin/` (JSON in, JSON out), and [`verify`]: the questions a test
//! asks of a running mock. Admin requests are not journaled. With an admin token set, every call
//! but `GET /__admin/health` needs `Authorization: Bearer TOKEN`.
//!
//! | method and path | what it does |
//! |---|---|
//! | `GET /__admin/health` | status, profile, uptime, request count, journal counts, rules |
//! | `GET /__admin/journal?seller=&path=&status=&rule=&productId=&since=&limit=` | journal entries, oldest first, one page of at most 256 KiB of bodies; `next` is the `since` of the next page |
//! | `DELETE /__admin/journal` | empties the journal |
//! | `GET /__admin/ledger?seller=` | `{"items":[{"seller","productId","variantId","stock"}]}` |
//! | `GET /__admin/stock?seller=&productId=&variantId=` | one item's stock as plain text (empty body: never set); a ready `--stock-probe` target |
//! | `DELETE /__admin/ledger` | forgets every stock set by requests |
//! | `POST /__admin/reset` | journal, ledger, request counter, rule counters, RNG, clock |
//! | `GET /__admin/scenario` | the active scenario and how often each rule fired |
//! | `PUT /__admin/scenario` | replaces the scenario (TOML, YAML or JSON body) |
//! | `POST /__admin/verify` | `{"expect":[…]}` → `{"ok", "results":[…]}` |
//! | `POST /__admin/tokens/revoke?seller=` | revokes every token of a seller (`{"seller":…}` body also accepted) |

//!
//! It owns the admin endpoints (`endpoints`) and the answers to expectations ([`verify`], also
//! used by `MockMarketplace::verify` and `stockwire mock verify`). It does not own what it reads
//! or resets (the journal, the ledger, the tokens, the scenario engine: it calls their methods
//! through the shared state), nor HTTP plumbing or routing (`crate::http`, `crate::server`).

mod endpoints;
pub mod verify;

pub(crate) use endpoints::handle;
