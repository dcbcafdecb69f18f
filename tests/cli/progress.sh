#!/bin/sh
# Progress of the long-running programs: run in a terminal (a tmux pane),
# each shows exactly one progress line on stderr; with stderr redirected to
# a log file it writes no progress at all (no line, no \r), and with -v the
# log gets plain lines without \r.  Skips without tmux.
. "${top_srcdir:-.}/tests/cli/tap.sh"
d="$top_srcdir/data"
if ! command -v tmux >/dev/null 2>&1; then
    skip "tmux is not installed (apt-get install tmux)"
    done_testing
    exit 0
fi

mjp-sample -m "$top_srcdir/tests/data/mjp-illness.yaml" -n 100 --until 12 --obs-random 6 --seed 5 >"$tmp/panel.csv" 2>/dev/null
hmm-fit -q -K 2 -r 1 -c waiting -o "$tmp/faithful.yaml" "$d/faithful.csv"

# name|command (stdout goes to a file; stderr to the pane or the log)
cat >"$tmp/cases" <<EOF
hmm-fit|hmm-fit -K 2..3 -r 2 -c waiting -o $tmp/m.yaml $d/faithful.csv
hmm-sample|hmm-sample -m $tmp/faithful.yaml -n 200 -T 100 -o $tmp/s.csv
mjp-infer|mjp-infer --panel --allowed 0-1,1-0,0-2,1-2 -o $tmp/mjp.yaml $tmp/panel.csv
pf-smooth|pf-smooth -m $d/pf-nile-lg.yaml -N 200 -o $tmp/pf.csv $d/nile.csv
pf-fit|pf-fit -m $d/pf-nile-lg.yaml -N 50 --steps 40 -o $tmp/pffit.yaml $d/nile.csv
ssm-forecast|ssm-forecast --model auto -c passengers -H 12 -o $tmp/fc.csv $d/airpassengers.csv
uq-entropy|uq-entropy -s all -o $tmp/uq.csv $d/uq-trivia.jsonl
EOF

sock="$tmp/tmux.sock"
i=0
while IFS='|' read -r name cmd; do
    i=$((i + 1))
    # in a 150-column terminal: stderr on the pane, stdout to a file
    tmux -S "$sock" new-session -d -x 150 -y 40 \
        "$cmd >$tmp/tty$i.out; echo exit=\$? >$tmp/tty$i.rc; tmux -S $sock wait-for -S done$i; sleep 60"
    tmux -S "$sock" wait-for "done$i"
    tmux -S "$sock" capture-pane -p >"$tmp/pane$i"
    tmux -S "$sock" kill-server 2>/dev/null
    check "$name in a terminal exits 0" grep -q '^exit=0' "$tmp/tty$i.rc"
    n=$(grep -Ec "^$name: .*(done in|ETA|[0-9]/s)" "$tmp/pane$i")
    if [ "$n" -eq 1 ]; then ok "$name in a terminal: one progress line"; else
        not_ok "$name in a terminal: one progress line ($n)"
        sed 's/^/#   /' "$tmp/pane$i" | grep -v '^#   $' | head -10
    fi
    check "$name: the line counts and says done" grep -Eq "^$name: .*[0-9]+(/[0-9]+)? [a-z].*done in " "$tmp/pane$i"
    # redirected: nothing on stderr
    sh -c "$cmd" >/dev/null 2>"$tmp/log$i"
    check "$name redirected exits 0" [ $? -eq 0 ]
    check "$name redirected: no progress in the log" sh -c "! grep -Eq '(done in|ETA|[0-9]/s)' '$tmp/log$i' && ! grep -q \"\$(printf '\r')\" '$tmp/log$i'"
    # -v to a log: plain lines only
    sh -c "$cmd -v" >/dev/null 2>"$tmp/vlog$i"
    check "$name -v to a log: no \\r or escape codes" sh -c "! grep -q \"\$(printf '\r\\\\|\033')\" '$tmp/vlog$i'"
    check "$name -v to a log: a final progress line" grep -q "^$name: .*done in " "$tmp/vlog$i"
done <"$tmp/cases"

# -q on a terminal: no progress line
tmux -S "$sock" new-session -d -x 150 -y 40 \
    "hmm-fit -q -K 2 -r 2 -c waiting -o $tmp/q.yaml $d/faithful.csv; tmux -S $sock wait-for -S doneq; sleep 60"
tmux -S "$sock" wait-for doneq
tmux -S "$sock" capture-pane -p >"$tmp/paneq"
tmux -S "$sock" kill-server 2>/dev/null
check "hmm-fit -q in a terminal: no progress line" sh -c "! grep -q '^hmm-fit:' '$tmp/paneq'"
done_testing
