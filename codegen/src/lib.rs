//! Code generator (being written).
