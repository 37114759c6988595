use std::io::Read;

use super::{Chunk, Chunker, HEADROOM, TAILROOM, fill};

/// Fixed-size chunks; the last one is shorter.
pub struct FixedSize<'r> {
    reader: &'r mut dyn Read,
    size: usize,
    done: bool,
}

impl<'r> FixedSize<'r> {
    pub fn new(reader: &'r mut dyn Read, size: usize) -> Self {
        FixedSize {
            reader,
            size: size.max(1),
            done: false,
        }
    }
}

impl Chunker for FixedSize<'_> {
    fn next_chunk(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        let mut chunk = Vec::with_capacity(self.size);
        self.done = fill(self.reader, &mut chunk, self.size)?;
        Ok((!chunk.is_empty()).then_some(chunk))
    }

    fn next_chunk_with_room(&mut self) -> std::io::Result<Option<Chunk>> {
        if self.done {
            return Ok(None);
        }
        let mut buf = Vec::with_capacity(HEADROOM + self.size + TAILROOM);
        buf.resize(HEADROOM, 0);
        self.done = fill(self.reader, &mut buf, HEADROOM + self.size)?;
        Ok((buf.len() > HEADROOM).then_some(Chunk {
            buf,
            start: HEADROOM,
        }))
    }
}
