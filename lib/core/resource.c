#include "core/resource.h"

#include <math.h>
#include <unistd.h>

double st_phys_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (double)pages * (double)size : INFINITY;
}

int st_check_memory(double bytes, const char *what, st_err *e)
{
    double phys = st_phys_memory();
    if (bytes > phys)
        return st_err_set(e, ST_ENOMEM, NULL, 0, 0, "%s needs %.3g GB, more than the %.3g GB of memory of this machine",
                          what, bytes / 1e9, phys / 1e9);
    return ST_OK;
}
