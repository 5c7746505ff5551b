//! stockwire-conform (being built).
