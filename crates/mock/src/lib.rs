//! stockwire-mock (being built).
