#include "config.h"

#include "core/progress.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

st_progress_mode st_progress_pick(int verbosity, int is_tty)
{
    if (verbosity <= 0)
        return ST_PROGRESS_OFF;
    if (is_tty)
        return ST_PROGRESS_TTY;
    return verbosity >= 2 ? ST_PROGRESS_LINES : ST_PROGRESS_OFF;
}

static double monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now_of(const st_progress *p)
{
    return p->clock ? p->clock() : monotonic_now();
}

/* The program's reporter, blanked by st_progress_clear_active before a
 * message. */
static st_progress *active;

void st_progress_clear_active(void)
{
    if (active)
        st_progress_clear(active);
}

void st_progress_init(st_progress *p, const char *prog, st_progress_mode mode, FILE *fp, double (*clock)(void))
{
    memset(p, 0, sizeof *p);
    if (mode != ST_PROGRESS_OFF)
        active = p;
    p->mode = mode;
    p->fp = fp ? fp : stderr;
    p->clock = clock;
    p->prog = prog;
    p->tty_interval = 0.1;
    p->line_interval = 5.0;
    p->last = -1;
    p->t0 = p->tstart = now_of(p);
}

void st_progress_begin(st_progress *p, const char *what, const char *unit, double total)
{
    snprintf(p->what, sizeof p->what, "%s", what ? what : "");
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "");
    p->done = 0;
    p->total = total > 0 ? total : 0;
    p->t0 = now_of(p);
}

void st_progress_what(st_progress *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->what, sizeof p->what, fmt, ap);
    va_end(ap);
}

/* "0:07", "12:34", "1:02:03" */
static void fmt_duration(double s, char *buf, size_t size)
{
    if (!(s >= 0) || s > 359999)
        s = 359999;
    long t = lround(s);
    if (t >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

/* Counts as integers when they are whole numbers, else with 3 digits. */
static void fmt_count(double v, char *buf, size_t size)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%.3g", v);
}

void st_progress_format(const st_progress *p, double now, char *buf, size_t size)
{
    char d[32], t[32], rate[32] = "", eta[40] = "";
    double el = now - p->t0;
    fmt_count(p->done, d, sizeof d);
    size_t k = 0;
    if (p->what[0])
        k += (size_t)snprintf(buf + k, size - k, "%s  ", p->what);
    if (k >= size)
        return;
    if (p->total > 0) {
        fmt_count(p->total, t, sizeof t);
        k += (size_t)snprintf(buf + k, size - k, "%s/%s %s", d, t, p->unit);
    } else
        k += (size_t)snprintf(buf + k, size - k, "%s %s", d, p->unit);
    if (k >= size)
        return;
    if (el > 0 && p->done > 0) {
        double r = p->done / el;
        snprintf(rate, sizeof rate, "  %.3g/s", r);
        if (p->total > 0 && p->done < p->total) {
            char e[24];
            fmt_duration((p->total - p->done) / r, e, sizeof e);
            snprintf(eta, sizeof eta, "  ETA %s", e);
        }
    }
    snprintf(buf + k, size - k, "%s%s", rate, eta);
}

static size_t term_width(FILE *fp)
{
    struct winsize ws;
    if (ioctl(fileno(fp), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
        return ws.ws_col;
    return 80;
}

static void draw(st_progress *p, double now, const char *suffix)
{
    char body[256], line[320];
    st_progress_format(p, now, body, sizeof body);
    int n = snprintf(line, sizeof line, "%s: %s%s", p->prog, body, suffix);
    size_t len = n < 0 ? 0 : (size_t)n >= sizeof line ? sizeof line - 1 : (size_t)n;
    if (p->mode == ST_PROGRESS_TTY) {
        /* one line that never wraps: \r would not reach a wrapped start */
        size_t w = term_width(p->fp) - 1;
        if (len > w)
            len = w;
        line[len] = '\0';
        fprintf(p->fp, "\r%s\033[K", line);
        p->shown = 1;
        p->width = len;
    } else
        fprintf(p->fp, "%s\n", line);
    fflush(p->fp);
    p->last = now;
}

void st_progress_update(st_progress *p, double done)
{
    p->done = done;
    if (p->mode == ST_PROGRESS_OFF)
        return;
    double now = now_of(p);
    double gap = p->mode == ST_PROGRESS_TTY ? p->tty_interval : p->line_interval;
    if (p->last >= 0 && now - p->last < gap)
        return;
    if (p->mode == ST_PROGRESS_LINES && p->last < 0 && now - p->t0 < gap) {
        p->last = p->t0; /* the first plain line only after one interval */
        return;
    }
    draw(p, now, "");
}

void st_progress_fn_update(void *ctx, double done, double total)
{
    st_progress *p = ctx;
    if (!p)
        return;
    if (total > 0)
        p->total = total;
    st_progress_update(p, done);
}

void st_progress_clear(st_progress *p)
{
    if (p->mode == ST_PROGRESS_TTY && p->shown) {
        fputs("\r\033[K", p->fp);
        fflush(p->fp);
        p->shown = 0;
        p->last = -1; /* redraw at the next update */
    }
}

void st_progress_end(st_progress *p)
{
    if (p->mode == ST_PROGRESS_OFF)
        return;
    double now = now_of(p);
    char took[64], el[24];
    double s = now - p->tstart;
    if (s < 60)
        snprintf(el, sizeof el, "%.1f s", s < 0 ? 0 : s);
    else
        fmt_duration(s, el, sizeof el);
    snprintf(took, sizeof took, "  done in %s", el);
    /* the final line: the count without rate and ETA, then the time */
    double t0 = p->t0;
    p->t0 = now; /* no rate or ETA in the final line */
    draw(p, now, took);
    p->t0 = t0;
    if (p->mode == ST_PROGRESS_TTY) {
        fputc('\n', p->fp);
        fflush(p->fp);
        p->shown = 0;
    }
    p->mode = ST_PROGRESS_OFF;
    if (active == p)
        active = NULL;
}
