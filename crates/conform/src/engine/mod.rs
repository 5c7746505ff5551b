//! The engine: it draws cases from the contract and the catalog ([`cases`]), runs each case
//! (`execute`: its requests, every exchange judged through the check registry, the relation
//! between them, the read-back), shrinks each failed check's first failing case (`shrink`),
//! runs `seller-isolation`'s probes with a second seller (`sellers`), and runs the whole
//! conformance run through its phases to the report ([`runner`]). Replaying
//! an earlier report ([`replay`]) lives here too: it re-sends recorded requests through the
//! same `Engine` and logs in the same way, and under `reports` it would make the reports reach
//! the engine, which writes its report through them.
//!
//! Calls of the update's shape other than the inventory push (a price push) are run by
//! [`family`], from their definition alone.
//!
//! It does not own what a check judges (`checks`), how stored stock is read or set back
//! (`readers`; the restore reaches the engine only through the `StockWriter` it implements),
//! how requests travel (`client`) nor how a report is written (`reports`). It uses them all,
//! and none of them uses it. Inside: `runner` and `replay` use `execute` and `shrink`, `shrink`
//! uses `execute`, `sellers` uses `execute`, and `cases` uses none of them.

pub mod cases;
pub mod discovery;
mod execute;
pub mod family;
pub mod replay;
pub mod runner;
mod sellers;
mod shrink;
