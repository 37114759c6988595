//! UnixFS: chunkers, layouts, importer, directories and HAMT shards, reader.
