# scale: many machines (lib/core/mpi, optional MPI via ./configure --with-mpi)
# and the tests that results do not depend on -j or on the number of ranks.

lib_libstoch_a_SOURCES += lib/core/mpi.c
noinst_HEADERS += lib/core/mpi.h

check_PROGRAMS += tests/unit/test_mpi tests/mpi/mpi-probe
tests_unit_test_mpi_SOURCES = tests/unit/test_mpi.c
tests_unit_test_mpi_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_mpi_LDADD = $(CHECK_LIBS_ALL)
tests_mpi_mpi_probe_SOURCES = tests/mpi/mpi-probe.c

TESTS += tests/cli/threads.sh tests/cli/mpi.sh
dist_check_SCRIPTS += tests/cli/threads.sh tests/cli/mpi.sh
