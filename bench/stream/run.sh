#!/bin/sh
# Stream throughput: CSV parse and write, binary read and write (raw and
# zlib), on ROWS rows x 4 columns (default 10 million), beside awk summing a
# column and numpy.loadtxt (on a 1M-row subset: it is slow).  Run from a
# built tree (make bench, or sh bench/stream/run.sh in the build directory).
# Data goes to $BENCH_TMP (default /tmp/stochbench-stream) and is reused.
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${top_builddir:-$(pwd)}
[ -x "$build/tools/stoch-cat" ] || build=$top
cat_=$build/tools/stoch-cat
[ -x "$cat_" ] || { echo "bench/stream: build first (no $cat_)" >&2; exit 1; }
rows=${ROWS:-10000000}
reps=${REPS:-3}
dir=${BENCH_TMP:-/tmp/stochbench-stream}
mkdir -p "$dir"
py=/usr/bin/python3

# The library-level harness (no program around the library).
cc ${CC_FLAGS:--O2} -I"$top/lib" -I"$build" -o "$dir/streambench" "$here/streambench.c" \
    "$build/lib/libstoch.a" $(pkg-config --libs zlib jansson) -lm
sb=$dir/streambench

csv=$dir/data-$rows.csv
if [ ! -s "$csv" ]; then
    echo "generating $rows rows x 4 columns (seq, t, x with 6 decimals, y full precision)..."
    awk -v n="$rows" 'BEGIN { srand(42); print "seq,t,x,y";
        for (i = 0; i < n; i++) printf "%d,%d,%.6f,%.17g\n", int(i / 1000), i % 1000, (rand() - 0.5) * 200, rand() }' >"$csv.tmp"
    mv "$csv.tmp" "$csv"
fi
"$cat_" --format bin -o "$dir/data.stb" "$csv"
"$cat_" --format bin --compress -o "$dir/data.z.stb" "$csv"
gzip -1 -c "$csv" >"$dir/data.csv.gz"
head -n 1000001 "$csv" >"$dir/data-1m.csv"

secs() { # secs CMD...: median wall time of $reps runs, output discarded
    for k in $(seq "$reps"); do
        s=$(date +%s.%N)
        "$@" >/dev/null
        e=$(date +%s.%N)
        echo "$s $e" | awk '{ printf "%.4f\n", $2 - $1 }'
    done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
line() { # line WHAT SECONDS ROWS BYTES
    awk -v w="$1" -v s="$2" -v r="$3" -v b="$4" 'BEGIN {
        printf "%-44s %8.3f s %8.2f Mrows/s %7.0f MB/s\n", w, s, r / s / 1e6, b / s / 1e6 }'
}
size() { wc -c <"$1" | tr -d ' '; }

echo "== bench/stream: $rows rows x 4 columns; median of $reps; MB = 1e6 bytes of the file read or written"
echo "   CSV $(size "$csv") B, binary $(size "$dir/data.stb") B, binary+zlib $(size "$dir/data.z.stb") B, csv.gz $(size "$dir/data.csv.gz") B"
echo "-- library (bench/stream/streambench.c: st_reader_read blocks of 4096 rows / st_writer_rows)"
for f in "$csv" "$dir/data.csv.gz" "$dir/data.stb" "$dir/data.z.stb"; do
    t=$(secs "$sb" read "$f")
    line "read $(basename "$f")" "$t" "$rows" "$(size "$f")"
done
for spec in "csv raw out.csv" "bin raw out.stb" "bin zlib out.z.stb"; do
    set -- $spec
    # loading the input is not timed: the harness prints its own figure
    t=$("$sb" write "$1" "$2" "$dir/data.stb" "$dir/$3" | awk '{ print $6 }')
    line "write $1 $2 ($3)" "$t" "$rows" "$(size "$dir/$3")"
done
rm -f "$dir/out.csv" "$dir/out.stb" "$dir/out.z.stb"

echo "-- stoch-cat end to end (output to /dev/null; MB/s of the input file)"
t=$(secs "$cat_" --format bin "$csv");              line "stoch-cat csv -> bin" "$t" "$rows" "$(size "$csv")"
t=$(secs "$cat_" "$dir/data.stb");                  line "stoch-cat bin -> csv" "$t" "$rows" "$(size "$dir/data.stb")"
t=$(secs "$cat_" --format bin "$dir/data.stb");     line "stoch-cat bin -> bin" "$t" "$rows" "$(size "$dir/data.stb")"
t=$(secs "$cat_" --format bin --compress "$dir/data.stb"); line "stoch-cat bin -> bin --compress" "$t" "$rows" "$(size "$dir/data.stb")"
t=$(secs "$cat_" --describe "$csv");                line "stoch-cat --describe csv" "$t" "$rows" "$(size "$csv")"
t=$(secs "$cat_" --describe "$dir/data.stb");       line "stoch-cat --describe bin" "$t" "$rows" "$(size "$dir/data.stb")"

echo "-- peers on the same files"
awkv=$(awk -W version 2>/dev/null </dev/null | head -1 | cut -c1-24 || true)
t=$(secs awk -F, 'NR > 1 { s += $3 } END { print s }' "$csv")
line "awk sum of column x (${awkv:-awk})" "$t" "$rows" "$(size "$csv")"
if [ -x "$py" ] && "$py" -c 'import numpy' 2>/dev/null; then
    t=$(secs "$py" -c "import numpy, sys; numpy.loadtxt(sys.argv[1], delimiter=',', skiprows=1)" "$dir/data-1m.csv")
    line "numpy.loadtxt (1M-row subset)" "$t" 1000000 "$(size "$dir/data-1m.csv")"
    t=$(secs "$sb" read "$dir/data-1m.csv")
    line "stoch read csv (same 1M-row subset)" "$t" 1000000 "$(size "$dir/data-1m.csv")"
    t=$(secs "$py" -c "
import sys; sys.path.insert(0, '$top/tests/cli')
from numpy_read_stream import read_stream
read_stream(open(sys.argv[1], 'rb'))" "$dir/data.stb")
    line "numpy reader of stoch-stream(5), raw binary" "$t" "$rows" "$(size "$dir/data.stb")"
else
    echo "numpy: /usr/bin/python3 has no numpy (skipped)"
fi
