#!/usr/bin/python3
"""Read a stochtools binary stream (stoch-stream(5)) with numpy alone and
check it against the same data as CSV: numpy_read_stream.py FILE.stb FILE.csv
The reader is the example of the man page; everything else is the check."""
import json, struct, sys, zlib
import numpy as np


def read_stream(f):
    magic, major, minor, hlen = struct.unpack("<8sHHI", f.read(16))
    assert magic == b"\x89STB\r\n\x1a\n" and major == 1, "not a version 1 stream"
    header = json.loads(f.read(hlen))
    dtype = np.dtype([(c["name"], c["dtype"]) for c in header["columns"]])
    chunks = []
    while True:
        nrows, nbytes, crc, codec = struct.unpack("<IIIB3x", f.read(16))
        if nrows == 0:
            break
        payload = f.read(nbytes)
        if codec == 1:
            payload = zlib.decompress(payload)
        assert zlib.crc32(payload) == crc, "bad CRC"
        chunks.append(np.frombuffer(payload, dtype=dtype, count=nrows))
    return header, np.concatenate(chunks) if chunks else np.empty(0, dtype)


def main():
    with open(sys.argv[1], "rb") as f:
        header, data = read_stream(f)
    csv = np.genfromtxt(sys.argv[2], delimiter=",", names=True, missing_values=("", "NA", "NaN"),
                        filling_values=np.nan, ndmin=1, deletechars="", comments="#")
    names = [c["name"] for c in header["columns"]]
    assert list(csv.dtype.names) == names, (csv.dtype.names, names)
    assert len(data) == len(csv), (len(data), len(csv))
    for name in names:
        a, b = data[name].astype(np.float64), csv[name]
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        assert same.all(), "column %s differs at row %d" % (name, int(np.argmin(same)))
    print("ok %d rows, %d columns, meta %s" % (len(data), len(names), json.dumps(header.get("meta"))))


if __name__ == "__main__":
    main()
