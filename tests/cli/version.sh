#!/bin/sh
# Every program's --version names the program, the package and the licence
# (LICENSE at the top of the source tree), and exits 0.
. "${top_srcdir:-.}/tests/cli/tap.sh"
for prog in "$top_builddir"/tools/*; do
    [ -x "$prog" ] && [ -f "$prog" ] || continue
    case $prog in *.c | *.h | *.o) continue ;; esac
    name=$(basename "$prog")
    run "$prog" --version
    check "$name --version exits 0" [ "$rc" -eq 0 ]
    check "$name --version names the program" grep -q "^$name (stochtools) [0-9]" "$tmp/out"
    check "$name --version names the licence" grep -q '^License: MIT' "$tmp/out"
done
check "LICENSE is the MIT licence" grep -q '^MIT License' "$top_srcdir/LICENSE"
done_testing
