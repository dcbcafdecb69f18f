#!/bin/sh
# Agreement with GHMM (Debian libghmm-dev): GHMM's discrete Baum-Welch and
# hmm-fit, started from the same model on the same sequences, give the same
# log-likelihood after each of 8 iterations, to 1e-8 relative.  The GHMM
# side is bench/hmm/ghmm_bw.c, compiled here against the static libghmm.a
# (PEERS.md: the shared library needs ATLAS symbols); SKIPs when GHMM or a
# C compiler is absent.
. "$top_srcdir/tests/cli/tap.sh"

lib=/usr/lib/x86_64-linux-gnu/libghmm.a
if [ ! -f "$lib" ] || [ ! -d /usr/include/ghmm ]; then
    skip "GHMM is not installed (apt-get install libghmm-dev)"
    done_testing
    exit 0
fi
if ! ${CC:-cc} -O2 -o "$tmp/ghmm_bw" "$top_srcdir/bench/hmm/ghmm_bw.c" "$lib" -lxml2 -lm 2>"$tmp/cc.err"; then
    skip "cannot build the GHMM peer: $(head -1 "$tmp/cc.err")"
    done_testing
    exit 0
fi
n=8
hmm-sample -m "$data/hmm-cat2.yaml" -n 20 -T 200 --seed 4 > "$tmp/g.csv"
"$tmp/ghmm_bw" "$tmp/g.csv" 2 3 $n "$tmp/init.yaml" > "$tmp/ghmm.txt" 2>"$tmp/ghmm.err"
check "GHMM ran $n iterations" [ "$(wc -l < "$tmp/ghmm.txt")" -eq $n ]
expect_exit 0 "hmm-fit from GHMM's initial model" \
    hmm-fit -vv --init "$tmp/init.yaml" --max-iter $n --tol 1e-300 --prob-floor 0 -o "$tmp/fit.yaml" "$tmp/g.csv"
sed -n 's/.* iteration \([0-9]*\) logL \([^ ]*\) .*/\2/p' "$tmp/err" > "$tmp/ours.txt"
worst=$(paste -d' ' "$tmp/ours.txt" "$tmp/ghmm.txt" |
    awk '{ d = ($1 - $2) / $2; if (d < 0) d = -d; if (d > w) w = d } END { printf "%.3g", w }')
check "logL after each iteration agrees with GHMM to 1e-8 relative (worst $worst)" \
    sh -c "[ \$(wc -l < '$tmp/ours.txt') -eq $n ] && awk -v w='$worst' 'BEGIN { exit !(w <= 1e-8) }'"
done_testing
