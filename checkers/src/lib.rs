//! splitbrain-checkers (being built)
