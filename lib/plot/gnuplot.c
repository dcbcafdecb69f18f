/* Rendering: gnuplot as a child process (posix_spawnp, no shell) reading
 * the script from a pipe, its messages collected from another; and the
 * terminal's sixel support from its device attributes. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "plot/plot.h"

extern char **environ;

/* gnuplot's first error: the text after '"/dev/stdin" line N: ', as
 * "script line N: ...", else its last non-empty line. */
static void first_error(const char *msgs, char *out, size_t n)
{
    snprintf(out, n, "no message");
    if (!msgs)
        return;
    const char *last = NULL;
    size_t lastlen = 0;
    for (const char *p = msgs; *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *at = strstr(p, "\" line ");
        if (at && at < p + len && strncmp(p, "\"/dev/stdin\"", 12) == 0) {
            snprintf(out, n, "script%.*s", (int)(len - (size_t)(at + 1 - p)), at + 1);
            return;
        }
        size_t k = len;
        while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\r'))
            k--;
        if (k > 0) {
            last = p;
            lastlen = k;
        }
        p = end ? end + 1 : p + len;
    }
    if (last) {
        while (lastlen > 0 && *last == ' ') {
            last++;
            lastlen--;
        }
        snprintf(out, n, "%.*s", (int)lastlen, last);
    }
}

/* Append n bytes to the growing buffer *buf (len, cap). */
static int append(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? 2 * *cap : 4096;
        while (c < *len + n + 1)
            c *= 2;
        char *b = realloc(*buf, c);
        if (!b)
            return -1;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

int st_plot_run(const char *prog, const char *script, size_t len, char **msgs, st_err *e)
{
    if (!prog)
        prog = "gnuplot";
    *msgs = NULL;
    int in[2] = {-1, -1}, er[2] = {-1, -1};
    if (pipe(in) < 0 || pipe(er) < 0) {
        int err = errno;
        if (in[0] >= 0) {
            close(in[0]);
            close(in[1]);
        }
        return st_err_set(e, ST_EIO, NULL, 0, 0, "cannot make a pipe for gnuplot: %s", strerror(err));
    }
    fcntl(in[1], F_SETFD, FD_CLOEXEC);
    fcntl(er[0], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, er[1], 2);
    posix_spawn_file_actions_addclose(&fa, in[0]);
    posix_spawn_file_actions_addclose(&fa, er[1]);
    posix_spawnattr_init(&at);
    sigset_t none, dflt;
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGTERM);
    sigaddset(&dflt, SIGHUP);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dflt);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    /* a script file, not an interactive stdin: gnuplot stops at the first
     * error and names its line */
    char *argv[] = {(char *)prog, (char *)"/dev/stdin", NULL};
    pid_t pid;
    fflush(stdout);
    int sp = posix_spawnp(&pid, prog, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(in[0]);
    close(er[1]);
    if (sp != 0) {
        close(in[1]);
        close(er[0]);
        if (sp == ENOENT)
            return st_err_set(e, ST_EIO, NULL, 0, 0,
                              "%s not found: install gnuplot (Debian/Ubuntu: apt-get install gnuplot-nox) "
                              "or print the script with --script",
                              prog);
        return st_err_set(e, ST_EIO, NULL, 0, 0, "cannot run %s: %s", prog, strerror(sp));
    }
    /* Feed the script while reading the messages, so that neither pipe can
     * fill up and block both sides.  SIGPIPE (gnuplot gone early) is
     * blocked while writing and any pending one is discarded. */
    sigset_t pipeset, old;
    sigemptyset(&pipeset);
    sigaddset(&pipeset, SIGPIPE);
    sigprocmask(SIG_BLOCK, &pipeset, &old);
    char *buf = NULL;
    size_t blen = 0, bcap = 0, off = 0;
    int nomem = 0, wfd = in[1];
    fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK);
    for (;;) {
        struct pollfd p[2] = {{er[0], POLLIN, 0}, {wfd, POLLOUT, 0}};
        int np = wfd >= 0 ? 2 : 1;
        if (poll(p, (nfds_t)np, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (np == 2 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = len > off ? write(wfd, script + off, len - off) : 0;
            if (w > 0)
                off += (size_t)w;
            if (off >= len || (w < 0 && errno != EAGAIN && errno != EINTR)) {
                close(wfd); /* done, or gnuplot stopped reading */
                wfd = -1;
            }
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char tmp[4096];
            ssize_t r = read(er[0], tmp, sizeof tmp);
            if (r > 0) {
                if (!nomem && append(&buf, &blen, &bcap, tmp, (size_t)r) < 0)
                    nomem = 1;
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                break; /* gnuplot closed its standard error: it is done */
            }
        }
    }
    if (wfd >= 0)
        close(wfd);
    close(er[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipeset, NULL, &zero) > 0)
        ;
    sigprocmask(SIG_SETMASK, &old, NULL);
    *msgs = buf;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (off < len)
            return st_err_set(e, ST_EIO, NULL, 0, 0, "%s stopped before reading the whole script", prog);
        return ST_OK;
    }
    char why[400];
    first_error(buf, why, sizeof why);
    if (WIFSIGNALED(status))
        return st_err_set(e, ST_EIO, NULL, 0, 0, "%s was killed by signal %d (%s)", prog, WTERMSIG(status), why);
    return st_err_set(e, ST_EIO, NULL, 0, 0, "%s failed (exit %d): %s", prog, WEXITSTATUS(status), why);
}

int st_plot_da1_sixel(const char *ans)
{
    const char *q = strstr(ans, "\033[?");
    if (!q)
        return 0;
    for (const char *p = q + 3; *p && *p != 'c';) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || (*end != ';' && *end != 'c'))
            return 0;
        if (v == 4)
            return 1;
        p = *end == ';' ? end + 1 : end;
    }
    return 0;
}

int st_plot_tty_sixel(int fd, int timeout_ms)
{
    if (!isatty(fd))
        return 0;
    int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (tty < 0)
        return 0;
    struct termios old, raw;
    if (tcgetattr(tty, &old) < 0) {
        close(tty);
        return 0;
    }
    raw = old;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    int sixel = 0;
    if (tcsetattr(tty, TCSANOW, &raw) == 0) {
        /* primary device attributes: the answer is ESC [ ? a ; b ; ... c */
        char ans[128];
        size_t n = 0;
        if (write(tty, "\033[c", 3) == 3) {
            while (n + 1 < sizeof ans) {
                struct pollfd p = {tty, POLLIN, 0};
                if (poll(&p, 1, timeout_ms) <= 0)
                    break;
                ssize_t r = read(tty, ans + n, sizeof ans - 1 - n);
                if (r <= 0)
                    break;
                n += (size_t)r;
                if (memchr(ans, 'c', n))
                    break;
            }
        }
        ans[n] = '\0';
        sixel = st_plot_da1_sixel(ans);
        tcsetattr(tty, TCSANOW, &old);
    }
    close(tty);
    return sixel;
}
