//! The simulation harness (see issue 3).
