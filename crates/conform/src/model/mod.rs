//! The plain data several layers share: the policies (where partners legitimately differ,
//! [`policies`]), the words a check is described with (its category, the resources it needs
//! and what it loses without them, [`vocabulary`]), the report's data types ([`report`]) and
//! the prefix of the ids the runner invents ([`ids`]).
//!
//! It sends, judges, reads and writes nothing, and it uses only the HTTP client's request and
//! outcome types and the error type, so every other layer may use it. Building, reading and
//! writing reports is `reports`' job; each type keeps its public path where users know it
//! (`config::Policies`, `checks::Category`, `report::Report`, …).

pub mod ids;
pub mod policies;
pub mod report;
pub mod vocabulary;
