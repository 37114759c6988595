#!/usr/bin/env python3
"""Two CARs that together hold BLOCKS blocks, for scripts/bench-scale.sh.

pinned.car: PINS directories (dag-pb UnixFS), each a root of the CAR, so
that `dag import` pins each one; together they link half of the small
files (raw blocks of 256-2048 random bytes) and LARGE large files (raw
256 KiB leaves under one dag-pb UnixFS file root each).
unpinned.car: the other half of the small files, in directories of at
most 1000 that are its roots, imported with --pin-roots=false: what gc
collects.

Prints the pinned roots' count, the pinned blocks' count and the total
blocks written; the large files' roots go to OUT_DIR/large.txt.
  make-scale-cars.py OUT_DIR BLOCKS PINS LARGE LARGE_MIB
"""

import hashlib
import os
import random
import sys

RAW, DAG_PB, SHA2_256 = 0x55, 0x70, 0x12
LEAF = 256 << 10
PER_UNPINNED_DIR = 1000


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def cbor_head(major, n):
    """A CBOR item's head in its shortest form, as dag-cbor requires."""
    if n < 24:
        return bytes([major << 5 | n])
    for extra, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * width):
            return bytes([major << 5 | extra]) + n.to_bytes(width, "big")
    raise ValueError(n)


def cid(codec, data):
    return bytes([1]) + varint(codec) + bytes([SHA2_256, 32]) + hashlib.sha256(data).digest()


def base32_cid(c):
    import base64
    return "b" + base64.b32encode(c).decode().lower().rstrip("=")


def field(number, wire, payload):
    tag = varint(number << 3 | wire)
    if wire == 2:
        return tag + varint(len(payload)) + payload
    return tag + varint(payload)


def pb_node(links, unixfs):
    """DAG-PB in its canonical order: the links, then Data."""
    out = bytearray()
    for name, target, tsize in links:
        link = field(1, 2, target) + field(2, 2, name.encode()) + field(3, 0, tsize)
        out += field(2, 2, link)
    out += field(1, 2, unixfs)
    return bytes(out)


DIRECTORY = field(1, 0, 1)


def file_root(leaves):
    sizes = [size for _, size in leaves]
    unixfs = field(1, 0, 2) + field(3, 0, sum(sizes)) + b"".join(field(4, 0, s) for s in sizes)
    return pb_node([("", c, s) for c, s in leaves], unixfs)


class Car:
    def __init__(self, path):
        self.path, self.body, self.roots, self.blocks = path, open(path + ".body", "wb"), [], 0

    def put(self, codec, data):
        c = cid(codec, data)
        self.body.write(varint(len(c) + len(data)) + c + data)
        self.blocks += 1
        return c

    def close(self):
        """The header (dag-cbor {roots, version: 1}) goes first."""
        self.body.close()
        roots = bytearray(cbor_head(4, len(self.roots)))
        for c in self.roots:
            link = b"\x00" + c  # tag 42: bytes with the multibase identity prefix
            roots += b"\xd8\x2a" + cbor_head(2, len(link)) + link
        header = cbor_head(5, 2) + cbor_head(3, 5) + b"roots" + bytes(roots)
        header += cbor_head(3, 7) + b"version" + cbor_head(0, 1)
        with open(self.path, "wb") as out, open(self.path + ".body", "rb") as body:
            out.write(varint(len(header)) + header)
            while chunk := body.read(1 << 20):
                out.write(chunk)
        os.remove(self.path + ".body")


def main():
    out_dir, blocks, pins, large, large_mib = sys.argv[1], *map(int, sys.argv[2:6])
    rng = random.Random(31)
    leaves_per_large = (large_mib << 20) // LEAF
    large_blocks = large * (leaves_per_large + 1)
    # Directories: PINS pinned ones, and the unpinned ones.
    small = blocks - large_blocks - pins - -(-blocks // 2 // PER_UNPINNED_DIR)
    if small < 2 * pins:
        sys.exit(f"{blocks} blocks are too few for {pins} pins and {large} large files")
    pinned_small = small // 2

    pinned = Car(os.path.join(out_dir, "pinned.car"))
    large_roots = []
    for i in range(large):
        leaves = []
        for _ in range(leaves_per_large):
            data = rng.randbytes(LEAF)
            leaves.append((pinned.put(RAW, data), len(data)))
        root = pinned.put(DAG_PB, file_root(leaves))
        pinned.roots.append(root)
        large_roots.append(root)
    # Spread evenly: no directory is empty, so no two are the same block.
    for d in range(pins):
        links = []
        for f in range(d * pinned_small // pins, (d + 1) * pinned_small // pins):
            data = rng.randbytes(rng.randint(256, 2048))
            links.append((f"f{f:07}", pinned.put(RAW, data), len(data)))
        pinned.roots.append(pinned.put(DAG_PB, pb_node(links, DIRECTORY)))
    pinned.close()

    unpinned = Car(os.path.join(out_dir, "unpinned.car"))
    left = small - pinned_small
    while left > 0:
        links = []
        for f in range(min(PER_UNPINNED_DIR, left)):
            data = rng.randbytes(rng.randint(256, 2048))
            links.append((f"u{f:04}", unpinned.put(RAW, data), len(data)))
        left -= len(links)
        unpinned.roots.append(unpinned.put(DAG_PB, pb_node(links, DIRECTORY)))
    unpinned.close()
    with open(os.path.join(out_dir, "large.txt"), "w") as out:
        out.writelines(base32_cid(c) + "\n" for c in large_roots)
    print(len(pinned.roots), pinned.blocks, pinned.blocks + unpinned.blocks)


if __name__ == "__main__":
    main()
