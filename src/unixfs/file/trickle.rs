//! The trickle layout (SPEC-NOTES §4.3): a run of leaves, then subtrees of
//! growing depth, four of each depth; the root is always an internal node.

use super::builder::{Built, NodeBuilder, Pending};
use super::{ImportError, Leaves};

const DEPTH_REPEAT: usize = 4;

pub fn build(b: &mut NodeBuilder, leaves: &mut dyn Leaves) -> Result<Built, ImportError> {
    let mut root = Pending::default();
    fill(b, leaves, &mut root, None)?;
    b.internal(root, true)
}

fn fill(
    b: &mut NodeBuilder,
    leaves: &mut dyn Leaves,
    node: &mut Pending,
    max_depth: Option<usize>,
) -> Result<(), ImportError> {
    while node.len() < b.max_links() && leaves.has_more() {
        node.push(leaves.next_leaf(b, false)?);
    }
    let mut depth = 1;
    while max_depth.is_none_or(|max| depth < max) && leaves.has_more() {
        for _ in 0..DEPTH_REPEAT {
            if !leaves.has_more() {
                break;
            }
            let mut child = Pending::default();
            fill(b, leaves, &mut child, Some(depth))?;
            node.push(b.internal(child, false)?);
        }
        depth += 1;
    }
    Ok(())
}
