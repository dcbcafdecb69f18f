/* Resource limits: sizes that would need more memory than the machine has
 * are refused up front with the figure (DESIGN.md §5), not left to the OOM
 * killer.  One query of available memory for every module. */
#ifndef ST_CORE_RESOURCE_H
#define ST_CORE_RESOURCE_H

#include "core/err.h"

/* Memory a run may use, in bytes: the machine's physical memory, or less
 * when the control group the program runs in has a memory limit (cgroup v2
 * memory.max, v1 memory.limit_in_bytes: a container or a Slurm job), or a
 * limit set by st_set_memory_limit; INFINITY when nothing says. */
double st_phys_memory(void);

/* Lower the figure st_phys_memory reports to bytes (0: no limit of our
 * own).  For tests and fuzzing, where inputs must stay small; call before
 * any threads start. */
void st_set_memory_limit(double bytes);

/* ST_ENOMEM "WHAT needs X GB, more than the Y GB of memory of this machine"
 * when bytes exceeds st_phys_memory(), else ST_OK. */
int st_check_memory(double bytes, const char *what, st_err *e);

#endif
