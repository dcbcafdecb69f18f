#!/bin/sh
# Numeric read speed, the code before string and time columns against this
# tree (issue 13: reading numbers-only data must not slow down by more than
# 5 %).  Builds the library of commit BEFORE (default bbcbd6e, the last
# commit before the stream types) in $BENCH_TMP/before, links the same
# harness (streambench.c) against both libraries and reads, back to back
# and alternating, a CSV of ROWS rows (default 1M) and a binary stream of
# 10 x ROWS rows, 4 columns (seq, t integers; x, y doubles), REPS times
# (default 5).  Prints CPU (user + sys) and wall, min and median, the load
# average before and after, and callgrind instruction counts of one read of
# each (load-independent) when valgrind is installed.  Run from a built
# tree: sh bench/stream/before-after.sh
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${top_builddir:-$(pwd)}
[ -f "$build/lib/libstoch.a" ] || build=$top
[ -f "$build/lib/libstoch.a" ] || { echo "before-after: build first" >&2; exit 1; }
before=${BEFORE:-bbcbd6e}
rows=${ROWS:-1000000}
reps=${REPS:-5}
dir=${BENCH_TMP:-/tmp/stochbench-stream}/before-after
mkdir -p "$dir"
if [ ! -f "$dir/before/lib/libstoch.a" ]; then
    rm -rf "$dir/before" && mkdir -p "$dir/before"
    git -C "$top" archive "$before" | tar -x -C "$dir/before"
    (cd "$dir/before" && autoreconf -fi >/dev/null 2>&1 && ./configure >/dev/null && make -j2 lib/libstoch.a >/dev/null)
fi
libs="$(pkg-config --libs zlib jansson) -lm"
cc -O2 -I"$dir/before/lib" -I"$dir/before" -o "$dir/sb-before" "$dir/before/bench/stream/streambench.c" "$dir/before/lib/libstoch.a" $libs
cc -O2 -I"$top/lib" -I"$build" -o "$dir/sb-now" "$here/streambench.c" "$build/lib/libstoch.a" $libs
csv=$dir/data-$rows.csv
[ -s "$csv" ] || awk -v n="$rows" 'BEGIN { srand(42); print "seq,t,x,y";
    for (i = 0; i < n; i++) printf "%d,%d,%.6f,%.17g\n", int(i / 1000), i % 1000, (rand() - 0.5) * 200, rand() }' >"$csv"
stb=$dir/data-10x$rows.stb
if [ ! -s "$stb" ]; then
    "$build/tools/stoch-cat" --format bin -o "$dir/one.stb" "$csv"
    "$build/tools/stoch-cat" --format bin -o "$stb" "$dir/one.stb" "$dir/one.stb" "$dir/one.stb" "$dir/one.stb" \
        "$dir/one.stb" "$dir/one.stb" "$dir/one.stb" "$dir/one.stb" "$dir/one.stb" "$dir/one.stb"
fi
echo "load before: $(cat /proc/loadavg)"
: >"$dir/times"
i=0
while [ $i -lt "$reps" ]; do
    for v in before now; do
        echo "$v csv $("$dir/sb-$v" read "$csv")" >>"$dir/times"
        echo "$v bin $("$dir/sb-$v" read "$stb")" >>"$dir/times"
    done
    i=$((i + 1))
done
echo "load after:  $(cat /proc/loadavg)"
for k in csv bin; do
    for v in before now; do
        grep "^$v $k " "$dir/times" | awk -v w="$v $k" '{ print $6, $5 }' | sort -n | awk -v w="$v $k" '
            { c[NR] = $1 } END { m = int((NR + 1) / 2)
              printf "%-11s cpu min %.4f median %.4f s   ", w, c[1], c[m] }'
        grep "^$v $k " "$dir/times" | awk '{ print $5 }' | sort -n | awk '{ w[NR] = $1 } END { printf "wall min %.4f median %.4f s\n", w[1], w[int((NR + 1) / 2)] }'
    done
done
if command -v valgrind >/dev/null 2>&1; then
    for v in before now; do
        for f in "$csv" "$dir/one.stb"; do
            n=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$dir/sb-$v" read "$f" 2>&1 >/dev/null | sed -n 's/.*Collected : //p')
            echo "callgrind $v $(basename "$f"): $n instructions"
        done
    done
fi
