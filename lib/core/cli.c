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
    st_reader_set_renames(NULL, 0);
    st_reader_set_no_header(0);
}

/* Print "prog: " and the formatted message on one line, at most max - 1
 * bytes (st_msg_fit: its start and end are kept). */
static void print_msg(const char *prog, size_t max, const char *fmt, va_list ap)
{
    char text[8192], line[8192];
    vsnprintf(text, sizeof text, fmt, ap);
    st_msg_fit(line, max < sizeof line ? max : sizeof line, text);
    fprintf(stderr, "%s: %s\n", prog, line);
}

_Noreturn void st_cli_usage_error(const st_cli *c, const char *fmt, ...)
{
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        print_msg(c->prog, sizeof(((st_err *)0)->msg), fmt, ap);
        va_end(ap);
    }
    fprintf(stderr, "Try '%s --help' for more information.\n", c->prog);
    exit(2);
}

static const char *const role_dashed[ST_ROLE_N] = {"--seq-col", "--time-col", "--state-col", "--id-col",
                                                   "--obstype-col", "--label-col"};

/* The role options as renames for every reader (core/stream.h): the
 * user's column is read under the name the program looks for. */
static void cli_set_renames(const st_cli *c)
{
    st_rename ren[ST_ROLE_N];
    size_t n = 0;
    for (int k = 0; k < ST_ROLE_N; k++)
        if (c->role[k])
            ren[n++] = (st_rename){c->role[k], c->role_as[k] ? c->role_as[k] : st_role_default((st_role)k), role_dashed[k]};
    st_reader_set_renames(ren, n);
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
        if (!*arg)
            st_cli_usage_error(c, "-o/--output needs a file name");
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
        st_reader_set_no_header(1);
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
            cli_set_renames(c);
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

void st_cli_role_reads_as(st_cli *c, st_role role, const char *name)
{
    if ((unsigned)role < ST_ROLE_N)
        c->role_as[role] = name;
    cli_set_renames(c);
}

static unsigned kind_of(const st_dtype *dtypes, size_t j)
{
    st_dtype d = dtypes ? dtypes[j] : ST_F8;
    return st_dtype_is_numeric(d) ? ST_KIND_NUMBER : st_dtype_is_time(d) ? ST_KIND_TIME : ST_KIND_TEXT;
}

static const char *kind_name(unsigned k)
{
    return k == ST_KIND_NUMBER ? "numbers" : k == ST_KIND_TIME ? "times" : "text";
}

/* "a, b (text), c (times)": the names of the columns j with pick[j] == want,
 * each followed by its kind when more than one kind is listed. */
static void list_cols(char *buf, size_t cap, char *const *names, const st_dtype *dtypes, const unsigned char *pick,
                      size_t ncols, int with_kind)
{
    size_t h = 0;
    buf[0] = '\0';
    for (size_t j = 0; j < ncols && h + 1 < cap; j++) {
        if (!pick[j])
            continue;
        int w = snprintf(buf + h, cap - h, "%s%s%s%s%s", h ? ", " : "", names[j], with_kind ? " (" : "",
                         with_kind ? kind_name(kind_of(dtypes, j)) : "", with_kind ? ")" : "");
        h = w < 0 ? h : h + (size_t)w >= cap ? cap - 1 : h + (size_t)w;
    }
}

int st_cli_value_cols(const st_cli *c, const char *file, char *const *names, const st_dtype *dtypes, size_t ncols,
                      const int *skip, size_t nskip, unsigned want, int **idx, size_t *n, st_err *e)
{
    *idx = NULL;
    *n = 0;
    unsigned char *cand = calloc(ncols ? ncols : 1, 2);
    int *out = malloc((ncols ? ncols : 1) * sizeof *out);
    if (!cand || !out) {
        free(cand);
        free(out);
        return st_err_nomem(e, "columns");
    }
    unsigned char *used = cand + ncols, *left = cand; /* cand: candidates, then reused as "left out" */
    for (size_t j = 0; j < ncols; j++)
        cand[j] = 1;
    for (size_t k = 0; k < nskip; k++)
        if (skip[k] >= 0 && (size_t)skip[k] < ncols)
            cand[skip[k]] = 0;
    unsigned kinds = 0, ukinds = 0;
    for (size_t j = 0; j < ncols; j++) {
        if (!cand[j])
            continue;
        unsigned k = kind_of(dtypes, j);
        kinds |= k;
        if (k & want) {
            used[j] = 1;
            ukinds |= k;
            out[(*n)++] = (int)j;
        }
    }
    if (kinds & (kinds - 1)) { /* candidates of more than one kind */
        char u[300], l[300];
        list_cols(u, sizeof u, names, dtypes, used, ncols, (ukinds & (ukinds - 1)) != 0);
        for (size_t j = 0; j < ncols; j++)
            left[j] = left[j] && !used[j];
        list_cols(l, sizeof l, names, dtypes, left, ncols, 1);
        const char *f = file ? file : "<stdin>";
        int one = (ukinds & (ukinds - 1)) == 0;
        if (*n && *l)
            st_cli_log(c, 1, "%s: value columns %s%s%s%s; not %s (name the columns with -c)", f, u, one ? " (" : "",
                       one ? kind_name(ukinds) : "", one ? ")" : "", l);
        else if (*n)
            st_cli_log(c, 1, "%s: value columns %s (name the columns with -c)", f, u);
    }
    free(cand);
    *idx = out;
    return ST_OK;
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
    va_start(ap, fmt);
    print_msg(c->prog, 8192, fmt, ap);
    va_end(ap);
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

/* Temporaries being written, removed if a signal ends the program (a
 * program has at most a few outputs open at once: the data, a model, a
 * trace). */
#define MAX_PENDING 8
static char *volatile pending_tmp[MAX_PENDING];

static void remove_pending(int sig)
{
    for (int i = 0; i < MAX_PENDING; i++) {
        char *p = pending_tmp[i];
        if (p)
            unlink(p);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Remove temporaries on SIGINT, SIGTERM, SIGHUP and SIGPIPE -- except a
 * signal that was ignored when the program started (a background job of a
 * non-interactive shell ignores SIGINT, nohup SIGHUP): it stays ignored. */
static void watch_signals(void)
{
    static int installed;
    if (installed)
        return;
    installed = 1;
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = remove_pending;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

static void pending_add(char *p)
{
    for (int i = 0; i < MAX_PENDING; i++)
        if (!pending_tmp[i]) {
            pending_tmp[i] = p;
            return;
        }
}

static void pending_remove(const char *p)
{
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending_tmp[i] == p)
            pending_tmp[i] = NULL;
}

/* The descriptor a path names by number: /dev/stdout, /dev/stderr,
 * /dev/fd/N, /proc/self/fd/N (and /proc/PID/fd/N of this process); -1 for
 * any other path.  Such an output is the descriptor the program was given,
 * written at its offset (as a shell redirection would), never reopened,
 * truncated or replaced. */
static int fd_of_path(const char *p)
{
    if (strcmp(p, "/dev/stdout") == 0)
        return 1;
    if (strcmp(p, "/dev/stderr") == 0)
        return 2;
    const char *num = NULL;
    char self[64];
    snprintf(self, sizeof self, "/proc/%ld/fd/", (long)getpid());
    if (strncmp(p, "/dev/fd/", 8) == 0)
        num = p + 8;
    else if (strncmp(p, "/proc/self/fd/", 14) == 0)
        num = p + 14;
    else if (strncmp(p, self, strlen(self)) == 0)
        num = p + strlen(self);
    long n;
    if (!num || st_parse_long(num, &n) < 0 || n < 0 || n > INT_MAX || !(*num >= '0' && *num <= '9'))
        return -1;
    return (int)n;
}

/* Follow symbolic links from path to the file they end at (which need not
 * exist yet): *target (malloc'ed) gets its path, *fd the descriptor if a
 * link in the chain is one (fd_of_path), else -1; *st its status and
 * *exists whether it exists. */
static int resolve_output(const char *path, char **target, int *fd, struct stat *st, int *exists, st_err *e)
{
    char *p = strdup(path);
    *target = NULL;
    *fd = -1;
    *exists = 0;
    if (!p)
        return st_err_nomem(e, "output file name");
    for (int hops = 0;; hops++) {
        if ((*fd = fd_of_path(p)) >= 0) {
            *target = p;
            return ST_OK;
        }
        if (lstat(p, st) != 0) {
            int err = errno;
            if (err == ENOENT) {
                *target = p;
                return ST_OK;
            }
            free(p);
            return st_err_set(e, ST_EIO, path, 0, 0, "cannot write output: %s", strerror(err));
        }
        if (!S_ISLNK(st->st_mode)) {
            *exists = 1;
            *target = p;
            return ST_OK;
        }
        if (hops >= 40) {
            free(p);
            return st_err_set(e, ST_EIO, path, 0, 0, "cannot write output: %s", strerror(ELOOP));
        }
        /* the link's text, relative to the link's directory */
        size_t cap = (size_t)st->st_size + 1 > 256 ? (size_t)st->st_size + 1 : 256;
        char *link = malloc(cap);
        ssize_t k = link ? readlink(p, link, cap - 1) : -1;
        if (k < 0) {
            int err = link ? errno : ENOMEM;
            free(link);
            free(p);
            return st_err_set(e, ST_EIO, path, 0, 0, "cannot follow the link: %s", strerror(err));
        }
        link[k] = '\0';
        char *next = link;
        const char *slash = strrchr(p, '/');
        if (link[0] != '/' && slash) {
            size_t dlen = (size_t)(slash - p) + 1;
            next = malloc(dlen + (size_t)k + 1);
            if (next) {
                memcpy(next, p, dlen);
                memcpy(next + dlen, link, (size_t)k + 1);
            }
            free(link);
            if (!next) {
                free(p);
                return st_err_nomem(e, "output file name");
            }
        }
        free(p);
        p = next;
    }
}

int st_output_open(st_output *o, const char *path, int binary, st_err *e)
{
    memset(o, 0, sizeof *o);
    if (path && !*path)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "the output file name is empty");
    if (!path || strcmp(path, "-") == 0)
        path = "/dev/stdout";
    char *target;
    int fd, exists;
    struct stat st;
    int rc = resolve_output(path, &target, &fd, &st, &exists, e);
    if (rc < 0)
        return rc;
    if (fd >= 0) {
        /* a descriptor the program was given: written in place */
        free(target);
        if (binary && isatty(fd))
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                              "refusing to write binary data to a terminal: use --format csv or redirect");
        if (fd == STDOUT_FILENO) {
            o->fp = stdout;
            return ST_OK;
        }
        int d = dup(fd);
        o->fp = d >= 0 ? fdopen(d, "wb") : NULL;
        if (!o->fp) {
            int err = errno;
            if (d >= 0)
                close(d);
            return st_err_set(e, ST_EIO, path, 0, 0, "cannot write output: %s", strerror(err));
        }
        o->path = strdup(path);
        return ST_OK;
    }
    if (exists && S_ISDIR(st.st_mode)) {
        free(target);
        return st_err_set(e, ST_EIO, path, 0, 0, "cannot write output: is a directory");
    }
    if (exists && !S_ISREG(st.st_mode)) {
        /* A device, FIFO or socket (-o /dev/null, a named pipe) is written
         * in place: renaming a temporary over it would replace it. */
        free(target);
        o->fp = fopen(path, "wb");
        if (!o->fp)
            return st_err_set(e, ST_EIO, path, 0, 0, "cannot open output: %s", strerror(errno));
        o->path = strdup(path);
        return ST_OK;
    }
    /* A regular file, new or replaced: write ".NAME.stochtmp.XXXXXX" beside
     * the target (after the links), rename it over the target on success.
     * The leading dot keeps it out of globs such as *.csv. */
    const char *slash = strrchr(target, '/');
    size_t dlen = slash ? (size_t)(slash - target) + 1 : 0;
    const char *base = target + dlen;
    size_t blen = strlen(base);
    if (blen > 200)
        blen = 200; /* stays within NAME_MAX with the suffix */
    o->path = target;
    o->tmppath = malloc(dlen + blen + 32);
    if (!o->tmppath) {
        st_output_abort(o);
        return st_err_nomem(e, "output file name");
    }
    snprintf(o->tmppath, dlen + blen + 32, "%.*s.%.*s.stochtmp.XXXXXX", (int)dlen, target, (int)blen, base);
    fd = mkstemp(o->tmppath);
    if (fd < 0) {
        int err = errno;
        free(o->tmppath);
        o->tmppath = NULL;
        st_output_abort(o);
        if (err == EACCES || err == EROFS)
            return st_err_set(e, ST_EIO, path, 0, 0,
                              "cannot write output: no temporary file can be made in its directory (%s)", strerror(err));
        return st_err_set(e, ST_EIO, path, 0, 0, "cannot create output: %s", strerror(err));
    }
    if (exists) {
        /* keep the file's owner (when allowed) and mode */
        if (st.st_uid != geteuid() || st.st_gid != getegid())
            (void)!fchown(fd, st.st_uid, st.st_gid);
        fchmod(fd, st.st_mode & 07777);
    } else {
        /* mkstemp gives 0600; a new file gets the usual umask mode */
        mode_t mask = umask(0);
        umask(mask);
        fchmod(fd, 0666 & ~mask);
    }
    o->fp = fdopen(fd, "wb");
    if (!o->fp) {
        close(fd);
        unlink(o->tmppath);
        st_output_abort(o);
        return st_err_nomem(e, "output stream");
    }
    watch_signals();
    pending_add(o->tmppath);
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
            return st_err_set(e, ST_EIO, "<stdout>", 0, 0, "write error: %s", strerror(err));
        return ST_OK;
    }
    if (fclose(o->fp) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    o->fp = NULL;
    int rc = ST_OK;
    if (!o->tmppath) { /* a device, FIFO or descriptor written in place */
        if (bad)
            rc = st_err_set(e, ST_EIO, o->path ? o->path : "<output>", 0, 0, "write error: %s", strerror(err));
        free(o->path);
        o->path = NULL;
        return rc;
    }
    if (!bad && rename(o->tmppath, o->path) != 0) {
        bad = 1;
        err = errno;
    }
    if (bad) {
        unlink(o->tmppath);
        rc = st_err_set(e, ST_EIO, o->path, 0, 0, "cannot write output: %s", strerror(err));
    }
    pending_remove(o->tmppath);
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
        pending_remove(o->tmppath);
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
        fprintf(stderr, "%s: <stdout>: write error: %s\n", c->prog, strerror(errno));
        return 1;
    }
    return 0;
}
