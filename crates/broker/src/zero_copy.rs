//! Zero-copy fetch responses.
//!
//! A Fetch response is encoded by `kafka-protocol` like any other message, but each partition's
//! record set is given to the encoder as a *placeholder*: a slice of one shared, never-read
//! buffer of zeros whose length equals the segment range to send. [`SplicingBuf`] recognises
//! those slices when the encoder copies them (`put_slice`) and, instead of copying, ends the
//! current in-memory chunk and records the file range. The connection then writes the in-memory
//! chunks with `write` and the file ranges with `sendfile`, so record bytes go from the page
//! cache to the socket without entering user space (DESIGN.md section 5).

use std::collections::VecDeque;
use std::sync::OnceLock;

use bytes::buf::UninitSlice;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::protocol::buf::ByteBufMut;
use weir_storage::ReadSlice;

/// Largest record set one partition can contribute to one fetch response.
pub const MAX_PLACEHOLDER: usize = 64 * 1024 * 1024;

/// The shared zero buffer placeholders are cut from. `vec![0; n]` is allocated zeroed by the
/// allocator (fresh pages from mmap), and it is never read, so it costs address space, not
/// memory.
fn zeros() -> &'static Bytes {
    static ZEROS: OnceLock<Bytes> = OnceLock::new();
    ZEROS.get_or_init(|| Bytes::from(vec![0u8; MAX_PLACEHOLDER]))
}

/// A placeholder of `len` bytes standing for a file range in an encoded message.
pub fn placeholder(len: usize) -> Bytes {
    zeros().slice(..len.min(MAX_PLACEHOLDER))
}

fn is_placeholder(src: &[u8]) -> bool {
    let base = zeros().as_ptr() as usize;
    let start = src.as_ptr() as usize;
    !src.is_empty() && start >= base && start + src.len() <= base + MAX_PLACEHOLDER
}

/// One piece of an outgoing frame.
#[derive(Debug)]
pub enum Chunk {
    Memory(Bytes),
    File(ReadSlice),
}

/// A `BufMut` that writes into memory but splices registered file ranges in place of
/// placeholder slices.
pub struct SplicingBuf {
    head: BytesMut,
    chunks: Vec<Chunk>,
    /// File ranges in the order the encoder will meet their placeholders.
    pending: VecDeque<ReadSlice>,
    /// Bytes already moved out of `head` into `chunks` (memory and file).
    flushed: usize,
}

impl SplicingBuf {
    pub fn new(capacity: usize, pending: VecDeque<ReadSlice>) -> Self {
        Self {
            head: BytesMut::with_capacity(capacity),
            chunks: Vec::new(),
            pending,
            flushed: 0,
        }
    }

    /// The frame's pieces, in order. Fails if a registered file range was never spliced,
    /// which would mean the message and the ranges disagree.
    pub fn finish(mut self) -> Option<Vec<Chunk>> {
        if !self.pending.is_empty() {
            return None;
        }
        if !self.head.is_empty() {
            self.chunks.push(Chunk::Memory(self.head.split().freeze()));
        }
        Some(self.chunks)
    }

    fn splice(&mut self, len: usize) -> bool {
        match self.pending.pop_front() {
            Some(slice) if slice.len == len => {
                self.flushed += self.head.len() + len;
                if !self.head.is_empty() {
                    self.chunks.push(Chunk::Memory(self.head.split().freeze()));
                }
                self.chunks.push(Chunk::File(slice));
                true
            }
            Some(slice) => {
                self.pending.push_front(slice);
                false
            }
            None => false,
        }
    }
}

// SAFETY: every method delegates to `BytesMut`, whose `BufMut` implementation upholds the
// trait's contract (`chunk_mut` returns writable memory of `remaining_mut` or more bytes once
// reserved; `advance_mut` is only called by writers that initialised that many bytes, and
// BytesMut checks the bound). `put_slice` is overridden with a safe implementation that either
// copies through `BytesMut::put_slice` or records a file range without writing.
#[allow(unsafe_code)]
unsafe impl BufMut for SplicingBuf {
    fn remaining_mut(&self) -> usize {
        self.head.remaining_mut()
    }

    unsafe fn advance_mut(&mut self, cnt: usize) {
        // SAFETY: the caller guarantees `cnt` bytes of `chunk_mut()` were initialised; that
        // chunk is `self.head`'s, so the same guarantee holds for `BytesMut::advance_mut`.
        unsafe { self.head.advance_mut(cnt) }
    }

    fn chunk_mut(&mut self) -> &mut UninitSlice {
        self.head.chunk_mut()
    }

    fn put_slice(&mut self, src: &[u8]) {
        if is_placeholder(src) && self.splice(src.len()) {
            return;
        }
        self.head.put_slice(src);
    }
}

impl ByteBufMut for SplicingBuf {
    fn offset(&self) -> usize {
        self.flushed + self.head.len()
    }

    /// Only gaps inside the unflushed tail can be revisited; the Fetch response encoder does
    /// not use gaps, and record-batch encoding never happens through this buffer.
    fn seek(&mut self, offset: usize) {
        let local = offset.saturating_sub(self.flushed);
        self.head.resize(local, 0);
    }

    fn range(&mut self, r: std::ops::Range<usize>) -> &mut [u8] {
        let start = r.start.saturating_sub(self.flushed);
        let end = r.end.saturating_sub(self.flushed).min(self.head.len());
        self.head.get_mut(start.min(end)..end).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Arc;

    #[test]
    fn placeholders_become_file_chunks_in_order() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"abcdefgh").unwrap();
        let file = Arc::new(f);
        let a = ReadSlice {
            file: file.clone(),
            position: 0,
            len: 3,
        };
        let b = ReadSlice {
            file,
            position: 3,
            len: 5,
        };
        let mut buf = SplicingBuf::new(64, VecDeque::from(vec![a, b]));
        buf.put_slice(b"head");
        buf.put_slice(&placeholder(3));
        buf.put_slice(b"mid");
        buf.put_slice(&placeholder(5));
        assert_eq!(buf.offset(), 4 + 3 + 3 + 5);
        let chunks = buf.finish().unwrap();
        let kinds: Vec<String> = chunks
            .iter()
            .map(|c| match c {
                Chunk::Memory(b) => String::from_utf8(b.to_vec()).unwrap(),
                Chunk::File(s) => format!("file@{}+{}", s.position, s.len),
            })
            .collect();
        assert_eq!(kinds, vec!["head", "file@0+3", "mid", "file@3+5"]);
    }

    #[test]
    fn unspliced_ranges_are_detected() {
        let f = Arc::new(tempfile::tempfile().unwrap());
        let s = ReadSlice {
            file: f,
            position: 0,
            len: 2,
        };
        let mut buf = SplicingBuf::new(8, VecDeque::from(vec![s]));
        buf.put_slice(b"x");
        assert!(buf.finish().is_none());
    }
}
