#!/bin/sh
# Inference-time scaling with particles (Puri et al. 2025, "A probabilistic
# inference approach to inference-time scaling of LLMs using particle-based
# Monte Carlo methods"): N partial generations are extended one step at a
# time by a generator command, scored by a reward command, and resampled
# by pf-resample running as a co-process; with -g, particle Gibbs repeats
# the filter keeping one reference trajectory from the previous iteration.
#
#   its.sh [-n N] [-g ITERS] [-T TEMP] [-w softmax|increment|total] [-s SEED]
#          [-o OUT] GEN REWARD PROMPT
#
# GEN FILE prints the next step of the text in FILE (the prompt, then one
# step per line) as one line, or nothing when the text is finished.
# REWARD FILE prints one number: the log-weight of the text (with the
# default --weights softmax, its whole score, e.g. a process reward
# model's log-probability that the answer will be right).  Both are run
# with ITS_PARTICLE, ITS_STEP, ITS_ITER and ITS_SEED in the environment
# (a stochastic generator should draw from them).  The final particles go
# to OUT (default stdout) as CSV: iter, particle, weight, logw, text (steps
# joined by " | "); with -g one block per iteration, and the reference
# chosen at each iteration's end marked chosen = 1.
#
# Needs pf-resample on PATH; runs anywhere POSIX sh and mkfifo do.
set -eu

n=8 iters=0 temp=1 weights=softmax seed=1 out=-
while getopts n:g:T:w:s:o: opt; do
    case $opt in
    n) n=$OPTARG ;;
    g) iters=$OPTARG ;;
    T) temp=$OPTARG ;;
    w) weights=$OPTARG ;;
    s) seed=$OPTARG ;;
    o) out=$OPTARG ;;
    *) echo "usage: its.sh [-n N] [-g ITERS] [-T TEMP] [-w WEIGHTS] [-s SEED] [-o OUT] GEN REWARD PROMPT" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 3 ] || { echo "its.sh: need GEN REWARD PROMPT (see the top of the script)" >&2; exit 2; }
gen=$1 reward=$2 prompt=$3
[ -r "$prompt" ] || { echo "its.sh: cannot read the prompt $prompt" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/its.XXXXXX")
pid=
cleanup() {
    exec 3>&- 4<&- 2>/dev/null || true
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

gibbs=
[ "$iters" -gt 0 ] && gibbs=--gibbs
[ "$iters" -gt 0 ] || iters=1
ncol=7
[ -n "$gibbs" ] && ncol=8

# pf-resample as a co-process: N rows in, N rows out, a step at a time.
mkfifo "$work/in" "$work/out"
pf-resample -N "$n" --always --weights "$weights" --temperature "$temp" --seed "$seed" $gibbs \
    <"$work/in" >"$work/out" &
pid=$!
exec 3>"$work/in"
exec 4<"$work/out"
if [ -n "$gibbs" ]; then echo "step,particle,logw,done,ref" >&3; else echo "step,particle,logw,done" >&3; fi
IFS= read -r header <&4

[ "$out" = - ] || : >"$out"
emit() { if [ "$out" = - ]; then cat; else cat >>"$out"; fi; }
echo "iter,particle,weight,logw,text${gibbs:+,chosen}" | emit

nlines=$(wc -l <"$prompt")
refp= # the reference trajectory (particle Gibbs), its final text
it=0
while [ "$it" -lt "$iters" ]; do
    mkdir -p "$work/p" "$work/q"
    i=0
    while [ "$i" -lt "$n" ]; do
        cp "$prompt" "$work/p/$i"
        echo 0 >"$work/p/$i.done"
        echo 0 >"$work/p/$i.logw"
        i=$((i + 1))
    done
    step=0
    while :; do
        # extend and score every unfinished particle; slot 0 replays the
        # reference's steps when there is one
        alldone=1
        rows=
        i=0
        while [ "$i" -lt "$n" ]; do
            f=$work/p/$i
            d=$(cat "$f.done")
            if [ "$d" = 0 ]; then
                export ITS_PARTICLE=$i ITS_STEP=$step ITS_ITER=$it ITS_SEED=$((seed * 1000003 + it * 10007 + step * 101 + i))
                if [ -n "$refp" ] && [ "$i" = 0 ]; then
                    have=$(wc -l <"$f")
                    if [ "$have" -lt "$(wc -l <"$refp")" ]; then
                        sed -n "$((have + 1))p" "$refp" >>"$f"
                    else
                        d=1
                    fi
                else
                    next=$($gen "$f")
                    if [ -n "$next" ]; then printf '%s\n' "$next" >>"$f"; else d=1; fi
                fi
                echo "$d" >"$f.done"
                $reward "$f" >"$f.logw"
            fi
            [ "$d" = 1 ] || alldone=0
            r=
            [ -n "$gibbs" ] && { if [ -n "$refp" ] && [ "$i" = 0 ]; then r=,1; else r=,0; fi; }
            rows="$rows$step,$i,$(cat "$f.logw"),$d$r
"
            i=$((i + 1))
        done
        printf '%s' "$rows" >&3
        # the answer: copy each particle's ancestor into its slot
        i=0
        while [ "$i" -lt "$n" ]; do
            IFS=, read -r s p a wgt ess logz res chosen <&4
            for x in "" .done .logw; do cp "$work/p/$a$x" "$work/q/$p$x"; done
            if [ "$alldone" = 1 ]; then
                text=$(tail -n +"$((nlines + 1))" "$work/p/$p" | awk 'NR > 1 { printf " | " } { printf "%s", $0 }')
                printf '%s,%s,%s,%s,"%s"%s\n' "$it" "$p" "$wgt" "$(cat "$work/p/$p.logw")" \
                    "$(printf '%s' "$text" | sed 's/"/""/g')" "${gibbs:+,$chosen}" | emit
                [ -n "$gibbs" ] && [ "$chosen" = 1 ] && cp "$work/p/$p" "$work/ref"
            fi
            i=$((i + 1))
        done
        [ "$alldone" = 1 ] && break
        rm -rf "$work/p"
        mv "$work/q" "$work/p"
        mkdir "$work/q"
        step=$((step + 1))
    done
    rm -rf "$work/p" "$work/q"
    [ -n "$gibbs" ] && refp=$work/ref
    it=$((it + 1))
done
exec 3>&-
wait "$pid"
pid=
