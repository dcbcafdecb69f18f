#include "config.h"

#include "core/cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

void st_cli_init(st_cli *c, const char *prog, const char *usage)
{
    memset(c, 0, sizeof *c);
    c->prog = prog;
    c->usage = usage;
    c->seed = 1;
    c->verbosity = 1;
}

_Noreturn void st_cli_usage_error(const st_cli *c, const char *fmt, ...)
{
    if (fmt) {
        va_list ap;
        fprintf(stderr, "%s: ", c->prog);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    fprintf(stderr, "Try '%s --help' for more information.\n", c->prog);
    exit(2);
}

int st_cli_common(st_cli *c, int opt, const char *arg, char *const argv[])
{
    switch (opt) {
    case 'h':
        fputs(c->usage, stdout);
        exit(fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1);
    case ST_OPT_VERSION:
        printf("%s (stochtools) %s\nLicense: MIT <https://opensource.org/licenses/MIT>\n", c->prog, ST_VERSION_STRING);
        exit(fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1);
    case 'o':
        c->output = arg;
        return 1;
    case ST_OPT_FORMAT:
        if (strcmp(arg, "csv") == 0)
            c->format = ST_FMT_CSV;
        else if (strcmp(arg, "bin") == 0)
            c->format = ST_FMT_BIN;
        else
            st_cli_usage_error(c, "--format must be csv or bin, not '%s'", arg);
        return 1;
    case ST_OPT_COMPRESS:
        c->compress = 1;
        return 1;
    case ST_OPT_NO_HEADER:
        c->no_header = 1;
        return 1;
    case ST_OPT_SEED:
        if (st_parse_u64(arg, &c->seed) < 0)
            st_cli_usage_error(c, "--seed must be a non-negative integer, not '%s'", arg);
        return 1;
    case 'j': {
        long n;
        if (st_parse_long(arg, &n) < 0 || n < 1 || n > 4096)
            st_cli_usage_error(c, "-j/--threads must be an integer from 1 to 4096, not '%s'", arg);
        c->threads = (int)n;
        return 1;
    }
    case 'q':
        c->verbosity = 0;
        return 1;
    case 'v':
        c->verbosity = c->verbosity < 1 ? 2 : c->verbosity + 1;
        return 1;
    case ':':
        if (optopt)
            st_cli_usage_error(c, "option '-%c' needs an argument", optopt);
        st_cli_usage_error(c, "option '%s' needs an argument", argv[optind - 1]);
    case '?':
        if (optopt)
            st_cli_usage_error(c, "unknown option '-%c'", optopt);
        st_cli_usage_error(c, "unknown option '%s'", argv[optind - 1]);
    default:
        if (opt >= ST_OPT_ROLE && opt < ST_OPT_ROLE + ST_ROLE_N) {
            if (!*arg)
                st_cli_usage_error(c, "--%s needs a column name", st_role_option((st_role)(opt - ST_OPT_ROLE)));
            c->role[opt - ST_OPT_ROLE] = arg;
            return 1;
        }
        return 0;
    }
}

static const char *const role_opt[ST_ROLE_N] = {"seq-col", "time-col", "state-col", "id-col", "obstype-col",
                                                "label-col"};
static const char *const role_def[ST_ROLE_N] = {"seq", "t", "state", "id", "obstype", "label"};

const char *st_role_option(st_role role)
{
    return (unsigned)role < ST_ROLE_N ? role_opt[role] : "?";
}

const char *st_role_default(st_role role)
{
    return (unsigned)role < ST_ROLE_N ? role_def[role] : "?";
}

const char *st_cli_role_name(const st_cli *c, st_role role)
{
    return (unsigned)role < ST_ROLE_N && c->role[role] ? c->role[role] : st_role_default(role);
}

int st_cli_role_col(const st_cli *c, st_role role, char *const *names, size_t ncols, int required, const char *file,
                    int *col, st_err *e)
{
    const char *name = st_cli_role_name(c, role);
    for (size_t j = 0; j < ncols; j++)
        if (strcmp(names[j], name) == 0) {
            *col = (int)j;
            return ST_OK;
        }
    *col = -1;
    int given = (unsigned)role < ST_ROLE_N && c->role[role];
    if (!given && !required)
        return ST_OK;
    char have[200];
    size_t h = 0;
    have[0] = '\0';
    for (size_t j = 0; j < ncols && h + 1 < sizeof have; j++) {
        int w = snprintf(have + h, sizeof have - h, "%s%s", j ? "," : "", names[j]);
        h = w < 0 ? h : h + (size_t)w >= sizeof have ? sizeof have - 1 : h + (size_t)w;
    }
    if (given)
        return st_err_set(e, ST_EDATA, file, 0, 0, "--%s: no column '%.100s' (the input has %s)", st_role_option(role),
                          name, have);
    return st_err_set(e, ST_EDATA, file, 0, 0, "no column '%.100s' (name it with --%s; the input has %s)", name,
                      st_role_option(role), have);
}

st_reader_opts st_cli_reader_opts(const st_cli *c)
{
    st_reader_opts o = {0};
    o.no_header = c->no_header;
    return o;
}

void st_cli_log(const st_cli *c, int level, const char *fmt, ...)
{
    if (c->verbosity < level)
        return;
    va_list ap;
    fprintf(stderr, "%s: ", c->prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int st_cli_progress(const st_cli *c)
{
    return c->verbosity >= 2 || (c->verbosity == 1 && isatty(STDERR_FILENO));
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int st_cli_output_format(const st_cli *c)
{
    if (c->format != ST_FMT_AUTO)
        return c->format;
    if (c->output && ends_with(c->output, ".stb"))
        return ST_FMT_BIN;
    return ST_FMT_CSV;
}

void st_cli_passive_openmp(char **argv)
{
#ifdef _OPENMP
    if (getenv("OMP_WAIT_POLICY"))
        return;
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execv("/proc/self/exe", argv); /* returns only on failure: carry on */
#else
    (void)argv;
#endif
}

int st_cli_threads(const st_cli *c)
{
#ifdef _OPENMP
    if (c->threads > 0)
        omp_set_num_threads(c->threads);
    return omp_get_max_threads();
#else
    (void)c;
    return 1;
#endif
}

/* ---- number parsing ---- */

int st_parse_double(const char *s, double *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || end == s || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int st_parse_long(const char *s, long *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || end == s || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

int st_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || end == s || errno == ERANGE)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int st_parse_double_list(const char *s, double **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!s || !*s)
        return -1;
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    double *v = malloc(cap * sizeof *v);
    char *copy = strdup(s);
    if (!v || !copy)
        goto fail;
    size_t k = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (st_parse_double(tok, &v[k]) < 0)
            goto fail;
        k++;
    }
    if (k != cap)
        goto fail; /* empty item, e.g. "80,,95" */
    free(copy);
    *out = v;
    *n = k;
    return 0;
fail:
    free(v);
    free(copy);
    return -1;
}

int st_parse_range(const char *s, long *lo, long *hi)
{
    if (!s)
        return -1;
    const char *dots = strstr(s, "..");
    if (!dots) {
        if (st_parse_long(s, lo) < 0)
            return -1;
        *hi = *lo;
        return 0;
    }
    char first[64];
    size_t k = (size_t)(dots - s);
    if (k == 0 || k >= sizeof first)
        return -1;
    memcpy(first, s, k);
    first[k] = '\0';
    if (st_parse_long(first, lo) < 0 || st_parse_long(dots + 2, hi) < 0 || *hi < *lo)
        return -1;
    return 0;
}

/* ---- atomic output ---- */

/* The temporary being written, removed if a signal ends the program.
 * One output file per program is all the tools need. */
static char *volatile pending_tmp;

static void remove_pending(int sig)
{
    char *p = pending_tmp;
    if (p)
        unlink(p);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void watch_signals(void)
{
    static int installed;
    if (installed)
        return;
    installed = 1;
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = remove_pending;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

int st_output_open(st_output *o, const char *path, int binary, st_err *e)
{
    memset(o, 0, sizeof *o);
    if (!path || strcmp(path, "-") == 0) {
        if (binary && isatty(STDOUT_FILENO))
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                              "refusing to write binary data to a terminal: use --format csv or redirect");
        o->fp = stdout;
        return ST_OK;
    }
    /* A device or FIFO (-o /dev/null, a named pipe) is written in place:
     * renaming a temporary over it would replace the device itself. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode))
            return st_err_set(e, ST_EIO, path, 0, 0, "cannot write output: is a directory");
        o->fp = fopen(path, "wb");
        if (!o->fp)
            return st_err_set(e, ST_EIO, path, 0, 0, "cannot open output: %s", strerror(errno));
        return ST_OK;
    }
    size_t n = strlen(path);
    o->path = strdup(path);
    o->tmppath = malloc(n + 16);
    if (!o->path || !o->tmppath) {
        st_output_abort(o);
        return st_err_nomem(e, "output file name");
    }
    snprintf(o->tmppath, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(o->tmppath);
    if (fd < 0) {
        int err = errno;
        free(o->tmppath);
        o->tmppath = NULL;
        st_output_abort(o);
        return st_err_set(e, ST_EIO, path, 0, 0, "cannot create output: %s", strerror(err));
    }
    /* mkstemp gives 0600; an output file should get the usual umask mode. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    o->fp = fdopen(fd, "wb");
    if (!o->fp) {
        close(fd);
        unlink(o->tmppath);
        st_output_abort(o);
        return st_err_nomem(e, "output stream");
    }
    watch_signals();
    pending_tmp = o->tmppath;
    return ST_OK;
}

int st_output_close(st_output *o, st_err *e)
{
    if (!o->fp)
        return ST_OK;
    int bad = fflush(o->fp) != 0 || ferror(o->fp);
    int err = errno;
    if (o->fp == stdout) {
        o->fp = NULL;
        if (bad)
            return st_err_set(e, ST_EIO, NULL, 0, 0, "write error on standard output: %s", strerror(err));
        return ST_OK;
    }
    if (fclose(o->fp) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    o->fp = NULL;
    if (!o->tmppath) /* a device or FIFO written in place */
        return bad ? st_err_set(e, ST_EIO, NULL, 0, 0, "write error on output: %s", strerror(err)) : ST_OK;
    if (!bad && rename(o->tmppath, o->path) != 0) {
        bad = 1;
        err = errno;
    }
    int rc = ST_OK;
    if (bad) {
        unlink(o->tmppath);
        rc = st_err_set(e, ST_EIO, o->path, 0, 0, "cannot write output: %s", strerror(err));
    }
    pending_tmp = NULL;
    free(o->tmppath);
    free(o->path);
    o->tmppath = o->path = NULL;
    return rc;
}

void st_output_abort(st_output *o)
{
    if (o->fp && o->fp != stdout)
        fclose(o->fp);
    else if (o->fp == stdout)
        fflush(stdout);
    o->fp = NULL;
    if (o->tmppath) {
        unlink(o->tmppath);
        pending_tmp = NULL;
    }
    free(o->tmppath);
    free(o->path);
    o->tmppath = o->path = NULL;
}

int st_cli_finish(const st_cli *c, st_output *o, int rc, const st_err *e)
{
    st_err close_err;
    st_err_clear(&close_err);
    if (rc < 0) {
        if (o)
            st_output_abort(o);
        st_err_print(c->prog, e);
        return st_err_exit_status(rc);
    }
    if (o && st_output_close(o, &close_err) < 0) {
        st_err_print(c->prog, &close_err);
        return 1;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: write error on standard output: %s\n", c->prog, strerror(errno));
        return 1;
    }
    return 0;
}
