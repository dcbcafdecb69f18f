# yaml: model files (stoch-model(5)): strict reader over libyaml and writer.
lib_libstoch_a_SOURCES += lib/core/yaml.c lib/core/yaml_write.c
noinst_HEADERS += lib/core/yaml.h lib/core/utf8.h
dist_man_MANS += man/man5/stoch-model.5

check_PROGRAMS += tests/unit/test_yaml
tests_unit_test_yaml_SOURCES = tests/unit/test_yaml.c
tests_unit_test_yaml_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_yaml_LDADD = $(CHECK_LIBS_ALL)
EXTRA_DIST += tests/fuzz/yaml_fuzz.c
