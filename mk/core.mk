# lib/core: errors and program helpers.  Streams, YAML and numerics have
# their own fragments (stream.mk, yaml.mk, numeric.mk).

lib_libstoch_a_SOURCES += lib/core/err.c lib/core/cli.c lib/core/resource.c
noinst_HEADERS += lib/core/err.h lib/core/cli.h lib/core/resource.h lib/core/threads.h tests/unit/check_util.h

check_PROGRAMS += tests/unit/test_err tests/unit/test_cli tests/unit/test_resource
tests_unit_test_err_SOURCES = tests/unit/test_err.c
tests_unit_test_err_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_err_LDADD = $(CHECK_LIBS_ALL)
tests_unit_test_cli_SOURCES = tests/unit/test_cli.c
tests_unit_test_cli_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_cli_LDADD = $(CHECK_LIBS_ALL)
tests_unit_test_resource_SOURCES = tests/unit/test_resource.c
tests_unit_test_resource_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_resource_LDADD = $(CHECK_LIBS_ALL)

TESTS += tests/cli/conventions.sh
dist_check_SCRIPTS += tests/cli/conventions.sh
TESTS += tests/cli/badinput.sh
dist_check_SCRIPTS += tests/cli/badinput.sh
