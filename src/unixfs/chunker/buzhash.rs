//! boxo's buzhash chunker (SPEC-NOTES §4.4): 32-byte window, 17-bit mask,
//! chunks between 128 KiB and 512 KiB.

use std::io::Read;

use super::buzhash_table::TABLE;
use super::{Chunker, fill};

const MIN: usize = 128 << 10;
const MAX: usize = 512 << 10;
const MASK: u32 = (1 << 17) - 1;
const WINDOW: usize = 32;

pub struct Buzhash<'r> {
    reader: &'r mut dyn Read,
    buf: Vec<u8>,
    ended: bool,
}

impl<'r> Buzhash<'r> {
    pub fn new(reader: &'r mut dyn Read) -> Self {
        Buzhash {
            reader,
            buf: Vec::with_capacity(MAX),
            ended: false,
        }
    }
}

/// Length of the next chunk of `buf` (which holds MIN..=MAX bytes).
fn cut_point(buf: &[u8]) -> usize {
    let mut state: u32 = 0;
    for &byte in &buf[MIN - WINDOW..MIN] {
        state = state.rotate_left(1) ^ TABLE[byte as usize];
    }
    let mut i = MIN - WINDOW;
    // `last` may be below `i` only when buf is exactly MIN long.
    let last = buf.len() as isize - (WINDOW as isize + 1);
    while i as isize <= last {
        if state & MASK == 0 {
            break;
        }
        // Rotating a 32-bit word 32 times is the identity, so XOR-ing the
        // outgoing byte's table value removes it from the window.
        state = state.rotate_left(1) ^ TABLE[buf[i] as usize] ^ TABLE[buf[i + WINDOW] as usize];
        i += 1;
    }
    i + WINDOW
}

impl Chunker for Buzhash<'_> {
    fn next_chunk(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        if !self.ended {
            self.ended = fill(self.reader, &mut self.buf, MAX)?;
        }
        if self.buf.is_empty() {
            return Ok(None);
        }
        if self.buf.len() < MIN {
            return Ok(Some(std::mem::take(&mut self.buf)));
        }
        let len = cut_point(&self.buf);
        let rest = self.buf.split_off(len);
        Ok(Some(std::mem::replace(&mut self.buf, rest)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::ChunkerSpec;
    use super::super::tests::{chunk_all, pseudo_random};
    use super::*;

    #[test]
    fn chunks_stay_within_bounds_and_are_deterministic() {
        let data = pseudo_random(5_000_000, 11);
        let chunks = chunk_all(ChunkerSpec::Buzhash, &data, usize::MAX);
        assert_eq!(chunks.concat(), data);
        let (last, body) = chunks.split_last().unwrap();
        assert!(body.iter().all(|c| (MIN..=MAX).contains(&c.len())));
        assert!(last.len() <= MAX);
        assert!(chunks.len() > 5, "random data cuts between MIN and MAX");
        assert_eq!(chunk_all(ChunkerSpec::Buzhash, &data, 65_536), chunks);
    }

    #[test]
    fn zeros_cut_at_max_and_short_input_is_one_chunk() {
        // A window of zeros hashes to a constant with bits set under the mask
        // only if TABLE[0] rotations say so; whatever it is, it is stable.
        let zeros = vec![0u8; 2 * MAX + 10];
        let chunks = chunk_all(ChunkerSpec::Buzhash, &zeros, usize::MAX);
        assert_eq!(chunks.concat(), zeros);
        let short = pseudo_random(MIN - 1, 3);
        assert_eq!(
            chunk_all(ChunkerSpec::Buzhash, &short, usize::MAX),
            vec![short.clone()]
        );
    }
}
