#!/bin/sh
# Options: every option a program's --help lists is in its man page and
# every option its man page lists is in --help (both directions); and each
# short option letter means one thing across the toolkit, as the table in
# docs/OPTIONS.md records (a letter and the long option it abbreviates).
. "${top_srcdir:-.}/tests/cli/tap.sh"
table="$top_srcdir/docs/OPTIONS.md"

# Option lines of --help: leading spaces and a dash; the spec is the text
# before the first two spaces: "-K, --states N", "--seed S".  One line per
# option "SHORT LONG" (- when absent).
help_opts() {
    "$1" --help | awk '/^ +-/ {
        line = $0; sub(/^ +/, "", line); split(line, w, /  +/)
        m = split(w[1], t, /, */); s = "-"; l = "-"; more = ""
        for (i = 1; i <= m; i++) {
            split(t[i], u, /[ =\[]/); o = u[1]
            if (o ~ /^--[a-z]/) { if (l == "-") l = o; else more = more " " o }
            else if (o ~ /^-[A-Za-z0-9]$/) s = o
        }
        if (s != "-" || l != "-") print s, l
        n = split(more, x, " ")
        for (i = 1; i <= n; i++) print "-", x[i]
    }'
}
# Options a man page describes: every Fl on an .It line (mdoc).
man_opts() {
    awk '/^\.It / { for (i = 2; i < NF; i++) if ($i == "Fl") print "-" $(i + 1) }' "$1" | sed 's/[,.;:)]*$//' | sort -u
}

for prog in "$top_builddir"/tools/*; do
    [ -x "$prog" ] && [ -f "$prog" ] || continue
    case $prog in *.c | *.h | *.o) continue ;; esac
    name=$(basename "$prog")
    page="$top_srcdir/man/man1/$name.1"
    if [ ! -f "$page" ]; then not_ok "$name has a man page"; continue; fi
    help_opts "$prog" >"$tmp/$name.pairs"
    tr ' ' '\n' <"$tmp/$name.pairs" | grep -v '^-$' | sort -u >"$tmp/$name.help"
    man_opts "$page" >"$tmp/$name.man"
    missing=$(comm -23 "$tmp/$name.help" "$tmp/$name.man" | tr '\n' ' ')
    check "$name: every --help option is in $name(1)${missing:+ (missing: $missing)}" [ -z "$missing" ]
    extra=$(comm -13 "$tmp/$name.help" "$tmp/$name.man" | tr '\n' ' ')
    check "$name: every option of $name(1) is in --help${extra:+ (not in --help: $extra)}" [ -z "$extra" ]
    # letters: the table row of each short option names its long option
    bad=
    while read -r s l; do
        [ "$s" = - ] && continue
        row=$(grep -F "| \`$s\` |" "$table" | head -1)
        if [ -z "$row" ]; then bad="$bad $s(no row)"; continue; fi
        printf '%s\n' "$row" | grep -qF -- "\`$l\`" || bad="$bad $s$l"
    done <"$tmp/$name.pairs"
    check "$name: each short option means what docs/OPTIONS.md says${bad:+ (differs:$bad)}" [ -z "$bad" ]
done
# the table lists no letter twice
dups=$(grep -o '^| `-[A-Za-z0-9]`' "$table" | sort | uniq -d | tr '\n' ' ')
check "docs/OPTIONS.md has one row per letter${dups:+ ($dups)}" [ -z "$dups" ]
done_testing
