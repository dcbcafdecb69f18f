# stream: the stream library (CSV, binary stream, tables), stoch-cat, and
# stoch-stream(5).  This fragment appends to the variables of Makefile.am.

lib_libstoch_a_SOURCES += lib/core/input.c lib/core/csv.c lib/core/binstream.c \
	lib/core/numfmt.c lib/core/stream.c lib/core/table.c
noinst_HEADERS += lib/core/stream.h lib/core/stream_impl.h

check_PROGRAMS += tests/unit/test_stream
tests_unit_test_stream_SOURCES = tests/unit/test_stream.c
tests_unit_test_stream_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_stream_LDADD = $(CHECK_LIBS_ALL)
