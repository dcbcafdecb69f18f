# hmm: hidden Markov models (lib/hmm, hmm-fit, hmm-decode, hmm-sample).

lib_libstoch_a_SOURCES += lib/hmm/model.c lib/hmm/emit_discrete.c lib/hmm/emit_gauss.c \
	lib/hmm/forward.c lib/hmm/fit.c lib/hmm/data.c lib/hmm/sample.c lib/hmm/io.c
noinst_HEADERS += lib/hmm/hmm.h lib/hmm/internal.h
