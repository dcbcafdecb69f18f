# plot: pictures of the toolkit's outputs (lib/plot, stoch-plot), drawn by
# gnuplot run as a child process.  Appends to the variables of Makefile.am.

lib_libstoch_a_SOURCES += lib/plot/script.c lib/plot/gnuplot.c lib/plot/forecast.c lib/plot/states.c \
	lib/plot/smooth.c lib/plot/curves.c lib/plot/transition.c lib/plot/trace.c
noinst_HEADERS += lib/plot/plot.h lib/plot/internal.h

bin_PROGRAMS += tools/stoch-plot
tools_stoch_plot_SOURCES = tools/stoch-plot.c

# tests: every kind drawn as PNG and SVG (skipped without gnuplot), the
# scripts against golden files, bad inputs.  pngstat decodes the PNGs.
check_PROGRAMS += tests/cli/pngstat
tests_cli_pngstat_SOURCES = tests/cli/pngstat.c
TESTS += tests/cli/stoch-plot.sh
dist_check_SCRIPTS += tests/cli/stoch-plot.sh
dist_man_MANS += man/man1/stoch-plot.1
