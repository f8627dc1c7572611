//! The dynamic table (RFC 7541 §2.3.2, §4), one per direction of a connection: the encoder's
//! and the peer decoder's copy of it, or the peer encoder's and our decoder's, change in step.
//!
//! Invariants: the size (§4.1: name, value and 32 octets per entry) never passes the
//! maximum; an entry larger than the maximum empties the table and is not added (§4.4).

use std::collections::VecDeque;

use bytes::Bytes;

/// RFC 7541 §4.1: each entry counts 32 octets of overhead.
const ENTRY_OVERHEAD_BYTES: usize = 32;

#[derive(Debug)]
pub(super) struct DynamicTable {
    /// Newest first: index 62 of the whole table is the front.
    entries: VecDeque<(Bytes, Bytes)>,
    size: usize,
    max_size: usize,
}

impl DynamicTable {
    pub(super) fn new(max_size: usize) -> DynamicTable {
        DynamicTable {
            entries: VecDeque::new(),
            size: 0,
            max_size,
        }
    }

    /// A new maximum: entries are evicted, oldest first, until the table fits.
    pub(super) fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
    }

    /// Adds an entry, evicting the oldest to make room.
    pub(super) fn insert(&mut self, name: Bytes, value: Bytes) {
        let entry_size = name.len() + value.len() + ENTRY_OVERHEAD_BYTES;
        if entry_size > self.max_size {
            self.evict_to(0);
            return;
        }
        self.evict_to(self.max_size - entry_size);
        self.size += entry_size;
        self.entries.push_front((name, value));
    }

    /// The `i`-th entry, newest first (index 62 + `i` of the whole table).
    pub(super) fn get(&self, i: usize) -> Option<&(Bytes, Bytes)> {
        self.entries.get(i)
    }

    /// The entries, newest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = &(Bytes, Bytes)> {
        self.entries.iter()
    }

    /// How many entries, and their size by §4.1.
    #[cfg(test)]
    pub(super) fn len_and_size(&self) -> (usize, usize) {
        (self.entries.len(), self.size)
    }

    fn evict_to(&mut self, size: usize) {
        while self.size > size {
            let Some((name, value)) = self.entries.pop_back() else {
                break;
            };
            self.size -= name.len() + value.len() + ENTRY_OVERHEAD_BYTES;
        }
    }
}
