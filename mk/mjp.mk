# mjp: Markov jump processes (issue 5).  Appends to the variables of Makefile.am.

lib_libstoch_a_SOURCES += lib/mjp/expr.c lib/mjp/model.c lib/mjp/data.c lib/mjp/lik.c \
	lib/mjp/fit.c lib/mjp/summary.c lib/mjp/sample.c lib/mjp/io.c
noinst_HEADERS += lib/mjp/mjp.h lib/mjp/internal.h

check_PROGRAMS += tests/unit/test_mjp
tests_unit_test_mjp_SOURCES = tests/unit/test_mjp.c
tests_unit_test_mjp_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_mjp_LDADD = $(CHECK_LIBS_ALL)

bin_PROGRAMS += tools/mjp-infer tools/mjp-sample
tools_mjp_infer_SOURCES = tools/mjp-infer.c
tools_mjp_sample_SOURCES = tools/mjp-sample.c
check_PROGRAMS += tests/unit/test_mjp_model
tests_unit_test_mjp_model_SOURCES = tests/unit/test_mjp_model.c
tests_unit_test_mjp_model_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_mjp_model_LDADD = $(CHECK_LIBS_ALL)

TESTS += tests/cli/mjp-infer.sh tests/cli/mjp-sample.sh tests/cli/mjp-msm.sh
dist_check_SCRIPTS += tests/cli/mjp-infer.sh tests/cli/mjp-sample.sh tests/cli/mjp-msm.sh
