#!/bin/sh
# stoch-cat: conversions that round-trip to the same bytes, selection,
# concatenation, --describe against awk, and every kind of bad input.
. "$top_srcdir/tests/cli/tap.sh"

stocks="$top_srcdir/data/eustockmarkets.csv"

# A fixture with sequences, missing values, negatives, tiny and huge numbers.
cat >"$tmp/mixed.csv" <<'EOF'
seq,t,x,y
1,0,0.1,-2.5
1,1,NaN,1e-300
1,2,0.30000000000000004,12345678901234567890
2,0,-0,5e-324
2,1,1.7976931348623157e+308,-0.001
3,0,3,NaN
3,1,4,2.5
4,0,1.5e-06,0.5
EOF

# ---- help, version, usage errors
expect_exit 0 "--help exits 0" stoch-cat --help
check "--help shows the options" grep -q -- '--describe' "$tmp/out"
expect_exit 0 "--version exits 0" stoch-cat --version
check "--version names the program" grep -q '^stoch-cat (stochtools) ' "$tmp/out"
expect_error 2 "unknown option '--bogus'" "unknown option exits 2" stoch-cat --bogus "$stocks"
expect_error 2 "Try 'stoch-cat --help'" "usage errors give the hint" stoch-cat -x "$stocks"
expect_error 2 "needs an argument" "missing argument exits 2" stoch-cat "$stocks" -c
expect_error 2 "format must be csv or bin" "bad --format exits 2" stoch-cat --format xml "$stocks"
expect_error 2 "head must be" "negative --head exits 2" stoch-cat --head -1 "$stocks"
expect_error 2 "seq: 'a' is not an integer or a range" "bad --seq on numeric ids exits 2" stoch-cat --seq 1,a "$tmp/mixed.csv"
expect_error 2 "compress applies to binary" "--compress with CSV output exits 2" stoch-cat --compress "$stocks"
expect_error 2 "dtype must be" "bad --dtype exits 2" stoch-cat --format bin --dtype x=f16 "$stocks"

# ---- round trips
expect_exit 0 "CSV to CSV" stoch-cat "$stocks"
check "the real data set is already canonical CSV" cmp -s "$tmp/out" "$stocks"
stoch-cat "$tmp/mixed.csv" >"$tmp/mixed.canon.csv"
check "canonical CSV of the fixture" grep -qx '1,2,0.30000000000000004,1.2345678901234567e+19' "$tmp/mixed.canon.csv"
check "-0, subnormal and 1e-300 survive" sh -c "grep -qx '2,0,-0,5e-324' '$tmp/mixed.canon.csv' && grep -qx '1,1,NaN,1e-300' '$tmp/mixed.canon.csv'"
for f in mixed.csv; do
    stoch-cat --format bin "$tmp/$f" >"$tmp/raw.stb"
    stoch-cat --format bin --compress "$tmp/$f" >"$tmp/z.stb"
    stoch-cat "$tmp/raw.stb" >"$tmp/back.csv"
    check "csv -> bin -> csv is byte-identical to csv -> csv" cmp -s "$tmp/back.csv" "$tmp/mixed.canon.csv"
    stoch-cat "$tmp/z.stb" >"$tmp/backz.csv"
    check "csv -> compressed bin -> csv is byte-identical" cmp -s "$tmp/backz.csv" "$tmp/mixed.canon.csv"
done
stoch-cat --format bin "$stocks" | stoch-cat --format bin --compress | stoch-cat >"$tmp/piped.csv"
check "bin -> compressed bin -> csv through pipes" cmp -s "$tmp/piped.csv" "$stocks"
stoch-cat --format bin --compress -o "$tmp/stocks.stb" "$stocks"
check "-o NAME.stb with --format bin writes the magic" sh -c "head -c 4 '$tmp/stocks.stb' | od -c | grep -q 'S   T   B'"
stoch-cat -o "$tmp/auto.stb" "$stocks"
check "-o NAME.stb defaults to binary" sh -c "stoch-cat --format bin '$stocks' | cmp -s - '$tmp/auto.stb'"
check "compressed binary is smaller than raw" test "$(wc -c <"$tmp/stocks.stb")" -lt "$(stoch-cat --format bin "$stocks" | wc -c)"
gzip -c "$stocks" >"$tmp/stocks.csv.gz"
expect_exit 0 "gzip CSV input is read transparently" stoch-cat "$tmp/stocks.csv.gz"
check "gzip input gives the same CSV" cmp -s "$tmp/out" "$stocks"
gzip -c "$tmp/stocks.stb" | stoch-cat >"$tmp/gzbin.csv"
check "gzip'ed binary through stdin" cmp -s "$tmp/gzbin.csv" "$stocks"
tr ',' '\t' <"$stocks" | stoch-cat >"$tmp/fromtab.csv"
check "tab-separated input" cmp -s "$tmp/fromtab.csv" "$stocks"
sed 's/$/\r/' "$stocks" | stoch-cat >"$tmp/fromcrlf.csv"
check "CRLF input" cmp -s "$tmp/fromcrlf.csv" "$stocks"
stoch-cat --format bin --dtype x=f4 --dtype seq=i4 "$tmp/mixed.csv" >"$tmp/f4.stb" 2>"$tmp/err" || true
stoch-cat --format bin --dtype y=f4 -c t,y --head 1 "$tmp/mixed.csv" | stoch-cat >"$tmp/f4.csv"
check "--dtype f4 prints the shortest float" sh -c "printf 't,y\n0,-2.5\n' | cmp -s - '$tmp/f4.csv'"
stoch-cat --format bin --dtype t=i4 "$stocks" | stoch-cat >"$tmp/i4.csv"
check "--dtype i4 keeps the values" cmp -s "$tmp/i4.csv" "$stocks"
expect_error 1 "mixed.csv: row 1: column 'x' \\(<i4\\) needs an integer, not 0.1" "--dtype i4 on a fractional column fails" \
    stoch-cat --format bin --dtype x=i4 -c x "$tmp/mixed.csv"

# ---- selection
expect_exit 0 "-c and --head" stoch-cat -c DAX,t --head 2 "$stocks"
check "-c orders columns, --head stops" sh -c "printf 'DAX,t\n1628.75,1\n1613.63,2\n' | cmp -s - '$tmp/out'"
expect_exit 0 "--head 0 gives the header" stoch-cat --head 0 "$stocks"
check "--head 0 output" sh -c "printf 't,DAX,SMI,CAC,FTSE\n' | cmp -s - '$tmp/out'"
expect_exit 0 "--seq values and ranges" stoch-cat --seq 1,3..4 -c seq,t "$tmp/mixed.csv"
check "--seq keeps sequences 1, 3 and 4" sh -c "printf 'seq,t\n1,0\n1,1\n1,2\n3,0\n3,1\n4,0\n' | cmp -s - '$tmp/out'"
expect_exit 0 "--seq with --head" stoch-cat --seq 3 --head 1 -c x "$tmp/raw.stb"
check "--seq 3 --head 1" sh -c "printf 'x\n3\n' | cmp -s - '$tmp/out'"
expect_error 1 "needs a column named seq" "--seq without a seq column" stoch-cat --seq 1 "$stocks"

# ---- concatenation
head -3 "$stocks" >"$tmp/a.csv"
{ head -1 "$stocks"; sed -n '4,5p' "$stocks"; } >"$tmp/b.csv"
stoch-cat --format bin "$tmp/b.csv" >"$tmp/b.stb"
expect_exit 0 "concatenate CSV and binary inputs" stoch-cat "$tmp/a.csv" "$tmp/b.stb"
check "concatenation keeps the order" sh -c "head -5 '$stocks' | cmp -s - '$tmp/out'"
printf 't,DAX\n1,2\n' >"$tmp/other.csv"
expect_error 1 "other.csv: columns differ from those of .*a.csv" "different columns name the file" \
    stoch-cat "$tmp/a.csv" "$tmp/other.csv"
expect_exit 0 "stdin as '-' among files" sh -c "stoch-cat '$tmp/a.csv' - <'$tmp/b.csv'"
check "'-' reads stdin" sh -c "head -5 '$stocks' | cmp -s - '$tmp/out'"

# ---- describe, checked with awk
expect_exit 0 "--describe" stoch-cat --describe "$stocks"
check "--describe counts rows" grep -qx 'rows 1860' "$tmp/out"
check "--describe: one sequence without a seq column" grep -qx 'sequences 1' "$tmp/out"
want=$(awk -F, 'NR > 1 { s += $2; if (NR == 2 || $2 < lo) lo = $2; if ($2 > hi) hi = $2 } END { printf "%d %s %s %.6f", NR - 1, lo, hi, s / (NR - 1) }' "$stocks")
got=$(awk '$1 == "DAX" { printf "%s %s %s %.6f", $3, $6, $8, $7 }' "$tmp/out")
check "--describe DAX count, min, max, mean match awk ($want)" test "$got" = "$want"
expect_exit 0 "--describe with missing values and sequences" stoch-cat --describe "$tmp/mixed.csv"
check "--describe counts 4 sequences" grep -qx 'sequences 4' "$tmp/out"
check "--describe x: 7 values, 1 missing" sh -c "awk '\$1 == \"x\" { exit !(\$3 == 7 && \$4 == 1) }' '$tmp/out'"
printf 'seq,x\n1,1\n2,1\n1,1\n' >"$tmp/noncontig.csv"
expect_error 1 "noncontig.csv:4: seq 1 appears again" "--describe checks that sequences are contiguous" \
    stoch-cat --describe "$tmp/noncontig.csv"
stoch-cat --format bin "$tmp/noncontig.csv" >"$tmp/noncontig.stb" 2>/dev/null || true
expect_error 1 "noncontig.stb: row 3: seq 1 appears again" "--describe on binary names the row" \
    stoch-cat --describe "$tmp/noncontig.stb"
expect_exit 0 "-v reports rows read" stoch-cat -v -o "$tmp/v.csv" "$stocks"
check "-v message" grep -q '1860 rows read' "$tmp/err"

# ---- strings, times and ids (issue 13)
# R's write.csv: row names (an unnamed column), quoted strings, quoted
# numbers, NA; a quoted cell with a comma, a doubled quote and a line break
cat >"$tmp/r.csv" <<'EOF2'
"","PTNUM","years","state","pdiag","note"
"1",100002,0,1,"IHD","a, ""b"""
"2",100002,0.9972,1,NA,"two
lines"
"3",100003,0,2,"Hyperten",""
EOF2
expect_exit 0 "R's write.csv output reads" stoch-cat "$tmp/r.csv"
check "row names become c1; strings quoted only when needed; NA and \"\" empty" sh -c "printf '%s\n' 'c1,PTNUM,years,state,pdiag,note' '1,100002,0,1,IHD,\"a, \"\"b\"\"\"' '2,100002,0.9972,1,,\"two' 'lines\"' '3,100003,0,2,Hyperten,' | cmp -s - '$tmp/out'"
# one column with a missing string: written "" so that the line is not blank
printf 'id\np1\n""\np2\n' >"$tmp/onecol.csv"
expect_exit 0 "one column with a missing string" stoch-cat "$tmp/onecol.csv"
check "... keeps its three rows, through binary too" sh -c "cmp -s '$tmp/out' '$tmp/onecol.csv' && stoch-cat --format bin '$tmp/onecol.csv' | stoch-cat | cmp -s - '$tmp/onecol.csv'"
# a pandas export: string ids, dates, timestamps, months, labels
cat >"$tmp/pd.csv" <<'EOF2'
id,date,month,when,label,y
p0001,2024-03-31,1960-01,2024-03-31 12:00:00,healthy,1.5
p0001,2024-04-01,1960-02,2024-03-31T13:00:00Z,dead,NaN
p0002,2024-04-02,1960-03,2024-03-31T15:00:00+01:00,NA,3
p0003,,1960-04,,"say ""hi""",4
EOF2
stoch-cat "$tmp/pd.csv" >"$tmp/pd.canon.csv"
check "times print as ISO (zones to UTC), missing times and strings empty" sh -c "printf '%s\n' 'id,date,month,when,label,y' 'p0001,2024-03-31,1960-01,2024-03-31T12:00:00,healthy,1.5' 'p0001,2024-04-01,1960-02,2024-03-31T13:00:00,dead,NaN' 'p0002,2024-04-02,1960-03,2024-03-31T14:00:00,,3' 'p0003,,1960-04,,\"say \"\"hi\"\"\",4' | cmp -s - '$tmp/pd.canon.csv'"
for f in r pd; do
    stoch-cat --format bin "$tmp/$f.csv" >"$tmp/$f.stb"
    stoch-cat --format bin --compress "$tmp/$f.csv" >"$tmp/$f.z.stb"
    stoch-cat "$tmp/$f.csv" >"$tmp/$f.c1.csv"
    stoch-cat "$tmp/$f.stb" >"$tmp/$f.c2.csv"
    stoch-cat "$tmp/$f.z.stb" | stoch-cat --format bin | stoch-cat >"$tmp/$f.c3.csv"
    check "$f: csv -> bin -> csv is byte-identical with strings and times" cmp -s "$tmp/$f.c1.csv" "$tmp/$f.c2.csv"
    check "$f: through compressed binary and pipes too" cmp -s "$tmp/$f.c1.csv" "$tmp/$f.c3.csv"
done
check "a stream with strings is version 1.1" sh -c "od -An -tu2 -j8 -N4 '$tmp/pd.stb' | grep -q '^ *1 *1$'"
check "a numeric stream stays version 1.0" sh -c "stoch-cat --format bin '$stocks' | od -An -tu2 -j8 -N4 | grep -q '^ *1 *0$'"
check "the binary header names the types" sh -c "head -c 400 '$tmp/pd.stb' | grep -q '\"name\": \"date\", \"dtype\": \"<M8\[D\]\"' && head -c 400 '$tmp/pd.stb' | grep -q '\"name\": \"month\", \"dtype\": \"<M8\[M\]\"' && head -c 400 '$tmp/pd.stb' | grep -q '\"name\": \"id\", \"dtype\": \"str\"'"
expect_exit 0 "--describe strings and times" stoch-cat --describe --seq-col id "$tmp/pd.csv"
check "--describe counts the string ids as sequences" grep -qx 'sequences 3' "$tmp/out"
check "--describe: string column count, missing, distinct" sh -c "awk '\$1 == \"label\" { exit !(\$2 == \"str\" && \$3 == 3 && \$4 == 1 && \$5 == 3) }' '$tmp/out'"
check "--describe: dates as dates" sh -c "awk '\$1 == \"date\" { exit !(\$2 == \"date\" && \$6 == \"2024-03-31\" && \$7 == \"2024-04-01\" && \$8 == \"2024-04-02\") }' '$tmp/out'"
check "--describe: months as months" sh -c "awk '\$1 == \"month\" { exit !(\$6 == \"1960-01\" && \$8 == \"1960-04\") }' '$tmp/out'"
expect_exit 0 "--seq with string ids" stoch-cat --seq-col id --seq p0001,p0003 -c id,y "$tmp/pd.stb"
check "--seq p0001,p0003" sh -c "printf 'id,y\np0001,1.5\np0001,NaN\np0003,4\n' | cmp -s - '$tmp/out'"
expect_error 1 "--seq-col: no column 'nope'" "--seq-col naming no column" stoch-cat --seq-col nope --seq 1 "$tmp/pd.csv"
expect_error 1 "--seq needs a column named seq \\(or --seq-col\\)" "--seq without a seq column says how" stoch-cat --seq p1 "$tmp/pd.csv"
expect_exit 0 "--dtype COL=str keeps digits as text" stoch-cat --format bin --dtype PTNUM=str -c PTNUM "$tmp/r.csv"
check "PTNUM is a string column in the binary header" sh -c "grep -aq '\"name\": \"PTNUM\", \"dtype\": \"str\"' '$tmp/out'"
expect_error 2 "dtype must be COLUMN=" "bad --dtype type" stoch-cat --dtype x=text "$tmp/r.csv"
expect_error 1 "--dtype: no output column 'zz'" "--dtype of no column" stoch-cat --dtype zz=f4 "$tmp/r.csv"

# uq-eval's own output (issue 13: "non-numeric value 'se' in column 'score'")
if command -v uq-entropy >/dev/null 2>&1 && command -v uq-eval >/dev/null 2>&1; then
    uq-entropy -q -s g-nll,se "$top_srcdir/data/uq-trivia.jsonl" | uq-eval -q -l correct >"$tmp/ue.csv"
    expect_exit 0 "stoch-cat reads uq-eval's output" stoch-cat "$tmp/ue.csv"
    check "uq-eval's output is already canonical" cmp -s "$tmp/out" "$tmp/ue.csv"
    expect_exit 0 "--describe of uq-eval's output" stoch-cat --describe "$tmp/ue.csv"
    check "score: 2 distinct, metric: 7 distinct" sh -c "awk '\$1 == \"score\" && \$5 == 2 { a = 1 } \$1 == \"metric\" && \$5 == 7 { b = 1 } END { exit !(a && b) }' '$tmp/out'"
else
    skip "uq-entropy/uq-eval not built"
    skip "uq-entropy/uq-eval not built"
    skip "uq-entropy/uq-eval not built"
    skip "uq-entropy/uq-eval not built"
fi

# a header of numbers is data: an error, or --no-header
printf '3.6,79\n1.8,54\n' >"$tmp/faithful-nohead.csv"
expect_error 1 "faithful-nohead.csv:1:1: the header line looks like data .*use --no-header" "a numeric header line" stoch-cat "$tmp/faithful-nohead.csv"
expect_exit 0 "--no-header" stoch-cat --no-header "$tmp/faithful-nohead.csv"
check "--no-header names the columns c1, c2 and keeps the first row" sh -c "printf 'c1,c2\n3.6,79\n1.8,54\n' | cmp -s - '$tmp/out'"

# integer ids that turn into text after the look-ahead (1000 rows)
{ echo "seq,x"; seq 1 1500 | awk '{ print $1 "," $1 / 4 }'; echo "A-17,1"; echo "7b,2"; } >"$tmp/ids.csv"
expect_exit 0 "integer ids then text: read as ids" stoch-cat "$tmp/ids.csv"
check "the ids pass through as written" sh -c "tail -n 2 '$tmp/out' | cmp -s - - <<'EOF3'
A-17,1
7b,2
EOF3
"
head -n 1501 "$tmp/ids.csv" >"$tmp/ids.head"
head -n 1501 "$tmp/out" >"$tmp/out.head"
check "... and the rows before them unchanged" cmp -s "$tmp/ids.head" "$tmp/out.head"
expect_exit 0 "--describe of late text ids (read again as ids)" stoch-cat --describe "$tmp/ids.csv"
check "... 1502 sequences, seq a string column" sh -c "grep -qx 'sequences 1502' '$tmp/out' && awk '\$1 == \"seq\" { exit !(\$2 == \"str\" && \$5 == 1502) }' '$tmp/out'"
expect_error 1 "standard input cannot give: use --dtype COL=str" "--describe of late text ids from a pipe" sh -c "stoch-cat --describe <'$tmp/ids.csv'"
expect_exit 0 "... and with --dtype seq=str from a pipe" sh -c "stoch-cat --describe --dtype seq=str <'$tmp/ids.csv'"
expect_error 1 "ids.csv: row 1501: column 'seq' \\(<i8\\) cannot hold 'A-17'.*--dtype seq=str" "late text ids into binary <i8" stoch-cat --format bin "$tmp/ids.csv"
stoch-cat --format bin --dtype seq=str "$tmp/ids.csv" | stoch-cat >"$tmp/ids.back.csv"
check "... with --dtype seq=str the binary round trip is exact" cmp -s "$tmp/ids.back.csv" "$tmp/ids.csv"
# the same after 1000 rows of fractions: a typo, an error
{ echo "seq,x"; seq 1 1500 | awk '{ print $1 "," $1 / 4 }'; echo "1501,1.2.3"; } >"$tmp/typo.csv"
expect_error 1 "typo.csv:1502:2: non-numeric value '1.2.3' in column 'x'" "text after fractions is an error" stoch-cat "$tmp/typo.csv"

# integers beyond 2^53 stay exact (issue 18)
printf 'seq,x\n9007199254740992,1\n9007199254740993,2\n9223372036854775807,3\n-9223372036854775808,4\n' >"$tmp/big.csv"
expect_exit 0 "64-bit ids in CSV" stoch-cat "$tmp/big.csv"
check "CSV to CSV keeps every digit" cmp -s "$tmp/out" "$tmp/big.csv"
stoch-cat --format bin --dtype seq=i8 "$tmp/big.csv" >"$tmp/big.stb"
check "as <i8 in binary" sh -c "grep -aq '\"name\": \"seq\", \"dtype\": \"<i8\"' '$tmp/big.stb'"
expect_exit 0 "<i8 beyond 2^53 to CSV" stoch-cat "$tmp/big.stb"
check "2^53 + 1 does not print as 2^53; 2^63 - 1 is valid" cmp -s "$tmp/out" "$tmp/big.csv"
stoch-cat --format bin "$tmp/big.stb" | stoch-cat --format bin --compress | stoch-cat >"$tmp/big.back.csv"
check "bin -> bin -> csv passes every int64 through" cmp -s "$tmp/big.back.csv" "$tmp/big.csv"
expect_exit 0 "--describe of 64-bit seq ids" stoch-cat --describe "$tmp/big.stb"
check "--describe counts four sequences, not three" grep -qx 'sequences 4' "$tmp/out"
expect_exit 0 "--seq selects a 64-bit id" stoch-cat --seq 9007199254740993 -c x "$tmp/big.stb"
check "--seq 2^53 + 1 picks that row only" sh -c "printf 'x\n2\n' | cmp -s - '$tmp/out'"

# numbers out of range and bad names (issue 18)
printf 'a,b\n1,2\n3,1e400\n' >"$tmp/ovf.csv"
expect_error 1 "ovf.csv:3:2: number out of the range of doubles: '1e400' in column 'b'" "1e400 is refused" stoch-cat "$tmp/ovf.csv"
printf 'a,\351t\351\n1,2\n' >"$tmp/latin1.csv"
expect_error 1 "latin1.csv:1:2: name of column 2 is not valid UTF-8" "an invalid-UTF-8 CSV header" stoch-cat "$tmp/latin1.csv"
# a binary stream whose column name holds a newline (valid JSON): refused
hdr='{"columns": [{"name": "a\nb", "dtype": "<f8"}]}'
{ printf '\211STB\r\n\032\n\001\000\000\000\060\000\000\000'; printf '%-48s' "$hdr"; printf '\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000'; } >"$tmp/nlname.stb"
expect_error 1 "nlname.stb:byte 16: control character 0x0a in the name of column 1" "a binary column name with a newline" stoch-cat "$tmp/nlname.stb"
cp "$tmp/pd.stb" "$tmp/v12.stb"
printf '\002' | dd of="$tmp/v12.stb" bs=1 seek=10 conv=notrunc 2>/dev/null
expect_error 1 "v12.stb:byte 8: unsupported stream version 1.2 \\(this reader reads 1.0 and 1.1\\)" "a later minor version is refused" stoch-cat "$tmp/v12.stb"

# ---- numpy reads the binary format with a dozen lines
if have_python_module numpy; then
    expect_exit 0 "numpy reads raw binary" "$PYTHON" "$top_srcdir/tests/cli/numpy_read_stream.py" "$tmp/raw.stb" "$tmp/mixed.csv"
    check "numpy values equal the CSV" grep -q '^ok 8 rows, 4 columns' "$tmp/out"
    expect_exit 0 "numpy reads compressed binary" "$PYTHON" "$top_srcdir/tests/cli/numpy_read_stream.py" "$tmp/stocks.stb" "$stocks"
    check "numpy sees the provenance" grep -q '"tool": "stoch-cat"' "$tmp/out"
    expect_exit 0 "numpy reads strings, dates, months and timestamps" "$PYTHON" "$top_srcdir/tests/cli/numpy_read_stream.py" "$tmp/pd.z.stb" "$tmp/pd.c1.csv"
    check "numpy saw the string and time types" grep -q 'str <M8\[D\] <M8\[M\] <M8\[s\] str <f8' "$tmp/out"
    expect_exit 0 "numpy reads R's strings with commas, quotes and line breaks" "$PYTHON" "$top_srcdir/tests/cli/numpy_read_stream.py" "$tmp/r.stb" "$tmp/r.c1.csv"
    "$PYTHON" "$top_srcdir/tests/cli/numpy_read_stream.py" "$tmp/big.stb" "$tmp/big.csv" >"$tmp/out" 2>&1
    check "numpy reads the <i8 ids beyond 2^53 exactly" grep -q '^ok 4 rows' "$tmp/out"
    "$PYTHON" "$top_srcdir/tests/cli/shortest_vs_python.py" gen "$tmp/doubles.stb"
    stoch-cat "$tmp/doubles.stb" >"$tmp/doubles.csv"
    expect_exit 0 "shortest printing agrees digit for digit with Python's repr" \
        "$PYTHON" "$top_srcdir/tests/cli/shortest_vs_python.py" check "$tmp/doubles.stb" "$tmp/doubles.csv"
    diag "$(cat "$tmp/out")"
else
    skip "numpy reader: /usr/bin/python3 has no numpy"
    skip "numpy reader of strings and times: /usr/bin/python3 has no numpy"
    skip "numpy reader of strings and times: /usr/bin/python3 has no numpy"
    skip "numpy reader of strings and times: /usr/bin/python3 has no numpy"
    skip "numpy reader of 64-bit ids: /usr/bin/python3 has no numpy"
    skip "shortest printing vs Python's repr: /usr/bin/python3 has no numpy"
fi

# ---- bad input: exit 1, one line, file and line/column/byte offset
: >"$tmp/empty.csv"
expect_error 1 "empty.csv: empty input" "empty input" stoch-cat "$tmp/empty.csv"
expect_error 1 "<stdin>: empty input" "empty stdin" sh -c "stoch-cat <'$tmp/empty.csv'"
printf 't,x\n' >"$tmp/hdr.csv"
expect_error 1 "hdr.csv: no data rows" "header only" stoch-cat "$tmp/hdr.csv"
printf 'a,b,c\n1,2,3\n4,5\n' >"$tmp/ragged.csv"
expect_error 1 "ragged.csv:3:3: ragged row: 2 fields, the header has 3" "ragged row" stoch-cat "$tmp/ragged.csv"
{ printf 'a,b\n'; seq 1000 | sed 's/$/,2.5/'; printf '3,x7\n'; } >"$tmp/nonnum.csv"
expect_error 1 "nonnum.csv:1002:2: non-numeric value 'x7' in column 'b'" "text after 1000 rows of fractions" stoch-cat "$tmp/nonnum.csv"
printf 'a,b,a\n1,2,3\n' >"$tmp/dup.csv"
expect_error 1 "dup.csv:1:3: duplicate column name 'a'" "duplicate column names" stoch-cat "$tmp/dup.csv"
printf 'a,,b\n1,2,3\n' >"$tmp/noname.csv"
expect_exit 0 "an empty column name" stoch-cat "$tmp/noname.csv"
check "an empty name becomes cJ" sh -c "printf 'a,c2,b\n1,2,3\n' | cmp -s - '$tmp/out'"
printf '"","x"\n"1",2.5\n"2",3\n' >"$tmp/rownames.csv"
expect_exit 0 "R's row names (write.csv)" stoch-cat "$tmp/rownames.csv"
check "R's row-name column is c1, quoted numbers are numbers" sh -c "printf 'c1,x\n1,2.5\n2,3\n' | cmp -s - '$tmp/out'"
expect_error 1 "eustockmarkets.csv: unknown column 'zz'" "unknown column asked for" stoch-cat -c t,zz "$stocks"
{ printf 'a,b\n1,2\n'; head -c 10485760 /dev/zero | tr '\0' 7; printf ',1\n'; } >"$tmp/huge.csv"
expect_error 1 "huge.csv:3: line longer than 1048576 bytes" "a 10 MB line" stoch-cat "$tmp/huge.csv"
awk 'BEGIN { srand(7); for (i = 0; i < 8192; i++) printf "%c", 1 + int(rand() * 255) }' >"$tmp/random.bin"
expect_error 1 "random.bin:[0-9]+(:[0-9]+)?: " "random bytes" stoch-cat "$tmp/random.bin"
printf 'a,b\n1,2\n3,\0004\n' >"$tmp/nul.csv"
expect_error 1 "nul.csv:3:2: string with a NUL byte in column 'b'" "NUL byte in a cell" stoch-cat "$tmp/nul.csv"

# binary damage; the data start is 16 + hlen (u32 at byte 12)
stoch-cat --format bin "$stocks" >"$tmp/s.stb"
hlen=$(od -An -tu4 -j12 -N4 "$tmp/s.stb" | tr -d ' ')
ds=$((16 + hlen))
head -c $((ds + 16 + 1000)) "$tmp/s.stb" >"$tmp/cut.stb"
expect_error 1 "cut.stb:byte [0-9]+: truncated stream: chunk at byte $ds" "binary truncated mid-chunk" stoch-cat "$tmp/cut.stb"
size=$(wc -c <"$tmp/s.stb")
head -c $((size - 16)) "$tmp/s.stb" >"$tmp/noend.stb"
expect_error 1 "noend.stb:byte $((size - 16)): truncated stream: missing end chunk" "missing end chunk" stoch-cat "$tmp/noend.stb"
poke() { # poke FILE OFFSET OCTAL: overwrite one byte
    printf "\\$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
cp "$tmp/s.stb" "$tmp/flip.stb"
poke "$tmp/flip.stb" $((ds + 16 + 100)) 252
check "the poke changed a byte" sh -c "! cmp -s '$tmp/s.stb' '$tmp/flip.stb'"
expect_error 1 "flip.stb:byte $((ds + 16)): bad CRC in chunk at byte $ds" "flipped byte (CRC)" stoch-cat "$tmp/flip.stb"
cp "$tmp/s.stb" "$tmp/codec.stb"
poke "$tmp/codec.stb" $((ds + 12)) 011
expect_error 1 "codec.stb:byte $((ds + 12)): unknown codec 9" "unknown codec" stoch-cat "$tmp/codec.stb"
cp "$tmp/s.stb" "$tmp/version.stb"
poke "$tmp/version.stb" 8 002
expect_error 1 "version.stb:byte 8: unsupported stream version 2.0" "unsupported version" stoch-cat "$tmp/version.stb"
cp "$tmp/s.stb" "$tmp/json.stb"
poke "$tmp/json.stb" 20 173
expect_error 1 "json.stb:byte [0-9]+: bad JSON header" "bad JSON header" stoch-cat "$tmp/json.stb"
gzip -c "$tmp/s.stb" >"$tmp/s.stb.gz"
gzsize=$(wc -c <"$tmp/s.stb.gz")
head -c $((gzsize / 2)) "$tmp/s.stb.gz" >"$tmp/gzcut.gz"
expect_error 1 "gzcut.gz:byte $((gzsize / 2)): gzip data cut short" "gzip data cut short" stoch-cat "$tmp/gzcut.gz"
head -c $((gzsize - 4)) "$tmp/s.stb.gz" >"$tmp/gzcut2.gz"
expect_error 1 "gzcut2.gz:byte [0-9]+: gzip data cut short" "gzip trailer cut short" stoch-cat "$tmp/gzcut2.gz"
cat "$tmp/s.stb" "$tmp/s.stb" >"$tmp/glued.stb"
expect_error 1 "glued.stb:byte $size: data after the end chunk" "two streams glued together" stoch-cat "$tmp/glued.stb"
expect_error 1 "nonexistent.csv: cannot open" "missing file" stoch-cat "$tmp/nonexistent.csv"

# ---- outputs: nothing partial, full disk
mkdir "$tmp/outdir"
{ cat "$stocks"; printf '1,2,3\n'; } >"$tmp/late.csv"
expect_error 1 "late.csv:1862:4: ragged row" "failure with -o" stoch-cat -o "$tmp/outdir/x.csv" "$stocks" "$tmp/late.csv"
check "no partial -o file after a failure" test -z "$(ls -A "$tmp/outdir")"
expect_error 1 "flip.stb:byte" "binary failure with -o" stoch-cat --format bin -o "$tmp/outdir/x.stb" "$tmp/flip.stb"
check "no partial binary -o file" test -z "$(ls -A "$tmp/outdir")"
if command -v script >/dev/null 2>&1; then
    script -qec "stoch-cat --format bin '$stocks'" "$tmp/typescript" >"$tmp/tty.out" 2>&1
    rc=$?
    check "binary output to a terminal is refused (exit $rc)" sh -c "[ $rc -eq 2 ] && grep -q 'refusing to write binary data to a terminal' '$tmp/tty.out'"
else
    skip "script(1) is not installed: no pseudo-terminal test"
fi
if [ -w /dev/full ]; then
    expect_error 1 "No space left on device" "CSV to /dev/full" sh -c "stoch-cat '$stocks' >/dev/full"
    expect_error 1 "No space left on device" "binary to /dev/full" sh -c "stoch-cat --format bin '$stocks' >/dev/full"
else
    skip "/dev/full is not writable here"
fi

done_testing
