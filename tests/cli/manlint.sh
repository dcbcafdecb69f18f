#!/bin/sh
# Every man page is mandoc -T lint clean (run only when mandoc is installed).
. "${top_srcdir:-.}/tests/cli/tap.sh"
for page in "$top_srcdir"/man/man1/*.1 "$top_srcdir"/man/man5/*.5; do
    [ -f "$page" ] || continue
    name=$(basename "$page")
    if out=$(mandoc -T lint -W warning "$page" 2>&1) && [ -z "$out" ]; then
        ok "mandoc lint $name"
    else
        not_ok "mandoc lint $name"
        printf '%s\n' "$out" | sed 's/^/#   /' | head -10
    fi
done
done_testing
