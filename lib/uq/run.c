/* uq-entropy's work: read JSON Lines (plain or gzip) or a CSV long table of
 * token log-probs, score every prompt, and collect one row per prompt.
 *
 * Lines are read in batches; each batch is parsed and scored in parallel
 * (OpenMP) and then checked in input order, so the first bad line is the
 * one reported and the output never depends on the thread count. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/stream.h"
#include "uq/run.h"

#define BATCH 2048
#define BATCH_BYTES ((size_t)64 << 20)
#define MAX_LINE ((size_t)1 << 30)

/* ------------------------------------------------------- line reader */

typedef struct lines {
    gzFile gz;
    const char *name;
    char *buf;
    size_t cap, len, pos;
    int eof;
    long lineno;
} lines;

static int lines_open(lines *L, const char *path, st_err *e)
{
    memset(L, 0, sizeof *L);
    L->name = st_display_name(path);
    if (!path || strcmp(path, "-") == 0)
        L->gz = gzdopen(dup(0), "rb");
    else
        L->gz = gzopen(path, "rb");
    if (!L->gz)
        return st_err_set(e, ST_EIO, L->name, 0, 0, "cannot open: %s", strerror(errno));
    gzbuffer(L->gz, 1 << 17);
    L->cap = 1 << 20;
    L->buf = malloc(L->cap);
    if (!L->buf)
        return st_err_nomem(e, "input buffer");
    return 0;
}

static void lines_close(lines *L)
{
    if (L->gz)
        gzclose(L->gz);
    free(L->buf);
    memset(L, 0, sizeof *L);
}

/* Next line into *s (not NUL-terminated), length *n.  1, 0 at end, < 0 error. */
static int lines_next(lines *L, const char **s, size_t *n, st_err *e)
{
    for (;;) {
        char *nl = L->pos < L->len ? memchr(L->buf + L->pos, '\n', L->len - L->pos) : NULL;
        if (nl || (L->eof && L->pos < L->len)) {
            size_t end = nl ? (size_t)(nl - L->buf) : L->len;
            *s = L->buf + L->pos;
            *n = end - L->pos;
            L->pos = nl ? end + 1 : end;
            L->lineno++;
            return 1;
        }
        if (L->eof)
            return 0;
        /* keep the partial line, read more */
        if (L->pos > 0) {
            memmove(L->buf, L->buf + L->pos, L->len - L->pos);
            L->len -= L->pos;
            L->pos = 0;
        }
        if (L->len == L->cap) {
            if (L->cap >= MAX_LINE)
                return st_err_set(e, ST_EDATA, L->name, L->lineno + 1, 0,
                                  "line longer than %zu bytes", MAX_LINE);
            char *nb = realloc(L->buf, L->cap * 2);
            if (!nb)
                return st_err_nomem(e, "input line");
            L->buf = nb;
            L->cap *= 2;
        }
        int got = gzread(L->gz, L->buf + L->len, (unsigned)(L->cap - L->len));
        if (got < 0) {
            int errnum;
            const char *msg = gzerror(L->gz, &errnum);
            return st_err_set(e, ST_EIO, L->name, L->lineno + 1, 0, "read error: %s", msg);
        }
        if (got == 0) {
            /* zlib reports a truncated gzip stream only through gzerror */
            int errnum = Z_OK;
            const char *msg = gzerror(L->gz, &errnum);
            if (errnum != Z_OK) {
                const char *tail = msg ? strrchr(msg, ':') : NULL; /* zlib writes "path: what" */
                return st_err_set(e, ST_EDATA, L->name, L->lineno + 1, 0,
                                  "truncated or corrupt gzip input: %s",
                                  tail && tail[1] == ' ' ? tail + 2 : msg ? msg : "read error");
            }
            L->eof = 1;
        }
        L->len += (size_t)got;
    }
}

/* ------------------------------------------------------------ result */

void st_uq_result_free(st_uq_result *r)
{
    if (!r)
        return;
    if (r->ids)
        for (size_t i = 0; i < r->n; i++)
            free(r->ids[i]);
    free(r->ids);
    free(r->data);
    free(r->nan_count);
    free(r);
}

/* Raw rows before the columns are fixed: id, temperature, correct,
 * quality, then the scores. */
enum { R_ID, R_TEMP, R_CORRECT, R_QUALITY, R_FIRST };

typedef struct acc {
    st_uq_result *r;
    size_t cap, width;
    int any_temp, any_correct, any_quality, all_int;
    st_uq_idset *ids;
    const int *which;
    size_t nwhich;
} acc;

static int acc_add(acc *a, st_uq_prompt *p, const double *scores, const char *file, st_err *e)
{
    long first = st_uq_idset_add(a->ids, p);
    if (first < 0)
        return st_err_nomem(e, "id table");
    if (first > 0)
        return st_err_set(e, ST_EDATA, file, p->line, 0,
                          "duplicate id '%s'%s (first on line %ld)", p->id,
                          isnan(p->temperature) ? "" : " at this temperature", first);
    st_uq_result *r = a->r;
    if (r->n == a->cap) {
        size_t nc = a->cap ? 2 * a->cap : 1024;
        double *nd = realloc(r->data, nc * a->width * sizeof *nd);
        if (!nd)
            return st_err_nomem(e, "results");
        r->data = nd;
        char **ni = realloc(r->ids, nc * sizeof *ni);
        if (!ni)
            return st_err_nomem(e, "results");
        r->ids = ni;
        a->cap = nc;
    }
    double *row = r->data + r->n * a->width;
    row[R_ID] = p->id_num;
    row[R_TEMP] = p->temperature;
    row[R_CORRECT] = p->correct;
    row[R_QUALITY] = p->quality;
    memcpy(row + R_FIRST, scores, a->nwhich * sizeof *scores);
    r->ids[r->n] = p->id;
    p->id = NULL; /* the result owns it now */
    r->n++;
    a->any_temp |= !isnan(p->temperature);
    a->any_correct |= !isnan(p->correct);
    a->any_quality |= !isnan(p->quality);
    a->all_int &= p->id_is_int;
    for (size_t k = 0; k < a->nwhich; k++)
        r->nan_count[k] += isnan(scores[k]);
    return 0;
}

/* ----------------------------------------------------------- JSONL */

typedef struct slot {
    char *text;
    size_t len, cap;
    long line;
    int rc;
    st_uq_prompt p;
    st_err e;
    double *scores;
} slot;

static int run_jsonl(const char *path, const st_uq_opts *o, acc *a, st_uq_work **works,
                     st_uq_arena **arenas, slot *slots, uint64_t *index, st_err *e)
{
    lines L;
    int rc = lines_open(&L, path, e);
    if (rc < 0) {
        lines_close(&L);
        return rc;
    }
    for (;;) {
        size_t nb = 0;
        const char *s = NULL;
        size_t n = 0;
        /* copy a batch of lines (the reader's buffer moves); a batch stops
         * at BATCH lines or BATCH_BYTES, so huge lines do not pile up */
        size_t bytes = 0;
        while (nb < BATCH && bytes < BATCH_BYTES && (rc = lines_next(&L, &s, &n, e)) == 1) {
            bytes += n;
            slot *sl = &slots[nb++];
            if (n + 1 > sl->cap) { /* buffers are reused from batch to batch */
                char *nt = realloc(sl->text, n + 1);
                if (!nt) {
                    rc = st_err_nomem(e, "input line");
                    break;
                }
                sl->text = nt;
                sl->cap = n + 1;
            }
            memcpy(sl->text, s, n);
            sl->text[n] = '\0';
            sl->len = n;
            sl->line = L.lineno;
        }
        if (rc < 0)
            break;
        long nbl = (long)nb;
#pragma omp parallel for schedule(dynamic, 16)
        for (long b = 0; b < nbl; b++) {
            slot *sl = &slots[b];
#ifdef _OPENMP
            int th = omp_get_thread_num();
#else
            int th = 0;
#endif
            st_uq_work *w = works[th];
            st_err_clear(&sl->e);
            sl->rc = st_uq_parse_line_arena(sl->text, sl->len, L.name, sl->line, arenas[th], &sl->p,
                                            &sl->e);
            if (sl->rc == 1) {
                int r2 = st_uq_score_prompt(&sl->p, o, a->which, a->nwhich, *index + (uint64_t)b, w,
                                            sl->scores, &sl->e);
                if (r2 < 0) {
                    st_err_prefix(&sl->e, "id '%s': ", sl->p.id);
                    sl->e.line = sl->line;
                    snprintf(sl->e.file, sizeof sl->e.file, "%s", L.name);
                    sl->rc = r2;
                }
            }
        }
        for (size_t b = 0; b < nb && rc >= 0; b++) {
            slot *sl = &slots[b];
            if (sl->rc < 0) {
                *e = sl->e;
                rc = sl->rc;
            } else if (sl->rc == 1) {
                rc = acc_add(a, &sl->p, sl->scores, L.name, e);
            }
        }
        for (size_t b = 0; b < nb; b++) {
            if (slots[b].rc == 1)
                st_uq_prompt_free(&slots[b].p);
            slots[b].rc = 0;
        }
        *index += nb;
        if (rc < 0 || (nb < BATCH && bytes < BATCH_BYTES))
            break;
    }
    lines_close(&L);
    return rc < 0 ? rc : 0;
}

/* -------------------------------------------------------- CSV long */

/* Append x to a growing array. */
static int push(double **v, size_t *n, size_t *cap, double x)
{
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        double *nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return -1;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = x;
    return 0;
}

typedef struct long_state {
    st_uq_prompt p;
    double *lp;      /* greedy log-probs */
    size_t nlp, caplp;
    double *sid;     /* sample numbers in order of appearance */
    size_t ns, capsid;
    double **slp;    /* per sample log-probs */
    size_t *sn, *scap;
    long *scl;
    size_t slotcap;
    long first_line;
    int open;
} long_state;

static int long_flush(long_state *st, const st_uq_opts *o, acc *a, st_uq_work *w, uint64_t *index,
                      const char *file, double *scores, st_err *e)
{
    if (!st->open)
        return 0;
    st_uq_prompt *p = &st->p;
    p->line = st->first_line;
    char buf[32];
    snprintf(buf, sizeof buf, "%.0f", p->id_num);
    p->id = strdup(buf);
    if (!p->id)
        return st_err_nomem(e, "id");
    p->id_is_int = 1;
    if (st->nlp) {
        p->has_greedy = 1;
        p->greedy.logprobs = st->lp;
        p->greedy.ntok = st->nlp;
        double s = 0;
        for (size_t t = 0; t < st->nlp; t++)
            s += st->lp[t];
        p->greedy.sum_logprob = s;
        p->greedy.n_tokens = (double)st->nlp;
        p->greedy.cluster = -1;
        st->lp = NULL;
        st->nlp = st->caplp = 0;
    }
    if (st->ns) {
        p->m = st->ns;
        p->samples = calloc(st->ns, sizeof *p->samples);
        if (!p->samples)
            return st_err_nomem(e, "samples");
        size_t with_cluster = 0;
        for (size_t i = 0; i < st->ns; i++) {
            st_uq_seq *q = &p->samples[i];
            q->logprobs = st->slp[i];
            q->ntok = st->sn[i];
            double s = 0;
            for (size_t t = 0; t < q->ntok; t++)
                s += q->logprobs[t];
            q->sum_logprob = s;
            q->n_tokens = (double)q->ntok;
            q->cluster = st->scl[i];
            with_cluster += q->cluster >= 0;
            st->slp[i] = NULL;
            st->sn[i] = st->scap[i] = 0;
        }
        if (with_cluster && with_cluster != st->ns)
            return st_err_set(e, ST_EDATA, file, st->first_line, 0,
                              "id %s: cluster is given for %zu of %zu samples", p->id, with_cluster,
                              st->ns);
    }
    int rc = st_uq_score_prompt(p, o, a->which, a->nwhich, (*index)++, w, scores, e);
    if (rc == 0)
        rc = acc_add(a, p, scores, file, e);
    st_uq_prompt_free(p);
    st->ns = 0;
    st->open = 0;
    return rc;
}

static void long_state_free(long_state *st)
{
    st_uq_prompt_free(&st->p);
    free(st->lp);
    free(st->sid);
    for (size_t i = 0; i < st->slotcap; i++)
        free(st->slp[i]);
    free(st->slp);
    free(st->sn);
    free(st->scap);
    free(st->scl);
}

static int run_long(const char *path, const st_uq_opts *o, acc *a, st_uq_work *w, uint64_t *index,
                    double *scores, st_err *e)
{
    st_reader *r = NULL;
    int rc = st_reader_open(&r, path, e);
    if (rc < 0)
        return rc;
    const char *file = st_reader_path(r);
    int cid = st_reader_col(r, "id"), cs = st_reader_col(r, "sample"), clp = st_reader_col(r, "logprob");
    int ccl = st_reader_col(r, "cluster"), ct = st_reader_col(r, "temperature");
    int cc = st_reader_col(r, "correct"), cq = st_reader_col(r, "quality");
    if (cid < 0 || cs < 0 || clp < 0) {
        rc = st_err_set(e, ST_EDATA, file, 1, 0,
                        "a CSV long table needs columns id, sample and logprob");
        st_reader_free(r);
        return rc;
    }
    size_t nc = st_reader_ncols(r);
    double *row = malloc(nc * sizeof *row);
    long_state st;
    memset(&st, 0, sizeof st);
    if (!row) {
        st_reader_free(r);
        return st_err_nomem(e, "row");
    }
    while ((rc = st_reader_next(r, row, e)) == 1) {
        long line = st_reader_line(r);
        double id = row[cid], smp = row[cs], lp = row[clp];
        double temp = ct >= 0 ? row[ct] : NAN;
        if (!(id == floor(id)) || fabs(id) > 9007199254740992.0) {
            rc = st_reader_error(r, e, ST_EDATA, "id must be an integer");
            break;
        }
        if (!(smp == floor(smp)) || smp < 0) {
            rc = st_err_set(e, ST_EDATA, file, line, 0,
                            "sample must be 0 (greedy) or a positive integer");
            break;
        }
        if (!isfinite(lp) || lp > 0) {
            rc = st_reader_error(r, e, ST_EDATA, "logprob %g is not a finite log-probability <= 0", lp);
            break;
        }
        int same = st.open && st.p.id_num == id &&
                   ((isnan(temp) && isnan(st.p.temperature)) || temp == st.p.temperature);
        if (!same) {
            if ((rc = long_flush(&st, o, a, w, index, file, scores, e)) < 0)
                break;
            memset(&st.p, 0, sizeof st.p);
            st.p.id_num = id;
            st.p.temperature = temp;
            st.p.correct = st.p.quality = NAN;
            st.first_line = line;
            st.open = 1;
        }
        if (cc >= 0 && !isnan(row[cc])) {
            if (row[cc] != 0 && row[cc] != 1) {
                rc = st_reader_error(r, e, ST_EDATA, "correct must be 0 or 1");
                break;
            }
            st.p.correct = row[cc];
        }
        if (cq >= 0 && !isnan(row[cq])) {
            if (!(row[cq] >= 0 && row[cq] <= 1)) {
                rc = st_reader_error(r, e, ST_EDATA, "quality must be in [0, 1]");
                break;
            }
            st.p.quality = row[cq];
        }
        if (smp == 0) {
            if (push(&st.lp, &st.nlp, &st.caplp, lp) < 0) {
                rc = st_err_nomem(e, "logprobs");
                break;
            }
            continue;
        }
        size_t k = 0;
        while (k < st.ns && st.sid[k] != smp)
            k++;
        if (k == st.ns) {
            if (st.ns == st.slotcap) {
                size_t ncap = st.slotcap ? 2 * st.slotcap : 16;
                double **a1 = realloc(st.slp, ncap * sizeof *a1);
                if (a1)
                    st.slp = a1;
                size_t *a2 = realloc(st.sn, ncap * sizeof *a2);
                if (a2)
                    st.sn = a2;
                size_t *a3 = realloc(st.scap, ncap * sizeof *a3);
                if (a3)
                    st.scap = a3;
                long *a4 = realloc(st.scl, ncap * sizeof *a4);
                if (a4)
                    st.scl = a4;
                if (!a1 || !a2 || !a3 || !a4) {
                    rc = st_err_nomem(e, "samples");
                    break;
                }
                for (size_t i = st.slotcap; i < ncap; i++) {
                    st.slp[i] = NULL;
                    st.sn[i] = st.scap[i] = 0;
                }
                st.slotcap = ncap;
            }
            size_t capsid = st.capsid, ns = st.ns;
            if (push(&st.sid, &ns, &capsid, smp) < 0) {
                rc = st_err_nomem(e, "samples");
                break;
            }
            st.capsid = capsid;
            st.ns = ns;
            st.scl[k] = ccl >= 0 && !isnan(row[ccl]) ? (long)row[ccl] : -1;
        }
        if (ccl >= 0 && !isnan(row[ccl]) && (row[ccl] < 0 || row[ccl] != floor(row[ccl]) || (long)row[ccl] != st.scl[k])) {
            rc = st_err_set(e, ST_EDATA, file, line, 0,
                            "cluster must be a non-negative integer, the same on every row of a sample");
            break;
        }
        if (push(&st.slp[k], &st.sn[k], &st.scap[k], lp) < 0) {
            rc = st_err_nomem(e, "logprobs");
            break;
        }
    }
    if (rc == 0)
        rc = long_flush(&st, o, a, w, index, file, scores, e);
    long_state_free(&st);
    free(row);
    st_reader_free(r);
    return rc;
}

/* ------------------------------------------------------------ driver */

int st_uq_entropy_run(const char *const *paths, size_t npaths, int csv_long, const st_uq_opts *o,
                      const int *which, size_t nwhich, st_uq_result **out, st_err *e)
{
    *out = NULL;
    acc a;
    memset(&a, 0, sizeof a);
    a.which = which;
    a.nwhich = nwhich;
    a.width = R_FIRST + nwhich;
    a.all_int = 1;
    st_uq_work **works = NULL;
    st_uq_arena **arenas = NULL;
    slot *slots = NULL;
    int nthreads = 1;
#ifdef _OPENMP
    nthreads = omp_get_max_threads();
#endif
    int rc = 0;
    a.r = calloc(1, sizeof *a.r);
    if (!a.r || !(a.r->nan_count = calloc(nwhich ? nwhich : 1, sizeof *a.r->nan_count))) {
        rc = st_err_nomem(e, "results");
        goto out;
    }
    if ((rc = st_uq_idset_new(&a.ids, e)) < 0)
        goto out;
    works = calloc((size_t)nthreads, sizeof *works);
    arenas = calloc((size_t)nthreads, sizeof *arenas);
    slots = calloc(BATCH, sizeof *slots);
    if (!works || !arenas || !slots) {
        rc = st_err_nomem(e, "batch");
        goto out;
    }
    for (int t = 0; t < nthreads; t++)
        if ((rc = st_uq_work_new(&works[t], e)) < 0 || (rc = st_uq_arena_new(&arenas[t], e)) < 0)
            goto out;
    for (size_t b = 0; b < BATCH; b++)
        if (!(slots[b].scores = malloc((nwhich ? nwhich : 1) * sizeof *slots[b].scores))) {
            rc = st_err_nomem(e, "batch");
            goto out;
        }
    uint64_t index = 0;
    size_t np = npaths ? npaths : 1;
    for (size_t f = 0; f < np && rc == 0; f++) {
        const char *path = npaths ? paths[f] : NULL;
        rc = csv_long ? run_long(path, o, &a, works[0], &index, slots[0].scores, e)
                      : run_jsonl(path, o, &a, works, arenas, slots, &index, e);
    }
    if (rc < 0)
        goto out;
    /* fix the columns: id, [temperature], scores..., [correct], [quality] */
    st_uq_result *r = a.r;
    r->ids_are_records = !a.all_int;
    size_t nc = 1 + (size_t)a.any_temp + nwhich + (size_t)a.any_correct + (size_t)a.any_quality;
    r->ncols = nc;
    r->has_temperature = a.any_temp;
    r->has_correct = a.any_correct;
    r->has_quality = a.any_quality;
    st_uq_idset *names = NULL;
    if (r->ids_are_records && (rc = st_uq_idset_new(&names, e)) < 0)
        goto out;
    long next = 1;
    for (size_t i = 0; i < r->n; i++) {
        const double *src = r->data + i * a.width;
        double ordinal = 0;
        if (names) {
            /* number distinct ids in order of first appearance */
            st_uq_prompt key;
            memset(&key, 0, sizeof key);
            key.id = r->ids[i];
            key.temperature = NAN;
            key.line = next;
            long seen = st_uq_idset_add(names, &key);
            if (seen < 0) {
                st_uq_idset_free(names);
                rc = st_err_nomem(e, "id table");
                goto out;
            }
            ordinal = seen ? (double)seen : (double)next++;
        }
        double tmp[R_FIRST];
        memcpy(tmp, src, sizeof tmp);
        double *dst = r->data + i * nc; /* nc <= width: compacting in place is safe */
        size_t j = 0;
        dst[j++] = names ? ordinal : tmp[R_ID];
        if (a.any_temp)
            dst[j++] = tmp[R_TEMP];
        memmove(dst + j, src + R_FIRST, nwhich * sizeof *dst);
        j += nwhich;
        if (a.any_correct)
            dst[j++] = tmp[R_CORRECT];
        if (a.any_quality)
            dst[j++] = tmp[R_QUALITY];
    }
    st_uq_idset_free(names);
out:
    if (works)
        for (int t = 0; t < nthreads; t++)
            st_uq_work_free(works[t]);
    free(works);
    if (arenas)
        for (int t = 0; t < nthreads; t++)
            st_uq_arena_free(arenas[t]);
    free(arenas);
    if (slots)
        for (size_t b = 0; b < BATCH; b++) {
            free(slots[b].text);
            free(slots[b].scores);
        }
    free(slots);
    st_uq_idset_free(a.ids);
    if (rc < 0) {
        st_uq_result_free(a.r);
        return rc;
    }
    *out = a.r;
    return 0;
}
