//! The bytes a connection has to write, in order, shaped for few and cheap system calls.
//!
//! The engine hands over each response head and each body chunk as its own `Bytes`. Written as
//! they come, a small response is a `writev` of two tiny slices, and sixteen pipelined ones are
//! thirty-two. So buffers up to [`COALESCE_BYTES_MAX`] are copied into one staging buffer, and
//! only larger ones travel as their own slice, uncopied (hyper's write buffer does the same).
//!
//! Invariants:
//! - *Order.* Bytes leave in the order they were pushed: a large buffer seals the staged bytes
//!   in front of it first.
//! - *Nothing held while idle.* The staging buffer's memory is kept from one response to the
//!   next (its written bytes are dropped, so it is reused in place), and given back when the
//!   connection goes idle ([`WriteQueue::release_idle_memory`]) or is lost.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

/// Buffers at most this long are copied into the staging buffer; longer ones are queued as
/// they are. A response head and a short body fit; a file chunk does not.
pub(crate) const COALESCE_BYTES_MAX: usize = 1024;

/// The staging buffer's first allocation: a few small responses. It grows for a pipeline's
/// batch and is kept (reused in place) until the connection is idle a while; kept small so
/// that a burst of new connections does not hold much each before their release.
const STAGING_BYTES: usize = 512;

/// Most slices per vectored write.
pub(crate) const WRITE_SLICES_MAX: usize = 64;

/// A few slices: a head staged in front of a large body chunk and what follows it.
const FEW_SLICES: usize = 4;

/// Bytes waiting to be written.
#[derive(Debug, Default)]
pub(crate) struct WriteQueue {
    /// Buffers ready to write, oldest first. Invariant: none is empty.
    sealed: VecDeque<Bytes>,
    /// Small buffers pushed since the last seal, to be written after `sealed`.
    staging: BytesMut,
}

impl WriteQueue {
    pub(crate) fn new() -> WriteQueue {
        WriteQueue::default()
    }

    /// Whether nothing is left to write.
    pub(crate) fn is_empty(&self) -> bool {
        self.sealed.is_empty() && self.staging.is_empty()
    }

    /// Queues `bytes` after everything queued so far.
    pub(crate) fn push(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        if bytes.len() <= COALESCE_BYTES_MAX {
            if self.staging.capacity() == 0 {
                self.staging.reserve(STAGING_BYTES);
            }
            self.staging.extend_from_slice(&bytes);
        } else {
            self.seal();
            self.sealed.push_back(bytes);
        }
    }

    /// The next bytes to write, as slices for one vectored write (empty when nothing is left):
    /// the tests' view of [`WriteQueue::with_slices`].
    #[cfg(test)]
    pub(crate) fn slices(&mut self) -> Vec<IoSlice<'_>> {
        self.seal();
        self.sealed
            .iter()
            .take(WRITE_SLICES_MAX)
            .map(|bytes| IoSlice::new(bytes))
            .collect()
    }

    /// Hands `write` the next bytes to write as slices for one vectored write (none when
    /// nothing is left), in an array on the stack sized to the queue, so the write allocates
    /// nothing. Sized, because setting up all [`WRITE_SLICES_MAX`] slots for the one slice
    /// of a usual response costs more instructions than the rest of its write.
    pub(crate) fn with_slices<R>(&mut self, write: impl FnOnce(&[IoSlice<'_>]) -> R) -> R {
        self.seal();
        match self.sealed.len() {
            0 => write(&[]),
            1 => write(&[IoSlice::new(&self.sealed[0])]),
            n if n <= FEW_SLICES => self.write_slices::<FEW_SLICES, R>(write),
            _ => self.write_slices::<WRITE_SLICES_MAX, R>(write),
        }
    }

    /// [`WriteQueue::with_slices`] with room for `N` slices.
    fn write_slices<const N: usize, R>(&self, write: impl FnOnce(&[IoSlice<'_>]) -> R) -> R {
        let mut slices = [IoSlice::new(&[]); N];
        let mut filled = 0;
        for (slot, bytes) in slices.iter_mut().zip(&self.sealed) {
            *slot = IoSlice::new(bytes);
            filled += 1;
        }
        write(&slices[..filled])
    }

    /// `written` bytes of the front left.
    pub(crate) fn advance(&mut self, mut written: usize) {
        while written > 0 {
            let Some(front) = self.sealed.front_mut() else {
                break;
            };
            let n = written.min(front.len());
            front.advance(n);
            written -= n;
            if front.is_empty() {
                self.sealed.pop_front();
            }
        }
    }

    /// Drops everything unwritten (the connection is lost).
    pub(crate) fn clear(&mut self) {
        self.sealed.clear();
        self.release();
    }

    /// Moves the staged bytes to the back of `sealed`. The staging buffer keeps the spare
    /// capacity, so a busy connection stages the next batch without allocating.
    fn seal(&mut self) {
        if !self.staging.is_empty() {
            self.sealed.push_back(self.staging.split().freeze());
        }
    }

    /// Gives back the staging buffer and the slice queue's space (the connection is idle).
    pub(crate) fn release_idle_memory(&mut self) {
        if self.is_empty() {
            self.release();
        }
    }

    fn release(&mut self) {
        self.staging = BytesMut::new();
        self.sealed = VecDeque::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(queue: &mut WriteQueue) -> Vec<Vec<u8>> {
        let mut writes = Vec::new();
        while !queue.is_empty() {
            let slices = queue.slices();
            let write: Vec<u8> = slices.iter().flat_map(|s| s.to_vec()).collect();
            let n = write.len();
            writes.push(write);
            queue.advance(n);
        }
        writes
    }

    #[test]
    fn small_buffers_become_one_slice() {
        let mut queue = WriteQueue::new();
        queue.push(Bytes::from_static(b"HTTP/1.1 200 OK\r\n\r\n"));
        queue.push(Bytes::from_static(b"hello world\n"));
        assert_eq!(queue.slices().len(), 1);
        assert_eq!(
            drain(&mut queue),
            vec![b"HTTP/1.1 200 OK\r\n\r\nhello world\n".to_vec()]
        );
    }

    #[test]
    fn a_large_buffer_keeps_its_place_uncopied() {
        let large = Bytes::from(vec![b'x'; COALESCE_BYTES_MAX + 1]);
        let mut queue = WriteQueue::new();
        queue.push(Bytes::from_static(b"head"));
        queue.push(large.clone());
        queue.push(Bytes::from_static(b"tail"));
        let slices = queue.slices();
        assert_eq!(slices.len(), 3);
        assert_eq!(
            slices[1].as_ptr(),
            large.as_ptr(),
            "the large buffer was copied"
        );
        let mut expected = b"head".to_vec();
        expected.extend_from_slice(&large);
        expected.extend_from_slice(b"tail");
        assert_eq!(drain(&mut queue).concat(), expected);
    }

    #[test]
    fn the_slices_written_are_the_queued_ones_however_many() {
        let large = Bytes::from(vec![b'x'; COALESCE_BYTES_MAX + 1]);
        // One slice, a few and more than a few: each size of array.
        for larges in [0, 1, FEW_SLICES, FEW_SLICES + 1, WRITE_SLICES_MAX + 3] {
            let mut queue = WriteQueue::new();
            queue.push(Bytes::from_static(b"head"));
            for _ in 0..larges {
                queue.push(large.clone());
            }
            let expected: Vec<Vec<u8>> = queue.slices().iter().map(|s| s.to_vec()).collect();
            let written =
                queue.with_slices(|slices| slices.iter().map(|s| s.to_vec()).collect::<Vec<_>>());
            assert_eq!(written, expected);
            assert_eq!(written.len(), (larges + 1).min(WRITE_SLICES_MAX));
        }
        assert_eq!(WriteQueue::new().with_slices(|slices| slices.len()), 0);
    }

    #[test]
    fn a_partial_write_resumes_where_it_stopped() {
        let mut queue = WriteQueue::new();
        queue.push(Bytes::from_static(b"abcdef"));
        queue.slices();
        queue.advance(4);
        queue.push(Bytes::from_static(b"gh"));
        assert_eq!(drain(&mut queue).concat(), b"efgh".to_vec());
    }

    #[test]
    fn the_staging_buffer_is_reused_until_released() {
        let mut queue = WriteQueue::new();
        queue.push(Bytes::from_static(b"abc"));
        let first = queue.slices()[0].as_ptr();
        queue.advance(3);
        assert!(queue.is_empty());
        assert_eq!(
            queue.staging.capacity(),
            STAGING_BYTES - 3,
            "kept for the next response"
        );
        queue.push(Bytes::from_static(b"def"));
        let second = queue.slices()[0].as_ptr();
        assert_eq!(
            second,
            first.wrapping_add(3),
            "staged into the same allocation"
        );
        queue.advance(3);
        queue.release_idle_memory();
        assert_eq!(queue.staging.capacity(), 0);
        assert_eq!(queue.sealed.capacity(), 0);
        queue.push(Bytes::new());
        assert!(queue.is_empty());
    }

    #[test]
    fn a_queue_with_bytes_left_is_not_released() {
        let mut queue = WriteQueue::new();
        queue.push(Bytes::from_static(b"abc"));
        queue.release_idle_memory();
        assert_eq!(drain(&mut queue).concat(), b"abc".to_vec());
    }
}
