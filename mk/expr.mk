# expr: the one expression language (lib/core/expr), used by the particle
# models (lib/smc) and the rate formulas (lib/mjp).
# This fragment appends to the variables of Makefile.am.

lib_libstoch_a_SOURCES += lib/core/expr.c
noinst_HEADERS += lib/core/expr.h

check_PROGRAMS += tests/unit/test_expr
tests_unit_test_expr_SOURCES = tests/unit/test_expr.c
tests_unit_test_expr_CFLAGS = $(CHECK_CFLAGS_ALL) -pthread
tests_unit_test_expr_LDADD = $(CHECK_LIBS_ALL)
tests_unit_test_expr_LDFLAGS = -pthread

TESTS += tests/cli/expr.sh
dist_check_SCRIPTS += tests/cli/expr.sh
