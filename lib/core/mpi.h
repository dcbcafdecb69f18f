/* Many machines: rank and size, each rank's share of the work, and
 * reductions whose arithmetic does not depend on the number of ranks.
 *
 * Built with ./configure --with-mpi (ST_HAVE_MPI) these wrap MPI on
 * MPI_COMM_WORLD; otherwise, or when MPI was never initialised (library
 * tests, programs run without mpirun), every call is the single-process
 * case: rank 0 of 1, reductions are plain local loops.  Every function below
 * except st_mpi_rank/size/share is collective: when st_mpi_size() > 1 all
 * ranks must call it, in the same order, from the thread that called
 * st_mpi_init (never inside an OpenMP parallel region).
 *
 * Determinism: work is cut into blocks of consecutive items (sequences,
 * subjects) whose size depends only on the data, never on ranks or threads.
 * Each block's partial sum is computed by one rank; the partials are
 * gathered on every rank and added in block order.  The result is therefore
 * the same bits for 1, 2 or 64 ranks and for any -j, provided the
 * single-process code uses the same blocks (it does when it calls
 * st_mpi_fold_blocks too: with one rank that is the plain loop). */
#ifndef ST_CORE_MPI_H
#define ST_CORE_MPI_H

#include <stddef.h>

#include "core/cli.h"
#include "core/err.h"

/* Initialise MPI (MPI_Init_thread, MPI_THREAD_FUNNELED) if built with MPI;
 * a no-op otherwise.  Returns 0 or ST_EIO with a message. */
int st_mpi_init(int *argc, char ***argv, st_err *e);
/* MPI_Finalize if st_mpi_init initialised MPI; safe to call always. */
void st_mpi_finalize(void);
/* Stop every rank after a fatal error on this one (MPI_Abort when more than
 * one rank runs; otherwise returns and the caller exits normally). */
void st_mpi_abort(int status);

/* This process's rank (0 when not under MPI) and the number of ranks (1). */
int st_mpi_rank(void);
int st_mpi_size(void);
/* Whether MPI support was compiled in. */
int st_mpi_compiled(void);

/* This rank's share [*lo, *hi) of n items: contiguous, balanced, and in
 * rank order (rank r's items all come before rank r+1's). */
void st_mpi_share(size_t n, size_t *lo, size_t *hi);
/* The share of rank r out of p (what st_mpi_share computes for this rank). */
void st_mpi_share_rank(size_t n, int r, int p, size_t *lo, size_t *hi);

/* Deterministic sum of per-block partials.  part holds nblocks rows of len
 * doubles; this rank has filled the rows of its share (st_mpi_share(nblocks,
 * ...)); the other rows are overwritten with the other ranks' partials.  On
 * return, on every rank, acc[j] = ((0 + part[0][j]) + part[1][j]) + ...
 * in block order.  ST_ENOMEM if the counts exceed what MPI can address. */
int st_mpi_fold_blocks(double *part, size_t nblocks, size_t len, double *acc, st_err *e);

/* Complete a shared array in place: buf holds n items; item i occupies
 * doubles [off[i]*unit, off[i+1]*unit) (off has n+1 entries; NULL means
 * item i is [i*unit, (i+1)*unit)).  This rank has filled the items of its
 * share (st_mpi_share(n, ...)); on return every rank has every item.
 * Nothing is added, so the values are exactly what one process computes. */
int st_mpi_share_allgather(double *buf, size_t n, const size_t *off, size_t unit, st_err *e);

/* Gather variable-length per-rank arrays of doubles on every rank, in rank
 * order: this rank gives mine[0 .. n-1]; *all (malloc'ed, caller frees) gets
 * the concatenation and *total its length. */
int st_mpi_allgather(const double *mine, size_t n, double **all, size_t *total, st_err *e);

/* Concatenate every rank's bytes on rank 0 in rank order (*all malloc'ed
 * there, NULL on other ranks). */
int st_mpi_gather_bytes(const void *mine, size_t n, char **all, size_t *total, st_err *e);

/* Agreement on errors, so that one rank's failure does not leave the others
 * waiting in a collective: the minimum (most negative) of rc over ranks, and
 * the minimum / maximum of a long. */
int st_mpi_agree(int rc);
long st_mpi_min_long(long v);
long st_mpi_max_long(long v);

/* Agree on the first error over ranks when each rank checks only its share
 * of the data: rc is this rank's result (0 or negative) and key the
 * position of its error in the whole data (e.g. the 0-based global row;
 * ignored when rc is 0).  On every rank, *e becomes the error of the
 * failing rank with the smallest key (lowest rank on a tie) and its code
 * is returned; 0 if no rank failed.  One process: returns rc, e untouched. */
int st_mpi_agree_error(int rc, size_t key, st_err *e);

/* For programs, after option parsing: initialise MPI; with several ranks,
 * refuse standard input (it reaches rank 0 only: ninputs is the number of
 * DATA operands, none meaning stdin, and "-" counts as stdin), and on ranks
 * other than 0 send the output (-o or stdout) and stderr to /dev/null with
 * -q, so that rank 0 alone writes and reports (the library makes every rank
 * agree on errors, so rank 0 reports them).  Returns 0 or
 * a negative code with e filled. */
int st_mpi_cli_start(st_cli *c, int *argc, char ***argv, int ninputs, char *const *inputs, st_err *e);
/* End of main(): finalize MPI and pass the exit status through. */
int st_mpi_cli_end(int status);

/* Bytes that st_mpi_fold_blocks moves into each rank for nblocks x len:
 * the figure for the communication volume per EM iteration. */
size_t st_mpi_fold_bytes(size_t nblocks, size_t len);

#endif
