//! rsipfs: IPFS in Rust with a FUSE filesystem at its heart.
//!
//! Layers (dependencies point down): `cli` → `node` → `fs`/`mfs` → `unixfs` →
//! `codec`; `blockstore` is the storage seam and `repo` the fs-repo on disk.

pub mod api;
pub mod blockstore;
pub mod codec;
pub mod commands;
pub mod dag;
pub mod fs;
pub mod fuse;
pub mod gateway;
pub mod go_duration;
pub mod ipns;
pub mod memory;
pub mod metrics;
pub mod mfs;
pub mod names;
pub mod net;
pub mod pin;
pub mod repo;
pub mod reprovide;
pub mod unixfs;
