# plot: pictures of the toolkit's outputs (lib/plot, stoch-plot), drawn by
# gnuplot run as a child process.  Appends to the variables of Makefile.am.

lib_libstoch_a_SOURCES += lib/plot/script.c lib/plot/gnuplot.c lib/plot/forecast.c lib/plot/states.c \
	lib/plot/smooth.c lib/plot/curves.c lib/plot/transition.c lib/plot/trace.c
noinst_HEADERS += lib/plot/plot.h lib/plot/internal.h

bin_PROGRAMS += tools/stoch-plot
tools_stoch_plot_SOURCES = tools/stoch-plot.c

# tests: every kind drawn as PNG and SVG (skipped without gnuplot), the
# scripts against golden files, bad inputs.  pngstat decodes the PNGs (and
# makes the README's palette PNGs); it is not a test itself, so it is not a
# check program (those all run as tests).
noinst_PROGRAMS = tests/cli/pngstat
tests_cli_pngstat_SOURCES = tests/cli/pngstat.c
TESTS += tests/cli/stoch-plot.sh
dist_check_SCRIPTS += tests/cli/stoch-plot.sh
dist_man_MANS += man/man1/stoch-plot.1

# make demo: one picture of each kind from the other demos' outputs, as a
# gnuplot script (always) and a PNG (when gnuplot is installed) in
# demo-out/plot-*.{gp,png}.  `make docs-img` rewrites those PNGs as palette
# PNGs of 256 colours (tests/cli/pngstat --palette: a third of the size)
# into docs/img/ for the README.
DEMO_TARGETS += demo-plot
PLOT_PICTURES = forecast states smooth roc pr rejection transition trace
demo-plot: demo-pf demo-uq demo-mjp
	@mkdir -p demo-out
	head -n 121 $(top_srcdir)/data/airpassengers.csv | tools/ssm-forecast --model trend+seasonal:12 --log \
	    -c passengers -H 24 -q -o demo-out/plot-air-holdout.csv
	tools/hmm-fit -K 2 -c y --restarts 4 -q --trace demo-out/plot-dax-trace.csv -o demo-out/plot-dax-hmm.yaml \
	    demo-out/dax-returns.csv
	tools/hmm-decode -m demo-out/plot-dax-hmm.yaml --posterior --with-data -o demo-out/plot-dax-states.csv \
	    demo-out/dax-returns.csv
	tools/pf-smooth -m $(top_srcdir)/data/pf-nile-lg.yaml -N 1000 --smoother ffbsi --quantiles 0.05,0.95 \
	    -o demo-out/plot-nile-pf.csv $(top_srcdir)/data/nile.csv
	tools/pf-smooth -m $(top_srcdir)/data/pf-nile-lg.yaml -N 1000 --smoother ffbsi --draws 20 \
	    -o demo-out/plot-nile-draws.csv $(top_srcdir)/data/nile.csv
	tools/uq-eval -l correct --curves demo-out/plot-uq-curves.csv -o /dev/null demo-out/uq-scores.csv
	tools/mjp-infer --panel -m demo-out/mjp-ratchet-fit.yaml --no-se -q --pmatrix-grid demo-out/plot-ratchet-pgrid.csv \
	    --grid 0:3:61 -o /dev/null demo-out/mjp-ratchet-panel.csv
	@plot() { name=$$1; shift; tools/stoch-plot "$$@" --script > demo-out/plot-$$name.gp || exit 1; \
	    if command -v gnuplot >/dev/null 2>&1; then tools/stoch-plot "$$@" -o demo-out/plot-$$name.png || exit 1; fi; }; \
	uq="-c msp,se,eigv,ln-pe,num-sets demo-out/plot-uq-curves.csv"; \
	plot forecast forecast demo-out/plot-air-holdout.csv --data $(top_srcdir)/data/airpassengers.csv \
	    -c passengers --dates 1949-01 --title "air passengers (thousands): two years held out" && \
	plot states states demo-out/plot-dax-states.csv --title "DAX daily returns (%): calm and turbulent" && \
	plot smooth smooth demo-out/plot-nile-pf.csv --data $(top_srcdir)/data/nile.csv -c flow \
	    --draws demo-out/plot-nile-draws.csv --max-draws 10 --dates 1871 --title "Nile flow: particle smoother (FFBSi)" && \
	plot roc roc $$uq && plot pr pr $$uq && plot rejection rejection $$uq && \
	plot transition transition demo-out/plot-ratchet-pgrid.csv --panels 0,3 --size 640x460 \
	    --title "flashing ratchet (mjp-infer fit): P(t) from states 0 and 3" && \
	plot trace trace demo-out/plot-dax-trace.csv --title "EM on the DAX returns: log-likelihood of 4 restarts"
	@if command -v gnuplot >/dev/null 2>&1; then \
	    echo "demo-plot: pictures demo-out/plot-{$$(echo $(PLOT_PICTURES) | tr ' ' ,)}.png and their scripts (.gp)"; \
	else echo "demo-plot: gnuplot not found (apt-get install gnuplot-nox): pictures skipped, scripts in demo-out/plot-*.gp"; fi

docs-img: demo tests/cli/pngstat
	@mkdir -p $(top_srcdir)/docs/img
	for p in $(PLOT_PICTURES); do \
	    tests/cli/pngstat --palette $(top_srcdir)/docs/img/$$p.png demo-out/plot-$$p.png || exit 1; done
	@ls -l $(top_srcdir)/docs/img
.PHONY: docs-img

check_PROGRAMS += tests/unit/test_plot
tests_unit_test_plot_SOURCES = tests/unit/test_plot.c
tests_unit_test_plot_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_unit_test_plot_LDADD = $(CHECK_LIBS_ALL)
