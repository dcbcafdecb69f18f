# ssm: state-space forecasting (lib/ssm, ssm-forecast).
# This fragment appends to the variables of Makefile.am.

lib_libstoch_a_SOURCES += lib/ssm/kalman.c lib/ssm/structural.c lib/ssm/forecast.c \
	lib/ssm/s4d.c lib/ssm/model_io.c lib/ssm/families.c lib/ssm/select.c lib/ssm/output.c lib/ssm/batch.c \
	lib/ssm/fam_structural.c lib/ssm/fam_matrix.c lib/ssm/fam_s4d.c \
	lib/ssm/ets.c lib/ssm/fam_ets.c lib/ssm/calendar.c lib/ssm/mxpar.c
noinst_HEADERS += lib/ssm/kalman.h lib/ssm/structural.h lib/ssm/forecast.h \
	lib/ssm/s4d.h lib/ssm/model_io.h lib/ssm/family.h lib/ssm/internal.h lib/ssm/batch.h lib/ssm/ets.h lib/ssm/calendar.h lib/ssm/mxpar.h

check_PROGRAMS += tests/unit/test_kalman
tests_unit_test_kalman_SOURCES = tests/unit/test_kalman.c
tests_unit_test_kalman_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_kalman_LDADD = $(CHECK_LIBS_ALL)

dist_man_MANS += man/man1/ssm-forecast.1

bin_PROGRAMS += tools/ssm-forecast
tools_ssm_forecast_SOURCES = tools/ssm-forecast.c
check_PROGRAMS += tests/unit/test_ssm_structural
tests_unit_test_ssm_structural_SOURCES = tests/unit/test_ssm_structural.c
tests_unit_test_ssm_structural_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_ssm_structural_LDADD = $(CHECK_LIBS_ALL)
check_PROGRAMS += tests/unit/test_ssm_calendar
tests_unit_test_ssm_calendar_SOURCES = tests/unit/test_ssm_calendar.c
tests_unit_test_ssm_calendar_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_ssm_calendar_LDADD = $(CHECK_LIBS_ALL)
check_PROGRAMS += tests/unit/test_ssm_ets
tests_unit_test_ssm_ets_SOURCES = tests/unit/test_ssm_ets.c
tests_unit_test_ssm_ets_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_ssm_ets_LDADD = $(CHECK_LIBS_ALL)
check_PROGRAMS += tests/unit/test_ssm_forecast
tests_unit_test_ssm_forecast_SOURCES = tests/unit/test_ssm_forecast.c
tests_unit_test_ssm_forecast_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_ssm_forecast_LDADD = $(CHECK_LIBS_ALL)
TESTS += tests/cli/ssm-forecast.sh tests/cli/ssm-forecast-peers.sh tests/cli/ssm-ets-r.sh tests/cli/ssm-matrix-mle.sh tests/cli/ssm-matrix-peers.sh
dist_check_SCRIPTS += tests/cli/ssm-forecast.sh tests/cli/ssm-forecast-peers.sh tests/cli/ssm-ets-r.sh tests/cli/ssm-matrix-mle.sh tests/cli/ssm-matrix-peers.sh

# make demo: the Nile and (log) airline passengers, forecasts, decomposition
# and a holdout evaluation.
DEMO_TARGETS += demo-ssm
demo-ssm: tools/ssm-forecast
	@mkdir -p demo-out
	tools/ssm-forecast --model level -c flow -t year -H 10 -v --save-model demo-out/nile-level.yaml \
	  -o demo-out/nile-forecast.csv $(top_srcdir)/data/nile.csv
	tools/ssm-forecast --model level -c flow -t year --smooth -o demo-out/nile-smooth.csv \
	  $(top_srcdir)/data/nile.csv
	tools/ssm-forecast --model trend+seasonal:12 --log -c passengers -H 24 -v --se \
	  --save-model demo-out/airpassengers-bsm.yaml -o demo-out/airpassengers-forecast.csv \
	  $(top_srcdir)/data/airpassengers.csv
	tools/ssm-forecast --model trend+seasonal:12 --log -c passengers --smooth \
	  -o demo-out/airpassengers-smooth.csv $(top_srcdir)/data/airpassengers.csv
	@for m in trend+seasonal:12 ets auto s4d:16; do \
	  tools/ssm-forecast --model $$m --period 12 --log -c passengers --holdout 24 -q \
	    $(top_srcdir)/data/airpassengers.csv | sed "1d;s|^|$$m,|"; \
	done | sed '1i model,seq,n_train,h,mase,smape,cover80,cover95' | tee demo-out/airpassengers-holdout.csv
	@echo "demo-ssm: forecasts, decompositions and holdout scores in demo-out/"
