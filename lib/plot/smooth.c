/* stoch-plot smooth: smoothed (or filtered) means with intervals, one
 * panel per state or component: pf-smooth's X_smean with its outermost
 * quantiles X_sqP (else -/+ 1.96 X_ssd), or ssm-forecast --smooth's
 * components C with C_sd and its signal with the observations y; --data
 * adds observations to the first panel and --draws pf-smooth's sampled
 * trajectories to the panels of their states. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot/internal.h"

#define MAX_PANELS 16

typedef struct panel {
    char name[64];
    int mean, lo, hi, sd; /* columns (-1: none) */
    double qlo, qhi;      /* quantile levels in percent of lo, hi */
    int obs;              /* the stream's y column goes here (ssm signal) */
} panel;

/* Does name end in suffix?  Returns the length of the prefix or 0. */
static size_t prefix_of(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n > k && strcmp(name + n - k, suffix) == 0 ? n - k : 0;
}

/* pf-smooth columns: X_smean (or X_fmean), X_sqP, X_ssd. */
static size_t pf_panels(const st_table *t, panel *p)
{
    size_t np = 0;
    const char *kind = "s";
    int any_s = 0;
    for (size_t j = 0; j < t->ncols; j++)
        any_s |= prefix_of(t->names[j], "_smean") > 0;
    if (!any_s)
        kind = "f";
    char mean_sfx[8], sd_sfx[8], q_pfx[8];
    snprintf(mean_sfx, sizeof mean_sfx, "_%smean", kind);
    snprintf(sd_sfx, sizeof sd_sfx, "_%ssd", kind);
    snprintf(q_pfx, sizeof q_pfx, "_%sq", kind);
    for (size_t j = 0; j < t->ncols && np < MAX_PANELS; j++) {
        size_t k = prefix_of(t->names[j], mean_sfx);
        if (!k || k >= sizeof p->name)
            continue;
        panel *q = &p[np++];
        memset(q, 0, sizeof *q);
        memcpy(q->name, t->names[j], k);
        q->name[k] = '\0';
        q->mean = (int)j;
        q->lo = q->hi = -1;
        char buf[128];
        snprintf(buf, sizeof buf, "%s%s", q->name, sd_sfx);
        q->sd = st_table_col(t, buf);
        q->qlo = INFINITY;
        q->qhi = -INFINITY;
        size_t plen = strlen(q->name) + strlen(q_pfx);
        for (size_t c = 0; c < t->ncols; c++) {
            const char *n = t->names[c];
            snprintf(buf, sizeof buf, "%s%s", q->name, q_pfx);
            char *end;
            if (strncmp(n, buf, plen) != 0)
                continue;
            double lv = strtod(n + plen, &end);
            if (*end || end == n + plen)
                continue;
            if (lv < q->qlo) {
                q->qlo = lv;
                q->lo = (int)c;
            }
            if (lv > q->qhi) {
                q->qhi = lv;
                q->hi = (int)c;
            }
        }
        if (q->lo == q->hi)
            q->lo = q->hi = -1;
    }
    return np;
}

/* ssm-forecast --smooth columns: signal (with y), then C and C_sd. */
static size_t ssm_panels(const st_table *t, panel *p)
{
    size_t np = 0;
    int sig = st_table_col(t, "signal");
    if (sig >= 0) {
        memset(&p[0], 0, sizeof p[0]);
        strcpy(p[0].name, "signal");
        p[0].mean = sig;
        p[0].lo = p[0].hi = p[0].sd = -1;
        p[0].obs = 1;
        np = 1;
    }
    for (size_t j = 0; j < t->ncols && np < MAX_PANELS; j++) {
        size_t k = prefix_of(t->names[j], "_sd");
        char name[64];
        if (!k || k >= sizeof name)
            continue;
        memcpy(name, t->names[j], k);
        name[k] = '\0';
        int m = st_table_col(t, name);
        if (m < 0)
            continue;
        panel *q = &p[np++];
        memset(q, 0, sizeof *q);
        strcpy(q->name, name);
        q->mean = m;
        q->sd = (int)j;
        q->lo = q->hi = -1;
    }
    return np;
}

int plot_smooth(gp *g, const st_plot_inputs *in)
{
    const st_table *t = in->main, *d = in->data, *dr = in->draws;
    int tc = need_col(g, t, "t", "the time of each step");
    if (tc < 0)
        return tc;
    panel all[MAX_PANELS], p[MAX_PANELS];
    size_t na = pf_panels(t, all);
    if (na == 0)
        na = ssm_panels(t, all);
    if (na == 0) {
        char what[] = "no smoothed means (X_smean, X_fmean, or a component C with C_sd)";
        int k = st_plot_guess_kind(t);
        if (k >= 0 && k != ST_PLOT_SMOOTH)
            return need_col(g, t, "x_smean", "smoothed means");
        return st_err_set(g->e, ST_EDATA, tab_name(t), 1, 0, "%s (stoch-plot smooth draws pf-smooth or "
                          "ssm-forecast --smooth output)", what);
    }
    const char *names[MAX_PANELS];
    for (size_t k = 0; k < na; k++)
        names[k] = all[k].name;
    int rc = list_check(g, t, g->o->panels, names, na, "state or component");
    if (rc < 0)
        return rc;
    size_t np = 0;
    for (size_t k = 0; k < na; k++)
        if (list_has(g->o->panels, all[k].name))
            p[np++] = all[k];
    st_group *gr = NULL;
    size_t ng = 0;
    if ((rc = seq_groups(g, t, &gr, &ng)) < 0)
        return rc;
    st_plot_opts one = *g->o; /* one series: the first selected */
    one.max_panels = 1;
    const st_plot_opts *saved = g->o;
    g->o = &one;
    rc = select_groups(g, t, gr, &ng);
    g->o = saved;
    size_t a = gr[0].start, n = gr[0].n;
    double seq = gr[0].seq;
    free(gr);
    if (rc < 0)
        return rc;
    /* observations: the stream's y for ssm, --data for pf */
    int yc = st_table_col(t, "y"), dt = -1, dv = -1, dseq = -1;
    if (d) {
        const char *want = g->o->columns ? g->o->columns : "y";
        dt = st_table_col(d, g->o->time ? g->o->time : "t");
        dv = st_table_col(d, want);
        dseq = st_table_col(d, "seq");
        if (dt < 0 && g->o->time)
            return st_err_set(g->e, ST_EDATA, tab_name(d), 1, 0, "no time column '%s' in the data", g->o->time);
        if (dv < 0)
            return st_err_set(g->e, ST_EDATA, tab_name(d), 1, 0, "no value column '%s' in the data%s", want,
                              g->o->columns ? "" : " (name it with -c)");
    }
    /* ssm-forecast --smooth --log writes y as given and the signal in logs:
     * draw y on the signal's scale */
    int ylog = 0;
    if (yc >= 0 && np > 0 && p[0].obs) {
        double dlin = 0, dlog = 0;
        int pos = 1;
        for (size_t i = a; i < a + n; i++) {
            double y = st_table_get(t, i, (size_t)yc), sg = st_table_get(t, i, (size_t)p[0].mean);
            if (!isfinite(y) || !isfinite(sg))
                continue;
            dlin += (y - sg) * (y - sg);
            if (y > 0)
                dlog += (log(y) - sg) * (log(y) - sg);
            else
                pos = 0;
        }
        ylog = pos && dlog < dlin;
    }
    size_t ncols, nrows;
    gp_grid(np, &ncols, &nrows);
    char what[96];
    snprintf(what, sizeof what, "smoothed states%s", st_table_col(t, "seq") >= 0 ? " of one series" : "");
    gp_header(g, what, 1, np);
    (void)ncols;
    (void)nrows;
    (void)seq;
    /* one block: t, then per panel mean lo hi */
    int mb = gp_block(g);
    double tlo, thi;
    col_range(t, tc, a, a + n, &tlo, &thi);
    for (size_t i = a; i < a + n; i++) {
        gp_x(g, st_table_get(t, i, (size_t)tc));
        for (size_t k = 0; k < np; k++) {
            double m = st_table_get(t, i, (size_t)p[k].mean), lo = NAN, hi = NAN;
            if (p[k].lo >= 0) {
                lo = st_table_get(t, i, (size_t)p[k].lo);
                hi = st_table_get(t, i, (size_t)p[k].hi);
            } else if (p[k].sd >= 0) {
                double sd = st_table_get(t, i, (size_t)p[k].sd);
                lo = m - 1.959963984540054 * sd;
                hi = m + 1.959963984540054 * sd;
            }
            gp_printf(g, " ");
            gp_num(g, m);
            gp_printf(g, " ");
            gp_num(g, lo);
            gp_printf(g, " ");
            gp_num(g, hi);
        }
        if (yc >= 0) {
            double y = st_table_get(t, i, (size_t)yc);
            gp_printf(g, " ");
            gp_num(g, ylog ? log(y) : y);
        }
        gp_printf(g, "\n");
    }
    gp_block_end(g);
    int ob = 0;
    if (d) {
        ob = gp_block(g);
        st_group *dg = NULL;
        size_t ndg = 0;
        if ((rc = st_table_groups(d, dseq, &dg, &ndg, g->e)) < 0)
            return rc;
        for (size_t k = 0; k < ndg; k++) {
            if (dseq >= 0 && st_table_col(t, "seq") >= 0 && dg[k].seq != st_table_get(t, a, (size_t)st_table_col(t, "seq")))
                continue;
            for (size_t i = dg[k].start; i < dg[k].start + dg[k].n; i++) {
                gp_x(g, dt >= 0 ? st_table_get(d, i, (size_t)dt) : (double)(i - dg[k].start + 1));
                gp_printf(g, " ");
                gp_num(g, st_table_get(d, i, (size_t)dv));
                gp_printf(g, "\n");
            }
            break;
        }
        free(dg);
        gp_block_end(g);
    }
    /* trajectories: per draw a run of rows (draw, t, states) */
    int db = 0;
    size_t ndraws = 0;
    int drc = dr ? st_table_col(dr, "draw") : -1, drt = dr ? st_table_col(dr, "t") : -1;
    int dcol[MAX_PANELS];
    if (dr) {
        if (drc < 0 || drt < 0)
            return st_err_set(g->e, ST_EDATA, tab_name(dr), 1, 0,
                              "no columns draw and t: --draws takes pf-smooth --draws output");
        int anycol = 0;
        for (size_t k = 0; k < np; k++)
            anycol |= (dcol[k] = st_table_col(dr, p[k].name)) >= 0;
        if (!anycol)
            return st_err_set(g->e, ST_EDATA, tab_name(dr), 1, 0, "the draws have no column named after a panel (%s)",
                              p[0].name);
        size_t max = g->o->max_draws == (size_t)-1 ? 0 : g->o->max_draws ? g->o->max_draws : 20;
        db = max ? gp_block(g) : 0;
        for (size_t i = 0; i < dr->nrows && max; i++) {
            double w = st_table_get(dr, i, (size_t)drc);
            if (i == 0 || w != st_table_get(dr, i - 1, (size_t)drc)) {
                if (ndraws == max)
                    break;
                if (ndraws++)
                    gp_printf(g, "\n"); /* a blank line starts a new line */
            }
            gp_x(g, st_table_get(dr, i, (size_t)drt));
            for (size_t k = 0; k < np; k++) {
                gp_printf(g, " ");
                gp_num(g, dcol[k] >= 0 ? st_table_get(dr, i, (size_t)dcol[k]) : NAN);
            }
            gp_printf(g, "\n");
        }
        if (db)
            gp_block_end(g);
    }
    /* the key once above the panels */
    gp_key key = {0};
    char tint[8];
    gp_tint(0, 0.7, tint);
    int anyband = 0, anydraw = 0;
    char band_label[64] = "95% interval";
    for (size_t k = 0; k < np; k++) {
        if (p[k].lo >= 0 && !anyband)
            snprintf(band_label, sizeof band_label, "%g-%g%% quantiles", p[k].qlo, p[k].qhi);
        anyband |= p[k].lo >= 0 || p[k].sd >= 0;
        anydraw |= db && dcol[k] >= 0;
    }
    if (anyband)
        gp_key_add(&key, band_label, "boxes fc rgb \"%s\"", tint);
    if (anydraw) {
        char title[32];
        snprintf(title, sizeof title, "%zu draws", ndraws);
        gp_key_add(&key, title, "lines lw 0.6 lc rgb \"#a0a0a0\"");
    }
    gp_key_add(&key, "mean", "lines lw 2 lc rgb \"%s\"", gp_color(0));
    if ((yc >= 0 && np > 0 && p[0].obs) || ob)
        gp_key_add(&key, ob ? "observed" : ylog ? "log y" : "y", "points pt 7 ps 0.4 lc rgb \"black\"");
    gp_printf(g, "set style fill solid 1.0 noborder\nset multiplot\n");
    int bandpx = gp_legend(g, &key);
    gp_xaxis(g, tlo, thi);
    gp_xrange(g, tlo, thi);
    gp_gridlines(g);
    for (size_t k = 0; k < np; k++) {
        size_t mc = 2 + 3 * k;
        gp_panel(g, k, 1, np, bandpx);
        if (np > 1) {
            gp_printf(g, "set ylabel ");
            gp_str(g, p[k].name);
            gp_printf(g, "\n");
        }
        gp_printf(g, "plot ");
        const char *sep = "";
        if (p[k].lo >= 0 || p[k].sd >= 0) {
            gp_printf(g, "$d%d using 1:%zu:%zu with filledcurves fc rgb \"%s\" notitle", mb, mc + 1, mc + 2, tint);
            sep = ", \\\n    ";
        }
        if (db && dcol[k] >= 0) {
            gp_printf(g, "%s$d%d using 1:%zu with lines lw 0.6 lc rgb \"#a0a0a0\" notitle", sep, db, 2 + k);
            sep = ", \\\n    ";
        }
        gp_printf(g, "%s$d%d using 1:%zu with lines lw 2 lc rgb \"%s\" notitle", sep, mb, mc, gp_color(0));
        if (p[k].obs && yc >= 0)
            gp_printf(g, ", \\\n    $d%d using 1:%zu with points pt 7 ps 0.4 lc rgb \"black\" notitle", mb, 2 + 3 * np);
        if (k == 0 && ob)
            gp_printf(g, ", \\\n    $d%d using 1:2 with points pt 7 ps 0.4 lc rgb \"black\" notitle", ob);
        gp_printf(g, "\n");
    }
    gp_printf(g, "unset multiplot\n");
    return ST_OK;
}
