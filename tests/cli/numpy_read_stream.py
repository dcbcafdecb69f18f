#!/usr/bin/python3
"""Read a stochtools binary stream (stoch-stream(5)) with numpy alone and
check it against the same data as CSV: numpy_read_stream.py FILE.stb FILE.csv
(FILE.csv as stoch-cat writes it).  The reader is the example of the man
page; everything else is the check."""
import csv, json, math, struct, sys, zlib
import numpy as np


def read_stream(f):
    magic, major, minor, hlen = struct.unpack("<8sHHI", f.read(16))
    assert magic == b"\x89STB\r\n\x1a\n" and major == 1 and minor <= 1, "not a version 1.0/1.1 stream"
    header = json.loads(f.read(hlen))
    cols = header["columns"]
    dtype = np.dtype([(c["name"], "<u4" if c["dtype"] == "str" else c["dtype"]) for c in cols])
    strings = {c["name"]: [] for c in cols if c["dtype"] == "str"}
    chunks = []
    while True:
        nrows, nbytes, crc, codec = struct.unpack("<IIIB3x", f.read(16))
        if nrows == 0:
            break
        payload = f.read(nbytes)
        pos = 0
        for name, entries in strings.items():  # the strings this chunk brings
            (count,) = struct.unpack_from("<I", payload, pos)
            pos += 4
            for _ in range(count):
                (n,) = struct.unpack_from("<I", payload, pos)
                entries.append(payload[pos + 4:pos + 4 + n].decode())
                pos += 4 + n
        pos = -(-pos // 8) * 8  # padded to 8 bytes
        records = payload[pos:]
        if codec == 1:
            records = zlib.decompress(records)
        assert zlib.crc32(records, zlib.crc32(payload[:pos])) == crc, "bad CRC"
        chunks.append(np.frombuffer(records, dtype=dtype, count=nrows))
    data = np.concatenate(chunks) if chunks else np.empty(0, dtype)
    columns = {}
    for name in dtype.names:  # strings from their codes; None is missing
        if name in strings:
            table = np.array(strings[name] + [None], dtype=object)
            codes = data[name].astype(np.int64)
            codes[codes == 0xFFFFFFFF] = len(strings[name])
            columns[name] = table[codes]
        else:
            columns[name] = data[name]
    return header, columns


def same(kind, value, cell):
    """Whether a value read by numpy equals a cell of stoch-cat's CSV."""
    if kind == "str":
        return value == (cell if cell != "" else None)
    if kind.startswith("<M8"):
        return np.isnat(value) if cell == "" else value == np.datetime64(cell, kind[4:-1])
    if cell in ("NaN", ""):
        return math.isnan(float(value))
    if kind in ("<i8", "<i4"):
        return int(value) == int(cell)
    if kind == "<f4":
        return np.float32(cell) == value
    return float(value) == float(cell.replace("Inf", "inf"))


def main():
    with open(sys.argv[1], "rb") as f:
        header, data = read_stream(f)
    with open(sys.argv[2], newline="") as f:
        rows = list(csv.reader(f))
    names = [c["name"] for c in header["columns"]]
    kinds = [c["dtype"] for c in header["columns"]]
    assert rows[0] == names, (rows[0], names)
    nrows = len(rows) - 1
    for name in names:
        assert len(data[name]) == nrows, (name, len(data[name]), nrows)
    for i, row in enumerate(rows[1:]):
        for name, kind, cell in zip(names, kinds, row):
            assert same(kind, data[name][i], cell), "row %d, column %s: %r vs %r" % (i + 1, name, data[name][i], cell)
    print("ok %d rows, %d columns (%s), meta %s" % (nrows, len(names), " ".join(kinds), json.dumps(header.get("meta"))))


if __name__ == "__main__":
    main()
