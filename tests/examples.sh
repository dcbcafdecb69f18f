#!/bin/bash
# Every example in README.md, docs/TUTORIAL.md and the man pages' EXAMPLES
# runs as written on an installed tree, from outside the source tree.
#
#     tests/examples.sh SRCDIR BINDIR DATADIR
#
# BINDIR holds the installed programs, DATADIR the installed example data
# ($(datadir)/stochtools).  Each document's examples run in order in one
# fresh directory outside the source tree where `data` is a link to DATADIR
# (as the docs say: ln -s /usr/local/share/stochtools data), with BINDIR
# first on PATH; /usr/local/share/stochtools in a command is replaced by
# DATADIR (a DESTDIR install).  A block must exit 0 (bash -e -o pipefail).
# Blocks written as a terminal session ("$ command" lines followed by the
# output) must also print exactly the output shown.
#
# Which blocks: in Markdown, ```sh and ```console fences, except the one
# after <!-- quickstart --> (CI runs it) and any after <!-- not run: why -->;
# in man pages, the .Bd -literal blocks of EXAMPLES.
# Output is TAP, so `make installcheck` and CI read it alike.
set -u
src=${1:?usage: examples.sh SRCDIR BINDIR DATADIR}
bindir=${2:?}
datadir=${3:?}
src=$(cd "$src" && pwd)
bindir=$(cd "$bindir" && pwd)
datadir=$(cd "$datadir" && pwd)
export PATH="$bindir:$PATH" LC_ALL=C
work=$(mktemp -d "${TMPDIR:-/tmp}/stochex.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT
n=0 failed=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }

# blocks FILE: the example blocks of FILE into $work/blocks/NNN (first line:
# "kind line"), kind sh (a script) or console ($ lines and their output).
blocks() {
    rm -rf "$work/blocks"
    mkdir -p "$work/blocks"
    case $1 in
    *.md)
        awk -v dir="$work/blocks" '
            /^<!-- (quickstart|not run)/ { skip = 1; next }
            !inb && /^```(sh|console)[ \t]*$/ {
                inb = 1; k++; kind = ($0 ~ /console/) ? "console" : "sh"
                f = sprintf("%s/%03d", dir, k); printf "%s %d\n", (skip ? "skip" : kind), NR > f
                skip = 0; next }
            inb && /^```/ { inb = 0; close(f); next }
            inb { print >> f }
            !inb && NF && !/^<!--/ { skip = 0 }' "$1" ;;
    *.1)
        awk -v dir="$work/blocks" '
            /^\.Sh / { ex = ($0 == ".Sh EXAMPLES"); next }
            ex && /^\.Bd -literal/ { inb = 1; k++; f = sprintf("%s/%03d", dir, k); printf "sh %d\n", NR > f; next }
            ex && /^\.Ed/ { inb = 0; close(f); next }
            inb { gsub(/\\e/, "\\"); gsub(/\\\(aq/, "\047"); gsub(/\\&/, ""); print >> f }' "$1" ;;
    esac
    for b in "$work/blocks"/*; do
        [ -f "$b" ] || continue
        # a man page block written as a session: "$ " lines
        if head -1 "$b" | grep -q '^sh' && sed -n '2p' "$b" | grep -q '^\$ '; then
            sed -i '1s/^sh/console/' "$b"
        fi
    done
}

run_sh() { # FILE LABEL
    tail -n +2 "$1" | sed "s|/usr/local/share/stochtools|$datadir|g" >"$work/script.sh"
    if (cd "$dir" && timeout 300 bash -e -o pipefail "$work/script.sh" >"$work/out" 2>"$work/err"); then
        ok "$2"
    else
        not_ok "$2 (exit $?)"
        sed 's/^/#   /' "$work/script.sh" | head -8
        tail -5 "$work/err" | sed 's/^/#   stderr: /'
    fi
}

# same_to_digits WANT GOT: the same text, numbers equal to 1e-9 relative.
# The docs show full-precision output; its last bits may differ between
# CPUs and BLAS builds (bit-identity is promised across -j and ranks on one
# machine, not across machines), so those digits are not a documentation
# error.
same_to_digits() {
    awk 'NR == FNR { want[FNR] = $0; n = FNR; next }
        { if (!(FNR in want)) exit 1
          a = want[FNR]; b = $0
          na = split(a, x, /[, \t\[\]:]+/); nb = split(b, y, /[, \t\[\]:]+/)
          if (na != nb) exit 1
          for (i = 1; i <= na; i++) {
              if (x[i] == y[i]) continue
              if (x[i] !~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/ || y[i] !~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/) exit 1
              d = x[i] - y[i]; if (d < 0) d = -d
              m = x[i] < 0 ? -x[i] : x[i]
              if (d > 1e-9 * m && d > 1e-300) exit 1
          }
          got = FNR }
        END { exit !(got == n) }' "$1" "$2"
}

run_console() { # FILE LABEL: "$ cmd" lines, each followed by its stdout
    local cmd="" want="$work/want" bad=0 line
    : >"$want"
    flush() {
        [ -n "$cmd" ] || return 0
        if ! (cd "$dir" && timeout 300 bash -e -o pipefail -c "$cmd" >"$work/got" 2>"$work/err"); then
            not_ok "$2: \$ $cmd (exit status)"
            tail -3 "$work/err" | sed 's/^/#   stderr: /'
            bad=1
        elif ! cmp -s "$want" "$work/got" && ! same_to_digits "$want" "$work/got"; then
            not_ok "$2: \$ $cmd (output differs from the docs)"
            diff "$want" "$work/got" | head -10 | sed 's/^/#   /'
            bad=1
        else
            ok "$2: \$ $cmd"
        fi
        cmd=""
        : >"$want"
    }
    while IFS= read -r line; do
        case $line in
        '$ '*)
            flush "$1" "$2"
            cmd=$(printf '%s' "${line#\$ }" | sed "s|/usr/local/share/stochtools|$datadir|g") ;;
        *) [ -n "$cmd" ] && printf '%s\n' "$line" >>"$want" ;;
        esac
    done < <(tail -n +2 "$1")
    flush "$1" "$2"
    return $bad
}

docs=("$src/README.md")
[ -f "$src/docs/TUTORIAL.md" ] && docs+=("$src/docs/TUTORIAL.md")
docs+=("$src"/man/man1/*.1)
for doc in "${docs[@]}"; do
    name=${doc#"$src"/}
    dir="$work/run/$(basename "$doc")"
    mkdir -p "$dir"
    ln -s "$datadir" "$dir/data"
    blocks "$doc"
    for b in "$work/blocks"/*; do
        [ -f "$b" ] || continue
        read -r kind line <"$b"
        case $kind in
        skip) ;;
        sh) run_sh "$b" "$name:$line" ;;
        console) run_console "$b" "$name:$line" ;;
        esac
    done
done
echo "1..$n"
[ "$failed" -eq 0 ]
