/* Resource limits: sizes that would need more memory than the machine has
 * are refused up front with the figure (DESIGN.md §5), not left to the OOM
 * killer.  One query of physical memory for every module. */
#ifndef ST_CORE_RESOURCE_H
#define ST_CORE_RESOURCE_H

#include "core/err.h"

/* Physical memory in bytes; INFINITY when the system does not say. */
double st_phys_memory(void);

/* ST_ENOMEM "WHAT needs X GB, more than the Y GB of memory of this machine"
 * when bytes exceeds physical memory, else ST_OK. */
int st_check_memory(double bytes, const char *what, st_err *e);

#endif
