/* MPI wrappers (see mpi.h).  Without ST_HAVE_MPI every function is the
 * single-process case, so the library never needs an #ifdef of its own. */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mpi.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#ifdef ST_HAVE_MPI
#include <mpi.h>

static int we_initialised;

static int running(void)
{
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    if (init)
        MPI_Finalized(&fin);
    return init && !fin;
}
#endif

int st_mpi_compiled(void)
{
#ifdef ST_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

int st_mpi_init(int *argc, char ***argv, st_err *e)
{
#ifdef ST_HAVE_MPI
    if (running())
        return ST_OK;
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return st_err_set(e, ST_EIO, NULL, 0, 0, "MPI_Init_thread failed");
    we_initialised = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
#else
    (void)argc;
    (void)argv;
    (void)e;
#endif
    return ST_OK;
}

void st_mpi_finalize(void)
{
#ifdef ST_HAVE_MPI
    if (we_initialised && running())
        MPI_Finalize();
    we_initialised = 0;
#endif
}

void st_mpi_abort(int status)
{
#ifdef ST_HAVE_MPI
    if (st_mpi_size() > 1)
        MPI_Abort(MPI_COMM_WORLD, status);
#else
    (void)status;
#endif
}

int st_mpi_rank(void)
{
#ifdef ST_HAVE_MPI
    int r = 0;
    if (running())
        MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
#else
    return 0;
#endif
}

int st_mpi_size(void)
{
#ifdef ST_HAVE_MPI
    int s = 1;
    if (running())
        MPI_Comm_size(MPI_COMM_WORLD, &s);
    return s;
#else
    return 1;
#endif
}

void st_mpi_share_rank(size_t n, int r, int p, size_t *lo, size_t *hi)
{
    /* floor(n*r/p) without overflow: (n/p)*r + floor((n%p)*r/p) */
    size_t q = n / (size_t)p, m = n % (size_t)p;
    *lo = q * (size_t)r + m * (size_t)r / (size_t)p;
    *hi = q * (size_t)(r + 1) + m * (size_t)(r + 1) / (size_t)p;
}

void st_mpi_share(size_t n, size_t *lo, size_t *hi)
{
    st_mpi_share_rank(n, st_mpi_rank(), st_mpi_size(), lo, hi);
}

size_t st_mpi_fold_bytes(size_t nblocks, size_t len)
{
    return nblocks * len * sizeof(double);
}

int st_mpi_share_allgather(double *buf, size_t n, const size_t *off, size_t unit, st_err *e)
{
#ifdef ST_HAVE_MPI
    int p = st_mpi_size();
    if (p <= 1 || n == 0) /* the same decision on every rank: n is shared */
        return ST_OK;
    int *cnt = malloc(2 * (size_t)p * sizeof *cnt);
    if (!cnt)
        return st_err_nomem(e, "MPI counts");
    int *dsp = cnt + p;
    for (int r = 0; r < p; r++) {
        size_t lo, hi;
        st_mpi_share_rank(n, r, p, &lo, &hi);
        size_t a = (off ? off[lo] : lo) * unit, b = (off ? off[hi] : hi) * unit;
        if (b > (size_t)INT_MAX) {
            free(cnt);
            return st_err_set(e, ST_ENOMEM, NULL, 0, 0,
                              "%zu values to exchange exceed MPI's int counts", b);
        }
        cnt[r] = (int)(b - a);
        dsp[r] = (int)a;
    }
    int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, cnt, dsp, MPI_DOUBLE, MPI_COMM_WORLD);
    free(cnt);
    if (rc != MPI_SUCCESS)
        return st_err_set(e, ST_EIO, NULL, 0, 0, "MPI_Allgatherv failed");
#else
    (void)buf;
    (void)n;
    (void)off;
    (void)unit;
    (void)e;
#endif
    return ST_OK;
}

int st_mpi_fold_blocks(double *part, size_t nblocks, size_t len, double *acc, st_err *e)
{
    int rc = st_mpi_share_allgather(part, nblocks, NULL, len, e);
    if (rc < 0)
        return rc;
    for (size_t j = 0; j < len; j++)
        acc[j] = 0;
    for (size_t b = 0; b < nblocks; b++) {
        const double *row = part + b * len;
        for (size_t j = 0; j < len; j++)
            acc[j] += row[j];
    }
    return ST_OK;
}

int st_mpi_allgather(const double *mine, size_t n, double **all, size_t *total, st_err *e)
{
    *all = NULL;
    *total = 0;
#ifdef ST_HAVE_MPI
    int p = st_mpi_size();
    if (p > 1) {
        if (n > (size_t)INT_MAX)
            return st_err_set(e, ST_ENOMEM, NULL, 0, 0, "%zu values exceed MPI's int counts", n);
        int *cnt = malloc(2 * (size_t)p * sizeof *cnt);
        if (!cnt)
            return st_err_nomem(e, "MPI counts");
        int *dsp = cnt + p, my = (int)n;
        if (MPI_Allgather(&my, 1, MPI_INT, cnt, 1, MPI_INT, MPI_COMM_WORLD) != MPI_SUCCESS) {
            free(cnt);
            return st_err_set(e, ST_EIO, NULL, 0, 0, "MPI_Allgather of counts failed");
        }
        size_t sum = 0;
        for (int r = 0; r < p; r++) {
            if (sum > (size_t)INT_MAX) {
                free(cnt);
                return st_err_set(e, ST_ENOMEM, NULL, 0, 0, "gathered values exceed MPI's int counts");
            }
            dsp[r] = (int)sum;
            sum += (size_t)cnt[r];
        }
        double *buf = malloc((sum ? sum : 1) * sizeof *buf);
        if (!buf) {
            free(cnt);
            return st_err_nomem(e, "gathered values");
        }
        int rc = MPI_Allgatherv(mine, my, MPI_DOUBLE, buf, cnt, dsp, MPI_DOUBLE, MPI_COMM_WORLD);
        free(cnt);
        if (rc != MPI_SUCCESS) {
            free(buf);
            return st_err_set(e, ST_EIO, NULL, 0, 0, "MPI_Allgatherv failed");
        }
        *all = buf;
        *total = sum;
        return ST_OK;
    }
#endif
    double *buf = malloc((n ? n : 1) * sizeof *buf);
    if (!buf)
        return st_err_nomem(e, "gathered values");
    if (n)
        memcpy(buf, mine, n * sizeof *buf);
    *all = buf;
    *total = n;
    return ST_OK;
}

int st_mpi_gather_bytes(const void *mine, size_t n, char **all, size_t *total, st_err *e)
{
    *all = NULL;
    *total = 0;
#ifdef ST_HAVE_MPI
    int p = st_mpi_size();
    if (p > 1) {
        if (n > (size_t)INT_MAX)
            return st_err_set(e, ST_ENOMEM, NULL, 0, 0, "%zu bytes exceed MPI's int counts", n);
        int rank = st_mpi_rank(), my = (int)n, *cnt = NULL, *dsp = NULL, rc;
        char *buf = NULL;
        size_t sum = 0;
        if (rank == 0) {
            cnt = malloc(2 * (size_t)p * sizeof *cnt);
            if (!cnt)
                return st_err_nomem(e, "MPI counts");
            dsp = cnt + p;
        }
        rc = MPI_Gather(&my, 1, MPI_INT, cnt, 1, MPI_INT, 0, MPI_COMM_WORLD);
        int ok = rc == MPI_SUCCESS;
        if (rank == 0 && ok) {
            for (int r = 0; r < p; r++) {
                if (sum > (size_t)INT_MAX)
                    ok = 0;
                dsp[r] = (int)sum;
                sum += (size_t)cnt[r];
            }
            if (ok && !(buf = malloc(sum ? sum : 1)))
                ok = 0;
        }
        /* everyone learns whether rank 0 can receive */
        MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (ok)
            ok = MPI_Gatherv(mine, my, MPI_CHAR, buf, cnt, dsp, MPI_CHAR, 0, MPI_COMM_WORLD) == MPI_SUCCESS;
        free(cnt);
        if (!ok) {
            free(buf);
            return st_err_set(e, ST_EIO, NULL, 0, 0, "gathering output on rank 0 failed");
        }
        *all = buf;
        *total = rank == 0 ? sum : 0;
        return ST_OK;
    }
#endif
    char *buf = malloc(n ? n : 1);
    if (!buf)
        return st_err_nomem(e, "gathered output");
    if (n)
        memcpy(buf, mine, n);
    *all = buf;
    *total = n;
    return ST_OK;
}

int st_mpi_agree(int rc)
{
#ifdef ST_HAVE_MPI
    if (st_mpi_size() > 1) {
        int out = rc;
        MPI_Allreduce(&rc, &out, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        return out;
    }
#endif
    return rc;
}

int st_mpi_agree_error(int rc, size_t key, st_err *e)
{
#ifdef ST_HAVE_MPI
    if (st_mpi_size() > 1) {
        /* the smallest key among failing ranks, then the lowest such rank,
         * whose error (a plain struct) every rank then receives */
        unsigned long long k = rc < 0 ? (unsigned long long)key : ULLONG_MAX, kmin = ULLONG_MAX;
        if (rc < 0 && k == ULLONG_MAX)
            k = ULLONG_MAX - 1;
        MPI_Allreduce(&k, &kmin, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
        if (kmin == ULLONG_MAX)
            return ST_OK;
        int mine = rc < 0 && k == kmin ? st_mpi_rank() : INT_MAX, root = INT_MAX;
        MPI_Allreduce(&mine, &root, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        if (st_mpi_rank() == root)
            e->code = rc;
        MPI_Bcast(e, (int)sizeof *e, MPI_BYTE, root, MPI_COMM_WORLD);
        return e->code;
    }
#endif
    (void)key;
    (void)e;
    return rc;
}

long st_mpi_min_long(long v)
{
#ifdef ST_HAVE_MPI
    if (st_mpi_size() > 1) {
        long out = v;
        MPI_Allreduce(&v, &out, 1, MPI_LONG, MPI_MIN, MPI_COMM_WORLD);
        return out;
    }
#endif
    return v;
}

long st_mpi_max_long(long v)
{
#ifdef ST_HAVE_MPI
    if (st_mpi_size() > 1) {
        long out = v;
        MPI_Allreduce(&v, &out, 1, MPI_LONG, MPI_MAX, MPI_COMM_WORLD);
        return out;
    }
#endif
    return v;
}

int st_mpi_cli_start(st_cli *c, int *argc, char ***argv, int ninputs, char *const *inputs, st_err *e)
{
    int rc = st_mpi_init(argc, argv, e);
    if (rc < 0 || st_mpi_size() <= 1)
        return rc;
    if (st_mpi_rank() != 0) {
        /* errors are agreed on, so rank 0 reports them for everyone */
        c->output = "/dev/null";
        c->verbosity = 0;
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            fflush(stderr);
            dup2(fd, 2);
            close(fd);
        }
    }
    int uses_stdin = ninputs <= 0;
    for (int i = 0; i < ninputs; i++)
        uses_stdin |= strcmp(inputs[i], "-") == 0;
    if (uses_stdin)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                          "with %d MPI ranks every rank reads DATA: name the files (standard input reaches rank 0 only)",
                          st_mpi_size());
    return ST_OK;
}

int st_mpi_cli_end(int status)
{
    st_mpi_finalize();
    return status;
}
