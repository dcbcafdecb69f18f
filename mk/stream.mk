# stream: the stream library (CSV, binary stream, tables), stoch-cat, and
# stoch-stream(5).  This fragment appends to the variables of Makefile.am.

lib_libstoch_a_SOURCES += lib/core/input.c lib/core/csv.c lib/core/binstream.c \
	lib/core/numfmt.c lib/core/timefmt.c lib/core/strdict.c lib/core/stream.c lib/core/table.c \
	lib/core/describe.c
noinst_HEADERS += lib/core/stream.h lib/core/stream_impl.h

check_PROGRAMS += tests/unit/test_stream
tests_unit_test_stream_SOURCES = tests/unit/test_stream.c
tests_unit_test_stream_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_stream_LDADD = $(CHECK_LIBS_ALL)

bin_PROGRAMS += tools/stoch-cat
tools_stoch_cat_SOURCES = tools/stoch-cat.c
dist_man_MANS += man/man1/stoch-cat.1 man/man5/stoch-stream.5

TESTS += tests/cli/stoch-cat.sh tests/cli/roles.sh tests/cli/streams-issue13.sh
dist_check_SCRIPTS += tests/cli/stoch-cat.sh tests/cli/roles.sh tests/cli/streams-issue13.sh
EXTRA_DIST += tests/cli/numpy_read_stream.py tests/cli/shortest_vs_python.py

# make demo: a stoch-cat round trip of a real data set.
DEMO_TARGETS += demo-core
demo-core: tools/stoch-cat
	@mkdir -p demo-out
	tools/stoch-cat -o demo-out/eustockmarkets.csv $(top_srcdir)/data/eustockmarkets.csv
	tools/stoch-cat --format bin --compress -o demo-out/eustockmarkets.stb $(top_srcdir)/data/eustockmarkets.csv
	tools/stoch-cat -o demo-out/eustockmarkets-back.csv demo-out/eustockmarkets.stb
	cmp demo-out/eustockmarkets.csv demo-out/eustockmarkets-back.csv
	tools/stoch-cat --describe -o demo-out/eustockmarkets-describe.txt demo-out/eustockmarkets.stb
	cat demo-out/eustockmarkets-describe.txt
	@echo "demo-core: CSV -> compressed binary -> CSV round trip is byte-identical"
