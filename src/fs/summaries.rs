//! A persistent cache of node summaries by CID, so that listing a directory
//! needs no child block: a cold `ls -l` of 20 000 entries would otherwise
//! open 20 000 block files.

use crate::codec::cid::Cid;
use crate::repo::Repo;
use crate::unixfs::node::Summary;

pub trait SummaryStore: Send + Sync {
    /// One answer per CID, in order; `None` where nothing is known.
    fn load(&self, cids: &[Cid]) -> Vec<Option<Summary>>;
    fn save(&self, items: &[(Cid, Summary)]);
}

impl SummaryStore for Repo {
    fn load(&self, cids: &[Cid]) -> Vec<Option<Summary>> {
        match self.datastore().summaries(cids) {
            Ok(found) => found
                .into_iter()
                .map(|bytes| bytes.and_then(|b| Summary::decode(&b)))
                .collect(),
            Err(err) => {
                tracing::debug!("summary cache unavailable: {err}");
                vec![None; cids.len()]
            }
        }
    }

    fn save(&self, items: &[(Cid, Summary)]) {
        let encoded: Vec<(Cid, Vec<u8>)> =
            items.iter().map(|(cid, s)| (*cid, s.encode())).collect();
        if let Err(err) = self.datastore().put_summaries(&encoded) {
            tracing::debug!("could not cache summaries: {err}");
        }
    }
}
