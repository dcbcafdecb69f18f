# uq: uncertainty scores for language-model generations (uq-entropy) and
# their evaluation (uq-eval).  Appends to the variables of Makefile.am.

lib_libstoch_a_SOURCES += lib/uq/input.c lib/uq/text.c lib/uq/cluster.c \
	lib/uq/scores.c lib/uq/spectral.c lib/uq/metrics.c lib/uq/run.c
noinst_HEADERS += lib/uq/uq.h lib/uq/run.h

check_PROGRAMS += tests/unit/test_uq_input tests/unit/test_uq_scores tests/unit/test_uq_metrics
tests_unit_test_uq_input_SOURCES = tests/unit/test_uq_input.c
tests_unit_test_uq_input_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_uq_input_LDADD = $(CHECK_LIBS_ALL)
tests_unit_test_uq_scores_SOURCES = tests/unit/test_uq_scores.c
tests_unit_test_uq_scores_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_uq_scores_LDADD = $(CHECK_LIBS_ALL)
tests_unit_test_uq_metrics_SOURCES = tests/unit/test_uq_metrics.c
tests_unit_test_uq_metrics_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_uq_metrics_LDADD = $(CHECK_LIBS_ALL)
