/* Fuzz harness: `model: mjp` files (lib/mjp/io.c), rate formulas included.
 * A model that loads must write, read back and write the same bytes, and
 * give a transition matrix P(t) of probabilities (no NaN). */
#include "fuzz.h"

#include <math.h>

#include "mjp/mjp.h"

static char *write_model(const st_mjp *m, size_t *len)
{
    char *buf = NULL;
    FILE *fp = open_memstream(&buf, len);
    st_err e;
    int rc = st_mjp_write(fp, m, NULL, NULL, NULL, 0, &e);
    fclose(fp);
    FUZZ_CHECK(rc == 0, "a model that loaded does not write: %s", e.msg);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_mjp *m = NULL;
    st_err e;
    char *text = fuzz_string(data, size);
    int rc = st_mjp_read_string(&m, text, size, "fuzz.yaml", &e);
    free(text);
    FUZZ_CHECK_ERR(rc, e);
    if (rc < 0)
        return 0;
    size_t n1, n2;
    char *w1 = write_model(m, &n1);
    st_mjp *m2 = NULL;
    rc = st_mjp_read_string(&m2, w1, n1, "written.yaml", &e);
    FUZZ_CHECK(rc == 0, "the model written does not read back: %s\n%s", e.msg, w1);
    char *w2 = write_model(m2, &n2);
    FUZZ_CHECK(n1 == n2 && memcmp(w1, w2, n1) == 0, "model round trip changed the file:\n%s---\n%s", w1, w2);
    free(w1);
    free(w2);
    st_mjp_free(m2);

    double *P = malloc(m->K * m->K * sizeof *P);
    if (!P)
        abort();
    rc = st_mjp_pmatrix(m, 0.5, P, &e);
    FUZZ_CHECK_ERR(rc, e);
    for (size_t i = 0; rc == 0 && i < m->K * m->K; i++)
        FUZZ_CHECK(P[i] >= -1e-9 && P[i] <= 1 + 1e-9, "P(0.5)[%zu] = %g", i, P[i]);
    free(P);
    st_mjp_free(m);
    return 0;
}
