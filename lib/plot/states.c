/* stoch-plot states: one sequence's observations (hmm-decode --with-data,
 * hmm-sample, mjp-infer --viterbi) over colour bands of its decoded or true
 * states, one panel per observation column, and the posterior state
 * probabilities stacked below when the stream has them (p0, p1, ...). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot/internal.h"

#define MAX_OBS 4
#define MAX_STATES 64

/* "p<k>" -> k, else -1. */
static int post_index(const char *name)
{
    int k, n = 0;
    if (sscanf(name, "p%d%n", &k, &n) == 1 && name[n] == '\0' && k >= 0 && name[1] >= '0' && name[1] <= '9')
        return k;
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The outer edges of n steps at times tt: half a step beyond the ends. */
static double xlo0(const double *tt, size_t n)
{
    return n > 1 ? tt[0] - (tt[1] - tt[0]) / 2 : tt[0] - 0.5;
}

static double xhi0(const double *tt, size_t n)
{
    return n > 1 ? tt[n - 1] + (tt[n - 1] - tt[n - 2]) / 2 : tt[0] + 0.5;
}

int plot_states(gp *g, const st_plot_inputs *in)
{
    const st_table *t = in->main;
    int sc = need_col(g, t, "state", "the states");
    if (sc < 0)
        return sc;
    int tc = st_table_col(t, "t"), seqc = st_table_col(t, "seq");
    /* posterior columns p0 .. p(K-1), observation columns: the rest (or -c) */
    int pc[MAX_STATES], obs[MAX_OBS];
    size_t np = 0, nobs = 0, ncand = 0, wanted = 0;
    const char *cand[256];
    for (size_t j = 0; j < t->ncols; j++) {
        const char *name = t->names[j];
        int k = post_index(name);
        if ((int)j == sc || (int)j == tc || (int)j == seqc)
            continue;
        if (k >= 0 && (size_t)k == np && np < MAX_STATES) {
            pc[np++] = (int)j;
            continue;
        }
        if (ncand < 256)
            cand[ncand++] = name;
        if (list_has(g->o->columns, name) && wanted++ < MAX_OBS)
            obs[nobs++] = (int)j;
    }
    if (wanted > nobs)
        gp_note(g, "%s: drawing %zu of %zu observation columns (choose with -c)", tab_name(t), nobs, wanted);
    int rc = list_check(g, t, g->o->columns, cand, ncand, "observation column");
    if (rc < 0)
        return rc;
    if (nobs == 0)
        return st_err_set(g->e, ST_EDATA, tab_name(t), 1, 0,
                          "no observation columns beside the states: run hmm-decode with --with-data");
    st_group *gr = NULL;
    size_t ng = 0;
    if ((rc = seq_groups(g, t, &gr, &ng)) < 0)
        return rc;
    st_plot_opts one = *g->o; /* one sequence: the first selected, noted */
    one.max_panels = 1;
    const st_plot_opts *saved = g->o;
    g->o = &one;
    rc = select_groups(g, t, gr, &ng);
    g->o = saved;
    if (rc < 0) {
        free(gr);
        return rc;
    }
    size_t a = gr[0].start, n = gr[0].n;
    double seq = gr[0].seq;
    free(gr);
    /* the states present, in order: colour i for the i-th */
    double *sv = malloc(n * sizeof *sv), *tt = malloc(n * sizeof *tt);
    if (!sv || !tt) {
        free(sv);
        free(tt);
        return st_err_nomem(g->e, "plot");
    }
    size_t ns = 0;
    for (size_t i = 0; i < n; i++) {
        tt[i] = tc >= 0 ? st_table_get(t, a + i, (size_t)tc) : (double)i;
        double s = st_table_get(t, a + i, (size_t)sc);
        if (!isfinite(s)) {
            free(sv);
            free(tt);
            return st_err_set(g->e, ST_EDATA, tab_name(t), 0, 0, "missing state in row %zu of seq %.17g", i + 1,
                              seq);
        }
        sv[ns++] = s;
    }
    qsort(sv, ns, sizeof *sv, cmp_double);
    size_t nd = 0;
    for (size_t i = 0; i < ns; i++)
        if (nd == 0 || sv[i] != sv[nd - 1])
            sv[nd++] = sv[i];
    if (nd > MAX_STATES) {
        free(sv);
        free(tt);
        return st_err_set(g->e, ST_EDATA, tab_name(t), 0, 0, "%zu distinct states: more than %d to colour", nd,
                          MAX_STATES);
    }
    size_t panels = nobs + (np > 0);
    char what[128];
    snprintf(what, sizeof what, "states and observations of seq %.17g", seq);
    gp_header(g, what, 1, panels > 2 ? panels - 1 : 1);
    /* bands: runs of one state, from midpoint to midpoint */
    int bb = gp_block(g);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double s = st_table_get(t, a + i, (size_t)sc);
        while (j < n && st_table_get(t, a + j, (size_t)sc) == s)
            j++;
        double lo = i > 0 ? (tt[i - 1] + tt[i]) / 2 : xlo0(tt, n);
        double hi = j < n ? (tt[j - 1] + tt[j]) / 2 : xhi0(tt, n);
        size_t k = 0;
        while (sv[k] != s)
            k++;
        char tint[8];
        gp_tint(k, 0.65, tint);
        gp_x(g, lo);
        gp_printf(g, " ");
        gp_x(g, hi);
        gp_printf(g, " %ld\n", strtol(tint + 1, NULL, 16));
        i = j;
    }
    gp_block_end(g);
    double xlo = xlo0(tt, n), xhi = xhi0(tt, n);
    /* observations, then the state's colour index */
    int ob = gp_block(g);
    for (size_t i = 0; i < n; i++) {
        gp_x(g, tt[i]);
        for (size_t k = 0; k < nobs; k++) {
            gp_printf(g, " ");
            gp_num(g, st_table_get(t, a + i, (size_t)obs[k]));
        }
        size_t c = 0;
        while (sv[c] != st_table_get(t, a + i, (size_t)sc))
            c++;
        gp_printf(g, " %zu\n", c);
    }
    gp_block_end(g);
    /* cumulative posteriors, constant over each step (from midpoint to
     * midpoint, as the bands): two rows per step */
    int pb = 0;
    if (np) {
        pb = gp_block(g);
        for (size_t i = 0; i < n; i++)
            for (int edge = 0; edge < 2; edge++) {
                double x = edge == 0 ? (i > 0 ? (tt[i - 1] + tt[i]) / 2 : xlo0(tt, n))
                                     : (i + 1 < n ? (tt[i] + tt[i + 1]) / 2 : xhi0(tt, n));
                gp_x(g, x);
                double cum = 0;
                for (size_t k = 0; k < np; k++) {
                    cum += st_table_get(t, a + i, (size_t)pc[k]);
                    gp_printf(g, " ");
                    gp_num(g, k + 1 == np ? 1 : fmin(cum, 1));
                }
                gp_printf(g, "\n");
            }
        gp_block_end(g);
    }
    /* symbols (integers over a short range) as points, else a line */
    const char *style[MAX_OBS];
    double ylo[MAX_OBS], yhi[MAX_OBS];
    for (size_t k = 0; k < nobs; k++) {
        int discrete = 1;
        col_range(t, obs[k], a, a + n, &ylo[k], &yhi[k]);
        if (!(ylo[k] <= yhi[k])) {
            ylo[k] = 0;
            yhi[k] = 1;
        }
        for (size_t i = a; i < a + n && discrete; i++) {
            double x = st_table_get(t, i, (size_t)obs[k]);
            discrete = !isfinite(x) || x == floor(x);
        }
        style[k] = discrete && yhi[k] - ylo[k] <= 30 ? "points pt 7 ps 0.4 lc rgb \"black\""
                   : n <= 400                         ? "linespoints lw 1 pt 7 ps 0.3 lc rgb \"black\""
                                                      : "lines lw 1 lc rgb \"black\"";
        double pad = yhi[k] > ylo[k] ? 0.05 * (yhi[k] - ylo[k]) : 0.5;
        ylo[k] -= pad;
        yhi[k] += pad;
    }
    /* in text, colour bands would bury the observations: there each
     * observation is a point of its state's character and colour instead */
    int text = g->o->term == ST_PLOT_DUMB;
    gp_key key = {0};
    for (size_t s = 0; s < nd; s++) {
        char tint[8], title[48];
        gp_tint(s, 0.65, tint);
        snprintf(title, sizeof title, "state %.17g", sv[s]);
        if (text)
            gp_key_add(&key, title, "points pt %zu lc rgb \"%s\"", s + 1, gp_color(s));
        else
            gp_key_add(&key, title, "boxes fc rgb \"%s\"", tint);
    }
    if (!text)
        gp_key_add(&key, "observed", "%s", style[0]);
    gp_printf(g, "set style fill solid 1.0 noborder\nset multiplot\n");
    int band = gp_legend(g, &key);
    gp_xaxis(g, xlo, xhi);
    gp_xrange(g, xlo, xhi);
    gp_printf(g, "set lmargin at screen 0.1\nset rmargin at screen 0.97\n");
    /* screen rows: the posterior gets 30 % of the height, the rest is shared */
    double top = gp_below(g, band + 10), bottom = 0.09, gap = 0.02, ph = np ? 0.3 * (top - bottom) : 0;
    double oh = (top - bottom - ph - (np ? gap : 0) - gap * (double)(nobs - 1)) / (double)nobs;
    for (size_t k = 0; k < nobs; k++) {
        double y1 = top - (double)k * (oh + gap), y0 = y1 - oh;
        int last = k + 1 == nobs && !np;
        gp_printf(g, "set tmargin at screen %.4f\nset bmargin at screen %.4f\n", y1, y0);
        if (!last)
            gp_printf(g, "set format x \"\"\n");
        else if (g->date_axis)
            gp_xaxis(g, xlo, xhi);
        else
            gp_printf(g, "set format x \"%% h\"\n");
        gp_printf(g, "set yrange [%.10g:%.10g]\nset ylabel ", ylo[k], yhi[k]);
        gp_str(g, t->names[obs[k]]);
        gp_printf(g, "\n");
        if (text) {
            gp_printf(g, "plot");
            for (size_t s = 0; s < nd; s++)
                gp_printf(g, "%s$d%d using 1:(column(%zu) == %zu ? column(%zu) : NaN) with points pt %zu lc rgb \"%s\" notitle",
                          s ? ", \\\n    " : " ", ob, 2 + nobs, s, 2 + k, s + 1, gp_color(s));
            gp_printf(g, "\n");
            continue;
        }
        gp_printf(g,
                  "plot $d%d using (($1+$2)/2):(%.10g):1:2:(%.10g):(%.10g):3 with boxxyerror fc rgb variable notitle, \\\n"
                  "    $d%d using 1:%zu with %s notitle\n",
                  bb, (ylo[k] + yhi[k]) / 2, ylo[k], yhi[k], ob, 2 + k, style[k]);
    }
    if (np) {
        double y1 = bottom + ph;
        gp_printf(g, "set tmargin at screen %.4f\nset bmargin at screen %.4f\n", y1, bottom);
        if (g->date_axis)
            gp_xaxis(g, xlo, xhi);
        else
            gp_printf(g, "set format x \"%% h\"\n");
        gp_printf(g, "set yrange [0:1]\nset ytics 0.5\nset ylabel \"P(state)\"\nplot");
        for (size_t k = 0; k < np; k++) {
            char tint[8];
            size_t col = 0; /* the colour of state k, as in the bands */
            while (col < nd && sv[col] != (double)k)
                col++;
            gp_tint(col < nd ? col : k, 0.3, tint);
            if (text) { /* P(state k) as a line: the step of the cumulative columns */
                gp_printf(g, "%s$d%d using 1:(column(%zu)", k ? ", \\\n    " : " ", pb, 2 + k);
                if (k)
                    gp_printf(g, " - column(%zu)", 1 + k);
                gp_printf(g, ") with lines lc rgb \"%s\" notitle", gp_color(col < nd ? col : k));
                continue;
            }
            /* between the previous cumulative probability and this one */
            gp_printf(g, "%s$d%d using 1:", k ? ", \\\n    " : " ", pb);
            if (k)
                gp_printf(g, "%zu", 1 + k);
            else
                gp_printf(g, "(0)");
            gp_printf(g, ":%zu with filledcurves fc rgb \"%s\" notitle", 2 + k, tint);
        }
        gp_printf(g, "\n");
    }
    gp_printf(g, "unset multiplot\n");
    free(sv);
    free(tt);
    return ST_OK;
}
