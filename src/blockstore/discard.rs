use super::{Blockstore, Result, identity_data};
use crate::codec::cid::Cid;

/// Accepts and forgets every block: `add --only-hash` computes CIDs with it.
#[derive(Default)]
pub struct DiscardBlockstore;

impl Blockstore for DiscardBlockstore {
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        Ok(identity_data(cid))
    }
    fn has(&self, cid: &Cid) -> Result<bool> {
        Ok(identity_data(cid).is_some())
    }
    fn put(&self, _cid: &Cid, _data: &[u8]) -> Result<()> {
        Ok(())
    }
    fn delete(&self, _cid: &Cid) -> Result<bool> {
        Ok(false)
    }
    fn sync(&self) -> Result<()> {
        Ok(())
    }
    fn all_keys(&self) -> Result<Vec<Cid>> {
        Ok(Vec::new())
    }
}
