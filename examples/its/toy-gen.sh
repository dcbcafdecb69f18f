#!/bin/sh
# Toy generator for its.sh: the next step of the text in $1 (a prompt line,
# then one step per line) is a digit drawn with awk's generator seeded by
# ITS_SEED; the text is finished (nothing printed) after TOY_STEPS steps
# (default 6), or at a 0 after the second step.
exec awk -v seed="${ITS_SEED:-1}" -v max="${TOY_STEPS:-6}" 'END {
    steps = NR - 1
    if (steps >= max)
        exit
    srand(seed)
    d = int(10 * rand())
    if (d == 0 && steps >= 2)
        exit
    print d
}' "$1"
