# uq: uncertainty scores for language-model generations (uq-entropy) and
# their evaluation (uq-eval).  Appends to the variables of Makefile.am.

lib_libstoch_a_SOURCES += lib/uq/arena.c lib/uq/json_simd.cpp lib/uq/input.c lib/uq/text.c lib/uq/cluster.c \
	lib/uq/scores.c lib/uq/tokens.c lib/uq/sar.c lib/uq/density.c lib/uq/spectral.c lib/uq/metrics.c lib/uq/run.c lib/uq/eval.c
lib_libstoch_a_SOURCES += lib/uq/curves.c
noinst_HEADERS += lib/uq/curves.h
noinst_HEADERS += lib/uq/uq.h lib/uq/run.h lib/uq/eval.h lib/uq/json.h lib/uq/text.h lib/uq/unicode_tables.h

# The JSON input (lib/uq/json_simd.cpp) is C++ on libsimdjson: a program
# that reads it links with the C++ compiler, which automake picks when a
# program names a C++ source (nodist_EXTRA_*: never built, it only names
# the linker).
check_PROGRAMS += tests/unit/test_uq_input tests/unit/test_uq_scores tests/unit/test_uq_metrics
tests_unit_test_uq_input_SOURCES = tests/unit/test_uq_input.c
nodist_EXTRA_tests_unit_test_uq_input_SOURCES = cxx-link.cpp
tests_unit_test_uq_input_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_uq_input_LDADD = $(CHECK_LIBS_ALL) $(SIMDJSON_LIBS)
tests_unit_test_uq_scores_SOURCES = tests/unit/test_uq_scores.c
nodist_EXTRA_tests_unit_test_uq_scores_SOURCES = cxx-link.cpp
tests_unit_test_uq_scores_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_uq_scores_LDADD = $(CHECK_LIBS_ALL) $(SIMDJSON_LIBS)
tests_unit_test_uq_metrics_SOURCES = tests/unit/test_uq_metrics.c
nodist_EXTRA_tests_unit_test_uq_metrics_SOURCES = cxx-link.cpp
tests_unit_test_uq_metrics_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_uq_metrics_LDADD = $(CHECK_LIBS_ALL) $(SIMDJSON_LIBS)
check_PROGRAMS += tests/unit/test_uq_curves
tests_unit_test_uq_curves_SOURCES = tests/unit/test_uq_curves.c
tests_unit_test_uq_curves_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_uq_curves_LDADD = $(CHECK_LIBS_ALL)

bin_PROGRAMS += tools/uq-entropy tools/uq-eval
tools_uq_entropy_SOURCES = tools/uq-entropy.c
nodist_EXTRA_tools_uq_entropy_SOURCES = cxx-link.cpp
tools_uq_entropy_LDADD = $(ST_LIBS) $(SIMDJSON_LIBS)
tools_uq_eval_SOURCES = tools/uq-eval.c
dist_man_MANS += man/man1/uq-entropy.1 man/man1/uq-eval.1 man/man5/stoch-uq-input.5

TESTS += tests/cli/uq-entropy.sh tests/cli/uq-eval.sh tests/cli/uq-numpy.sh
TESTS += tests/cli/uq-eval-curves.sh
dist_check_SCRIPTS += tests/cli/uq-eval-curves.sh
dist_check_SCRIPTS += tests/cli/uq-entropy.sh tests/cli/uq-eval.sh tests/cli/uq-numpy.sh
EXTRA_DIST += tests/cli/uq_numpy.py

# make demo: score the shipped example generations and evaluate the scores.
DEMO_TARGETS += demo-uq
demo-uq: all
	@mkdir -p demo-out
	tools/uq-entropy -q -s msp,g-nll,ppl,mte,pe,ln-pe,se,se-discrete,num-sets,eigv,deg,ecc,lexsim-rougel,eigenscore,kle,inv-entropy \
	  -o demo-out/uq-scores.csv $(srcdir)/data/uq-trivia.jsonl
	tools/uq-eval -l correct --bootstrap 200 -o demo-out/uq-eval.csv demo-out/uq-scores.csv
	@awk -F, '$$2 == "auroc" { printf "demo-uq: AUROC %-14s %.3f\n", $$1, $$4 }' demo-out/uq-eval.csv

# Regenerate the Unicode tables of the lexical scores from Debian's
# unicode-data (not part of the build: the output is committed).
EXTRA_DIST += lib/uq/gen-unicode.sh
unicode-tables:
	sh $(srcdir)/lib/uq/gen-unicode.sh >$(srcdir)/lib/uq/unicode_tables.h.tmp
	mv $(srcdir)/lib/uq/unicode_tables.h.tmp $(srcdir)/lib/uq/unicode_tables.h
.PHONY: unicode-tables
