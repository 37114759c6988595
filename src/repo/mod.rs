//! The fs-repo v1 on disk.
