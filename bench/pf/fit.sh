#!/bin/sh
# bench/pf/fit.sh: pf-fit's score ascent against the exact maximum
# likelihood, and its cost per step.  Not a test.
#  1. A linear Gaussian AR(1) model (phi 0.8, q 0.5, r 1; T = 250 simulated
#     with awk), fitted from the truth by ppg-sga and by paris-sga at the
#     same N and cost, over FIT_BENCH_SEEDS seeds: the mean estimate, its
#     standard error and its distance to the exact maximum likelihood in
#     standard errors (the exact MLE from the Kalman filter maximised by
#     scipy, when /usr/bin/python3 has it).
#  2. CPU seconds per ascent step (-j 1, min of 3) on the SV model against N.
#   FIT_BENCH_N=50 FIT_BENCH_STEPS=300 FIT_BENCH_SEEDS=6
#   FIT_BENCH_NS="100 1000 10000"  FIT_BENCH_T=500
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
tool=${PF_FIT:-$top/tools/pf-fit}
[ -x "$tool" ] || { echo "bench/pf/fit.sh: build first ($tool missing)"; exit 1; }
N=${FIT_BENCH_N:-50}
steps=${FIT_BENCH_STEPS:-300}
seeds=${FIT_BENCH_SEEDS:-6}
ns=${FIT_BENCH_NS:-"100 1000 10000"}
T=${FIT_BENCH_T:-500}
work=$(mktemp -d /tmp/fitbench.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

awk 'BEGIN { srand(5); print "t,y"; x = 1.5 * g(); for (t = 1; t <= 250; t++) { if (t > 1) x = 0.8 * x + sqrt(0.5) * g();
     printf "%d,%.10g\n", t, x + g() } } function g() { return sqrt(-2 * log(1 - rand())) * cos(6.283185307179586 * rand()) }' >"$work/lg.csv"
cat >"$work/lg.yaml" <<'EOY'
model: pf
version: 1
parameters: {phi: 0.8, q: 0.5, r: 1}
constraints: {phi: signed-unit, q: positive, r: positive}
initial: {dist: normal, mean: 0, sd: 1.5}
transition: {dist: normal, mean: phi * x, sd: sqrt(q)}
observation: {dist: normal, mean: x, sd: sqrt(r)}
EOY
mle="- - -"
if /usr/bin/python3 -c "import scipy" 2>/dev/null; then
    mle=$(/usr/bin/python3 - "$work/lg.csv" <<'EOP'
import sys, numpy as np
from scipy.optimize import minimize
y = np.loadtxt(sys.argv[1], delimiter=',', skiprows=1)[:, 1]
def nll(u):
    phi, q, r = np.tanh(u[0]), np.exp(u[1]), np.exp(u[2])
    a, P, L = 0.0, 2.25, 0.0
    for yt in y:
        F = P + r; v = yt - a; L += -0.5 * (np.log(2 * np.pi * F) + v * v / F)
        a += P / F * v; P *= 1 - P / F; a *= phi; P = phi * phi * P + q
    return -L
u = minimize(nll, [np.arctanh(0.8), np.log(0.5), 0.0], method='Nelder-Mead',
             options={'xatol': 1e-10, 'fatol': 1e-12, 'maxiter': 20000}).x
print("%.6f %.6f %.6f" % (np.tanh(u[0]), np.exp(u[1]), np.exp(u[2])))
EOP
)
fi
echo "linear Gaussian AR(1), T = 250, N = $N, $steps steps, $seeds seeds; exact MLE (phi q r): $mle"
printf "%-10s %-5s %10s %10s %10s %8s\n" method par mean se mle "z"
for method in ppg-sga paris-sga; do
    for s in $(seq 1 "$seeds"); do
        "$tool" -m "$work/lg.yaml" --method $method -N "$N" --steps "$steps" --seed "$s" -j 1 "$work/lg.csv" |
            awk '/^parameters:/ { p = 1; next } p && /^  [a-z]/ { printf "%s ", $2 } p && !/^  / { exit }'
        echo
    done >"$work/est"
    awk -v m="$method" -v mle="$mle" 'BEGIN { split("phi q r", nm, " "); split(mle, x, " ") }
        { for (i = 1; i <= 3; i++) { s[i] += $i; s2[i] += $i * $i } }
        END { for (i = 1; i <= 3; i++) { a = s[i] / NR; se = sqrt((s2[i] / NR - a * a) / (NR - 1))
              z = x[i] == "-" ? "-" : sprintf("%.1f", (a - x[i]) / se)
              printf "%-10s %-5s %10.4f %10.4f %10s %8s\n", m, nm[i], a, se, x[i], z } }' "$work/est"
done

awk -F, 'NR == 1 { print "t,y"; next } NR > 2 && NR <= '"$T"' + 2 { printf "%d,%.10g\n", NR - 2, 100 * log($2 / p) } { p = $2 }' \
    "$top/data/eustockmarkets.csv" >"$work/dax.csv"
echo
echo "CPU seconds per ascent step (-j 1, min of 3), SV model (data/pf-sv.yaml), DAX returns, T = $T"
printf "%8s %12s %12s\n" N ppg-sga paris-sga
for n in $ns; do
    st=20
    [ "$n" -ge 10000 ] && st=4
    row=""
    for method in ppg-sga paris-sga; do
        b=
        for i in 1 2 3; do
            /usr/bin/time -f "%U %S" -o "$work/time" "$tool" -m "$top/data/pf-sv.yaml" --method $method -N "$n" \
                --steps $st --burn 0 -j 1 "$work/dax.csv" >/dev/null 2>&1
            t=$(awk -v s=$st '{ printf "%.4f", ($1 + $2) / s }' "$work/time")
            b=$(awk -v a="$b" -v t="$t" 'BEGIN { print (a == "" || t < a) ? t : a }')
        done
        row="$row $(printf "%12s" "$b")"
    done
    printf "%8s%s\n" "$n" "$row"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
