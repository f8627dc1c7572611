//! (being written)

use super::Entry;

pub(super) const ENTRIES: &[Entry] = &[];
