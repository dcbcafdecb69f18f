# fuzz: a harness per parser under tests/fuzz (README.md there).
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="csv_fuzz ..."]
# builds them with clang's libFuzzer, ASan and UBSan against a copy of the
# library compiled the same way (tests/fuzz/build.sh) and runs each for
# FUZZ_SECONDS on its seed corpus (with generated large inputs) and
# dictionary; any finding fails.  `make check` replays the seeds and the
# inputs that once crashed or blew up (tests/fuzz/regress/) through
# driver.c, a plain main(), with the normal compiler.

FUZZ_HARNESSES = csv_fuzz bin_fuzz yaml_fuzz hmm_model_fuzz ssm_model_fuzz mjp_model_fuzz \
	pf_model_fuzz expr_fuzz uq_jsonl_fuzz
FUZZ_SECONDS = 60
FUZZ_TARGETS = $(FUZZ_HARNESSES)
FUZZ_MODE = libfuzzer
FUZZ_ENV = FUZZ_CC='$(FUZZ_CC)' FUZZ_CXX='$(FUZZ_CXX)' FUZZ_MODE='$(FUZZ_MODE)' \
	srcdir='$(srcdir)' builddir='$(top_builddir)' \
	LIB_SOURCES='$(lib_libstoch_a_SOURCES) $(lib_libsimd_avx2_a_SOURCES) $(lib_libsimd_avx512_a_SOURCES)' \
	DEP_CFLAGS='$(YAML_CFLAGS) $(ZLIB_CFLAGS) $(JANSSON_CFLAGS) $(NLOPT_CFLAGS) $(SLEEF_CFLAGS) $(FFTW_CFLAGS) $(SIMDJSON_CFLAGS)' \
	DEP_LIBS='$(YAML_LIBS) $(ZLIB_LIBS) $(JANSSON_LIBS) $(NLOPT_LIBS) $(SLEEF_LIBS) $(FFTW_LIBS) $(SIMDJSON_LIBS) -lstdc++ $(LIBS)'

if HAVE_LIBFUZZER
fuzz-build: config.h
	@$(FUZZ_ENV) $(SHELL) $(srcdir)/tests/fuzz/build.sh
fuzz: fuzz-build
	@FUZZ_SECONDS='$(FUZZ_SECONDS)' srcdir='$(srcdir)' builddir='$(top_builddir)' \
	  $(SHELL) $(srcdir)/tests/fuzz/run.sh $(FUZZ_TARGETS)
else
fuzz-build fuzz:
	@echo "make fuzz needs clang with libFuzzer: apt-get install clang libclang-rt-14-dev, then ./configure" >&2
	@exit 1
endif
.PHONY: fuzz fuzz-build

# Replay: each harness with driver.c, built by the normal compiler.
FUZZ_REPLAY_CFLAGS = $(AM_CFLAGS) -I$(srcdir)/tests/fuzz -Wno-missing-prototypes
check_PROGRAMS += tests/fuzz/csv_replay tests/fuzz/bin_replay tests/fuzz/yaml_replay \
	tests/fuzz/hmm_model_replay tests/fuzz/ssm_model_replay tests/fuzz/mjp_model_replay \
	tests/fuzz/pf_model_replay tests/fuzz/expr_replay tests/fuzz/uq_jsonl_replay
tests_fuzz_csv_replay_SOURCES = tests/fuzz/csv_fuzz.c tests/fuzz/driver.c
tests_fuzz_csv_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_bin_replay_SOURCES = tests/fuzz/bin_fuzz.c tests/fuzz/driver.c
tests_fuzz_bin_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_yaml_replay_SOURCES = tests/fuzz/yaml_fuzz.c tests/fuzz/driver.c
tests_fuzz_yaml_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_hmm_model_replay_SOURCES = tests/fuzz/hmm_model_fuzz.c tests/fuzz/driver.c
tests_fuzz_hmm_model_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_ssm_model_replay_SOURCES = tests/fuzz/ssm_model_fuzz.c tests/fuzz/driver.c
tests_fuzz_ssm_model_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_mjp_model_replay_SOURCES = tests/fuzz/mjp_model_fuzz.c tests/fuzz/driver.c
tests_fuzz_mjp_model_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_pf_model_replay_SOURCES = tests/fuzz/pf_model_fuzz.c tests/fuzz/driver.c
tests_fuzz_pf_model_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_expr_replay_SOURCES = tests/fuzz/expr_fuzz.c tests/fuzz/driver.c
tests_fuzz_expr_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_uq_jsonl_replay_SOURCES = tests/fuzz/uq_jsonl_fuzz.c tests/fuzz/driver.c
tests_fuzz_uq_jsonl_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
# the uq JSON Lines reader is C++ on simdjson: link with the C++ driver (see mk/uq.mk)
nodist_EXTRA_tests_fuzz_uq_jsonl_replay_SOURCES = cxx-link.cpp
tests_fuzz_uq_jsonl_replay_LDADD = $(LDADD) $(SIMDJSON_LIBS)
noinst_HEADERS += tests/fuzz/fuzz.h tests/fuzz/stream_fuzz.h

TESTS += tests/fuzz/replay.sh
dist_check_SCRIPTS += tests/fuzz/replay.sh
EXTRA_DIST += tests/fuzz/README.md tests/fuzz/build.sh tests/fuzz/run.sh tests/fuzz/gen-seeds.sh \
	tests/fuzz/seeds tests/fuzz/regress tests/fuzz/dict
# (make clean removes tests/fuzz/bin and tests/fuzz/work: clean-local in Makefile.am)
