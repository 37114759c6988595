use crate::blockstore::suite::Counted;

use proptest::prelude::*;

use super::*;
use crate::blockstore::MemoryBlockstore;

fn add_cid(bytes: &[u8]) -> Cid {
    let store = MemoryBlockstore::new();
    import_file(
        &store,
        &mut &bytes[..],
        &FileOptions::kubo_defaults(),
        &mut |_| {},
    )
    .unwrap()
    .cid
}

fn memory() -> Arc<dyn Blockstore> {
    Arc::new(MemoryBlockstore::new())
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 9) as u8)
        .collect()
}

#[test]
fn sequential_writes_stream_and_give_the_add_cid() {
    let store = memory();
    let opts = FileOptions::kubo_defaults();
    let data = pattern(3 * STREAM_AFTER + 12_345, 1);
    let mut file = FileContent::empty();
    for piece in data.chunks(131_072) {
        let offset = file.size();
        file.write(&store, &opts, offset, piece).unwrap();
    }
    assert_eq!(file.size(), data.len() as u64);
    let committed = file.commit(&store, &opts).unwrap();
    assert_eq!(committed.cid, add_cid(&data));
    assert_eq!(committed.size, data.len() as u64);
    assert_eq!(
        file.read(&store, &opts, 5_000_000, 10).unwrap(),
        &data[5_000_000..5_000_010]
    );
}

#[test]
fn editing_the_middle_rehashes_only_the_changed_chunk() {
    let counting = Arc::new(Counted::default());
    let store: Arc<dyn Blockstore> = counting.clone();
    let opts = FileOptions::kubo_defaults();
    let mut data = pattern(200 * 262_144 + 77, 2);
    let original = import_file(store.as_ref(), &mut &data[..], &opts, &mut |_| {}).unwrap();
    let mut file = FileContent::stored(original.into());
    counting.reset();
    file.write(&store, &opts, 100 * 262_144 + 5, b"edited")
        .unwrap();
    data[100 * 262_144 + 5..100 * 262_144 + 11].copy_from_slice(b"edited");
    let committed = file.commit(&store, &opts).unwrap();
    assert_eq!(committed.cid, add_cid(&data));
    // One leaf plus the three small internal nodes (re-encoded), not 200 leaves.
    let puts = counting.puts();
    assert!(puts <= 4, "{puts} blocks written for a 6-byte edit");
}

#[test]
fn a_file_from_another_chunker_is_reimported_whole() {
    let store = memory();
    let opts = FileOptions::kubo_defaults();
    let data = pattern(700_000, 3);
    let mut other = FileOptions::kubo_defaults();
    other.chunker = ChunkerSpec::Size(1000);
    let stored = import_file(store.as_ref(), &mut &data[..], &other, &mut |_| {}).unwrap();
    let mut file = FileContent::stored(stored.into());
    file.write(&store, &opts, 10, b"x").unwrap();
    let mut expected = data.clone();
    expected[10] = b'x';
    assert_eq!(file.commit(&store, &opts).unwrap().cid, add_cid(&expected));
}

#[derive(Clone, Debug)]
enum Op {
    Write(u64, Vec<u8>),
    Append(Vec<u8>),
    Truncate(u64),
    Commit,
    Read(u64, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let size = 0u64..1_200_000;
    prop_oneof![
        (size.clone(), 1usize..300_000).prop_map(|(at, n)| Op::Write(at, pattern(n, at as u8))),
        (1usize..600_000).prop_map(|n| Op::Append(pattern(n, n as u8))),
        size.clone().prop_map(Op::Truncate),
        Just(Op::Commit),
        (size, 0usize..400_000).prop_map(|(at, n)| Op::Read(at, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any sequence of operations reads like a plain byte vector, and its
    /// commit has the CID `add` gives those bytes.
    #[test]
    fn behaves_like_a_byte_vector(ops in proptest::collection::vec(op(), 1..12)) {
        let store = memory();
        let opts = FileOptions::kubo_defaults();
        let mut file = FileContent::empty();
        let mut model: Vec<u8> = Vec::new();
        for op in ops {
            match op {
                Op::Write(at, bytes) => {
                    file.write(&store, &opts, at, &bytes).unwrap();
                    let end = at as usize + bytes.len();
                    if model.len() < end {
                        model.resize(end, 0);
                    }
                    model[at as usize..end].copy_from_slice(&bytes);
                }
                Op::Append(bytes) => {
                    file.write(&store, &opts, model.len() as u64, &bytes).unwrap();
                    model.extend_from_slice(&bytes);
                }
                Op::Truncate(size) => {
                    file.truncate(&store, &opts, size).unwrap();
                    model.resize(size as usize, 0);
                }
                Op::Commit => {
                    let committed = file.commit(&store, &opts).unwrap();
                    prop_assert_eq!(committed.cid, add_cid(&model));
                }
                Op::Read(at, n) => {
                    let got = file.read(&store, &opts, at, n).unwrap();
                    let start = (at as usize).min(model.len());
                    let end = (at as usize + n).min(model.len());
                    prop_assert_eq!(got, model[start..end].to_vec());
                }
            }
            prop_assert_eq!(file.size(), model.len() as u64);
        }
        prop_assert_eq!(file.commit(&store, &opts).unwrap().cid, add_cid(&model));
    }
}
