//! The balanced layout (SPEC-NOTES §4.2): all leaves at one depth; the old
//! root becomes the first child of a new root each time a level fills.

use super::builder::{Built, NodeBuilder, Pending};
use super::{ImportError, Leaves};

pub fn build(b: &mut NodeBuilder, leaves: &mut dyn Leaves) -> Result<Built, ImportError> {
    let mut root = leaves.next_leaf(b, true)?;
    let mut depth = 1;
    while leaves.has_more() {
        let mut node = Pending::default();
        node.push(root);
        fill(b, leaves, &mut node, depth)?;
        root = b.internal(node, !leaves.has_more())?;
        depth += 1;
    }
    Ok(root)
}

/// Adds children of `depth` levels below `node` until it is full or the
/// input ends.
fn fill(
    b: &mut NodeBuilder,
    leaves: &mut dyn Leaves,
    node: &mut Pending,
    depth: usize,
) -> Result<(), ImportError> {
    while node.len() < b.max_links() && leaves.has_more() {
        let child = if depth == 1 {
            leaves.next_leaf(b, false)?
        } else {
            let mut inner = Pending::default();
            fill(b, leaves, &mut inner, depth - 1)?;
            b.internal(inner, false)?
        };
        node.push(child);
    }
    Ok(())
}
