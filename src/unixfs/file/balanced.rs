//! The balanced layout (SPEC-NOTES §4.2): all leaves at one depth; the old
//! root becomes the first child of a new root each time a level fills.

use super::builder::{Built, NodeBuilder, Pending};
use super::{Chunks, ImportError};
use crate::codec::unixfs_pb::DataType;

pub fn build(b: &mut NodeBuilder, chunks: &mut Chunks) -> Result<Built, ImportError> {
    let first = chunks.take()?.unwrap_or_default();
    let mut root = b.leaf(&first, DataType::File, !chunks.has_more())?;
    let mut depth = 1;
    while chunks.has_more() {
        let mut node = Pending::default();
        node.push(root);
        fill(b, chunks, &mut node, depth)?;
        root = b.internal(node, !chunks.has_more())?;
        depth += 1;
    }
    Ok(root)
}

/// Adds children of `depth` levels below `node` until it is full or the
/// input ends.
fn fill(
    b: &mut NodeBuilder,
    chunks: &mut Chunks,
    node: &mut Pending,
    depth: usize,
) -> Result<(), ImportError> {
    while node.len() < b.max_links() && chunks.has_more() {
        let child = if depth == 1 {
            let chunk = chunks.take()?.unwrap_or_default();
            b.leaf(&chunk, DataType::File, false)?
        } else {
            let mut inner = Pending::default();
            fill(b, chunks, &mut inner, depth - 1)?;
            b.internal(inner, false)?
        };
        node.push(child);
    }
    Ok(())
}
