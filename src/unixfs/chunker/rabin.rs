//! The rabin chunker boxo uses (whyrusleeping/chunker, SPEC-NOTES §4.4):
//! a 16-byte rolling Rabin fingerprint over GF(2) polynomial P, cutting
//! where the low bits are zero, between MIN and MAX bytes.

use std::io::Read;
use std::sync::OnceLock;

use super::{Chunker, fill};

const POLYNOMIAL: u64 = 0x003D_F305_DFB2_A805;
const WINDOW: usize = 16;
/// Reads are buffered this much at a time; boundaries do not depend on it.
const READ_AHEAD: usize = 512 << 10;

struct Tables {
    out: [u64; 256],
    modulo: [u64; 256],
}

fn degree(p: u64) -> u32 {
    63 - p.leading_zeros()
}

/// x mod p over GF(2).
fn poly_mod(mut x: u128, p: u64) -> u64 {
    let dp = degree(p);
    let p = p as u128;
    while x != 0 && (127 - x.leading_zeros()) >= dp {
        let shift = (127 - x.leading_zeros()) - dp;
        x ^= p << shift;
    }
    x as u64
}

fn append_byte(h: u64, byte: u8, p: u64) -> u64 {
    poly_mod(((h as u128) << 8) | byte as u128, p)
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let k = degree(POLYNOMIAL);
        let mut out = [0u64; 256];
        let mut modulo = [0u64; 256];
        for b in 0..256usize {
            let mut h = append_byte(0, b as u8, POLYNOMIAL);
            for _ in 0..WINDOW - 1 {
                h = append_byte(h, 0, POLYNOMIAL);
            }
            out[b] = h;
            let shifted = (b as u128) << k;
            modulo[b] = poly_mod(shifted, POLYNOMIAL) | ((b as u64) << k);
        }
        Tables { out, modulo }
    })
}

struct Window {
    bytes: [u8; WINDOW],
    pos: usize,
    digest: u64,
    tables: &'static Tables,
}

impl Window {
    fn reset() -> Self {
        let mut w = Window {
            bytes: [0; WINDOW],
            pos: 0,
            digest: 0,
            tables: tables(),
        };
        w.slide(1);
        w
    }

    fn slide(&mut self, byte: u8) {
        let t = self.tables;
        let out = self.bytes[self.pos];
        self.bytes[self.pos] = byte;
        self.pos = (self.pos + 1) % WINDOW;
        self.digest ^= t.out[out as usize];
        let index = (self.digest >> 45) as usize;
        self.digest = (self.digest << 8) | byte as u64;
        self.digest ^= t.modulo[index & 0xff];
    }
}

pub struct Rabin<'r> {
    reader: &'r mut dyn Read,
    min: usize,
    max: usize,
    mask: u64,
    buf: Vec<u8>,
    ended: bool,
}

impl<'r> Rabin<'r> {
    pub fn new(reader: &'r mut dyn Read, min: usize, avg: usize, max: usize) -> Self {
        let bits = usize::BITS - 1 - avg.max(1).leading_zeros();
        Rabin {
            reader,
            min: min.max(WINDOW),
            max,
            mask: (1u64 << bits) - 1,
            buf: Vec::new(),
            ended: false,
        }
    }

    /// Length of the next chunk of `buf`, or None if more input is needed.
    fn cut_point(&self) -> Option<usize> {
        let skip = self.min - WINDOW;
        if self.buf.len() <= skip {
            return None;
        }
        let mut window = Window::reset();
        let mut len = skip;
        for &byte in &self.buf[skip..] {
            window.slide(byte);
            len += 1;
            if len < self.min {
                continue;
            }
            if window.digest & self.mask == 0 || len >= self.max {
                return Some(len);
            }
        }
        None
    }
}

impl Chunker for Rabin<'_> {
    fn next_chunk(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(len) = self.cut_point() {
                let rest = self.buf.split_off(len);
                return Ok(Some(std::mem::replace(&mut self.buf, rest)));
            }
            if self.ended {
                return Ok((!self.buf.is_empty()).then(|| std::mem::take(&mut self.buf)));
            }
            let want = self.buf.len() + READ_AHEAD;
            self.ended = fill(self.reader, &mut self.buf, want)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::ChunkerSpec;
    use super::super::tests::{chunk_all, pseudo_random};
    use super::*;

    #[test]
    fn tables_are_reduced_mod_p() {
        let t = tables();
        assert_eq!(degree(POLYNOMIAL), 53);
        assert!(t.out.iter().all(|&v| v < (1 << 53)));
        assert_eq!(t.out[0], 0);
        assert_eq!(t.modulo[0], 0);
        assert_eq!(t.modulo[1] >> 53, 1);
    }

    #[test]
    fn chunks_respect_min_and_max() {
        let data = pseudo_random(2_000_000, 5);
        let spec = ChunkerSpec::parse("rabin-1024-4096-16384").unwrap();
        let chunks = chunk_all(spec, &data, usize::MAX);
        assert_eq!(chunks.concat(), data);
        let (_, body) = chunks.split_last().unwrap();
        assert!(body.iter().all(|c| (1024..=16384).contains(&c.len())));
        assert!(chunks.len() > 100);
    }
}
