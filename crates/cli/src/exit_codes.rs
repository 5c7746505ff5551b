//! Exit codes of the `stockwire` command, as public constants CI wrappers can rely on.

/// Success: nothing to report (no violation found, the command did what it was asked).
pub const OK: u8 = 0;
/// Violations found (schema, semantic rules, conformance checks, mock expectations).
pub const VIOLATIONS: u8 = 1;
/// Usage or configuration error: bad flags, unreadable or invalid files.
pub const USAGE: u8 = 2;
/// Nothing was certified: the target could not be reached, authentication failed, the seller
/// lists no published items and none were given, or nothing could be exercised (most requests
/// sent with a valid key were refused, answered 5xx or throttled past the budget).
pub const UNREACHABLE: u8 = 3;
