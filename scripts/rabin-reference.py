#!/usr/bin/env python3
"""Rabin chunk boundaries as boxo draws them: a line-by-line transliteration of
whyrusleeping/chunker@fe64bd2 `Chunker.Next` (the version boxo's chunker/rabin.go
pins), written to check ours, because no reference tool here runs Kubo's rabin
(kubo-peer cannot set a chunker, and unixfs-ref's rabin-wasm draws different
boundaries). Usage: rabin-reference.py FILE MIN AVG MAX  -> prints the chunk sizes."""
import sys
POL = 0x3DF305DFB2A805
def deg(p): return p.bit_length() - 1
def pmod(x, p):
    while x and deg(x) >= deg(p): x ^= p << (deg(x) - deg(p))
    return x
def append_byte(h, b, p): return pmod((h << 8) | b, p)
K = deg(POL); SHIFT = K - 8; W = 16
OUT = []; MOD = []
for b in range(256):
    h = append_byte(0, b, POL)
    for _ in range(W - 1): h = append_byte(h, 0, POL)
    OUT.append(h)
    MOD.append(pmod(b << K, POL) | (b << K))
M64 = (1 << 64) - 1
def chunks(data, mn, avg, mx):
    import math
    mask = (1 << int(math.log2(avg))) - 1
    sizes = []; i = 0; n = len(data)
    while i < n:
        win = [0]*W; wpos = 0; digest = 0
        # slide(1)
        out = win[wpos]; win[wpos] = 1; digest ^= OUT[out]; wpos = (wpos+1) % W
        idx = digest >> SHIFT; digest = ((digest << 8) | 1) & M64; digest ^= MOD[idx]
        count = mn - W
        if i + count >= n: sizes.append(n - i); break
        j = i + count; cut = None
        while j < n:
            b = data[j]
            out = win[wpos]; win[wpos] = b; digest ^= OUT[out]; wpos = (wpos+1) % W
            idx = digest >> SHIFT; digest = ((digest << 8) | b) & M64; digest ^= MOD[idx]
            count += 1; j += 1
            if count < mn: continue
            if (digest & mask) == 0 or count >= mx: cut = count; break
        if cut is None: sizes.append(n - i); break
        sizes.append(cut); i += cut
    return sizes
data = open(sys.argv[1], 'rb').read()
mn, avg, mx = map(int, sys.argv[2:5])
print(chunks(data, mn, avg, mx))
