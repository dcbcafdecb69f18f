# ssm: state-space forecasting (lib/ssm, ssm-forecast).

lib_libstoch_a_SOURCES += lib/ssm/kalman.c lib/ssm/structural.c lib/ssm/forecast.c lib/ssm/s4d.c lib/ssm/model_io.c
noinst_HEADERS += lib/ssm/kalman.h lib/ssm/structural.h lib/ssm/forecast.h lib/ssm/s4d.h lib/ssm/model_io.h

check_PROGRAMS += tests/unit/test_kalman
tests_unit_test_kalman_SOURCES = tests/unit/test_kalman.c
tests_unit_test_kalman_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_kalman_LDADD = $(CHECK_LIBS_ALL)

# tests/unit/test_ssm_structural.c needs lib/core optim+linalg (registered once they land)
EXTRA_DIST += tests/unit/test_ssm_structural.c

# ssm-forecast links lib/core streams/yaml/optim: registered once they are on main.
EXTRA_DIST += tools/ssm-forecast.c
#bin_PROGRAMS += tools/ssm-forecast
#tools_ssm_forecast_SOURCES = tools/ssm-forecast.c
