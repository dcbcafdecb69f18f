# ssm: state-space forecasting (lib/ssm, ssm-forecast).

lib_libstoch_a_SOURCES += lib/ssm/kalman.c
noinst_HEADERS += lib/ssm/kalman.h

check_PROGRAMS += tests/unit/test_kalman
tests_unit_test_kalman_SOURCES = tests/unit/test_kalman.c
tests_unit_test_kalman_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_kalman_LDADD = $(CHECK_LIBS_ALL)
