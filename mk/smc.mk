# smc: particle filters and smoothers (lib/smc), pf-smooth and pf-resample.
# This fragment appends to the variables of Makefile.am.

lib_libstoch_a_SOURCES += lib/smc/model.c lib/smc/model_load.c lib/smc/model_builtin.c \
	lib/smc/model_eval.c lib/smc/model_grad.c lib/smc/model_builtin_par.c lib/smc/model_write.c \
	lib/smc/func.c lib/smc/series.c lib/smc/fit.c lib/smc/pmmh.c lib/smc/resample.c \
	lib/smc/filter.c lib/smc/smooth.c
noinst_HEADERS += lib/smc/func.h lib/smc/series.h lib/smc/fit.h lib/smc/pmmh.h lib/smc/dist.h lib/smc/model.h lib/smc/model_internal.h lib/smc/resample.h \
	lib/smc/pf.h lib/smc/pf_internal.h

bin_PROGRAMS += tools/pf-smooth tools/pf-resample tools/pf-fit
tools_pf_smooth_SOURCES = tools/pf-smooth.c
tools_pf_fit_SOURCES = tools/pf-fit.c
tools_pf_resample_SOURCES = tools/pf-resample.c

check_PROGRAMS += tests/unit/test_smc_resample tests/unit/test_smc_model tests/unit/test_smc_pf tests/unit/test_smc_fit tests/unit/test_smc_pmmh
tests_unit_test_smc_pmmh_SOURCES = tests/unit/test_smc_pmmh.c
tests_unit_test_smc_pmmh_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_smc_pmmh_LDADD = $(CHECK_LIBS_ALL)
tests_unit_test_smc_fit_SOURCES = tests/unit/test_smc_fit.c
tests_unit_test_smc_fit_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_smc_fit_LDADD = $(CHECK_LIBS_ALL)
tests_unit_test_smc_resample_SOURCES = tests/unit/test_smc_resample.c
tests_unit_test_smc_resample_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_smc_resample_LDADD = $(CHECK_LIBS_ALL)
# pf-resample's session: weights carried between steps, particle Gibbs
lib_libstoch_a_SOURCES += lib/smc/resample_session.c
tests_unit_test_smc_model_SOURCES = tests/unit/test_smc_model.c
tests_unit_test_smc_model_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_smc_model_LDADD = $(CHECK_LIBS_ALL)
tests_unit_test_smc_pf_SOURCES = tests/unit/test_smc_pf.c
tests_unit_test_smc_pf_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_smc_pf_LDADD = $(CHECK_LIBS_ALL)

TESTS += tests/cli/pf-smooth.sh tests/cli/pf-resample.sh tests/cli/pf-fit.sh
dist_check_SCRIPTS += tests/cli/pf-smooth.sh tests/cli/pf-resample.sh tests/cli/pf-fit.sh

dist_man_MANS += man/man1/pf-smooth.1 man/man1/pf-resample.1 man/man1/pf-fit.1

# make demo: stochastic volatility of the DAX (returns in percent from
# data/eustockmarkets.csv) smoothed by PaRIS, the Nile local level model,
# lynx counts with a Poisson observation smoothed by FFBSi, and pf-resample
# on the sampled generations of data/uq-trivia.jsonl (one step per prompt,
# log-weight = the generation's summed token log-probabilities).
DEMO_TARGETS += demo-pf
demo-pf: all
	@mkdir -p demo-out
	$(AWK) -F, 'NR == 1 { print "t,y"; next } NR > 2 { printf "%d,%.10g\n", NR - 2, 100 * log($$2 / p) } { p = $$2 }' \
	    $(srcdir)/data/eustockmarkets.csv > demo-out/dax-returns.csv
	tools/pf-smooth -v -m $(srcdir)/data/pf-sv.yaml -N 1000 --smoother paris \
	    --quantiles 0.05,0.5,0.95 -o demo-out/pf-dax-sv.csv demo-out/dax-returns.csv
	tools/pf-smooth -v -m $(srcdir)/data/pf-nile-lg.yaml -N 5000 --smoother ffbsi \
	    -o demo-out/pf-nile.csv $(srcdir)/data/nile.csv
	tools/pf-smooth -v -m $(srcdir)/data/pf-lynx-poisson.yaml -N 2000 --smoother ffbsi \
	    -o demo-out/pf-lynx.csv $(srcdir)/data/lynx.csv
	$(AWK) 'BEGIN { print "step,particle,logw" } { s = substr($$0, index($$0, "\"samples\":[")); n = 0; \
	    while (match(s, /"logprobs":\[[^]]*\]/)) { seg = substr(s, RSTART + 12, RLENGTH - 13); k = split(seg, v, ","); \
	    tot = 0; for (i = 1; i <= k; i++) tot += v[i]; print NR "," n "," tot; n++; s = substr(s, RSTART + RLENGTH) } }' \
	    $(srcdir)/data/uq-trivia.jsonl > demo-out/pf-trivia-logw.csv
	tools/pf-resample --always --temperature 2 -o demo-out/pf-trivia-resampled.csv demo-out/pf-trivia-logw.csv
	@echo "demo-pf: smoothed DAX log-variance in demo-out/pf-dax-sv.csv; Nile level in demo-out/pf-nile.csv; lynx log-intensity in demo-out/pf-lynx.csv; generations resampled by sequence log-probability in demo-out/pf-trivia-resampled.csv"
