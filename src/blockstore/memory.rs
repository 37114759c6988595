use std::collections::HashMap;
use std::sync::RwLock;

use super::{Blockstore, Result, identity_data};
use crate::codec::cid::{Cid, Mh, RAW};

/// A blockstore in memory, for tests and `--only-hash`-style dry runs.
#[derive(Default)]
pub struct MemoryBlockstore {
    blocks: RwLock<HashMap<Mh, Vec<u8>>>,
}

impl MemoryBlockstore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.blocks.read().expect("lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Blockstore for MemoryBlockstore {
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        if let Some(data) = identity_data(cid) {
            return Ok(Some(data));
        }
        Ok(self.blocks.read().expect("lock").get(cid.hash()).cloned())
    }

    fn has(&self, cid: &Cid) -> Result<bool> {
        Ok(identity_data(cid).is_some()
            || self.blocks.read().expect("lock").contains_key(cid.hash()))
    }

    fn put(&self, cid: &Cid, data: &[u8]) -> Result<()> {
        if identity_data(cid).is_none() {
            self.blocks
                .write()
                .expect("lock")
                .entry(*cid.hash())
                .or_insert_with(|| data.to_vec());
        }
        Ok(())
    }

    fn delete(&self, cid: &Cid) -> Result<bool> {
        Ok(self
            .blocks
            .write()
            .expect("lock")
            .remove(cid.hash())
            .is_some())
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    fn all_keys(&self) -> Result<Vec<Cid>> {
        Ok(self
            .blocks
            .read()
            .expect("lock")
            .keys()
            .map(|mh| Cid::new_v1(RAW, *mh))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passes_the_shared_suite() {
        super::super::suite::run(&super::MemoryBlockstore::new());
    }
}
