#!/bin/sh
# Program conventions that lib/core/cli.c gives every program: -o through
# symbolic links with the mode kept, descriptors written in place, hidden
# temporary files, signals ignored on entry staying ignored, and errors
# naming the output.  stoch-cat stands for all programs here;
# tests/cli/badinput.sh runs the error cases through every program.
. "$top_srcdir/tests/cli/tap.sh"

printf 'x\n1\n2\n' >"$tmp/in.csv"
mkdir "$tmp/d" "$tmp/d/sub"

# -o onto a symbolic link writes through it; the link stays a link.
echo old >"$tmp/d/sub/target.csv"
chmod 640 "$tmp/d/sub/target.csv"
ln -s sub/target.csv "$tmp/d/link.csv"
expect_exit 0 "-o onto a symbolic link" stoch-cat -o "$tmp/d/link.csv" "$tmp/in.csv"
check "the link is still a link" test -L "$tmp/d/link.csv"
check "its target got the output" cmp -s "$tmp/d/sub/target.csv" "$tmp/in.csv"
check "the target kept its mode (640)" test "$(stat -c %a "$tmp/d/sub/target.csv")" = 640
check "nothing else was left" test "$(ls -A "$tmp/d" | tr '\n' ' ')" = "link.csv sub " -a \
    "$(ls -A "$tmp/d/sub")" = target.csv

# A dangling link: the file is made where the link points.
ln -s sub/new.csv "$tmp/d/dangling.csv"
expect_exit 0 "-o onto a dangling link" stoch-cat -o "$tmp/d/dangling.csv" "$tmp/in.csv"
check "the file appears at the link's target" cmp -s "$tmp/d/sub/new.csv" "$tmp/in.csv"

# /dev/stdout and /dev/fd/N are the descriptors: written at their offset,
# so an appending redirection keeps what was there.
echo header >"$tmp/append.csv"
stoch-cat -o /dev/stdout "$tmp/in.csv" >>"$tmp/append.csv"
check "-o /dev/stdout with stdout appending to a file" test "$(cat "$tmp/append.csv" | tr '\n' ' ')" = "header x 1 2 "
ln -s /dev/stdout "$tmp/d/out-link"
stoch-cat -o "$tmp/d/out-link" "$tmp/in.csv" >"$tmp/via-link.csv"
check "-o onto a link to /dev/stdout" cmp -s "$tmp/via-link.csv" "$tmp/in.csv"
check "/dev/stdout is still a link" test -L /dev/stdout
stoch-cat -o /dev/fd/3 "$tmp/in.csv" 3>"$tmp/fd3.csv"
check "-o /dev/fd/3" cmp -s "$tmp/fd3.csv" "$tmp/in.csv"
expect_error 2 "^stoch-cat: -o/--output needs a file name" "-o '' is a usage error" stoch-cat -o '' "$tmp/in.csv"
expect_error 1 "^stoch-cat: /dev/full: write error: No space left on device$" "a full device is named" \
    stoch-cat -o /dev/full "$tmp/in.csv"
run sh -c "stoch-cat '$tmp/in.csv' >/dev/full"
check "a full standard output is named" test "$rc" -eq 1 -a "$(cat "$tmp/err")" = "stoch-cat: <stdout>: write error: No space left on device"
expect_error 1 "^stoch-cat: $tmp/d: cannot write output: is a directory$" "-o onto a directory" \
    stoch-cat -o "$tmp/d" "$tmp/in.csv"
ln -s loop "$tmp/d/loop"
expect_error 1 "symbolic links" "-o onto a loop of links" stoch-cat -o "$tmp/d/loop" "$tmp/in.csv"

# The temporary file: hidden (.NAME.stochtmp.XXXXXX, out of globs such as
# *.csv) while the program runs, left behind by SIGKILL, removed by SIGTERM.
mkdir "$tmp/k"
{ sleep 3; cat "$tmp/in.csv"; } | stoch-cat -o "$tmp/k/out.csv" &
pid=$!
sleep 1
tmpname=$(ls -A "$tmp/k")
check "the temporary is hidden: $tmpname" sh -c "echo '$tmpname' | grep -Eq '^\.out\.csv\.stochtmp\.[A-Za-z0-9]{6}$'"
check "globs do not see it" sh -c "cd '$tmp/k' && ! ls *.csv >/dev/null 2>&1"
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
check "SIGKILL leaves it behind (documented)" test -f "$tmp/k/$tmpname" -a ! -e "$tmp/k/out.csv"
rm -f "$tmp/k/$tmpname"
{ sleep 3; cat "$tmp/in.csv"; } | stoch-cat -o "$tmp/k/out.csv" &
pid=$!
sleep 1
kill -TERM $pid
wait $pid 2>/dev/null
check "SIGTERM removes it" test -z "$(ls -A "$tmp/k")"

# A background job of a script ignores SIGINT: it must stay ignored.
{ sleep 2; cat "$tmp/in.csv"; } | stoch-cat -o "$tmp/k/bg.csv" &
pid=$!
sleep 1
kill -INT $pid
wait $pid
check "SIGINT ignored on entry stays ignored (exit $?)" cmp -s "$tmp/k/bg.csv" "$tmp/in.csv"
# ... and a SIGINT that was not ignored stops the program and removes the
# temporary (env --default-signal undoes the shell's SIG_IGN; coreutils 8.31).
if env --default-signal=INT true 2>/dev/null; then
    { sleep 3; cat "$tmp/in.csv"; } | env --default-signal=INT stoch-cat -o "$tmp/k/fg.csv" &
    pid=$!
    sleep 1
    kill -INT $pid
    wait $pid
    st=$?
    check "SIGINT otherwise stops it (status $st) and removes the temporary" \
        test "$st" -eq 130 -a -z "$(ls -A "$tmp/k" | grep -v bg.csv)"
else
    skip "env --default-signal is not available"
fi
done_testing
