//! The HAMT switch at exactly 256 KiB (SPEC-NOTES §7.3, §14.3): Kubo v0.22
//! (kubo-peer, our golden source) shards at `>=`, Kubo ≥ 0.40 at `>`; rsipfs
//! follows ≥ 0.40 by default and keeps the v0.22 rule as a setting.

use rsipfs::blockstore::{Blockstore, MemoryBlockstore};
use rsipfs::codec::cid::{CidBuilder, DAG_PB};
use rsipfs::codec::cid_string;
use rsipfs::codec::dagpb::PbNode;
use rsipfs::codec::unixfs_pb::{DataType, UnixfsData};
use rsipfs::unixfs::dir::{DirEntry, DirOptions, ShardRule, build_directory, list, lookup};

fn empty_file() -> rsipfs::codec::Cid {
    CidBuilder::default().cid_of(DAG_PB, &[0x0a, 0x04, 0x08, 0x02, 0x18, 0x00])
}

/// §14.3: n empty files named `%06d` padded with `n` to 94 characters.
fn entries(n: usize, first_len: usize) -> Vec<DirEntry> {
    (0..n)
        .map(|i| {
            let width = if i == 0 { first_len } else { 94 };
            let name = format!("{i:06}");
            DirEntry {
                name: format!("{name:n<width$}"),
                cid: empty_file(),
                size: 6,
            }
        })
        .collect()
}

fn build(entries: Vec<DirEntry>, rule: ShardRule) -> (String, DataType) {
    let store = MemoryBlockstore::new();
    let opts = DirOptions {
        shard_rule: rule,
        ..DirOptions::default()
    };
    let built = build_directory(&store, entries, &opts).unwrap();
    let block = rsipfs::blockstore::get_required(&store, &built.cid).unwrap();
    let node = PbNode::decode(&block).unwrap();
    let kind = UnixfsData::decode(node.data.as_deref().unwrap())
        .unwrap()
        .data_type;
    (cid_string(&built.cid), kind)
}

#[test]
fn below_the_threshold_both_rules_keep_a_basic_directory() {
    for rule in [ShardRule::Greater, ShardRule::GreaterOrEqual] {
        assert_eq!(
            build(entries(2047, 94), rule),
            (
                "QmPVmvxYQ5yRk2q6bbfAXitKD3LgZuyvSvu6shUnntpHtd".to_string(),
                DataType::Directory
            )
        );
        assert_eq!(
            build(entries(2048, 93), rule),
            (
                "QmSMKQxu1dRscmtDkqd8JVC9gqrGLsEN1KAJVKH4XRqSem".to_string(),
                DataType::Directory
            )
        );
    }
}

#[test]
fn at_exactly_the_threshold_the_rules_differ() {
    let (v022, kind) = build(entries(2048, 94), ShardRule::GreaterOrEqual);
    assert_eq!(
        v022, "QmUZ5KYjuLUZN571eGHFHjL8yDJu8aU5PiUDeG6F7QWa8i",
        "Kubo v0.22 (kubo-peer) shards"
    );
    assert_eq!(kind, DataType::HamtShard);
    let (today, kind) = build(entries(2048, 94), ShardRule::Greater);
    assert_eq!(
        kind,
        DataType::Directory,
        "Kubo >= 0.40 keeps a basic directory at exactly 256 KiB"
    );
    assert_ne!(today, v022);
}

#[test]
fn sharded_lookup_and_listing_find_every_name() {
    let store = MemoryBlockstore::new();
    let all = entries(2048, 94);
    let opts = DirOptions {
        shard_rule: ShardRule::GreaterOrEqual,
        ..DirOptions::default()
    };
    let built = build_directory(&store, all.clone(), &opts).unwrap();
    let mut listed: Vec<String> = list(&store, &built.cid)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    listed.sort();
    let mut names: Vec<String> = all.iter().map(|e| e.name.clone()).collect();
    names.sort();
    assert_eq!(listed, names);
    for entry in all.iter().step_by(97) {
        assert_eq!(
            lookup(&store, &built.cid, &entry.name)
                .unwrap()
                .unwrap()
                .cid,
            entry.cid
        );
    }
    assert!(lookup(&store, &built.cid, "absent").unwrap().is_none());
}

#[test]
fn building_is_independent_of_order_and_rejects_bad_names() {
    let store = MemoryBlockstore::new();
    let opts = DirOptions {
        shard_threshold: 1,
        ..DirOptions::default()
    };
    let mut forward = entries(300, 94);
    let a = build_directory(&store, forward.clone(), &opts).unwrap();
    forward.reverse();
    assert_eq!(build_directory(&store, forward, &opts).unwrap(), a);
    for bad in ["", ".", "..", "a/b", "nul\0"] {
        let e = DirEntry {
            name: bad.to_string(),
            cid: empty_file(),
            size: 6,
        };
        assert!(build_directory(&store, vec![e], &opts).is_err(), "{bad:?}");
    }
    let dup = DirEntry {
        name: "x".into(),
        cid: empty_file(),
        size: 6,
    };
    assert!(build_directory(&store, vec![dup.clone(), dup], &opts).is_err());
}

#[test]
fn malformed_shards_are_errors_not_panics() {
    let store = MemoryBlockstore::new();
    let opts = DirOptions {
        shard_threshold: 1,
        ..DirOptions::default()
    };
    let built = build_directory(&store, entries(50, 94), &opts).unwrap();
    let block = rsipfs::blockstore::get_required(&store, &built.cid).unwrap();
    for i in 0..block.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bad = block.clone();
            bad[i] ^= flip;
            let cid = CidBuilder::default().cid_of(DAG_PB, &bad);
            store.put(&cid, &bad).unwrap();
            let _ = list(&store, &cid);
            let _ = lookup(&store, &cid, "000001nnnn");
        }
    }
}
