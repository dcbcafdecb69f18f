# hmm: hidden Markov models (lib/hmm, hmm-fit, hmm-decode, hmm-sample).

lib_libstoch_a_SOURCES += lib/hmm/model.c lib/hmm/emit_discrete.c lib/hmm/emit_gauss.c lib/hmm/emit_ar.c lib/hmm/emit_gmm.c lib/hmm/emit_bernoulli.c lib/hmm/emit_multinomial.c lib/hmm/emit_gamma.c lib/hmm/emit_lognormal.c lib/hmm/emit_regress.c lib/hmm/lingauss.c lib/hmm/durations.c lib/hmm/hsmm.c lib/hmm/se.c \
	lib/hmm/forward.c lib/hmm/kernels.c lib/hmm/lanes.c lib/hmm/fit.c lib/hmm/data.c lib/hmm/sample.c lib/hmm/paths.c lib/hmm/io.c
noinst_HEADERS += lib/hmm/hmm.h lib/hmm/internal.h

check_PROGRAMS += tests/unit/test_hmm tests/unit/test_hmm_fit
tests_unit_test_hmm_SOURCES = tests/unit/test_hmm.c
tests_unit_test_hmm_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_hmm_LDADD = $(CHECK_LIBS_ALL)
tests_unit_test_hmm_fit_SOURCES = tests/unit/test_hmm_fit.c
tests_unit_test_hmm_fit_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_hmm_fit_LDADD = $(CHECK_LIBS_ALL)
check_PROGRAMS += tests/unit/test_hmm_io
tests_unit_test_hmm_io_SOURCES = tests/unit/test_hmm_io.c
tests_unit_test_hmm_io_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_hmm_io_LDADD = $(CHECK_LIBS_ALL)

bin_PROGRAMS += tools/hmm-fit tools/hmm-decode tools/hmm-sample
tools_hmm_fit_SOURCES = tools/hmm-fit.c
tools_hmm_decode_SOURCES = tools/hmm-decode.c
tools_hmm_sample_SOURCES = tools/hmm-sample.c

check_PROGRAMS += tests/unit/test_hmm_arch
tests_unit_test_hmm_arch_SOURCES = tests/unit/test_hmm_arch.c
tests_unit_test_hmm_arch_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_hmm_arch_LDADD = $(CHECK_LIBS_ALL)

dist_man_MANS += man/man1/hmm-fit.1 man/man1/hmm-decode.1 man/man1/hmm-sample.1
TESTS += tests/cli/hmm-fit.sh tests/cli/hmm-decode.sh tests/cli/hmm-sample.sh
dist_check_SCRIPTS += tests/cli/hmm-fit.sh tests/cli/hmm-decode.sh tests/cli/hmm-sample.sh

# make demo: two-state Gaussian HMM of Old Faithful's waiting times (fit,
# Viterbi, posteriors, scores), then sample an example architecture and fit
# it again, choosing K by BIC.
DEMO_TARGETS += demo-hmm
demo-hmm: tools/hmm-fit tools/hmm-decode tools/hmm-sample
	@mkdir -p demo-out
	tools/hmm-fit -K 2 -c waiting --restarts 4 -o demo-out/faithful-hmm.yaml $(top_srcdir)/data/faithful.csv
	tools/hmm-decode -m demo-out/faithful-hmm.yaml $(top_srcdir)/data/faithful.csv > demo-out/faithful-viterbi.csv
	tools/hmm-decode -m demo-out/faithful-hmm.yaml --posterior $(top_srcdir)/data/faithful.csv > demo-out/faithful-posterior.csv
	tools/hmm-decode -m demo-out/faithful-hmm.yaml --score --viterbi $(top_srcdir)/data/faithful.csv
	@sed -n '/^emission:/,$$p' demo-out/faithful-hmm.yaml
	tools/hmm-sample -m $(top_srcdir)/data/hmm-cyclic-4.yaml -n 400 -T 50 --seed 7 -o demo-out/cyclic4-sample.csv
	tools/hmm-fit -K 3..5 -e categorical --restarts 2 --max-iter 300 -o demo-out/cyclic4-fit.yaml demo-out/cyclic4-sample.csv
	@grep -q '^states: 4' demo-out/cyclic4-fit.yaml && echo "demo-hmm: BIC picked the true 4 states of data/hmm-cyclic-4.yaml"
TESTS += tests/cli/hmm-numpy.sh
dist_check_SCRIPTS += tests/cli/hmm-numpy.sh
EXTRA_DIST += tests/cli/hmm_numpy_ref.py tests/cli/hmm_numpy_emis.py
TESTS += tests/cli/hmm-architectures.sh
dist_check_SCRIPTS += tests/cli/hmm-architectures.sh
TESTS += tests/cli/hmm-ghmm.sh
dist_check_SCRIPTS += tests/cli/hmm-ghmm.sh
check_PROGRAMS += tests/unit/test_hmm_paths
tests_unit_test_hmm_paths_SOURCES = tests/unit/test_hmm_paths.c
tests_unit_test_hmm_paths_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_hmm_paths_LDADD = $(CHECK_LIBS_ALL)
check_PROGRAMS += tests/unit/test_hsmm
tests_unit_test_hsmm_SOURCES = tests/unit/test_hsmm.c
tests_unit_test_hsmm_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_hsmm_LDADD = $(CHECK_LIBS_ALL)
TESTS += tests/cli/hsmm-numpy.sh
dist_check_SCRIPTS += tests/cli/hsmm-numpy.sh
EXTRA_DIST += tests/cli/hsmm_numpy_ref.py
TESTS += tests/cli/hmm-se.sh
dist_check_SCRIPTS += tests/cli/hmm-se.sh
EXTRA_DIST += tests/cli/hmm_numpy_se.py
check_PROGRAMS += tests/unit/test_hmm_se
tests_unit_test_hmm_se_SOURCES = tests/unit/test_hmm_se.c
tests_unit_test_hmm_se_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_hmm_se_LDADD = $(CHECK_LIBS_ALL)
TESTS += tests/cli/hmm-decode-with-data.sh
dist_check_SCRIPTS += tests/cli/hmm-decode-with-data.sh
TESTS += tests/cli/hmm-fit-trace.sh
dist_check_SCRIPTS += tests/cli/hmm-fit-trace.sh
TESTS += tests/cli/hmm-missing.sh
dist_check_SCRIPTS += tests/cli/hmm-missing.sh
TESTS += tests/cli/hmm-labels.sh
dist_check_SCRIPTS += tests/cli/hmm-labels.sh
