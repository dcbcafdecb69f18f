# mjp: Markov jump processes (issue 5).  Appends to the variables of Makefile.am.

lib_libstoch_a_SOURCES += lib/mjp/expr.c lib/mjp/model.c lib/mjp/data.c lib/mjp/lik.c \
	lib/mjp/fit.c lib/mjp/summary.c lib/mjp/sample.c
noinst_HEADERS += lib/mjp/mjp.h lib/mjp/internal.h
