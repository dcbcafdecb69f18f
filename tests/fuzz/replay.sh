#!/bin/sh
# make check: every fuzz harness replays its seeds (tests/fuzz/seeds/NAME)
# and the inputs that once crashed or blew up (tests/fuzz/regress/NAME)
# through driver.c, without libFuzzer, with the normal compiler (and under
# ASan/UBSan in CI's sanitizer build).  Each input must pass the harness's
# checks within FUZZ_TIMEOUT seconds, the whole replay within FUZZ_RSS_MB.
. "$top_srcdir/tests/cli/tap.sh"
fz="$top_srcdir/tests/fuzz"
for src in "$fz"/*_fuzz.c; do
    name=$(basename "$src" _fuzz.c)
    exe="$top_builddir/tests/fuzz/${name}_replay"
    if [ ! -x "$exe" ]; then
        not_ok "$name: $exe is not built"
        continue
    fi
    dirs=
    for d in "$fz/seeds/$name" "$fz/regress/$name"; do
        [ -d "$d" ] && dirs="$dirs $d"
    done
    if [ -z "$dirs" ]; then
        not_ok "$name: no seeds"
        continue
    fi
    run "$exe" $dirs
    n=$(sed -n 's/^driver: \([0-9]*\) inputs.*/\1/p' "$tmp/err")
    if [ "$rc" -eq 0 ] && [ "${n:-0}" -gt 0 ]; then
        ok "$name: $n inputs replayed ($(sed -n 's/^driver: [0-9]* inputs, //p' "$tmp/err"))"
    else
        not_ok "$name: replay failed (exit $rc)"
        grep -v '^driver: ' "$tmp/err" | head -40 | sed 's/^/#   /'
    fi
done
done_testing
