/* OpenMP's thread number and team size, or 0 and 1 in a build without
 * OpenMP, so that code with per-thread work space needs no #ifdef. */
#ifndef ST_CORE_THREADS_H
#define ST_CORE_THREADS_H

#ifdef _OPENMP
#include <omp.h>
#endif

/* This thread's number in the current team (0 outside a parallel region). */
static inline int st_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* The number of threads a parallel region would get (after -j). */
static inline int st_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

#endif
