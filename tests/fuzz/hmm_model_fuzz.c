/* Fuzz harness: `model: hmm` files (lib/hmm/io.c).  A model that loads
 * must write, read back and write the same bytes, sample, and give every
 * sampled sequence a log-likelihood that is not NaN. */
#include "fuzz.h"

#include <math.h>

#include "hmm/hmm.h"

static char *write_model(const st_hmm *m, size_t *len)
{
    char *buf = NULL;
    FILE *fp = open_memstream(&buf, len);
    st_err e;
    int rc = st_hmm_write(m, fp, &e);
    fclose(fp);
    FUZZ_CHECK(rc == 0, "a model that loaded does not write: %s", e.msg);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_hmm *m = NULL;
    st_err e;
    int rc = st_hmm_read(&m, fuzz_file(0, data, size), &e);
    FUZZ_CHECK_ERR(rc, e);
    if (rc < 0)
        return 0;
    size_t n1, n2;
    char *w1 = write_model(m, &n1);
    st_hmm *m2 = NULL;
    rc = st_hmm_read(&m2, fuzz_file(1, (const uint8_t *)w1, n1), &e);
    FUZZ_CHECK(rc == 0, "the model written does not read back: %s\n%s", e.msg, w1);
    char *w2 = write_model(m2, &n2);
    FUZZ_CHECK(n1 == n2 && memcmp(w1, w2, n1) == 0, "model round trip changed the file:\n%s---\n%s", w1, w2);
    free(w1);
    free(w2);
    st_hmm_free(m2);

    /* A little data from the model, and its likelihood. */
    if (m->K * m->D <= 4096 && m->order < 8) {
        const size_t n = 2, T = 8;
        int *states = malloc(n * T * sizeof *states);
        double *x = malloc(n * T * m->D * sizeof *x);
        if (!states || !x)
            abort();
        rc = st_hmm_sample(m, n, T, 7, states, x, &e);
        FUZZ_CHECK_ERR(rc, e);
        if (rc == 0) {
            size_t len[2] = {T, T};
            st_hmm_data *d = NULL;
            rc = st_hmm_data_new(&d, n, len, m->D, x, &e);
            FUZZ_CHECK_ERR(rc, e);
            double total = 0;
            if (rc == 0)
                rc = st_hmm_loglik(m, d, NULL, &total, &e);
            FUZZ_CHECK_ERR(rc, e);
            FUZZ_CHECK(rc < 0 || !isnan(total), "log-likelihood NaN");
            st_hmm_data_free(d);
        }
        free(states);
        free(x);
    }
    st_hmm_free(m);
    return 0;
}
