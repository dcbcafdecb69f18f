#include "config.h"

#include "core/resource.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static double own_limit; /* st_set_memory_limit; 0: none */

void st_set_memory_limit(double bytes)
{
    own_limit = bytes > 0 ? bytes : 0;
}

/* The number in a cgroup limit file, INFINITY for "max", none or nonsense
 * (v1 writes a huge number for "no limit", which stays above the machine). */
static double limit_file(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return INFINITY;
    char buf[64] = "";
    char *ok = fgets(buf, sizeof buf, fp);
    fclose(fp);
    if (!ok)
        return INFINITY;
    char *end;
    double v = strtod(buf, &end);
    return end != buf && v > 0 ? v : INFINITY;
}

/* The smallest limit of file name in the cgroup directory root + cg and
 * its ancestors (a parent's limit binds its children). */
static double limit_up(const char *root, const char *cg, const char *name)
{
    char path[512];
    double m = INFINITY;
    size_t n = strlen(cg);
    while (n > 0 && cg[n - 1] == '/')
        n--;
    for (int depth = 0; depth < 64; depth++) {
        if (snprintf(path, sizeof path, "%s%.*s/%s", root, (int)n, cg, name) < (int)sizeof path)
            m = fmin(m, limit_file(path));
        if (n == 0)
            break;
        while (n > 0 && cg[n - 1] != '/')
            n--;
        while (n > 0 && cg[n - 1] == '/')
            n--;
    }
    return m;
}

/* The memory limit of this process's control group (v2 and v1). */
static double cgroup_limit(void)
{
    FILE *fp = fopen("/proc/self/cgroup", "r");
    if (!fp)
        return INFINITY;
    double m = INFINITY;
    char line[1024];
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *ctl = c1 + 1, *cg = c2 + 1;
        if (strcmp(line, "0") == 0 && *ctl == '\0') {
            m = fmin(m, limit_up("/sys/fs/cgroup", cg, "memory.max"));
        } else {
            /* v1: the memory controller, alone or in a list */
            for (const char *p = ctl; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
                if (strncmp(p, "memory", 6) == 0 && (p[6] == ',' || p[6] == '\0')) {
                    m = fmin(m, limit_up("/sys/fs/cgroup/memory", cg, "memory.limit_in_bytes"));
                    break;
                }
            }
        }
    }
    fclose(fp);
    return m;
}

double st_phys_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    double m = pages > 0 && size > 0 ? (double)pages * (double)size : INFINITY;
    m = fmin(m, cgroup_limit());
    if (own_limit > 0)
        m = fmin(m, own_limit);
    return m;
}

int st_check_memory(double bytes, const char *what, st_err *e)
{
    double phys = st_phys_memory();
    if (bytes > phys)
        return st_err_set(e, ST_ENOMEM, NULL, 0, 0, "%s needs %.3g GB, more than the %.3g GB of memory of this machine",
                          what, bytes / 1e9, phys / 1e9);
    return ST_OK;
}
