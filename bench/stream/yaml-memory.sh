#!/bin/sh
# Peak memory of the YAML model reader (issue 18) on 32 MiB model files
# that lack a required key, so that the run is the read alone: a list of
# one-digit numbers (the worst case for numbers), numbers of a few digits,
# and lists of empty lists / empty mappings (the worst case of all).
#   sh bench/stream/yaml-memory.sh            # from the built tree
#   BASE=/path/to/old/hmm-decode sh bench/stream/yaml-memory.sh
#   REPS=3 (runs per file; peak RSS is the same each run, CPU the median)
set -eu
: "${REPS:=3}" "${BASE:=}"
new=${NEW:-tools/hmm-decode}
dir=$(mktemp -d "${TMPDIR:-/tmp}/yamlmem.XXXXXX")
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 - "$dir" <<'EOF'
import sys
d = sys.argv[1]
L = (32 << 20) - 64
def matrix(name, cell, per_row):
    row = "  - [" + ",".join([cell] * per_row) + "]\n"
    with open(f"{d}/{name}.yaml", "w") as f:
        f.write("model: hmm\nversion: 1\ncolumns: x\ntransitions:\n")
        f.write(row * (L // len(row)))
matrix("digits", "0", 8000)
matrix("numbers", "0.125", 4000)
n = L // 3
open(f"{d}/lists.yaml", "w").write("[" + "[]," * n + "[]]\n")
open(f"{d}/maps.yaml", "w").write("[" + "{}," * n + "{}]\n")
EOF
printf 'x\n1\n' >"$dir/x.csv"
measure() { # measure BIN FILE -> "peak_MB cpu_median_s"
    i=0
    : >"$dir/runs"
    while [ $i -lt "$REPS" ]; do
        /usr/bin/time -f '%M %U %S' -o "$dir/t" "$1" -m "$2" "$dir/x.csv" >/dev/null 2>&1 || true
        cat "$dir/t" >>"$dir/runs"
        i=$((i + 1))
    done
    peak=$(awk '{ if ($1 > m) m = $1 } END { printf "%.0f", m / 1024 }' "$dir/runs")
    cpu=$(awk '{ printf "%.2f\n", $2 + $3 }' "$dir/runs" | sort -n | awk '{ c[NR] = $1 } END { print c[int((NR + 1) / 2)] }')
    echo "$peak MB, $cpu s"
}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| file (32 MiB) | new: peak, cpu | base: peak, cpu |\n| --- | --- | --- |\n'
for f in digits numbers lists maps; do
    size=$(wc -c <"$dir/$f.yaml")
    b="-"
    [ -n "$BASE" ] && b=$(measure "$BASE" "$dir/$f.yaml")
    printf '| %s (%s bytes) | %s | %s |\n' "$f" "$size" "$(measure "$new" "$dir/$f.yaml")" "$b"
done
