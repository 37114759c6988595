//! The behaviour every `Blockstore` must show; each implementation's tests
//! call `run` on a fresh, empty store.

use super::Blockstore;
use crate::codec::cid::{CidBuilder, DAG_PB, RAW, to_v1};

pub fn run(store: &dyn Blockstore) {
    let data = b"some block bytes".to_vec();
    let v0 = CidBuilder::default().cid_of(DAG_PB, &data);
    let v1 = to_v1(&v0);
    assert!(!store.has(&v0).unwrap());
    assert_eq!(store.get(&v0).unwrap(), None);

    store.put(&v0, &data).unwrap();
    store.put(&v0, &data).unwrap();
    assert!(store.has(&v0).unwrap());
    assert_eq!(
        store.get(&v1).unwrap().as_deref(),
        Some(&data[..]),
        "v0 and v1 share a block"
    );

    let raw = CidBuilder::v1().cid_of(RAW, b"");
    store.put(&raw, b"").unwrap();
    assert_eq!(
        store.get(&raw).unwrap().as_deref(),
        Some(&b""[..]),
        "empty block"
    );

    let inline = CidBuilder {
        inline_limit: Some(32),
        ..CidBuilder::v1()
    }
    .cid_of(RAW, b"tiny");
    assert_eq!(store.get(&inline).unwrap().as_deref(), Some(&b"tiny"[..]));
    assert!(store.has(&inline).unwrap());

    store.sync().unwrap();
    let mut keys: Vec<_> = store
        .all_keys()
        .unwrap()
        .into_iter()
        .map(|c| *c.hash())
        .collect();
    keys.sort_by_key(|k| k.to_bytes());
    let mut expected = vec![*v0.hash(), *raw.hash()];
    expected.sort_by_key(|k| k.to_bytes());
    assert_eq!(keys, expected);

    assert!(store.delete(&v1).unwrap());
    assert!(!store.delete(&v1).unwrap());
    assert!(!store.has(&v0).unwrap());
}
