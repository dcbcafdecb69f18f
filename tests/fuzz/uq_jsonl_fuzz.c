/* Fuzz harness: uq-entropy's JSON Lines input (stoch-uq-input(5); lib/uq).
 * The input goes through the whole reader and every score twice: once as
 * uq-entropy runs it (st_uq_entropy_run: lines, batches, gzip, duplicate
 * ids, the parts each score needs) with the prompt scores, then with the
 * claim scores; and each line through the full parse (st_uq_parse_line),
 * which validates every field. */
#include "fuzz.h"

#include "uq/run.h"
#include "uq/uq.h"

static void run(const char *path, int claims)
{
    int which[ST_UQ_NSCORES];
    size_t n = 0;
    for (int s = 0; s < ST_UQ_NSCORES; s++)
        if (st_uq_score_is_claim(s) == claims)
            which[n++] = s;
    st_uq_opts o;
    st_uq_opts_default(&o);
    o.inv_subsamples = 3;
    st_uq_run_opts ro = {.max_line = 1 << 20};
    st_uq_result *r = NULL;
    st_err e;
    int rc = st_uq_entropy_run(&path, 1, &ro, &o, which, n, &r, &e);
    FUZZ_CHECK_ERR(rc, e);
    st_uq_result_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(0, data, size);
    run(path, 0);
    run(path, 1);
    size_t start = 0;
    long line = 1;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] != '\n')
            continue;
        st_uq_prompt p;
        memset(&p, 0, sizeof p);
        st_err e;
        int rc = st_uq_parse_line((const char *)data + start, i - start, "fuzz.jsonl", line, &p, &e);
        FUZZ_CHECK_ERR(rc, e);
        if (rc == 1)
            st_uq_prompt_free(&p);
        start = i + 1;
        line++;
    }
    return 0;
}
