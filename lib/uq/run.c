/* uq-entropy's work: read JSON Lines (plain or gzip) or a CSV long table of
 * token log-probs, score every prompt, and collect one row per prompt (or
 * per claim).
 *
 * Reading: one buffer per input; lines are parsed where they lie in it (no
 * copy; the buffer keeps ST_UQ_PADDING bytes of spaces after its data for
 * the parser).  A line longer than the limit is refused as soon as the buffer
 * holds more than the limit without a newline, so memory stays below the
 * limit plus one read.  Lines are scored in batches of the complete lines
 * in the buffer: in parallel (OpenMP), then added in input order, so the
 * first bad line is the one reported and the output never depends on the
 * thread count.  With one thread the batch stops at the first bad line;
 * with more, the first batches are small (nthreads lines, doubling), so an
 * error early in a file is found after little work. */
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

#define BATCH 2048                  /* lines per batch, at most */
#define READ_CHUNK ((size_t)4 << 20) /* bytes per read (and the initial buffer) */

/* ------------------------------------------------------- line reader */

typedef struct lines {
    gzFile gz;
    const char *name;
    char *buf;
    size_t cap, len, pos; /* buf[pos..len) not yet consumed */
    size_t max_line;
    int eof;
    long lineno;
} lines;

static int lines_open(lines *L, const char *path, size_t max_line, st_err *e)
{
    memset(L, 0, sizeof *L);
    L->name = st_display_name(path);
    L->max_line = max_line;
    if (!path || strcmp(path, "-") == 0)
        L->gz = gzdopen(dup(0), "rb");
    else
        L->gz = gzopen(path, "rb");
    if (!L->gz)
        return st_err_set(e, ST_EIO, L->name, 0, 0, "cannot open: %s", strerror(errno));
    gzbuffer(L->gz, 1 << 17);
    L->cap = READ_CHUNK < max_line + 1 ? READ_CHUNK : max_line + 1;
    L->buf = malloc(L->cap + ST_UQ_PADDING);
    if (!L->buf)
        return st_err_nomem(e, "input buffer");
    memset(L->buf, ' ', ST_UQ_PADDING);
    return 0;
}

static void lines_close(lines *L)
{
    if (L->gz)
        gzclose(L->gz);
    free(L->buf);
    memset(L, 0, sizeof *L);
}

/* The next complete line in the buffer (or the last one at the end of the
 * input): 1 with *s, *n (no newline), 0 if the buffer holds none. */
static int lines_take(lines *L, const char **s, size_t *n)
{
    if (L->pos >= L->len)
        return 0;
    char *nl = memchr(L->buf + L->pos, '\n', L->len - L->pos);
    if (!nl && !L->eof)
        return 0;
    size_t end = nl ? (size_t)(nl - L->buf) : L->len;
    *s = L->buf + L->pos;
    *n = end - L->pos;
    L->pos = nl ? end + 1 : end;
    L->lineno++;
    return 1;
}

static int line_too_long(lines *L, st_err *e)
{
    return st_err_set(e, ST_EDATA, L->name, L->lineno + 1, 0,
                      "line longer than %zu bytes (the limit; see --max-line)", L->max_line);
}

/* Read more after the partial line at pos (moved to the front): 1 if more
 * data (or the end) arrived, < 0 on error.  Invalidates line pointers. */
static int lines_fill(lines *L, st_err *e)
{
    if (L->pos > 0) {
        memmove(L->buf, L->buf + L->pos, L->len - L->pos);
        L->len -= L->pos;
        L->pos = 0;
    }
    if (L->len > L->max_line)
        return line_too_long(L, e);
    if (L->len == L->cap) {
        /* a partial line fills the buffer: grow it, never past the limit */
        size_t nc = L->cap * 2;
        if (nc > L->max_line + 1)
            nc = L->max_line + 1;
        if (nc <= L->cap)
            return line_too_long(L, e);
        char *nb = realloc(L->buf, nc + ST_UQ_PADDING);
        if (!nb)
            return st_err_nomem(e, "input line");
        L->buf = nb;
        L->cap = nc;
    }
    size_t room = L->cap - L->len;
    if (room > READ_CHUNK)
        room = READ_CHUNK;
    int got = gzread(L->gz, L->buf + L->len, (unsigned)room);
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
            return st_err_set(e, ST_EDATA, L->name, L->lineno + 1, 0, "truncated or corrupt gzip input: %s",
                              tail && tail[1] == ' ' ? tail + 2 : msg ? msg : "read error");
        }
        L->eof = 1;
        if (L->len > L->max_line)
            return line_too_long(L, e);
    }
    L->len += (size_t)got;
    memset(L->buf + L->len, ' ', ST_UQ_PADDING);
    return 1;
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
    st_strdict_free(r->id_dict);
    free(r);
}

/* Raw rows before the columns are fixed: id, claim, temperature, correct,
 * quality, then the scores. */
enum { R_ID, R_CLAIM, R_TEMP, R_CORRECT, R_QUALITY, R_FIRST };

typedef struct acc {
    st_uq_result *r;
    size_t cap, width;
    int any_temp, any_correct, any_quality, all_int, claims;
    st_uq_idset *ids;
    const int *which;
    size_t nwhich;
} acc;

/* What a scored prompt leaves for the serial phase (the arena it was parsed
 * into is reset before then). */
typedef struct rowset {
    char *id;
    size_t idcap;
    int id_is_int;
    double id_num, temperature, correct, quality;
    long line;
    size_t nrows;       /* 1, or the number of claims */
    double *scores;     /* nrows x nwhich */
    double *labels;     /* claim rows: each claim's correct */
    size_t rowcap;
} rowset;

static int rowset_fit(rowset *rs, size_t nrows, size_t nwhich)
{
    if (nrows > rs->rowcap) {
        double *s = realloc(rs->scores, nrows * (nwhich ? nwhich : 1) * sizeof *s);
        if (s)
            rs->scores = s;
        double *l = realloc(rs->labels, nrows * sizeof *l);
        if (l)
            rs->labels = l;
        if (!s || !l)
            return ST_ENOMEM;
        rs->rowcap = nrows;
    }
    return 0;
}

static int rowset_take(rowset *rs, const st_uq_prompt *p, st_err *e)
{
    size_t n = strlen(p->id) + 1;
    if (n > rs->idcap) {
        char *s = realloc(rs->id, n);
        if (!s)
            return st_err_nomem(e, "id");
        rs->id = s;
        rs->idcap = n;
    }
    memcpy(rs->id, p->id, n);
    rs->id_is_int = p->id_is_int;
    rs->id_num = p->id_num;
    rs->temperature = p->temperature;
    rs->correct = p->correct;
    rs->quality = p->quality;
    rs->line = p->line;
    return 0;
}

static void rowset_free(rowset *rs)
{
    free(rs->id);
    free(rs->scores);
    free(rs->labels);
}

/* Score p into rs (one row, or one per claim). */
static int score_into(const st_uq_prompt *p, const st_uq_opts *o, const acc *a, st_uq_work *w,
                      rowset *rs, st_err *e)
{
    int rc = rowset_take(rs, p, e);
    if (rc < 0)
        return rc;
    size_t nrows = a->claims ? p->nclaims : 1;
    if (rowset_fit(rs, nrows, a->nwhich) < 0)
        return st_err_nomem(e, "scores");
    rs->nrows = nrows;
    if (a->claims) {
        for (size_t q = 0; q < nrows; q++)
            rs->labels[q] = p->claims[q].correct;
        rc = nrows ? st_uq_score_claims(p, o, a->which, a->nwhich, w, rs->scores, e) : 0;
    } else {
        rc = st_uq_score_prompt(p, o, a->which, a->nwhich, w, rs->scores, e);
    }
    if (rc < 0)
        st_err_prefix(e, "id '%s': ", p->id);
    return rc;
}

static int acc_add(acc *a, const rowset *rs, const char *file, st_err *e)
{
    long first = st_uq_idset_add(a->ids, rs->id, rs->temperature, rs->line);
    if (first < 0)
        return st_err_nomem(e, "id table");
    if (first > 0)
        return st_err_set(e, ST_EDATA, file, rs->line, 0, "duplicate id '%s'%s (first on line %ld)", rs->id,
                          isnan(rs->temperature) ? "" : " at this temperature", first);
    st_uq_result *r = a->r;
    r->nprompts++;
    a->any_temp |= !isnan(rs->temperature);
    a->all_int &= rs->id_is_int;
    for (size_t q = 0; q < rs->nrows; q++) {
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
        const double *scores = rs->scores + q * a->nwhich;
        double *row = r->data + r->n * a->width;
        row[R_ID] = rs->id_num;
        row[R_CLAIM] = (double)q;
        row[R_TEMP] = rs->temperature;
        row[R_CORRECT] = a->claims ? rs->labels[q] : rs->correct;
        row[R_QUALITY] = a->claims ? NAN : rs->quality;
        memcpy(row + R_FIRST, scores, a->nwhich * sizeof *scores);
        if (!(r->ids[r->n] = strdup(rs->id)))
            return st_err_nomem(e, "results");
        r->n++;
        a->any_correct |= !isnan(row[R_CORRECT]);
        a->any_quality |= !isnan(row[R_QUALITY]);
        for (size_t k = 0; k < a->nwhich; k++)
            r->nan_count[k] += isnan(scores[k]);
    }
    return 0;
}

/* ----------------------------------------------------------- JSONL */

typedef struct slot {
    const char *text;   /* the line, in the reader's buffer */
    size_t len;
    long line;
    int rc;             /* 1 scored, 0 blank, < 0 error (in e) */
    st_err e;
    rowset rs;
} slot;

typedef struct pool {
    int nthreads;
    st_uq_work **works;
    st_uq_arena **arenas;
    slot *slots;
    unsigned need;
} pool;

static void score_slot(slot *sl, const char *name, const st_uq_opts *o, const acc *a, pool *pl, int th)
{
    st_uq_prompt p;
    st_err_clear(&sl->e);
    sl->rc = st_uq_parse_padded_line(sl->text, sl->len, name, sl->line, pl->need, pl->arenas[th], &p, &sl->e);
    if (sl->rc == 1) {
        int r2 = score_into(&p, o, a, pl->works[th], &sl->rs, &sl->e);
        if (r2 < 0) {
            sl->e.line = sl->line;
            snprintf(sl->e.file, sizeof sl->e.file, "%s", name);
            sl->rc = r2;
        }
    }
    st_uq_arena_reset(pl->arenas[th]);
}

static int run_jsonl(const char *path, const st_uq_run_opts *ro, const st_uq_opts *o, acc *a, pool *pl,
                     st_err *e)
{
    lines L;
    int rc = lines_open(&L, path, ro->max_line ? ro->max_line : ST_UQ_MAX_LINE_DEFAULT, e);
    size_t batch = pl->nthreads > 1 ? (size_t)pl->nthreads : BATCH;
    while (rc >= 0) {
        size_t nb = 0;
        const char *s;
        size_t n;
        while (nb < batch && lines_take(&L, &s, &n)) {
            slot *sl = &pl->slots[nb++];
            sl->text = s;
            sl->len = n;
            sl->line = L.lineno;
        }
        if (nb == 0) {
            if (L.eof)
                break;
            rc = lines_fill(&L, e);
            continue;
        }
        if (pl->nthreads == 1) {
            /* in order, stopping at the first bad line */
            for (size_t b = 0; b < nb && rc >= 0; b++) {
                slot *sl = &pl->slots[b];
                score_slot(sl, L.name, o, a, pl, 0);
                if (sl->rc < 0) {
                    *e = sl->e;
                    rc = sl->rc;
                } else if (sl->rc == 1) {
                    rc = acc_add(a, &sl->rs, L.name, e);
                }
            }
            continue;
        }
        long nbl = (long)nb;
#pragma omp parallel for schedule(dynamic, 4)
        for (long b = 0; b < nbl; b++) {
#ifdef _OPENMP
            int th = omp_get_thread_num();
#else
            int th = 0;
#endif
            score_slot(&pl->slots[b], L.name, o, a, pl, th);
        }
        for (size_t b = 0; b < nb && rc >= 0; b++) {
            slot *sl = &pl->slots[b];
            if (sl->rc < 0) {
                *e = sl->e;
                rc = sl->rc;
            } else if (sl->rc == 1) {
                rc = acc_add(a, &sl->rs, L.name, e);
            }
        }
        if (batch < BATCH)
            batch = 2 * batch < BATCH ? 2 * batch : BATCH;
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
    st_uq_seq *seqs; /* the prompt's samples (borrowing slp) */
    size_t slotcap;
    long first_line;
    int open;
    double key;      /* the id cell: a number, or a code of the id column */
    char *idtext;    /* the id as text */
    size_t idcap;
} long_state;

static int long_flush(long_state *st, const st_uq_opts *o, acc *a, st_uq_work *w, rowset *rs,
                      const char *file, st_err *e)
{
    if (!st->open)
        return 0;
    st_uq_prompt *p = &st->p;
    p->line = st->first_line;
    p->id = st->idtext;
    p->id_is_int = st_uq_id_integer(p->id, &p->id_num);
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
    }
    if (st->ns) {
        p->m = st->ns;
        p->samples = st->seqs;
        size_t with_cluster = 0;
        for (size_t i = 0; i < st->ns; i++) {
            st_uq_seq *q = &p->samples[i];
            memset(q, 0, sizeof *q);
            q->logprobs = st->slp[i];
            q->ntok = st->sn[i];
            double s = 0;
            for (size_t t = 0; t < q->ntok; t++)
                s += q->logprobs[t];
            q->sum_logprob = s;
            q->n_tokens = (double)q->ntok;
            q->cluster = st->scl[i];
            with_cluster += q->cluster >= 0;
        }
        if (with_cluster && with_cluster != st->ns)
            return st_err_set(e, ST_EDATA, file, st->first_line, 0,
                              "id %s: cluster is given for %zu of %zu samples", p->id, with_cluster, st->ns);
    }
    int rc = score_into(p, o, a, w, rs, e);
    if (rc == 0)
        rc = acc_add(a, rs, file, e);
    for (size_t i = 0; i < st->ns; i++)
        st->sn[i] = 0;
    st->nlp = 0;
    st->ns = 0;
    st->open = 0;
    return rc;
}

static void long_state_free(long_state *st)
{
    free(st->idtext);
    free(st->lp);
    free(st->sid);
    for (size_t i = 0; i < st->slotcap; i++)
        free(st->slp[i]);
    free(st->slp);
    free(st->sn);
    free(st->scap);
    free(st->scl);
    free(st->seqs);
}

static int long_grow(long_state *st)
{
    size_t ncap = st->slotcap ? 2 * st->slotcap : 16;
    double **a1 = realloc(st->slp, ncap * sizeof *a1);
    if (a1)
        st->slp = a1;
    size_t *a2 = realloc(st->sn, ncap * sizeof *a2);
    if (a2)
        st->sn = a2;
    size_t *a3 = realloc(st->scap, ncap * sizeof *a3);
    if (a3)
        st->scap = a3;
    long *a4 = realloc(st->scl, ncap * sizeof *a4);
    if (a4)
        st->scl = a4;
    st_uq_seq *a5 = realloc(st->seqs, ncap * sizeof *a5);
    if (a5)
        st->seqs = a5;
    if (!a1 || !a2 || !a3 || !a4 || !a5)
        return -1;
    for (size_t i = st->slotcap; i < ncap; i++) {
        st->slp[i] = NULL;
        st->sn[i] = st->scap[i] = 0;
    }
    st->slotcap = ncap;
    return 0;
}

/* The id of a row as text: a string id's own, an integer's decimal. */
static int long_id(long_state *st, st_reader *r, int cid, double v, st_err *e)
{
    char buf[ST_CELL_BUFSZ];
    const char *t = st_reader_dtype(r, (size_t)cid) == ST_STR ? st_reader_str(r, (size_t)cid, v) : NULL;
    if (!t) {
        snprintf(buf, sizeof buf, "%.0f", v);
        t = buf;
    }
    size_t n = strlen(t) + 1;
    if (n > st->idcap) {
        char *s = realloc(st->idtext, n);
        if (!s)
            return st_err_nomem(e, "id");
        st->idtext = s;
        st->idcap = n;
    }
    memcpy(st->idtext, t, n);
    return 0;
}

static int run_long(const char *path, const st_uq_opts *o, acc *a, st_uq_work *w, rowset *rs, st_err *e)
{
    st_reader *r = NULL;
    /* ids may be text ("p0001"): read the id column as ids, the others as numbers */
    st_reader_opts ropts = {.any_type = 1, .id_cols = "id", .promote = 1};
    int rc = st_reader_open_opts(&r, path, &ropts, e);
    if (rc < 0)
        return rc;
    const char *file = st_reader_path(r);
    int cid = st_reader_col(r, "id"), cs = st_reader_col(r, "sample"), clp = st_reader_col(r, "logprob");
    int ccl = st_reader_col(r, "cluster"), ct = st_reader_col(r, "temperature");
    int cc = st_reader_col(r, "correct"), cq = st_reader_col(r, "quality");
    if (cid < 0 || cs < 0 || clp < 0) {
        rc = st_err_set(e, ST_EDATA, file, 1, 0, "a CSV long table needs columns id, sample and logprob");
        st_reader_free(r);
        return rc;
    }
    int numeric[] = {cs, clp, ccl, ct, cc, cq};
    for (size_t k = 0; k < sizeof numeric / sizeof numeric[0]; k++)
        if (numeric[k] >= 0 && !st_dtype_is_numeric(st_reader_dtype(r, (size_t)numeric[k]))) {
            rc = st_err_set(e, ST_EDATA, file, 1, 0, "column '%s' holds %s, not numbers",
                            st_reader_name(r, (size_t)numeric[k]),
                            st_dtype_short(st_reader_dtype(r, (size_t)numeric[k])));
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
    int id_str = st_reader_dtype(r, (size_t)cid) == ST_STR;
    while ((rc = st_reader_next(r, row, e)) == 1) {
        long line = st_reader_line(r);
        double id = row[cid], smp = row[cs], lp = row[clp];
        double temp = ct >= 0 ? row[ct] : NAN;
        if (id_str ? isnan(id) : !(id == floor(id)) || fabs(id) > 9007199254740992.0) {
            rc = st_reader_error(r, e, ST_EDATA, id_str ? "missing id" : "id must be an integer or a string");
            break;
        }
        if (!(smp == floor(smp)) || smp < 0) {
            rc = st_err_set(e, ST_EDATA, file, line, 0, "sample must be 0 (greedy) or a positive integer");
            break;
        }
        if (!isfinite(lp) || lp > 0) {
            rc = st_reader_error(r, e, ST_EDATA, "logprob %g is not a finite log-probability <= 0", lp);
            break;
        }
        int same = st.open && st.key == id &&
                   ((isnan(temp) && isnan(st.p.temperature)) || temp == st.p.temperature);
        if (!same) {
            if ((rc = long_flush(&st, o, a, w, rs, file, e)) < 0)
                break;
            memset(&st.p, 0, sizeof st.p);
            st.key = id;
            if ((rc = long_id(&st, r, cid, id, e)) < 0)
                break;
            st.p.temperature = temp;
            st.p.correct = st.p.quality = st.p.p_true = NAN;
            st.p.greedy.sum_logprob = st.p.greedy.n_tokens = NAN;
            st.p.greedy.cluster = -1;
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
            if (st.ns == st.slotcap && long_grow(&st) < 0) {
                rc = st_err_nomem(e, "samples");
                break;
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
        if (ccl >= 0 && !isnan(row[ccl]) &&
            (row[ccl] < 0 || row[ccl] != floor(row[ccl]) || (long)row[ccl] != st.scl[k])) {
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
        rc = long_flush(&st, o, a, w, rs, file, e);
    long_state_free(&st);
    free(row);
    st_reader_free(r);
    return rc;
}

/* ------------------------------------------------------------ driver */

static void pool_free(pool *pl)
{
    if (pl->works)
        for (int t = 0; t < pl->nthreads; t++)
            st_uq_work_free(pl->works[t]);
    free(pl->works);
    if (pl->arenas)
        for (int t = 0; t < pl->nthreads; t++)
            st_uq_arena_free(pl->arenas[t]);
    free(pl->arenas);
    if (pl->slots)
        for (size_t b = 0; b < BATCH; b++)
            rowset_free(&pl->slots[b].rs);
    free(pl->slots);
}

int st_uq_entropy_run(const char *const *paths, size_t npaths, const st_uq_run_opts *ro,
                      const st_uq_opts *o, const int *which, size_t nwhich, st_uq_result **out,
                      st_err *e)
{
    *out = NULL;
    acc a;
    memset(&a, 0, sizeof a);
    a.which = which;
    a.nwhich = nwhich;
    a.width = R_FIRST + nwhich;
    a.all_int = 1;
    for (size_t k = 0; k < nwhich; k++)
        a.claims |= st_uq_score_is_claim(which[k]);
    pool pl;
    memset(&pl, 0, sizeof pl);
    pl.nthreads = 1;
#ifdef _OPENMP
    pl.nthreads = omp_get_max_threads();
#endif
    pl.need = st_uq_needs(which, nwhich, o);
    int rc = 0;
    a.r = calloc(1, sizeof *a.r);
    if (!a.r || !(a.r->nan_count = calloc(nwhich ? nwhich : 1, sizeof *a.r->nan_count))) {
        rc = st_err_nomem(e, "results");
        goto out;
    }
    if ((rc = st_uq_idset_new(&a.ids, e)) < 0)
        goto out;
    pl.works = calloc((size_t)pl.nthreads, sizeof *pl.works);
    pl.arenas = calloc((size_t)pl.nthreads, sizeof *pl.arenas);
    pl.slots = calloc(BATCH, sizeof *pl.slots);
    if (!pl.works || !pl.arenas || !pl.slots) {
        rc = st_err_nomem(e, "batch");
        goto out;
    }
    for (int t = 0; t < pl.nthreads; t++)
        if ((rc = st_uq_work_new(&pl.works[t], e)) < 0 || (rc = st_uq_arena_new(&pl.arenas[t], e)) < 0)
            goto out;
    size_t np = npaths ? npaths : 1;
    for (size_t f = 0; f < np && rc == 0; f++) {
        const char *path = npaths ? paths[f] : NULL;
        rc = ro->csv_long ? run_long(path, o, &a, pl.works[0], &pl.slots[0].rs, e)
                          : run_jsonl(path, ro, o, &a, &pl, e);
    }
    if (rc < 0)
        goto out;
    /* fix the columns: id, [claim], [temperature], scores..., [correct], [quality] */
    st_uq_result *r = a.r;
    r->ids_are_strings = !a.all_int;
    r->has_claim = a.claims;
    r->has_temperature = a.any_temp;
    r->has_correct = a.any_correct;
    r->has_quality = a.any_quality;
    size_t nc = 1 + (size_t)a.claims + (size_t)a.any_temp + nwhich + (size_t)a.any_correct +
                (size_t)a.any_quality;
    r->ncols = nc;
    if (r->ids_are_strings && (rc = st_strdict_new(&r->id_dict, e)) < 0)
        goto out;
    for (size_t i = 0; i < r->n; i++) {
        const double *src = r->data + i * a.width;
        double tmp[R_FIRST];
        memcpy(tmp, src, sizeof tmp);
        if (r->id_dict) {
            /* every id as its text (integers in decimal), in a dictionary
             * in order of first appearance */
            if ((rc = st_strdict_intern(r->id_dict, r->ids[i], strlen(r->ids[i]), &tmp[R_ID], e)) < 0)
                goto out;
        }
        double *dst = r->data + i * nc; /* nc <= width: compacting in place is safe */
        size_t j = 0;
        dst[j++] = tmp[R_ID];
        if (a.claims)
            dst[j++] = tmp[R_CLAIM];
        if (a.any_temp)
            dst[j++] = tmp[R_TEMP];
        memmove(dst + j, src + R_FIRST, nwhich * sizeof *dst);
        j += nwhich;
        if (a.any_correct)
            dst[j++] = tmp[R_CORRECT];
        if (a.any_quality)
            dst[j++] = tmp[R_QUALITY];
    }
out:
    pool_free(&pl);
    st_uq_idset_free(a.ids);
    if (rc < 0) {
        st_uq_result_free(a.r);
        return rc;
    }
    *out = a.r;
    return 0;
}
