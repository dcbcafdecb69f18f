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
cp "$top_srcdir/examples/hmm-architectures/Makefile" "$tmp/Makefile"
if make -C "$tmp" DATA="$top_srcdir/data" N="${HMM_ARCH_N:-30000}" T="${HMM_ARCH_T:-50}" RESTARTS=2 >"$tmp/log" 2>&1; then
    ok "the experiment ran"
else
    not_ok "the experiment ran"
    tail -5 "$tmp/log" | sed 's/^/#   /'
fi
for a in linear-2 linear-3 linear-4 linear-5 full-3 cyclic-4; do
    line=$(grep "^$a " "$tmp/out/summary.txt" 2>/dev/null)
    diag "$line"
    check "BIC picks the true number of states for $a" sh -c "echo '$line' | grep -q '(ok)'"
done
done_testing
