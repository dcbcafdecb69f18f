# numeric: random numbers, dense linear algebra, optimisation (lib/core).
# This fragment appends to the variables of Makefile.am.

lib_libstoch_a_SOURCES += lib/core/rng.c
noinst_HEADERS += lib/core/rng.h lib/core/rng_ziggurat.h lib/core/rng_jumps.h lib/core/linalg.h lib/core/optim.h
EXTRA_DIST += lib/core/gen_ziggurat.py lib/core/gen_jumps.py

check_PROGRAMS += tests/unit/test_rng
tests_unit_test_rng_SOURCES = tests/unit/test_rng.c
tests_unit_test_rng_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_rng_LDADD = $(CHECK_LIBS_ALL)

lib_libstoch_a_SOURCES += lib/core/linalg.c lib/core/expm.c
noinst_HEADERS += lib/core/lapack.h

check_PROGRAMS += tests/unit/test_linalg
tests_unit_test_linalg_SOURCES = tests/unit/test_linalg.c
tests_unit_test_linalg_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_linalg_LDADD = $(CHECK_LIBS_ALL)

lib_libstoch_a_SOURCES += lib/core/optim.c

check_PROGRAMS += tests/unit/test_optim
tests_unit_test_optim_SOURCES = tests/unit/test_optim.c
tests_unit_test_optim_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_optim_LDADD = $(CHECK_LIBS_ALL)

# special functions (digamma, trigamma) for Gamma and negative-binomial fits
lib_libstoch_a_SOURCES += lib/core/specfun.c
noinst_HEADERS += lib/core/specfun.h
check_PROGRAMS += tests/unit/test_specfun
tests_unit_test_specfun_SOURCES = tests/unit/test_specfun.c
tests_unit_test_specfun_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_specfun_LDADD = $(CHECK_LIBS_ALL)
