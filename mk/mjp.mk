# mjp: Markov jump processes (issue 5).  Appends to the variables of Makefile.am.

lib_libstoch_a_SOURCES += lib/mjp/model.c lib/mjp/data.c lib/mjp/lik.c \
	lib/mjp/fit.c lib/mjp/summary.c lib/mjp/sample.c lib/mjp/io.c lib/mjp/covariates.c lib/mjp/derived.c \
	lib/mjp/compare.c lib/mjp/report.c lib/mjp/boot.c
lib_libstoch_a_SOURCES += lib/mjp/pgrid.c
noinst_HEADERS += lib/mjp/mjp.h lib/mjp/internal.h

check_PROGRAMS += tests/unit/test_mjp
tests_unit_test_mjp_SOURCES = tests/unit/test_mjp.c
tests_unit_test_mjp_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_mjp_LDADD = $(CHECK_LIBS_ALL)

bin_PROGRAMS += tools/mjp-infer tools/mjp-sample
tools_mjp_infer_SOURCES = tools/mjp-infer.c
tools_mjp_sample_SOURCES = tools/mjp-sample.c
check_PROGRAMS += tests/unit/test_mjp_cov
tests_unit_test_mjp_cov_SOURCES = tests/unit/test_mjp_cov.c
tests_unit_test_mjp_cov_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_mjp_cov_LDADD = $(CHECK_LIBS_ALL)
check_PROGRAMS += tests/unit/test_mjp_report
tests_unit_test_mjp_report_SOURCES = tests/unit/test_mjp_report.c
tests_unit_test_mjp_report_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_mjp_report_LDADD = $(CHECK_LIBS_ALL)
check_PROGRAMS += tests/unit/test_mjp_model
tests_unit_test_mjp_model_SOURCES = tests/unit/test_mjp_model.c
tests_unit_test_mjp_model_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_mjp_model_LDADD = $(CHECK_LIBS_ALL)

TESTS += tests/cli/mjp-infer.sh tests/cli/mjp-sample.sh tests/cli/mjp-msm.sh tests/cli/mjp-covariates.sh tests/cli/mjp-msm-data.sh \
	tests/cli/mjp-msm-cov.sh
dist_check_SCRIPTS += tests/cli/mjp-infer.sh tests/cli/mjp-sample.sh tests/cli/mjp-msm.sh tests/cli/mjp-covariates.sh tests/cli/mjp-msm-data.sh \
	tests/cli/mjp-msm-cov.sh

dist_man_MANS += man/man1/mjp-infer.1 man/man1/mjp-sample.1

# make demo: sample the discrete flashing ratchet at panel times, infer
# (V, r, b) back from a distant start, and check each is within 4 standard
# errors of the ground truth (1, 1, 1).
DEMO_TARGETS += demo-mjp
demo-mjp: tools/mjp-sample tools/mjp-infer
	@mkdir -p demo-out
	tools/mjp-sample -m $(top_srcdir)/data/mjp-ratchet.yaml -n 500 --until 10 --obs-every 0.5 \
	    --seed 1 -o demo-out/mjp-ratchet-panel.csv
	tools/mjp-infer --panel -m $(top_srcdir)/data/mjp-ratchet-start.yaml --pmatrix 1 \
	    -o demo-out/mjp-ratchet-fit.yaml demo-out/mjp-ratchet-panel.csv
	@awk '$$0 ~ /^    [Vrb]:$$/ { p = $$1; sub(/:/, "", p) } p && $$1 == "estimate:" { e = $$2 } \
	    p && $$1 == "se:" { d = e - 1; if (d < 0) d = -d; printf "demo-mjp: %s = %.4f (se %.4f)\n", p, e, $$2; \
	    if (d > 4 * $$2) bad = 1; n++; p = "" } END { exit bad || n != 3 }' demo-out/mjp-ratchet-fit.yaml
	@echo "demo-mjp: ratchet (V, r, b) recovered within 4 se of (1, 1, 1); fit in demo-out/mjp-ratchet-fit.yaml"
check_PROGRAMS += tests/unit/test_mjp_pgrid
tests_unit_test_mjp_pgrid_SOURCES = tests/unit/test_mjp_pgrid.c
tests_unit_test_mjp_pgrid_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_mjp_pgrid_LDADD = $(CHECK_LIBS_ALL)
TESTS += tests/cli/mjp-infer-pgrid.sh
dist_check_SCRIPTS += tests/cli/mjp-infer-pgrid.sh
