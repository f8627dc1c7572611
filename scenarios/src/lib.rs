//! The scenario catalogue (see issue 4).
