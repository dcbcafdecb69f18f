#!/bin/sh
# Stream throughput: CSV parse and write, binary read and write (raw and
# zlib), on ROWS rows x 4 columns (default 10 million), beside awk summing a
# column and numpy.loadtxt (on a 1M-row subset: it is slow).  Run from a
# built tree (make bench, or sh bench/stream/run.sh in the build directory).
# Data goes to $BENCH_TMP (default /tmp/stochbench-stream) and is reused.
#
# Figures are medians of REPS runs of CPU time (user + sys): on a machine
# shared with other jobs wall time mostly measures the neighbours.  Wall
# time of the same runs is shown too.  MB = 1e6 bytes of the file read
# (or the bytes written).
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${top_builddir:-$(pwd)}
[ -x "$build/tools/stoch-cat" ] || build=$top
cat_=$build/tools/stoch-cat
[ -x "$cat_" ] || { echo "bench/stream: build first (no $cat_)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench/stream: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
rows=${ROWS:-10000000}
reps=${REPS:-3}
dir=${BENCH_TMP:-/tmp/stochbench-stream}
mkdir -p "$dir"
py=/usr/bin/python3

# The library-level harness (no program around the library).
cc -O2 -I"$top/lib" -I"$build" -o "$dir/streambench" "$here/streambench.c" \
    "$build/lib/libstoch.a" $(pkg-config --libs zlib jansson) -lm
sb=$dir/streambench

csv=$dir/data-$rows.csv
if [ ! -s "$csv" ]; then
    echo "generating $rows rows x 4 columns (seq, t, x with 6 decimals, y full precision)..."
    awk -v n="$rows" 'BEGIN { srand(42); print "seq,t,x,y";
        for (i = 0; i < n; i++) printf "%d,%d,%.6f,%.17g\n", int(i / 1000), i % 1000, (rand() - 0.5) * 200, rand() }' >"$csv.tmp"
    mv "$csv.tmp" "$csv"
fi
[ -s "$dir/data.stb" ] || "$cat_" --format bin -o "$dir/data.stb" "$csv"
[ -s "$dir/data.z.stb" ] || "$cat_" --format bin --compress -o "$dir/data.z.stb" "$csv"
[ -s "$dir/data.csv.gz" ] || gzip -1 -c "$csv" >"$dir/data.csv.gz"
[ -s "$dir/data-1m.csv" ] || head -n 1000001 "$csv" >"$dir/data-1m.csv"
# the same number of rows with string ids, dates and labels (issue 13)
tcsv=$dir/typed-$rows.csv
if [ ! -s "$tcsv" ]; then
    echo "generating $rows rows x 4 typed columns (id string, date, label of 5, x with 6 decimals)..."
    awk -v n="$rows" 'BEGIN { srand(43); print "id,date,label,x"; split("healthy|ill|dead|\"a, b\"|NA", lab, "|");
        for (i = 0; i < n; i++) { d = 1 + i % 28; m = 1 + int(i / 28) % 12
            printf "p%07d,20%02d-%02d-%02d,%s,%.6f\n", int(i / 1000), 10 + int(i / 336) % 15, m, d, lab[1 + int(rand() * 5)], (rand() - 0.5) * 200 } }' >"$tcsv.tmp"
    mv "$tcsv.tmp" "$tcsv"
fi
[ -s "$dir/typed.stb" ] || "$cat_" --format bin -o "$dir/typed.stb" "$tcsv"
size() { wc -c <"$1" | tr -d ' '; }

# row WHAT ROWS BYTES: read "wall cpu" lines on stdin (one per repetition),
# print the medians and rates (on CPU time).
row() {
    sort -k2,2n | awk -v w="$1" -v r="$2" -v b="$3" '{ wall[NR] = $1; cpu[NR] = $2 }
        END { m = int((NR + 1) / 2); c = cpu[m]; if (c <= 0) c = 1e-9
              printf "%-42s cpu %7.3f s  wall %7.3f s  %7.2f Mrows/s  %6.0f MB/s\n", w, c, wall[m], r / c / 1e6, b / c / 1e6 }'
}
# timed CMD...: "wall cpu" of one run, output discarded
timed() {
    /usr/bin/time -f '%e %U %S' -o "$dir/time.out" "$@" >/dev/null
    awk '{ print $1, $2 + $3 }' "$dir/time.out"
}
repeat() { for k in $(seq "$reps"); do "$@"; done; }

echo "== bench/stream: $rows rows x 4 columns; median of $reps; rates on CPU time"
echo "   files: CSV $(size "$csv") B, binary $(size "$dir/data.stb") B, binary+zlib $(size "$dir/data.z.stb") B, csv.gz (gzip -1) $(size "$dir/data.csv.gz") B"
echo "-- library: bench/stream/streambench.c (st_reader_read in blocks of 4096 rows; st_writer_rows to a counting sink)"
for f in "$csv" "$dir/data.csv.gz" "$dir/data.stb" "$dir/data.z.stb"; do
    repeat "$sb" read "$f" | awk '{ print $3, $4 }' | row "read $(basename "$f")" "$rows" "$(size "$f")"
done
for spec in "csv raw" "bin raw" "bin zlib"; do
    set -- $spec
    out=$("$sb" write "$1" "$2" "$dir/data.stb" - | awk '{ print $2 }')
    repeat "$sb" write "$1" "$2" "$dir/data.stb" - | awk '{ print $3, $4 }' | row "write $1 $2 (table in memory)" "$rows" "$out"
done

echo "-- strings and dates: $rows rows of id (string), date, label (string), x"
repeat timed "$cat_" --format bin "$tcsv" | row "stoch-cat typed csv -> bin" "$rows" "$(size "$tcsv")"
repeat timed "$cat_" "$dir/typed.stb" | row "stoch-cat typed bin -> csv" "$rows" "$(size "$dir/typed.stb")"
repeat timed "$cat_" --format bin "$dir/typed.stb" | row "stoch-cat typed bin -> bin" "$rows" "$(size "$dir/typed.stb")"
repeat timed "$cat_" --describe --seq-col id "$tcsv" | row "stoch-cat --describe typed csv" "$rows" "$(size "$tcsv")"

echo "-- stoch-cat end to end (output to /dev/null; MB/s of the input file)"
repeat timed "$cat_" --format bin "$csv" | row "stoch-cat csv -> bin" "$rows" "$(size "$csv")"
repeat timed "$cat_" "$dir/data.stb" | row "stoch-cat bin -> csv" "$rows" "$(size "$dir/data.stb")"
repeat timed "$cat_" --format bin "$dir/data.stb" | row "stoch-cat bin -> bin" "$rows" "$(size "$dir/data.stb")"
repeat timed "$cat_" --format bin --compress "$dir/data.stb" | row "stoch-cat bin -> bin --compress" "$rows" "$(size "$dir/data.stb")"
repeat timed "$cat_" --describe "$csv" | row "stoch-cat --describe csv" "$rows" "$(size "$csv")"
repeat timed "$cat_" --describe "$dir/data.stb" | row "stoch-cat --describe bin" "$rows" "$(size "$dir/data.stb")"

echo "-- peers on the same files"
awkv=$(awk -W version 2>/dev/null </dev/null | head -1 | cut -c1-20 || true)
repeat timed awk -F, 'NR > 1 { s += $3 } END { print s }' "$csv" | row "awk sum of column x (${awkv:-awk})" "$rows" "$(size "$csv")"
if [ -x "$py" ] && "$py" -c 'import numpy' 2>/dev/null; then
    repeat timed "$py" -c "import numpy, sys; numpy.loadtxt(sys.argv[1], delimiter=',', skiprows=1)" "$dir/data-1m.csv" |
        row "numpy.loadtxt, 1M-row subset" 1000000 "$(size "$dir/data-1m.csv")"
    repeat "$sb" read "$dir/data-1m.csv" | awk '{ print $3, $4 }' | row "stoch read csv, same 1M-row subset" 1000000 "$(size "$dir/data-1m.csv")"
    repeat timed "$py" -c "
import sys; sys.path.insert(0, '$top/tests/cli')
from numpy_read_stream import read_stream
read_stream(open(sys.argv[1], 'rb'))" "$dir/data.stb" | row "numpy reader of stoch-stream(5), raw" "$rows" "$(size "$dir/data.stb")"
else
    echo "numpy: /usr/bin/python3 has no numpy (skipped)"
fi
