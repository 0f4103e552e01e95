//! splitbrain-control (being built)
