/* The gnuplot script every kind writes through: header and terminal,
 * datablocks with exact numbers, colours, dates, and the stream helpers
 * (columns, sequences, lists) the kinds share; st_plot_script dispatches. */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plot/internal.h"

static const char *const kind_names[ST_PLOT_NKINDS] = {"forecast", "states",     "smooth",     "roc",
                                                       "pr",       "rejection", "transition", "trace"};
static const char *const term_names[] = {"png", "svg", "pdf", "dumb", "sixel"};

const char *st_plot_kind_name(st_plot_kind k)
{
    return (int)k >= 0 && k < ST_PLOT_NKINDS ? kind_names[k] : "?";
}

int st_plot_kind_parse(const char *s)
{
    for (int k = 0; k < ST_PLOT_NKINDS; k++)
        if (strcmp(s, kind_names[k]) == 0)
            return k;
    return -1;
}

const char *st_plot_term_name(st_plot_term t)
{
    return (int)t >= 0 && t <= ST_PLOT_SIXEL ? term_names[t] : "?";
}

int st_plot_term_parse(const char *s)
{
    for (int t = 0; t <= ST_PLOT_SIXEL; t++)
        if (strcmp(s, term_names[t]) == 0)
            return t;
    return -1;
}

int st_plot_term_for_path(const char *path)
{
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (!dot || strchr(dot, '/'))
        return -1;
    for (int t = ST_PLOT_PNG; t <= ST_PLOT_PDF; t++)
        if (strcasecmp(dot + 1, term_names[t]) == 0)
            return t;
    return -1;
}

void st_plot_opts_init(st_plot_opts *o)
{
    memset(o, 0, sizeof *o);
}

/* ------------------------------------------------------------- dates */

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
 * days_from_civil) and back. */
static long days_from_civil(long y, long m, long d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, long *y, long *m, long *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp + (mp < 10 ? 3 : -9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int month_days(long y, long m)
{
    static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : n[m - 1];
}

int st_plot_dates_parse(const char *s, st_plot_dates *d)
{
    memset(d, 0, sizeof *d);
    char buf[64];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    char *comma = strchr(buf, ','), *step = NULL;
    if (comma) {
        *comma = '\0';
        step = comma + 1;
    }
    int y, m = 1, dd = 1, n = 0, q;
    int form; /* the step the date's form suggests */
    for (int i = 0; i < 4; i++) /* a four-digit year */
        if (!isdigit((unsigned char)buf[i]))
            return -1;
    if (buf[4] != '\0' && buf[4] != '-')
        return -1;
    if (sscanf(buf, "%4d-Q%1d%n", &y, &q, &n) == 2 && buf[n] == '\0' && q >= 1 && q <= 4) {
        m = 3 * q - 2;
        form = ST_PLOT_STEP_QUARTER;
    } else if (sscanf(buf, "%4d-%2d-%2d%n", &y, &m, &dd, &n) == 3 && buf[n] == '\0') {
        form = ST_PLOT_STEP_DAY;
    } else if (sscanf(buf, "%4d-%2d%n", &y, &m, &n) == 2 && buf[n] == '\0') {
        form = ST_PLOT_STEP_MONTH;
    } else if (sscanf(buf, "%4d%n", &y, &n) == 1 && buf[n] == '\0') {
        form = ST_PLOT_STEP_YEAR;
    } else {
        return -1;
    }
    if (y < 1 || m < 1 || m > 12 || dd < 1 || dd > month_days(y, m))
        return -1;
    d->year = y;
    d->month = m;
    d->day = dd;
    d->step = form;
    if (step) {
        static const char *const steps[] = {"day", "week", "month", "quarter", "year"};
        d->step = 0;
        for (int i = 0; i < 5; i++)
            if (strcmp(step, steps[i]) == 0)
                d->step = ST_PLOT_STEP_DAY + i;
        if (!d->step)
            return -1;
    }
    return 0;
}

/* Days of the date k months after d's (the day clamped to the month). */
static double add_months(const st_plot_dates *d, long k)
{
    long mm = d->month - 1 + k;
    long y = d->year + (mm >= 0 ? mm / 12 : -((11 - mm) / 12));
    long m = mm - (y - d->year) * 12 + 1;
    long dd = d->day > month_days(y, m) ? month_days(y, m) : d->day;
    return (double)days_from_civil(y, m, dd);
}

double st_plot_dates_day(const st_plot_dates *d, double t)
{
    double u = t - 1, first = (double)days_from_civil(d->year, d->month, d->day);
    switch (d->step) {
    case ST_PLOT_STEP_DAY:
        return first + u;
    case ST_PLOT_STEP_WEEK:
        return first + 7 * u;
    default: {
        long per = d->step == ST_PLOT_STEP_MONTH ? 1 : d->step == ST_PLOT_STEP_QUARTER ? 3 : 12;
        double k = floor(u), f = u - k;
        double a = add_months(d, (long)k * per);
        return f == 0 ? a : a + f * (add_months(d, ((long)k + 1) * per) - a);
    }
    }
}

/* ------------------------------------------------------------ script */

void gp_printf(gp *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(g->fp, fmt, ap);
    va_end(ap);
}

void gp_str(gp *g, const char *s)
{
    fputc('"', g->fp);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', g->fp);
        if (*s == '\n')
            fputs("\\n", g->fp);
        else
            fputc(*s, g->fp);
    }
    fputc('"', g->fp);
}

void gp_num(gp *g, double x)
{
    char buf[ST_DOUBLE_BUFSZ];
    if (!isfinite(x)) {
        fputs("NaN", g->fp);
        return;
    }
    st_format_double(buf, x == 0 ? 0 : x); /* no "-0" */
    fputs(buf, g->fp);
}

void gp_x(gp *g, double t)
{
    if (!g->date_axis || !isfinite(t)) {
        gp_num(g, t);
        return;
    }
    long y, m, d;
    civil_from_days((long)floor(st_plot_dates_day(&g->o->dates, t) + 0.5), &y, &m, &d);
    fprintf(g->fp, "%04ld-%02ld-%02ld", y, m, d);
}

int gp_block(gp *g)
{
    g->nblock++;
    fprintf(g->fp, "$d%d << EOD\n", g->nblock);
    return g->nblock;
}

void gp_block_end(gp *g)
{
    fputs("EOD\n", g->fp);
}

void gp_note(gp *g, const char *fmt, ...)
{
    if (!g->note)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    g->note(g->ctx, buf);
}

/* Okabe and Ito's palette for colour-blind readers, black last. */
static const unsigned palette[] = {0x0072B2, 0xD55E00, 0x009E73, 0xCC79A7, 0xE69F00, 0x56B4E9, 0xF0E442, 0x000000};
#define NPAL (sizeof palette / sizeof palette[0])

const char *gp_color(size_t i)
{
    static char names[NPAL][8];
    size_t k = i % NPAL;
    snprintf(names[k], sizeof names[k], "#%06X", palette[k]);
    return names[k];
}

void gp_tint(size_t i, double white, char out[8])
{
    unsigned c = palette[i % NPAL], rgb[3] = {c >> 16, (c >> 8) & 255, c & 255};
    for (int k = 0; k < 3; k++)
        rgb[k] = (unsigned)lround(rgb[k] + white * (255.0 - rgb[k]));
    snprintf(out, 8, "#%02X%02X%02X", rgb[0], rgb[1], rgb[2]);
}

void gp_grid(size_t n, size_t *ncols, size_t *nrows)
{
    *ncols = n <= 3 ? 1 : n <= 8 ? 2 : 3;
    *nrows = n == 0 ? 1 : (n + *ncols - 1) / *ncols;
}

void gp_header(gp *g, const char *what, size_t ncols, size_t nrows)
{
    const st_plot_opts *o = g->o;
    if (ncols < 1)
        ncols = 1;
    if (nrows < 1)
        nrows = 1;
    int w = o->width, h = o->height;
    if (o->term == ST_PLOT_DUMB) {
        w = w > 0 ? w : 80;
        h = h > 0 ? h : (int)(nrows > 1 ? 12 * nrows + 1 : 25);
    } else {
        w = w > 0 ? w : ncols == 1 ? 640 : ncols == 2 ? 900 : 1100;
        h = h > 0 ? h : nrows == 1 ? 400 : (int)(210 * nrows + 30);
    }
    g->w = w;
    g->h = h;
    gp_printf(g, "# stoch-plot %s: %s\n", st_plot_kind_name(o->kind), what);
    gp_printf(g, "# A gnuplot script with its data inline: edit it and run 'gnuplot FILE'.\n");
    switch (o->term) {
    case ST_PLOT_PNG:
        /* cairo, antialiased; libgd's palette PNG (smaller files) where
         * gnuplot lacks cairo or when run as 'gnuplot -e gd=1 FILE' */
        gp_printf(g,
                  "if (!exists(\"gd\") && strstrt(GPVAL_TERMINALS, \" pngcairo \") > 0) {\n"
                  "    set terminal pngcairo size %d,%d font \"sans,9\" noenhanced\n"
                  "} else {\n"
                  "    set terminal png size %d,%d font \"sans,9\" noenhanced\n"
                  "}\n",
                  w, h, w, h);
        break;
    case ST_PLOT_SVG:
        gp_printf(g, "set terminal svg size %d,%d font \"sans,10\" noenhanced background rgb \"white\"\n", w, h);
        break;
    case ST_PLOT_PDF:
        gp_printf(g, "set terminal pdfcairo size %.2fin,%.2fin font \"sans,8\" noenhanced\n", w / 100.0, h / 100.0);
        break;
    case ST_PLOT_DUMB:
        gp_printf(g, "set terminal dumb size %d,%d%s\n", w, h, o->ansi ? " ansi" : "");
        break;
    case ST_PLOT_SIXEL:
        gp_printf(g,
                  "if (strstrt(GPVAL_TERMINALS, \" sixelgd \") > 0) {\n"
                  "    set terminal sixelgd size %d,%d truecolor noenhanced\n"
                  "} else {\n"
                  "    set terminal dumb size 80,25\n"
                  "}\n",
                  w, h);
        break;
    }
    if (o->output) {
        gp_printf(g, "set output ");
        gp_str(g, o->output);
        gp_printf(g, "\n");
    }
    gp_printf(g, "set termoption noenhanced\n");
}

/* Pixels as screen fractions (characters count 8 x 16 pixels). */
static double fx(const gp *g, double px)
{
    return g->o->term == ST_PLOT_DUMB ? px / 8 / g->w : px / g->w;
}

static double fy(const gp *g, double px)
{
    return g->o->term == ST_PLOT_DUMB ? px / 16 / g->h : px / g->h;
}

double gp_below(const gp *g, int px)
{
    return 1 - fy(g, px);
}

void gp_panel(gp *g, size_t i, size_t ncols, size_t nrows, int top)
{
    double left = fx(g, 70), right = 1 - fx(g, 15), hgap = fx(g, 70);
    double ytop = 1 - fy(g, top + 22), bottom = fy(g, 45), vgap = fy(g, 55);
    double w = (right - left - hgap * (double)(ncols - 1)) / (double)ncols;
    double h = (ytop - bottom - vgap * (double)(nrows - 1)) / (double)nrows;
    size_t r = i / ncols, c = i % ncols;
    double x0 = left + (double)c * (w + hgap), y1 = ytop - (double)r * (h + vgap);
    gp_printf(g, "set lmargin at screen %.4f\nset rmargin at screen %.4f\n", x0, x0 + w);
    gp_printf(g, "set tmargin at screen %.4f\nset bmargin at screen %.4f\n", y1, y1 - h);
}

void gp_key_add(gp_key *k, const char *title, const char *fmt, ...)
{
    if (k->n >= GP_KEY_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->style[k->n], sizeof k->style[k->n], fmt, ap);
    va_end(ap);
    snprintf(k->title[k->n], sizeof k->title[k->n], "%s", title);
    k->n++;
}

int gp_legend(gp *g, const gp_key *k)
{
    /* entries per row: what fits in the width (a sample, a gap and about
     * 6.5 pixels a character of the longest title) */
    double room = g->o->term == ST_PLOT_DUMB ? g->w * 8.0 : g->w, longest = 0;
    for (size_t i = 0; i < k->n; i++)
        longest = fmax(longest, (double)strlen(k->title[i]));
    int text = g->o->term == ST_PLOT_DUMB; /* 8 x 16 pixels a character */
    size_t per = (size_t)(room / (text ? 8 * (longest + 10) : 55 + 6.5 * longest)), rows;
    if (per < 1)
        per = 1;
    if (per > k->n)
        per = k->n ? k->n : 1;
    rows = (k->n + per - 1) / per;
    int band = text ? 16 * ((int)rows + 1) : 8 + 18 * (int)rows, head = g->o->title ? (text ? 16 : 20) : 0;
    band += head;
    gp_printf(g, "# the key, drawn once above the panels\n");
    gp_printf(g, "set lmargin at screen 0\nset rmargin at screen 1\n");
    gp_printf(g, "set tmargin at screen 1\nset bmargin at screen %.4f\n", 1 - fy(g, band));
    gp_printf(g, "unset border\nunset tics\nunset grid\nunset title\nunset xlabel\nunset ylabel\n");
    gp_printf(g, "set xrange [0:1]\nset yrange [0:1]\nset key center bottom horizontal maxcols %zu samplen 2\n", per);
    if (head) { /* --title: above the key */
        gp_printf(g, "set label 1 ");
        gp_str(g, g->o->title);
        gp_printf(g, " at screen 0.5,%.4f center front\n", 1 - fy(g, text ? 4 : 12));
    }
    gp_printf(g, "plot%s", k->n ? "" : " NaN notitle");
    for (size_t i = 0; i < k->n; i++) {
        gp_printf(g, "%sNaN with %s title ", i ? ", \\\n    " : " ", k->style[i]);
        gp_str(g, k->title[i]);
    }
    gp_printf(g, "\n%sunset key\nset border\nset xtics\nset ytics\nset autoscale x\nset autoscale y\n",
              head ? "unset label 1\n" : "");
    return band;
}

void gp_xrange(gp *g, double lo, double hi)
{
    const char *q = g->date_axis ? "\"" : "";
    gp_printf(g, "set xrange [%s", q);
    gp_x(g, lo);
    gp_printf(g, "%s:%s", q, q);
    gp_x(g, hi);
    gp_printf(g, "%s]\n", q);
}

void gp_gridlines(gp *g)
{
    if (g->o->term != ST_PLOT_DUMB) /* in text the grid is noise */
        gp_printf(g, "set grid lc rgb \"#e0e0e0\"\n");
}

void gp_xaxis(gp *g, double tlo, double thi)
{
    if (!g->date_axis)
        return;
    double days = st_plot_dates_day(&g->o->dates, thi) - st_plot_dates_day(&g->o->dates, tlo);
    gp_printf(g, "set xdata time\nset timefmt \"%%Y-%%m-%%d\"\nset format x \"%s\"\n",
              days > 3 * 365 ? "%Y" : days > 90 ? "%Y-%m" : "%Y-%m-%d");
}

/* ----------------------------------------------------------- streams */

const char *tab_name(const st_table *t)
{
    return t->source ? t->source : "<stdin>";
}

int st_plot_guess_kind(const st_table *t)
{
    int has_fpr = 0, has_acc = 0, has_smooth = 0, has_sd = 0, has_lo = 0;
    for (size_t j = 0; j < t->ncols; j++) {
        const char *n = t->names[j];
        size_t len = strlen(n);
        has_fpr |= strncmp(n, "fpr.", 4) == 0;
        has_acc |= strncmp(n, "accuracy.", 9) == 0;
        has_smooth |= (len > 6 && (strcmp(n + len - 6, "_smean") == 0 || strcmp(n + len - 6, "_fmean") == 0));
        has_sd |= len > 3 && strcmp(n + len - 3, "_sd") == 0;
        has_lo |= strncmp(n, "lo", 2) == 0 && len > 2 && isdigit((unsigned char)n[2]);
    }
    int t_ = st_table_col(t, "t") >= 0;
    if (has_fpr)
        return ST_PLOT_ROC;
    if (has_acc)
        return ST_PLOT_REJECTION;
    if (st_table_col(t, "from") >= 0 && st_table_col(t, "stay") >= 0)
        return ST_PLOT_TRANSITION;
    if (t_ && st_table_col(t, "mean") >= 0 && (has_lo || st_table_col(t, "sd") >= 0))
        return ST_PLOT_FORECAST;
    if (t_ && (has_smooth || has_sd))
        return ST_PLOT_SMOOTH;
    if (st_table_col(t, "state") >= 0)
        return ST_PLOT_STATES;
    if (st_table_col(t, "iter") >= 0)
        return ST_PLOT_TRACE;
    return -1;
}

/* What writes a stream of kind k, for messages. */
static const char *kind_source(int k)
{
    switch (k) {
    case ST_PLOT_FORECAST:
        return "ssm-forecast";
    case ST_PLOT_STATES:
        return "hmm-decode --with-data";
    case ST_PLOT_SMOOTH:
        return "pf-smooth or ssm-forecast --smooth";
    case ST_PLOT_ROC:
    case ST_PLOT_PR:
    case ST_PLOT_REJECTION:
        return "uq-eval --curves";
    case ST_PLOT_TRANSITION:
        return "mjp-infer --pmatrix-grid";
    case ST_PLOT_TRACE:
        return "hmm-fit --trace";
    }
    return "?";
}

/* ST_EDATA about stream t not fitting the kind, with a hint. */
static int wrong_stream(gp *g, const st_table *t, const char *what)
{
    int k = st_plot_guess_kind(t), mine = (int)g->o->kind;
    int same = k == mine || (k == ST_PLOT_ROC && (mine == ST_PLOT_PR || mine == ST_PLOT_REJECTION));
    if (k >= 0 && !same)
        return st_err_set(g->e, ST_EDATA, tab_name(t), 1, 0, "%s: this looks like %s output: try 'stoch-plot %s'",
                          what, kind_source(k), st_plot_kind_name((st_plot_kind)k));
    return st_err_set(g->e, ST_EDATA, tab_name(t), 1, 0, "%s (stoch-plot %s draws what %s writes)", what,
                      st_plot_kind_name(g->o->kind), kind_source(mine));
}

int need_col(gp *g, const st_table *t, const char *name, const char *role)
{
    int j = st_table_col(t, name);
    if (j >= 0)
        return j;
    char what[300];
    snprintf(what, sizeof what, "no column '%s' (%s)", name, role);
    return wrong_stream(g, t, what);
}

int seq_groups(gp *g, const st_table *t, st_group **gr, size_t *n)
{
    int rc = st_table_groups(t, st_table_col(t, "seq"), gr, n, g->e);
    if (rc == ST_OK && *n == 0)
        return st_err_set(g->e, ST_EDATA, tab_name(t), 0, 0, "no rows to draw");
    return rc;
}

/* Is x in "1,3..5,-2"? */
static int seq_list_has(const char *list, double x)
{
    for (const char *p = list; *p;) {
        char *end;
        double a = strtod(p, &end), b = a;
        if (end == p)
            return 0;
        if (end[0] == '.' && end[1] == '.') {
            const char *q = end + 2;
            b = strtod(q, &end);
            if (end == q)
                return 0;
        }
        if (x >= a && x <= b)
            return 1;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return 0;
    }
    return 0;
}

int select_groups(gp *g, const st_table *t, st_group *gr, size_t *n)
{
    size_t k = 0, max = g->o->max_panels ? g->o->max_panels : 12;
    if (g->o->seqs) {
        for (size_t i = 0; i < *n; i++)
            if (seq_list_has(g->o->seqs, gr[i].seq))
                gr[k++] = gr[i];
        if (k == 0)
            return st_err_set(g->e, ST_EDATA, tab_name(t), 0, 0, "no sequence of --seq %s in the stream",
                              g->o->seqs);
        *n = k;
    }
    if (*n > max) {
        gp_note(g, "%s: drawing the first %zu of %zu sequences (choose with --seq, more with --max-panels)",
                tab_name(t), max, *n);
        *n = max;
    }
    return ST_OK;
}

int list_has(const char *list, const char *name)
{
    if (!list)
        return 1;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *q = strchr(p, ',');
        size_t k = q ? (size_t)(q - p) : strlen(p);
        if (k == n && strncmp(p, name, n) == 0)
            return 1;
        if (!q)
            break;
        p = q + 1;
    }
    return 0;
}

int list_check(gp *g, const st_table *t, const char *list, const char *const *names, size_t n, const char *what)
{
    if (!list)
        return ST_OK;
    for (const char *p = list; *p;) {
        const char *q = strchr(p, ',');
        size_t k = q ? (size_t)(q - p) : strlen(p);
        int found = 0;
        for (size_t i = 0; i < n && !found; i++)
            found = strlen(names[i]) == k && strncmp(names[i], p, k) == 0;
        if (!found) {
            char have[256] = "";
            for (size_t i = 0; i < n && strlen(have) < 200; i++) {
                strcat(have, i ? "," : "");
                strncat(have, names[i], 200 - strlen(have));
            }
            return st_err_set(g->e, ST_EDATA, tab_name(t), 1, 0, "no %s '%.*s' (the stream has %s)", what, (int)k,
                              p, n ? have : "none");
        }
        if (!q)
            break;
        p = q + 1;
    }
    return ST_OK;
}

void col_range(const st_table *t, int j, size_t a, size_t b, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = a; i < b; i++) {
        double x = st_table_get(t, i, (size_t)j);
        if (isfinite(x)) {
            *lo = x < *lo ? x : *lo;
            *hi = x > *hi ? x : *hi;
        }
    }
}

/* ---------------------------------------------------------- dispatch */

int st_plot_script(FILE *fp, const st_plot_opts *o, const st_plot_inputs *in, st_plot_note_fn note, void *ctx,
                   st_err *e)
{
    gp g = {.fp = fp, .o = o, .note = note, .ctx = ctx, .e = e, .date_axis = o->dates.step != 0};
    if (!in || !in->main)
        return st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "no stream to draw");
    int rc;
    switch (o->kind) {
    case ST_PLOT_FORECAST:
        rc = plot_forecast(&g, in);
        break;
    case ST_PLOT_STATES:
        rc = plot_states(&g, in);
        break;
    case ST_PLOT_SMOOTH:
        rc = plot_smooth(&g, in);
        break;
    case ST_PLOT_ROC:
    case ST_PLOT_PR:
    case ST_PLOT_REJECTION:
        rc = plot_curves(&g, in);
        break;
    case ST_PLOT_TRANSITION:
        rc = plot_transition(&g, in);
        break;
    case ST_PLOT_TRACE:
        rc = plot_trace(&g, in);
        break;
    default:
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "unknown kind of picture");
    }
    if (rc == ST_OK && (fflush(fp) != 0 || ferror(fp)))
        return st_err_set(e, ST_EIO, NULL, 0, 0, "cannot write the gnuplot script");
    return rc;
}
