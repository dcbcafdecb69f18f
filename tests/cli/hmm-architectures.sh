#!/bin/sh
# The architecture experiment at full size: 30,000 sequences from
# each model in data/hmm-*.yaml, refitted with K-1..K+1 states; BIC must pick
# the true K for every one.  It takes hours on a small machine, so it runs
# only with STOCH_LONG_TESTS=1 (otherwise it SKIPs); `make check` covers the
# same models at 1,000 sequences in tests/unit/test_hmm_arch.c.  Override
# the size with HMM_ARCH_N / HMM_ARCH_T.
. "$top_srcdir/tests/cli/tap.sh"

if [ "${STOCH_LONG_TESTS:-0}" != 1 ]; then
    skip "long test: set STOCH_LONG_TESTS=1 to sample 30,000 sequences per architecture"
    done_testing
    exit 0
fi
command -v make >/dev/null 2>&1 || { skip "make is not installed"; done_testing; exit 0; }
cp "$top_srcdir/examples/hmm-architectures/Makefile" "$top_srcdir/examples/hmm-architectures/compare.awk" "$tmp/"
if make -C "$tmp" DATA="$top_srcdir/data" N="${HMM_ARCH_N:-30000}" T="${HMM_ARCH_T:-50}" RESTARTS=2 >"$tmp/log" 2>&1; then
    ok "the experiment ran"
else
    not_ok "the experiment ran"
    tail -5 "$tmp/log" | sed 's/^/#   /'
fi
T=${HMM_ARCH_T:-50}
for a in linear-2 linear-3 linear-4 linear-5 full-3 cyclic-4; do
    line=$(grep "^$a " "$tmp/out/summary.txt" 2>/dev/null)
    diag "$line"
    if echo "$line" | grep -q '(ok)'; then
        ok "BIC picks the true number of states for $a"
    elif [ "$T" -lt 300 ] && { [ $a = linear-4 ] || [ $a = linear-5 ]; }; then
        # measured at T = 50: even the true model is only 10-18 nats more
        # likely than the best fit with one state fewer, BIC charges 64-78
        tap_n=$((tap_n + 1))
        echo "not ok $tap_n - BIC picks the true number of states for $a # TODO not BIC-identifiable at T=$T (see examples/hmm-architectures/README.md)"
    else
        not_ok "BIC picks the true number of states for $a"
    fi
done
done_testing
