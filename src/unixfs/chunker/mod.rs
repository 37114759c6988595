//! Chunkers split a byte stream into the leaves of a file DAG: fixed size,
//! rabin and buzhash, with boundaries exactly as boxo draws them.

mod buzhash;
mod buzhash_table;
mod fixed;
mod rabin;

use std::io::Read;

pub use buzhash::Buzhash;
pub use fixed::FixedSize;
pub use rabin::Rabin;

/// Largest chunk Kubo accepts (2 MiB − 256, Kubo ≥ 0.40).
pub const MAX_CHUNK: usize = 2 * 1024 * 1024 - 256;
pub const DEFAULT_SIZE: usize = 262_144;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChunkerError {
    #[error("invalid chunker {spec:?}: {reason}")]
    Invalid { spec: String, reason: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkerSpec {
    Size(usize),
    Rabin { min: usize, avg: usize, max: usize },
    Buzhash,
}

impl Default for ChunkerSpec {
    fn default() -> Self {
        ChunkerSpec::Size(DEFAULT_SIZE)
    }
}

impl ChunkerSpec {
    /// Parses Kubo's `--chunker` strings: `size-N`, `rabin`, `rabin-AVG`,
    /// `rabin-MIN-AVG-MAX`, `buzhash`, `default` or empty.
    pub fn parse(text: &str) -> Result<Self, ChunkerError> {
        let invalid = |reason: &str| ChunkerError::Invalid {
            spec: text.to_string(),
            reason: reason.to_string(),
        };
        let number = |s: &str| {
            s.parse::<usize>()
                .map_err(|_| invalid(&format!("{s:?} is not a number")))
        };
        match text {
            "" | "default" => return Ok(ChunkerSpec::default()),
            "buzhash" => return Ok(ChunkerSpec::Buzhash),
            "rabin" => return Ok(rabin_from_avg(DEFAULT_SIZE)),
            _ => {}
        }
        if let Some(size) = text.strip_prefix("size-") {
            let size = number(size)?;
            if size == 0 {
                return Err(invalid("chunk size must be greater than 0"));
            }
            if size > MAX_CHUNK {
                return Err(invalid(&format!("chunk size must not exceed {MAX_CHUNK}")));
            }
            return Ok(ChunkerSpec::Size(size));
        }
        if let Some(args) = text.strip_prefix("rabin-") {
            let parts: Vec<&str> = args.split('-').collect();
            let spec = match parts.as_slice() {
                [avg] => rabin_from_avg(number(avg)?),
                [min, avg, max] => ChunkerSpec::Rabin {
                    min: number(min)?,
                    avg: number(avg)?,
                    max: number(max)?,
                },
                _ => return Err(invalid("use rabin, rabin-AVG or rabin-MIN-AVG-MAX")),
            };
            let ChunkerSpec::Rabin { min, avg, max } = spec else {
                unreachable!("built as rabin above")
            };
            if min < 16 {
                return Err(invalid("rabin minimum must be at least 16"));
            }
            if !(min < avg && avg < max) {
                return Err(invalid("rabin sizes must satisfy MIN < AVG < MAX"));
            }
            if max > MAX_CHUNK {
                return Err(invalid(&format!(
                    "rabin maximum must not exceed {MAX_CHUNK}"
                )));
            }
            return Ok(spec);
        }
        Err(invalid(
            "unknown chunker: use size-N, rabin[-AVG|-MIN-AVG-MAX] or buzhash",
        ))
    }

    /// A chunker of this kind over `reader`.
    pub fn chunker<'r>(&self, reader: &'r mut dyn Read) -> Box<dyn Chunker + 'r> {
        match *self {
            ChunkerSpec::Size(size) => Box::new(FixedSize::new(reader, size)),
            ChunkerSpec::Rabin { min, avg, max } => Box::new(Rabin::new(reader, min, avg, max)),
            ChunkerSpec::Buzhash => Box::new(Buzhash::new(reader)),
        }
    }
}

fn rabin_from_avg(avg: usize) -> ChunkerSpec {
    ChunkerSpec::Rabin {
        min: avg / 3,
        avg,
        max: avg + avg / 2,
    }
}

pub trait Chunker {
    /// The next chunk, or `None` at the end of input. Never an empty chunk.
    fn next_chunk(&mut self) -> std::io::Result<Option<Vec<u8>>>;

    /// As `next_chunk`, in a buffer with room before and after the bytes
    /// where a chunker can give it, so that the leaf is encoded around them
    /// without a copy.
    fn next_chunk_with_room(&mut self) -> std::io::Result<Option<Chunk>> {
        Ok(self.next_chunk()?.map(Chunk::from))
    }
}

/// Spare bytes a chunk may have before its data: room for a leaf's header.
pub const HEADROOM: usize = 32;
/// Spare capacity a chunk may have after its data: room for a leaf's trailer.
pub const TAILROOM: usize = 16;

/// A chunk's bytes, `buf[start..]`, maybe with spare room around them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chunk {
    pub buf: Vec<u8>,
    pub start: usize,
}

impl Chunk {
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    pub fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Vec<u8>> for Chunk {
    fn from(buf: Vec<u8>) -> Self {
        Chunk { buf, start: 0 }
    }
}

/// Reads until `buf` holds `want` bytes or the input ends; returns whether
/// the input ended. Reads into `buf`'s spare capacity as it is (a file
/// reader fills it without zeroing it first).
pub(crate) fn fill(reader: &mut dyn Read, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    if buf.len() >= want {
        return Ok(false);
    }
    let missing = (want - buf.len()) as u64;
    // Reads until `missing` bytes came or a read gave none (the end).
    reader.take(missing).read_to_end(buf)?;
    Ok(buf.len() < want)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per call.
    pub struct Trickle<'a> {
        pub data: &'a [u8],
        pub step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    pub fn chunk_all(spec: ChunkerSpec, data: &[u8], step: usize) -> Vec<Vec<u8>> {
        let mut reader = Trickle { data, step };
        let mut chunker = spec.chunker(&mut reader);
        let mut out = Vec::new();
        while let Some(chunk) = chunker.next_chunk().unwrap() {
            assert!(!chunk.is_empty());
            out.push(chunk);
        }
        out
    }

    pub fn pseudo_random(n: usize, seed: u64) -> Vec<u8> {
        let mut state = seed | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn parses_kubo_chunker_strings() {
        assert_eq!(ChunkerSpec::parse("").unwrap(), ChunkerSpec::Size(262144));
        assert_eq!(
            ChunkerSpec::parse("size-1000").unwrap(),
            ChunkerSpec::Size(1000)
        );
        assert_eq!(
            ChunkerSpec::parse("rabin").unwrap(),
            ChunkerSpec::Rabin {
                min: 87381,
                avg: 262144,
                max: 393216
            }
        );
        assert_eq!(
            ChunkerSpec::parse("rabin-16-32-64").unwrap(),
            ChunkerSpec::Rabin {
                min: 16,
                avg: 32,
                max: 64
            }
        );
        assert_eq!(ChunkerSpec::parse("buzhash").unwrap(), ChunkerSpec::Buzhash);
        for bad in [
            "size-0",
            "size-x",
            "size-2096897",
            "rabin-8-16-32",
            "rabin-64-32-128",
            "rabin-1-2",
            "fancy",
        ] {
            assert!(ChunkerSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn chunks_with_room_hold_the_same_bytes() {
        let data = pseudo_random(1_000_000, 3);
        for spec in [ChunkerSpec::Size(1000), ChunkerSpec::Size(262_144)] {
            let plain = chunk_all(spec, &data, 100_001);
            let mut reader = Trickle {
                data: &data,
                step: 100_001,
            };
            let mut chunker = spec.chunker(&mut reader);
            let mut roomy = Vec::new();
            while let Some(chunk) = chunker.next_chunk_with_room().unwrap() {
                assert_eq!(chunk.start, HEADROOM);
                assert!(chunk.buf.capacity() - chunk.buf.len() >= TAILROOM);
                roomy.push(chunk.data().to_vec());
            }
            assert_eq!(roomy, plain, "{spec:?}");
        }
    }

    #[test]
    fn boundaries_do_not_depend_on_read_sizes() {
        let data = pseudo_random(1_200_000, 7);
        for spec in [
            ChunkerSpec::Size(1000),
            ChunkerSpec::parse("rabin-2048-8192-32768").unwrap(),
            ChunkerSpec::Buzhash,
        ] {
            let whole = chunk_all(spec, &data, usize::MAX);
            assert_eq!(whole.concat(), data, "{spec:?} loses no bytes");
            for step in [1, 7, 4096, 100_001] {
                if step < 4096 && !matches!(spec, ChunkerSpec::Size(_)) {
                    continue; // tiny reads over a megabyte are slow in debug builds
                }
                assert_eq!(
                    chunk_all(spec, &data, step),
                    whole,
                    "{spec:?} with {step}-byte reads"
                );
            }
        }
    }
}
