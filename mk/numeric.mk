# numeric: random numbers, dense linear algebra, optimisation (lib/core).
# This fragment appends to the variables of Makefile.am.

lib_libstoch_a_SOURCES += lib/core/rng.c
noinst_HEADERS += lib/core/rng.h lib/core/rng_ziggurat.h lib/core/rng_jumps.h lib/core/linalg.h lib/core/optim.h
EXTRA_DIST += lib/core/gen_ziggurat.py lib/core/gen_jumps.py

check_PROGRAMS += tests/unit/test_rng
tests_unit_test_rng_SOURCES = tests/unit/test_rng.c
tests_unit_test_rng_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_rng_LDADD = $(CHECK_LIBS_ALL)

# Vector maths and the vector samplers: one copy of lib/core/simd_kernels.h
# per instruction set, chosen at run time (vmath.h).  The AVX2 and AVX-512
# copies need their own flags, so they are built as two helper libraries
# whose objects go into libstoch.a.  No contraction into FMA anywhere in
# them: every path must give the bits of the portable C.
lib_libstoch_a_SOURCES += lib/core/vmath.c lib/core/simd_portable.c
noinst_HEADERS += lib/core/vmath.h lib/core/simd.h lib/core/simd_kernels.h
if ST_X86_64
lib_libstoch_a_SOURCES += lib/core/simd_sse2.c
noinst_LIBRARIES += lib/libsimd_avx2.a lib/libsimd_avx512.a
lib_libsimd_avx2_a_SOURCES = lib/core/simd_avx2.c
lib_libsimd_avx2_a_CFLAGS = $(AM_CFLAGS) -mavx2 -ffp-contract=off
lib_libsimd_avx512_a_SOURCES = lib/core/simd_avx512.c
lib_libsimd_avx512_a_CFLAGS = $(AM_CFLAGS) -mavx512f -ffp-contract=off
lib_libstoch_a_LIBADD = lib/core/libsimd_avx2_a-simd_avx2.$(OBJEXT) \
	lib/core/libsimd_avx512_a-simd_avx512.$(OBJEXT)
endif
EXTRA_DIST += lib/core/simd_avx2.c lib/core/simd_avx512.c lib/core/simd_sse2.c

check_PROGRAMS += tests/unit/test_vmath
tests_unit_test_vmath_SOURCES = tests/unit/test_vmath.c
tests_unit_test_vmath_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_vmath_LDADD = $(CHECK_LIBS_ALL)

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

# MCMC summaries: rank-normalised split R-hat and effective sample sizes
lib_libstoch_a_SOURCES += lib/core/mcmc.c
noinst_HEADERS += lib/core/mcmc.h

check_PROGRAMS += tests/unit/test_mcmc
tests_unit_test_mcmc_SOURCES = tests/unit/test_mcmc.c
tests_unit_test_mcmc_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_mcmc_LDADD = $(CHECK_LIBS_ALL)
