# hmm: hidden Markov models (lib/hmm, hmm-fit, hmm-decode, hmm-sample).

lib_libstoch_a_SOURCES += lib/hmm/model.c lib/hmm/emit_discrete.c lib/hmm/emit_gauss.c \
	lib/hmm/forward.c lib/hmm/fit.c lib/hmm/data.c lib/hmm/sample.c lib/hmm/io.c
noinst_HEADERS += lib/hmm/hmm.h lib/hmm/internal.h

check_PROGRAMS += tests/unit/test_hmm tests/unit/test_hmm_fit
tests_unit_test_hmm_SOURCES = tests/unit/test_hmm.c
tests_unit_test_hmm_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_hmm_LDADD = $(CHECK_LIBS_ALL)
tests_unit_test_hmm_fit_SOURCES = tests/unit/test_hmm_fit.c
tests_unit_test_hmm_fit_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_hmm_fit_LDADD = $(CHECK_LIBS_ALL)
check_PROGRAMS += tests/unit/test_hmm_io
tests_unit_test_hmm_io_SOURCES = tests/unit/test_hmm_io.c
tests_unit_test_hmm_io_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_hmm_io_LDADD = $(CHECK_LIBS_ALL)

bin_PROGRAMS += tools/hmm-fit tools/hmm-decode tools/hmm-sample
tools_hmm_fit_SOURCES = tools/hmm-fit.c
tools_hmm_decode_SOURCES = tools/hmm-decode.c
tools_hmm_sample_SOURCES = tools/hmm-sample.c

check_PROGRAMS += tests/unit/test_hmm_arch
tests_unit_test_hmm_arch_SOURCES = tests/unit/test_hmm_arch.c
tests_unit_test_hmm_arch_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_hmm_arch_LDADD = $(CHECK_LIBS_ALL)
