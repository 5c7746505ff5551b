//! The ids the runner invents: the generator builds items the partner cannot know from this
//! prefix. The read-back reads such an item before a case like any other: a partner that keys
//! items by one id may find a stored item under it, so "never set" is never assumed.

/// Prefix of every id the partner cannot know.
pub const UNKNOWN_PREFIX: &str = "SW-UNKNOWN-";
