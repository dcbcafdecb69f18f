/* pf-resample's session: the resampling steps of a particle method whose
 * particles live in another program (e.g. partial generations of a
 * language model scored by a reward model, the "particle filtering" and
 * "particle Gibbs" of Puri et al. 2025, "A probabilistic inference
 * approach to inference-time scaling of LLMs using particle-based Monte
 * Carlo methods"), with the weights carried from step to step.
 *
 * State between steps, by particle id (a slot that keeps its id while the
 * other program copies an ancestor into it): the log of its normalised
 * weight after the step (equal after resampling), and in total mode the
 * score its trajectory had.  A step where every particle is done ends an
 * iteration: its weights are final, particle Gibbs draws the next
 * reference from them, and the state starts afresh. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "smc/resample.h"

typedef struct slot {
    double id;
    double carried; /* log normalised weight after the last step it took part in */
    double total;   /* total mode: the trajectory's score after the last step */
} slot;

struct st_rs_session {
    st_rs_session_opts o;
    slot *s, *next;   /* sorted by id; the next step's, being built */
    size_t ns, cap;
    double *lw, *wa, *tot;
    size_t *pos;
    uint32_t *a;
    size_t wcap;
};

const char *const st_rs_weights_names[] = {"softmax", "increment", "total", NULL};

int st_rs_weights_parse(const char *name, st_rs_weights *out)
{
    for (int i = 0; st_rs_weights_names[i]; i++)
        if (strcmp(name, st_rs_weights_names[i]) == 0) {
            *out = (st_rs_weights)i;
            return 0;
        }
    return -1;
}

int st_rs_session_new(st_rs_session **out, const st_rs_session_opts *o, st_err *e)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return st_err_nomem(e, "resampling session");
    (*out)->o = *o;
    return 0;
}

void st_rs_session_free(st_rs_session *s)
{
    if (!s)
        return;
    free(s->s);
    free(s->next);
    free(s->lw);
    free(s->wa);
    free(s->tot);
    free(s->pos);
    free(s->a);
    free(s);
}

static const slot *find(const st_rs_session *s, double id)
{
    size_t lo = 0, hi = s->ns;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->s[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->ns && s->s[lo].id == id ? &s->s[lo] : NULL;
}

static int cmp_slot(const void *a, const void *b)
{
    double x = ((const slot *)a)->id, y = ((const slot *)b)->id;
    return (x > y) - (x < y);
}

static int grow(st_rs_session *s, size_t n, st_err *e)
{
    if (n <= s->wcap)
        return 0;
    double *lw = realloc(s->lw, n * sizeof *lw);
    if (lw)
        s->lw = lw;
    double *wa = realloc(s->wa, n * sizeof *wa);
    if (wa)
        s->wa = wa;
    double *tot = realloc(s->tot, n * sizeof *tot);
    if (tot)
        s->tot = tot;
    size_t *pos = realloc(s->pos, n * sizeof *pos);
    if (pos)
        s->pos = pos;
    uint32_t *a = realloc(s->a, n * sizeof *a);
    if (a)
        s->a = a;
    slot *sl = realloc(s->s, n * sizeof *sl);
    if (sl)
        s->s = sl;
    slot *nx = realloc(s->next, n * sizeof *nx);
    if (nx)
        s->next = nx;
    if (!lw || !wa || !tot || !pos || !a || !sl || !nx)
        return st_err_nomem(e, "resampling session");
    s->wcap = s->cap = n;
    return 0;
}

int st_rs_session_step(st_rs_session *s, size_t n, const double *id, const double *lw, const unsigned char *done,
                       const unsigned char *ref, st_rs_step_out *out, st_rng *r, st_err *e)
{
    const st_rs_session_opts *o = &s->o;
    const double T = o->step.temperature;
    int rc = grow(s, n, e);
    if (rc < 0)
        return rc;
    out->ess = 0;
    out->logz = 0;
    out->resampled = 0;
    out->chosen = -1;
    out->final = 0;
    size_t na = 0, nref = 0, refpos = 0;
    for (size_t i = 0; i < n; i++) {
        out->anc[i] = (uint32_t)i;
        out->W[i] = 0;
        if (!done || !done[i])
            na++;
        if (ref && ref[i]) {
            nref++;
            refpos = i;
        }
    }
    if (nref > 1)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "%zu particles are marked as the reference (at most one)", nref);
    if (nref && !o->gibbs)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "a reference particle needs --gibbs");
    int final = na == 0 && n > 0; /* every particle done: the iteration ends here */
    /* log weights of the particles that take part: the unfinished ones, or
     * every one at an iteration's last step */
    size_t k = 0;
    /* a particle new to the session gets the mean weight (1 / the number
     * of particles that carried weights, or of those taking part now) */
    size_t np = final ? n : na;
    double mean_carried = -log((double)(s->ns ? s->ns : np));
    for (size_t i = 0; i < n; i++) {
        if (!final && done && done[i])
            continue;
        const slot *sl = find(s, id[i]);
        double carried = 0, inc = lw[i] / T;
        if (o->weights != ST_RS_W_SOFTMAX)
            carried = sl ? sl->carried : mean_carried;
        if (o->weights == ST_RS_W_TOTAL && sl)
            inc = (lw[i] - sl->total) / T;
        s->pos[k] = i;
        s->tot[k] = lw[i];
        s->lw[k++] = carried + inc;
    }
    double lse = st_normalise(s->lw, k, s->wa);
    if (!(lse > -INFINITY))
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "every %s particle has zero weight",
                          final ? "" : "unfinished");
    if (!isfinite(lse))
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "a log-weight is +Inf");
    /* softmax: log of the mean weight; carried: the carried weights already
     * average to one over the particles before, so the sum is the increment */
    out->logz = o->weights == ST_RS_W_SOFTMAX ? lse - log((double)k) : lse;
    out->ess = st_ess(s->wa, k);
    for (size_t j = 0; j < k; j++)
        out->W[s->pos[j]] = s->wa[j];
    if (final) {
        out->final = 1;
        if (o->gibbs) {
            size_t c;
            st_resample(ST_RS_MULTINOMIAL, s->wa, k, 1, s->a, r);
            c = s->a[0];
            out->chosen = (long)s->pos[c];
        }
        s->ns = 0; /* a new iteration starts afresh */
        return 0;
    }
    int resample = o->step.always || out->ess < o->step.ess * (double)k;
    if (resample) {
        out->resampled = 1;
        if (nref && !(done && done[refpos])) {
            /* conditional resampling: the reference keeps its place, the
             * others are drawn from every unfinished particle (it included) */
            size_t kref = 0;
            while (s->pos[kref] != refpos)
                kref++;
            st_resample(o->step.scheme, s->wa, k, k - 1, s->a, r);
            for (size_t j = 0, d = 0; j < k; j++)
                out->anc[s->pos[j]] = (uint32_t)(j == kref ? refpos : s->pos[s->a[d++]]);
        } else {
            st_resample(o->step.scheme, s->wa, k, k, s->a, r);
            for (size_t j = 0; j < k; j++)
                out->anc[s->pos[j]] = (uint32_t)s->pos[s->a[j]];
        }
    }
    /* The next state: equal weights after resampling, else the normalised
     * weights, and the score of the trajectory now in the slot (its
     * ancestor's); finished particles keep theirs as they were. */
    size_t m = 0;
    for (size_t j = 0; j < k; j++) {
        size_t i = s->pos[j], from = out->anc[i], lo = 0, hi = k;
        while (lo < hi) { /* the ancestor among the participants */
            size_t mid = lo + (hi - lo) / 2;
            if (s->pos[mid] < from)
                lo = mid + 1;
            else
                hi = mid;
        }
        s->next[m].id = id[i];
        s->next[m].carried = resample ? -log((double)k) : log(s->wa[j]);
        s->next[m++].total = s->tot[lo];
    }
    for (size_t i = 0; i < n; i++)
        if (done && done[i]) {
            const slot *sl = find(s, id[i]);
            if (sl)
                s->next[m++] = *sl;
        }
    slot *t = s->s;
    s->s = s->next;
    s->next = t;
    s->ns = m;
    qsort(s->s, s->ns, sizeof *s->s, cmp_slot);
    return 0;
}
