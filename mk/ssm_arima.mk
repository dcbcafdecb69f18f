# ssm: the ARIMA family (lib/ssm/arima.c and friends) and the S4D tests.
# This fragment appends to the variables of Makefile.am.

lib_libstoch_a_SOURCES += lib/ssm/arima.c lib/ssm/autoarima.c lib/ssm/unitroot.c lib/ssm/fam_arima.c
noinst_HEADERS += lib/ssm/arima.h lib/ssm/unitroot.h

check_PROGRAMS += tests/unit/test_ssm_arima
tests_unit_test_ssm_arima_SOURCES = tests/unit/test_ssm_arima.c
tests_unit_test_ssm_arima_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_ssm_arima_LDADD = $(CHECK_LIBS_ALL)

TESTS += tests/cli/ssm-arima.sh tests/cli/ssm-arima-peers.sh tests/cli/ssm-s4d.sh
dist_check_SCRIPTS += tests/cli/ssm-arima.sh tests/cli/ssm-arima-peers.sh tests/cli/ssm-s4d.sh

check_PROGRAMS += tests/unit/test_ssm_s4d
tests_unit_test_ssm_s4d_SOURCES = tests/unit/test_ssm_s4d.c
tests_unit_test_ssm_s4d_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_ssm_s4d_LDADD = $(CHECK_LIBS_ALL)
