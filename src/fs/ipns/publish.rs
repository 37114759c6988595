//! Publishing the writable trees: a change waits until no handle of its
//! tree is open for writing, and one name is published at most once per
//! debounce interval, so a burst of writes makes a handful of records.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{IpnsFs, SavedTree, State};

/// How long the publisher sleeps at most between looks at `stopping`.
const IDLE: Duration = Duration::from_secs(1);

impl IpnsFs {
    /// The tree to publish now, or how long until one may be.
    fn next_due(&self, state: &mut State) -> Result<u16, Duration> {
        let now = Instant::now();
        let mut wait = IDLE;
        let mut due = None;
        for (&tag, tree) in &state.trees {
            if !tree.pending || tree.fs.has_open_writers() {
                continue;
            }
            let allowed = tree.last_publish.map_or(now, |last| last + self.debounce);
            if allowed <= now {
                due = Some(tag);
                break;
            }
            wait = wait.min(allowed - now);
        }
        match due.and_then(|tag| state.trees.get_mut(&tag).map(|tree| (tag, tree))) {
            Some((tag, tree)) => {
                tree.pending = false;
                tree.last_publish = Some(now);
                Ok(tag)
            }
            None => Err(wait),
        }
    }

    /// Makes tree `tag` durable (files still open for writing too when
    /// `all`) and, when its root changed, points its name at the new root.
    pub(super) fn publish_tree(&self, tag: u16, all: bool) {
        let Some((fs, key, name, published, based_on)) = self.state().trees.get(&tag).map(|t| {
            (
                Arc::clone(&t.fs),
                t.key.clone(),
                t.name.clone(),
                t.published,
                Arc::clone(&t.based_on),
            )
        }) else {
            return;
        };
        let root = match fs.sync(all) {
            Ok(root) => root,
            Err(err) => {
                tracing::error!("/ipns/{key}: cannot write the tree out: {err}");
                return;
            }
        };
        if published == Some(root) {
            return;
        }
        let record = match self.service.publish(&key, &root) {
            Ok(record) => record,
            Err(err) => {
                tracing::error!("/ipns/{key}: publishing {root:?} failed: {err}");
                return;
            }
        };
        tracing::info!(
            "/ipns/{key}: published {} (sequence {})",
            record.value,
            record.sequence
        );
        based_on.store(record.sequence, Ordering::SeqCst);
        if let Some(tree) = self.state().trees.get_mut(&tag) {
            tree.published = Some(root);
        }
        let saved = SavedTree {
            root,
            history: fs.history_head(),
            based_on: Some(record.sequence),
        };
        if let Err(err) = self.service.save_tree(&name, &saved) {
            tracing::warn!("/ipns/{key}: recording the published root: {err}");
        }
    }

    /// Stops the publisher (it publishes nothing more).
    pub fn stop_publishing(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _state = self.state();
        self.wake.notify_all();
    }
}

/// Publishes the trees of `fs` as they change, until `stop_publishing`.
pub fn spawn_publisher(fs: Arc<IpnsFs>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("ipns-publish".into())
        .spawn(move || {
            let mut state = fs.state();
            while !fs.stopping.load(Ordering::SeqCst) {
                match fs.next_due(&mut state) {
                    Ok(tag) => {
                        drop(state);
                        fs.publish_tree(tag, false);
                        state = fs.state();
                    }
                    Err(wait) => {
                        state = match fs.wake.wait_timeout(state, wait) {
                            Ok((state, _)) => state,
                            Err(poisoned) => poisoned.into_inner().0,
                        };
                    }
                }
            }
        })
        .expect("spawn the /ipns publisher")
}
