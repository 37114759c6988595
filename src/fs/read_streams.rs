//! The sequential readers of each file and how far ahead of each one
//! read-ahead has been planned. Several readers of one file (four `dd`s at
//! different offsets, say) are told apart, so each gets its own window and
//! none restarts another's; a read that continues no reader starts a new
//! one, which earns read-ahead only once it reads on sequentially (or when
//! it starts at the beginning of the file, as most sequential readers do).
//! Readers active at once share what the node cache can hold ahead of them:
//! windows larger than that in total would evict each other's leaves
//! before they are read.

use std::hash::Hash;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::time::{Duration, Instant};

use lru::LruCache;

/// How far ahead of a lone reader to fetch.
pub const WINDOW: u64 = 16 << 20;
/// What all readers active at once may have fetched ahead of them; the
/// mount's node cache is sized to hold it.
pub const AHEAD_IN_ALL: u64 = 24 << 20;
/// Each active reader's window is at least this, however many there are.
const MIN_WINDOW: u64 = 4 << 20;
/// A reader counts as active this long after its last read.
const ACTIVE_FOR: Duration = Duration::from_secs(1);
/// Active readers counted at most: past this many, each has MIN_WINDOW.
const COUNTED: usize = (AHEAD_IN_ALL / MIN_WINDOW) as usize + 1;
/// The unit of planned work: one job for one worker.
pub const SLICE: u64 = 1 << 20;
/// Readers of one file told apart; past this, the one idle longest is forgotten.
const STREAMS_PER_FILE: usize = 8;
/// Files whose readers are remembered.
const FILES: usize = 1024;
/// How far a read may land from where its reader left off and still
/// continue it: reads arrive slightly out of order from the kernel's
/// parallel read-ahead.
const BEHIND: u64 = WINDOW;
const AHEAD: u64 = WINDOW / 4;

#[derive(Debug)]
struct Stream {
    id: u64,
    /// Where the reader's reads have reached.
    next: u64,
    /// The end of what has been planned ahead of it.
    until: u64,
    last_used: u64,
}

impl Stream {
    fn distance(&self, start: u64) -> Option<u64> {
        if start >= self.next {
            Some(start - self.next).filter(|d| *d <= AHEAD)
        } else {
            Some(self.next - start).filter(|d| *d <= BEHIND)
        }
    }
}

/// Files are told apart by `K`: an inode, or the CID of immutable content
/// (readers of one CID through any inode share their streams).
pub struct ReadStreams<K: Hash + Eq = u64> {
    files: LruCache<K, Vec<Stream>>,
    clock: u64,
    /// The streams read within ACTIVE_FOR, by id, with their last read.
    active: Vec<(u64, Instant)>,
}

impl<K: Hash + Eq> Default for ReadStreams<K> {
    fn default() -> Self {
        ReadStreams {
            files: LruCache::new(NonZeroUsize::new(FILES).expect("non-zero")),
            clock: 0,
            active: Vec::new(),
        }
    }
}

impl<K: Hash + Eq> ReadStreams<K> {
    /// Records a read of `range` of file `file` (`size` bytes long) and plans
    /// the read-ahead it calls for, one SLICE at a time through `queue`.
    /// `queue` answers false when it takes no more; the rest is planned
    /// again by a later read rather than lost.
    pub fn read(
        &mut self,
        file: K,
        range: Range<u64>,
        size: u64,
        now: Instant,
        mut queue: impl FnMut(Range<u64>) -> bool,
    ) {
        self.clock += 1;
        let tick = self.clock;
        let streams = self.files.get_or_insert_mut(file, Vec::new);
        let continued = streams
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.distance(range.start).map(|d| (d, i)))
            .min()
            .map(|(_, i)| i);
        let stream = match continued {
            Some(i) => {
                let stream = &mut streams[i];
                stream.next = stream.next.max(range.end);
                stream.last_used = tick;
                stream
            }
            None => {
                let stream = Stream {
                    id: tick,
                    next: range.end,
                    until: range.end,
                    last_used: tick,
                };
                let slot = if streams.len() < STREAMS_PER_FILE {
                    streams.push(stream);
                    streams.len() - 1
                } else {
                    let idle = (0..streams.len())
                        .min_by_key(|&i| streams[i].last_used)
                        .expect("full");
                    streams[idle] = stream;
                    idle
                };
                if range.start != 0 {
                    return;
                }
                &mut streams[slot]
            }
        };
        let window = window(&mut self.active, stream.id, now);
        if range.end + window / 2 < stream.until {
            return;
        }
        let to = (range.end + window).min(size);
        let mut from = stream.until.max(range.end);
        while from < to {
            let end = (from + SLICE).min(to);
            if !queue(from..end) {
                break;
            }
            from = end;
        }
        stream.until = from;
    }
}

/// Marks stream `id` active at `now`; its share of the read-ahead.
fn window(active: &mut Vec<(u64, Instant)>, id: u64, now: Instant) -> u64 {
    active.retain(|(other, at)| *other != id && now.saturating_duration_since(*at) < ACTIVE_FOR);
    if active.len() == COUNTED {
        active.remove(0);
    }
    active.push((id, now));
    (AHEAD_IN_ALL / active.len() as u64).clamp(MIN_WINDOW, WINDOW)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    const SIZE: u64 = 4096 * MIB;

    /// Plans a read, every slice accepted; returns the slices.
    fn planned(streams: &mut ReadStreams, ino: u64, range: Range<u64>) -> Vec<Range<u64>> {
        planned_at(streams, ino, range, Instant::now())
    }

    fn planned_at(
        streams: &mut ReadStreams,
        ino: u64,
        range: Range<u64>,
        now: Instant,
    ) -> Vec<Range<u64>> {
        let mut slices = Vec::new();
        streams.read(ino, range, SIZE, now, |s| {
            slices.push(s);
            true
        });
        slices
    }

    fn covered(slices: &[Range<u64>]) -> Option<Range<u64>> {
        let (first, last) = (slices.first()?, slices.last()?);
        assert!(slices.windows(2).all(|w| w[0].end == w[1].start));
        Some(first.start..last.end)
    }

    #[test]
    fn a_reader_from_the_start_gets_a_window_ahead_and_more_as_it_reads_on() {
        let mut streams = ReadStreams::default();
        assert_eq!(
            covered(&planned(&mut streams, 1, 0..MIB)),
            Some(MIB..MIB + WINDOW)
        );
        // Still well inside what was planned: nothing more.
        assert!(planned(&mut streams, 1, MIB..2 * MIB).is_empty());
        let mut more = Vec::new();
        for at in 2..10 {
            more.extend(planned(&mut streams, 1, at * MIB..(at + 1) * MIB));
        }
        // Reaching half a window before the planned end plans on from there.
        assert_eq!(covered(&more), Some(MIB + WINDOW..9 * MIB + WINDOW));
    }

    #[test]
    fn a_read_in_the_middle_plans_nothing_until_the_next_one_continues_it() {
        let mut streams = ReadStreams::default();
        let at = 700 * MIB;
        assert!(planned(&mut streams, 1, at..at + MIB).is_empty());
        let ahead = covered(&planned(&mut streams, 1, at + MIB..at + 2 * MIB));
        assert_eq!(ahead, Some(at + 2 * MIB..at + 2 * MIB + WINDOW));
    }

    #[test]
    fn interleaved_readers_of_one_file_each_keep_their_own_window() {
        let mut streams = ReadStreams::default();
        let starts = [0, 1024 * MIB, 2048 * MIB, 3072 * MIB];
        let mut slices = 0;
        for step in 0..64 {
            for start in starts {
                let at = start + step * MIB;
                slices += planned(&mut streams, 7, at..at + MIB).len();
            }
        }
        // Each reader read 64 MiB: its window ahead is planned once, about
        // 64 + 16 MiB of slices; a restart per read would plan 16 per read.
        let most = starts.len() as u64 * (64 + WINDOW / MIB + 1);
        assert!(
            slices as u64 <= most,
            "{slices} slices planned, at most {most}"
        );
        assert!(
            slices as u64 >= starts.len() as u64 * 64,
            "{slices} slices planned"
        );
    }

    #[test]
    fn readers_active_at_once_share_the_read_ahead_and_a_lone_one_gets_it_all() {
        let mut streams = ReadStreams::default();
        let start = Instant::now();
        let first = covered(&planned_at(&mut streams, 1, 0..MIB, start));
        assert_eq!(first, Some(MIB..MIB + WINDOW), "alone");
        let ahead: Vec<_> = (2..5)
            .map(|ino| covered(&planned_at(&mut streams, ino, 0..MIB, start)))
            .collect();
        assert_eq!(ahead[0], Some(MIB..MIB + AHEAD_IN_ALL / 2), "one of two");
        assert_eq!(ahead[2], Some(MIB..MIB + AHEAD_IN_ALL / 4), "one of four");
        for ino in 5..20 {
            planned_at(&mut streams, ino, 0..MIB, start);
        }
        let crowded = covered(&planned_at(&mut streams, 20, 0..MIB, start));
        assert_eq!(crowded, Some(MIB..MIB + MIN_WINDOW), "never less than this");
        // The others stop reading; a second later file 1 reads on alone.
        let later = start + ACTIVE_FOR;
        let mut more = Vec::new();
        for at in 1..9 {
            more.extend(planned_at(&mut streams, 1, at * MIB..(at + 1) * MIB, later));
        }
        assert_eq!(covered(&more), Some(MIB + WINDOW..9 * MIB + WINDOW));
    }

    #[test]
    fn what_the_queue_refuses_is_planned_again_by_a_later_read() {
        let mut streams = ReadStreams::default();
        let mut taken = Vec::new();
        streams.read(1, 0..MIB, SIZE, Instant::now(), |s| {
            taken.push(s);
            taken.len() <= 3
        });
        assert_eq!(covered(&taken[..3]), Some(MIB..4 * MIB));
        let retried = covered(&planned(&mut streams, 1, MIB..2 * MIB));
        assert_eq!(retried, Some(4 * MIB..2 * MIB + WINDOW));
    }

    #[test]
    fn read_ahead_stops_at_the_end_of_the_file() {
        let mut streams = ReadStreams::default();
        let mut slices = Vec::new();
        streams.read(1, 0..MIB, 3 * MIB + 5, Instant::now(), |s| {
            slices.push(s);
            true
        });
        assert_eq!(covered(&slices), Some(MIB..3 * MIB + 5));
    }

    #[test]
    fn readers_of_many_files_stay_bounded() {
        let mut streams = ReadStreams::default();
        for ino in 0..10 * FILES as u64 {
            for step in 0..2 * STREAMS_PER_FILE as u64 {
                let at = step * 100 * MIB;
                planned(&mut streams, ino, at..at + MIB);
            }
        }
        assert_eq!(streams.files.len(), FILES);
        assert!(
            streams
                .files
                .iter()
                .all(|(_, s)| s.len() <= STREAMS_PER_FILE)
        );
    }
}
