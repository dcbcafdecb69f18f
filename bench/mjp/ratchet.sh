#!/bin/sh
# bench/mjp/ratchet.sh: the discrete flashing ratchet (data/mjp-ratchet.yaml,
# (V, r, b) = (1, 1, 1)) as the foundation-inference-model (FIM) papers
# use it: the panel maximum-likelihood estimate of (V, r, b) from each of
# R simulated data sets, and its root-mean-square error against the truth.
# Not a test.
#
# Environment: PATHS (paths per data set, default 1000), UNTIL (observation
# window, default 10), EVERY (snapshot spacing, default 0.5), SETS (data
# sets, default 20), NOISE (misclassification probability, default 0: with
# NOISE > 0 each snapshot is replaced by another state with that probability,
# spread evenly, and fitted with --hidden and that emission matrix).
# Run from a built tree: sh bench/mjp/ratchet.sh
set -e
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
top=${top_builddir:-$(pwd)}
PATH="$top/tools:$PATH"
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-ratchet.XXXXXX")
trap 'rm -rf "$work"' EXIT
paths=${PATHS:-1000} until=${UNTIL:-10} every=${EVERY:-0.5} sets=${SETS:-20} noise=${NOISE:-0}
emit=""
fit_kind="--panel"
if awk -v e="$noise" 'BEGIN { exit !(e > 0) }'; then
    awk -v e="$noise" 'BEGIN { print "emission:\n  matrix:"
        for (i = 0; i < 6; i++) { l = "    - ["; for (j = 0; j < 6; j++) l = l (j ? ", " : "") (i == j ? 1 - e : e / 5); print l "]" } }' \
        >"$work/emission.yaml"
    emit="--emission $work/emission.yaml"
    fit_kind="--hidden"
fi
echo "ratchet: $sets data sets of $paths paths, snapshots every $every on [0, $until], misclassification $noise"
: >"$work/est"
t0=$(date +%s.%N)
for s in $(seq 1 "$sets"); do
    mjp-sample -m "$src/data/mjp-ratchet.yaml" -n "$paths" --until "$until" --obs-every "$every" $emit \
        --seed "$s" -o "$work/d.csv"
    if [ -n "$emit" ]; then
        awk -F, -v OFS=, 'NR == 1 { print "seq,t,obs"; next } { print $1, $2, $4 }' "$work/d.csv" >"$work/o.csv"
        mv "$work/o.csv" "$work/d.csv"
    fi
    /usr/bin/time -f "%U %S" -o "$work/time" \
        mjp-infer $fit_kind -m "$src/data/mjp-ratchet-start.yaml" $emit -o "$work/fit.yaml" "$work/d.csv"
    awk '/^  parameters:/ { f = 1; next } f && /^    [Vrb]:/ { p = $1 } f && $1 == "estimate:" { e[p] = $2 }
         f && /^  [a-z]/ { f = 0 } END { printf "%s %s %s", e["V:"], e["r:"], e["b:"] }' "$work/fit.yaml" >>"$work/est"
    awk '{ printf " %.3f\n", $1 + $2 }' "$work/time" >>"$work/est"
done
t1=$(date +%s.%N)
awk -v w="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" '
    { for (k = 1; k <= 3; k++) { d = $k - 1; s[k] += d * d; m[k] += $k } c += $4; n++ }
    END {
        printf "  mean estimate  V %.4f  r %.4f  b %.4f\n", m[1] / n, m[2] / n, m[3] / n
        printf "  RMSE           V %.4f  r %.4f  b %.4f  (all three: %.4f)\n", sqrt(s[1] / n), sqrt(s[2] / n),
            sqrt(s[3] / n), sqrt((s[1] + s[2] + s[3]) / (3 * n))
        printf "  mjp-infer CPU per data set %.3f s (sampling and fitting: %.1f s wall for all)\n", c / n, w
    }' "$work/est"
