# ssm: state-space forecasting (lib/ssm, ssm-forecast).

lib_libstoch_a_SOURCES += lib/ssm/kalman.c lib/ssm/structural.c
noinst_HEADERS += lib/ssm/kalman.h lib/ssm/structural.h

check_PROGRAMS += tests/unit/test_kalman
tests_unit_test_kalman_SOURCES = tests/unit/test_kalman.c
tests_unit_test_kalman_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_kalman_LDADD = $(CHECK_LIBS_ALL)

# tests/unit/test_ssm_structural.c needs lib/core optim+linalg (registered once they land)
EXTRA_DIST += tests/unit/test_ssm_structural.c
