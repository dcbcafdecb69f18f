/* A plain main() for the fuzz harnesses (no libFuzzer): feeds every file
 * named on the command line, or every file in a named directory, to
 * LLVMFuzzerTestOneInput, one at a time, so that `make check` replays the
 * seed corpus and the inputs that once crashed or blew up (tests/fuzz/
 * regress.sh), and so that AFL++ can run a harness on files (`@@`) when
 * built with afl-clang-fast and this driver.  With no argument it reads
 * one input from standard input.
 *
 * An input that takes longer than FUZZ_TIMEOUT seconds (default 20), or a
 * run whose peak resident memory exceeds FUZZ_RSS_MB (default 2048), fails:
 * the regression inputs include ones that once blew up. */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double env_or(const char *name, double def)
{
    const char *s = getenv(name);
    return s && *s ? atof(s) : def;
}

static int run_file(const char *path, size_t *count)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "driver: %s: %s\n", path, strerror(errno));
        return 1;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf)
            abort();
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            continue;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0)
            break;
    }
    if (fp != stdin)
        fclose(fp);
    double t0 = now();
    LLVMFuzzerTestOneInput(buf, len);
    double dt = now() - t0;
    free(buf);
    (*count)++;
    if (dt > env_or("FUZZ_TIMEOUT", 20)) {
        fprintf(stderr, "driver: %s: took %.1f s (limit FUZZ_TIMEOUT)\n", path, dt);
        return 1;
    }
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "driver: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, cap * sizeof *names);
            if (!names)
                abort();
        }
        size_t k = strlen(dir) + strlen(de->d_name) + 2;
        names[n] = malloc(k);
        if (!names[n])
            abort();
        snprintf(names[n], k, "%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_names);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            bad |= run_file(names[i], count);
        free(names[i]);
    }
    free(names);
    return bad;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int bad = 0;
    if (argc < 2)
        bad = run_file("-", &count);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            bad |= run_dir(argv[i], &count);
        else
            bad |= run_file(argv[i], &count);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double mb = (double)ru.ru_maxrss / 1024.0;
    if (mb > env_or("FUZZ_RSS_MB", 2048)) {
        fprintf(stderr, "driver: peak memory %.0f MB (limit FUZZ_RSS_MB)\n", mb);
        bad = 1;
    }
    fprintf(stderr, "driver: %zu inputs, peak %.0f MB%s\n", count, mb, bad ? ", FAILED" : "");
    return bad;
}
