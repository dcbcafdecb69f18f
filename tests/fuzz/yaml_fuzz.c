/* Fuzz harness: the YAML model-file reader (lib/core/yaml.c) under every
 * family.  Loads the input, then drives every accessor over whatever tree
 * loaded.  Built and run by `make fuzz` (tests/fuzz/README.md). */
#include "fuzz.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const st_ydoc *d, const st_ynode *n)
{
    st_err e;
    double x, *v;
    long l, *lv;
    int b;
    const char *s;
    size_t r, c;
    switch (st_ynode_kind(n)) {
    case ST_YSCALAR:
        st_ynode_double(d, n, -INFINITY, INFINITY, &x, &e);
        st_ynode_long(d, n, LONG_MIN, LONG_MAX, &l, &e);
        st_ynode_bool(d, n, &b, &e);
        st_ynode_string(d, n, &s, &e);
        break;
    case ST_YSEQ:
        if (st_ynode_vector(d, n, 0, -INFINITY, INFINITY, &v, &c, &e) == 0) {
            st_ynode_check_stochastic(d, n, v, 1, c, 1e-9, &e);
            free(v);
        }
        if (st_ynode_long_vector(d, n, 0, LONG_MIN, LONG_MAX, &lv, &c, &e) == 0)
            free(lv);
        if (st_ynode_matrix(d, n, 0, 0, -INFINITY, INFINITY, &v, &r, &c, &e) == 0) {
            st_ynode_check_stochastic(d, n, v, r, c, 1e-9, &e);
            st_ynode_check_rates(d, n, v, r, c, 1e-9, &e);
            free(v);
        }
        for (size_t i = 0; i < st_ynode_len(n); i++)
            walk(d, st_yseq_at(n, i));
        break;
    case ST_YMAP:
        for (size_t i = 0; i < st_ynode_len(n); i++) {
            if (i % 2)
                st_ymap_get(d, n, st_ymap_key_at(n, i));
            walk(d, st_ymap_value_at(n, i));
        }
        st_ymap_get(d, n, "model");
        st_ymap_check_unknown(d, n, &e);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_ydoc *d;
    st_err e;
    if (st_ydoc_load_string(&d, (const char *)data, size, "f", &e) == 0) {
        st_ymodel_header(d, "hmm", &e);
        walk(d, st_ydoc_root(d));
        st_ydoc_free(d);
    }
    return 0;
}
