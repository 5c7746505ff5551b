//! The ids the runner invents: the generator builds items the partner cannot know from this
//! prefix, and the read-back takes such an item as never set without reading it.

/// Prefix of every id the partner cannot know.
pub const UNKNOWN_PREFIX: &str = "SW-UNKNOWN-";
