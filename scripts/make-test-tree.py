#!/usr/bin/env python3
"""Writes the deterministic tree the CLI golden tests add: make-test-tree.py DIR

The same script feeds scripts/golden-cli.sh (which asks a real Kubo and
unixfs-ref for the CIDs) and the Rust tests (which add it with rsipfs)."""
import hashlib, os, sys


def stream(n):
    """S(n) of SPEC-NOTES §14: sha256(b"x" || i as 8-byte big-endian), concatenated."""
    out, i = bytearray(), 0
    while len(out) < n:
        out += hashlib.sha256(b"x" + i.to_bytes(8, "big")).digest()
        i += 1
    return bytes(out[:n])


def write(root, rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main(root):
    os.makedirs(root)
    write(root, "hello.txt", b"Hello World!\n")
    write(root, "empty.txt", b"")
    write(root, "\u00fcn\u00efc\u00f6d\u00e9 name.txt", "h\u00e9llo w\u00f6rld\n".encode())
    write(root, "with space/nested/deep.txt", b"deep\n" * 100)
    write(root, "dup-a.txt", b"same bytes\n")
    write(root, "dup-b.txt", b"same bytes\n")
    write(root, ".hidden", b"hidden file\n")
    os.makedirs(os.path.join(root, "empty-dir"))
    os.symlink("hello.txt", os.path.join(root, "link-to-hello"))
    os.symlink("../nowhere", os.path.join(root, "with space/dangling"))
    for n in (1, 262143, 262144, 262145, 174 * 262144 + 1):
        write(root, f"sizes/s{n}.bin", stream(n))
    # Well above the HAMT threshold: 3000 × (60-char name + 34-byte CID) > 256 KiB.
    for i in range(3000):
        write(root, "sharded/" + f"entry-{i:05d}-".ljust(60, "x"), f"{i}\n".encode())


if __name__ == "__main__":
    main(sys.argv[1])
