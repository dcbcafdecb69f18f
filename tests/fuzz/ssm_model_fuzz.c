/* Fuzz harness: `model: ssm` files (lib/ssm/model_io.c): structural
 * models and matrix models.  A matrix model that loads must write, read
 * back and write the same bytes; any model that loads must give a short
 * series a log-likelihood that is not NaN, or fail with a message. */
#include "fuzz.h"

#include <math.h>

#include "ssm/kalman.h"
#include "ssm/model_io.h"
#include "ssm/structural.h"

static char *write_matrix(const st_ssm *s, size_t *len)
{
    char *buf = NULL;
    FILE *fp = open_memstream(&buf, len);
    st_err e;
    int rc = st_ssm_file_write_matrix(fp, s, &e);
    fclose(fp);
    FUZZ_CHECK(rc == 0, "a model that loaded does not write: %s", e.msg);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_ssm_file f;
    st_err e;
    memset(&f, 0, sizeof f);
    int rc = st_ssm_file_read(&f, fuzz_file(0, data, size), 0, &e);
    FUZZ_CHECK_ERR(rc, e);
    if (rc < 0)
        return 0;
    enum { N = 12 };
    double y[N * 4];
    for (size_t i = 0; i < N * 4; i++)
        y[i] = i % 7 == 3 ? NAN : sin(0.7 * (double)i) + 0.1 * (double)i;
    double ll = 0;
    if (f.is_matrix) {
        size_t n1, n2;
        char *w1 = write_matrix(f.s, &n1);
        st_ssm_file g;
        memset(&g, 0, sizeof g);
        rc = st_ssm_file_read(&g, fuzz_file(1, (const uint8_t *)w1, n1), 0, &e);
        FUZZ_CHECK(rc == 0, "the model written does not read back: %s\n%s", e.msg, w1);
        char *w2 = write_matrix(g.s, &n2);
        FUZZ_CHECK(n1 == n2 && memcmp(w1, w2, n1) == 0, "model round trip changed the file:\n%s---\n%s", w1, w2);
        free(w1);
        free(w2);
        st_ssm_file_free(&g);
        if (f.s->p <= 4 && f.s->m <= 64) {
            st_kalman_ll kl;
            rc = st_kalman_loglik(f.s, y, N, &kl, &e);
            FUZZ_CHECK_ERR(rc, e);
            ll = rc == 0 ? kl.loglik : 0;
        }
    } else {
        rc = st_uc_loglik(&f.spec, f.theta, y, N, NULL, &ll, &e);
        FUZZ_CHECK_ERR(rc, e);
    }
    FUZZ_CHECK(!isnan(ll), "log-likelihood NaN");
    st_ssm_file_free(&f);
    return 0;
}
