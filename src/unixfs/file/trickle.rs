//! The trickle layout (SPEC-NOTES §4.3): a run of leaves, then subtrees of
//! growing depth, four of each depth; the root is always an internal node.

use super::builder::{Built, NodeBuilder, Pending};
use super::{Chunks, ImportError};
use crate::codec::unixfs_pb::DataType;

const DEPTH_REPEAT: usize = 4;

pub fn build(b: &mut NodeBuilder, chunks: &mut Chunks) -> Result<Built, ImportError> {
    let mut root = Pending::default();
    fill(b, chunks, &mut root, None)?;
    b.internal(root, true)
}

fn fill(
    b: &mut NodeBuilder,
    chunks: &mut Chunks,
    node: &mut Pending,
    max_depth: Option<usize>,
) -> Result<(), ImportError> {
    while node.len() < b.max_links() && chunks.has_more() {
        let chunk = chunks.take()?.unwrap_or_default();
        node.push(b.leaf(&chunk, DataType::Raw, false)?);
    }
    let mut depth = 1;
    while max_depth.is_none_or(|max| depth < max) && chunks.has_more() {
        for _ in 0..DEPTH_REPEAT {
            if !chunks.has_more() {
                break;
            }
            let mut child = Pending::default();
            fill(b, chunks, &mut child, Some(depth))?;
            node.push(b.internal(child, false)?);
        }
        depth += 1;
    }
    Ok(())
}
