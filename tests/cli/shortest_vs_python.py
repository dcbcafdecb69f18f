#!/usr/bin/python3
"""Peer check of shortest round-trip printing against Python's repr (David
Gay's shortest, correctly rounded).  shortest_vs_python.py gen FILE.stb writes
random doubles (every exponent), every power of two and its neighbours, and
short decimals as a binary stream; shortest_vs_python.py check FILE.stb
FILE.csv compares stoch-cat's CSV digits with repr's.  Prints one line."""
import json, struct, sys, zlib
import numpy as np


def gen(path):
    rng = np.random.default_rng(5)
    bits = rng.integers(0, 2**64 - 1, size=60000, dtype=np.uint64, endpoint=True)
    x = bits.view(np.float64)
    pw = np.ldexp(1.0, np.arange(-1074, 1024))
    dec = np.round(rng.uniform(-1e6, 1e6, 20000) * 10.0 ** rng.integers(0, 12, 20000)) / 10.0 ** rng.integers(0, 12, 20000)
    x = np.concatenate([x, pw, np.nextafter(pw, 0), np.nextafter(pw, np.inf), dec])
    x = x[np.isfinite(x)]
    hdr = json.dumps({"columns": [{"name": "x", "dtype": "<f8"}], "meta": {}}).encode()
    hdr += b" " * ((-(16 + len(hdr))) % 8)
    p = x.astype("<f8").tobytes()
    with open(path, "wb") as f:
        f.write(b"\x89STB\r\n\x1a\n" + struct.pack("<HHI", 1, 0, len(hdr)) + hdr)
        f.write(struct.pack("<IIIB3x", len(x), len(p), zlib.crc32(p), 0) + p)
        f.write(struct.pack("<IIIB3x", 0, 0, 0, 0))


def digits(s):
    mant = s.lower().lstrip("-").partition("e")[0]
    return mant.replace(".", "").strip("0") or "0"


def check(stb, csv):
    with open(stb, "rb") as f:
        _, _, _, hlen = struct.unpack("<8sHHI", f.read(16))
        f.read(hlen)
        n, nb, _, _ = struct.unpack("<IIIB3x", f.read(16))
        x = np.frombuffer(f.read(nb), dtype="<f8")
    lines = open(csv).read().split("\n")[1:-1]
    assert len(lines) == len(x), (len(lines), len(x))
    bad = [(repr(v), o) for v, o in zip(x.tolist(), lines) if float(o) != v or digits(o) != digits(repr(v))]
    print("%d values, %d differ from repr%s" % (len(x), len(bad), (": " + str(bad[:3])) if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2], sys.argv[3]))
