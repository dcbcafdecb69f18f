/* Fuzz harness: `model: pf` files (lib/smc/model_load.c) and the
 * expressions in them.  A model that loads must write, read back and write
 * the same bytes, and run a step on a few particles: draw from the initial
 * distribution and the transition, weigh an observation; every log density
 * is a number or -Inf, never NaN, or the step fails with a message. */
#include "fuzz.h"

#include <math.h>

#include "core/rng.h"
#include "core/yaml.h"
#include "smc/model.h"

static char *write_model(const st_pf_model *m, size_t *len)
{
    char *buf = NULL;
    FILE *fp = open_memstream(&buf, len);
    st_err e;
    st_yw w;
    st_yw_init(&w, fp);
    int rc = st_pf_model_write(m, &w, &e);
    if (rc == 0)
        rc = st_yw_finish(&w, &e);
    fclose(fp);
    FUZZ_CHECK(rc == 0, "a model that loaded does not write: %s", e.msg);
    return buf;
}

static void step(const st_pf_model *m)
{
    enum { N = 8 };
    size_t dx = st_pf_model_dx(m), dy = st_pf_model_dy(m), nc = st_pf_model_ncov(m);
    double *X = calloc(dx * N, sizeof *X), *X2 = calloc(dx * N, sizeof *X2);
    double y[ST_PF_MAXDIM], cov[ST_PF_MAXDIM], lw[N] = {0}, lt[N] = {0};
    st_pf_work *w = malloc(sizeof *w);
    if (!X || !X2 || !w)
        abort();
    for (size_t j = 0; j < ST_PF_MAXDIM; j++) {
        y[j] = st_pf_model_y_is_count(m, j < dy ? j : 0) ? 1 : 0.5;
        cov[j] = 0.25;
    }
    (void)nc;
    st_pf_step s = {.step = 0, .t = 1, .y = y, .cov = cov};
    st_rng r;
    st_rng_seed(&r, 1);
    st_err e;
    int rc = st_pf_model_init(m, &s, X, N, N, &r, w, &e);
    FUZZ_CHECK_ERR(rc, e);
    if (rc == 0) {
        rc = st_pf_model_logobs(m, &s, X, N, N, lw, w, &e);
        FUZZ_CHECK_ERR(rc, e);
        for (size_t p = 0; rc == 0 && p < N; p++)
            FUZZ_CHECK(!isnan(lw[p]), "log g(y | x) is NaN at particle %zu", p);
    }
    if (rc == 0) {
        s.step = 1;
        s.t = 2;
        rc = st_pf_model_transition(m, &s, X, N, X2, N, N, &r, w, &e);
        FUZZ_CHECK_ERR(rc, e);
    }
    if (rc == 0) {
        rc = st_pf_model_logtrans(m, &s, X, N, X2, N, N, lt, w, &e);
        FUZZ_CHECK_ERR(rc, e);
        for (size_t p = 0; rc == 0 && p < N; p++)
            FUZZ_CHECK(!isnan(lt[p]), "log f(x' | x) is NaN at particle %zu", p);
    }
    free(X);
    free(X2);
    free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_pf_model *m = NULL;
    st_err e;
    char *text = fuzz_string(data, size);
    int rc = st_pf_model_load_string(&m, text, "fuzz.yaml", &e);
    free(text);
    FUZZ_CHECK_ERR(rc, e);
    if (rc < 0)
        return 0;
    size_t n1, n2;
    char *w1 = write_model(m, &n1);
    st_pf_model *m2 = NULL;
    rc = st_pf_model_load_string(&m2, w1, "written.yaml", &e);
    FUZZ_CHECK(rc == 0, "the model written does not read back: %s\n%s", e.msg, w1);
    char *w2 = write_model(m2, &n2);
    FUZZ_CHECK(n1 == n2 && memcmp(w1, w2, n1) == 0, "model round trip changed the file:\n%s---\n%s", w1, w2);
    free(w1);
    free(w2);
    st_pf_model_free(m2);
    step(m);
    st_pf_model_free(m);
    return 0;
}
