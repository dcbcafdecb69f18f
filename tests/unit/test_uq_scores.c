/* uq scores on hand-computed cases: closed forms for entropies, clusters,
 * lexical similarity, graph-spectral scores, KLE, EigenScore, Inv-Entropy. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "check_util.h"
#include "uq/text.h"
#include "uq/uq.h"

static double score(const char *json, const char *name, const st_uq_opts *opts)
{
    st_uq_prompt p;
    st_err e;
    st_uq_opts o;
    if (opts)
        o = *opts;
    else
        st_uq_opts_default(&o);
    ck_assert_int_eq(st_uq_parse_line(json, strlen(json), "t", 1, &p, &e), 1);
    st_uq_work *w;
    ck_assert_int_eq(st_uq_work_new(&w, &e), 0);
    int which = st_uq_score_parse(name);
    ck_assert_int_ge(which, 0);
    double v = -999;
    ck_assert_int_eq(st_uq_score_prompt(&p, &o, &which, 1, w, &v, &e), 0);
    st_uq_work_free(w);
    st_uq_prompt_free(&p);
    return v;
}

START_TEST(test_logprob_scores)
{
    const char *s = "{\"id\": 1, \"greedy\": {\"logprobs\": [-0.5, -1.5],"
                    " \"top_logprobs\": [[-0.6931471805599453, -0.6931471805599453], [-0.6931471805599453, -1.3862943611198906]]},"
                    " \"samples\": [{\"sum_logprob\": -2, \"n_tokens\": 4}, {\"sum_logprob\": -6, \"n_tokens\": 2}]}";
    ck_assert_near(score(s, "msp", NULL), exp(-2.0), 1e-15);
    ck_assert_near(score(s, "g-nll", NULL), 2.0, 0);
    ck_assert_near(score(s, "ppl", NULL), 1.0, 0);
    ck_assert_near(score(s, "pe", NULL), 4.0, 0);
    ck_assert_near(score(s, "ln-pe", NULL), (0.5 + 3) / 2, 0);
    /* token 1: two halves -> ln 2 either way; token 2: {1/2, 1/4} */
    double renorm2 = -(2.0 / 3 * log(2.0 / 3) + 1.0 / 3 * log(1.0 / 3));
    double part2 = -(0.5 * log(0.5) + 0.25 * log(0.25));
    ck_assert_near(score(s, "mte", NULL), (log(2.0) + renorm2) / 2, 1e-15);
    st_uq_opts o;
    st_uq_opts_default(&o);
    o.token_entropy = ST_UQ_TOKENT_PARTIAL;
    ck_assert_near(score(s, "mte", &o), (log(2.0) + part2) / 2, 1e-15);
    /* missing pieces give NaN, not an error */
    ck_assert(isnan(score("{\"id\": 2}", "msp", NULL)));
    ck_assert(isnan(score("{\"id\": 2, \"greedy\": {\"logprobs\": [-1]}}", "mte", NULL)));
    ck_assert(isnan(score("{\"id\": 2, \"samples\": [{\"sum_logprob\": -1}]}", "ln-pe", NULL)));
    ck_assert(isnan(score("{\"id\": 2, \"samples\": [{\"text\": \"a\"}]}", "se", NULL)));
}
END_TEST

START_TEST(test_semantic_entropy)
{
    /* two clusters of equal mass: ln 2 (Rao-Blackwellised and discrete) */
    const char *two = "{\"id\": 1, \"samples\": [{\"sum_logprob\": -2, \"n_tokens\": 2, \"cluster\": 5},"
                      "{\"sum_logprob\": -1, \"n_tokens\": 1, \"cluster\": 5},"
                      "{\"sum_logprob\": -3, \"n_tokens\": 3, \"cluster\": 9},"
                      "{\"sum_logprob\": -4, \"n_tokens\": 4, \"cluster\": 9}]}";
    ck_assert_near(score(two, "se", NULL), log(2.0), 1e-15);
    ck_assert_near(score(two, "se-discrete", NULL), log(2.0), 1e-15);
    ck_assert_near(score(two, "num-sets", NULL), 2, 0);
    /* one cluster: zero */
    const char *one = "{\"id\": 1, \"samples\": [{\"sum_logprob\": -2, \"n_tokens\": 2, \"cluster\": 0},"
                      "{\"sum_logprob\": -7, \"n_tokens\": 1, \"cluster\": 0}]}";
    ck_assert_near(score(one, "se", NULL), 0, 0);
    ck_assert_near(score(one, "se-discrete", NULL), 0, 0);
    /* unequal: mean log p -1 and -2 in different clusters, plus a third in the first */
    const char *w = "{\"id\": 1, \"samples\": [{\"sum_logprob\": -1, \"n_tokens\": 1, \"cluster\": 0},"
                    "{\"sum_logprob\": -4, \"n_tokens\": 2, \"cluster\": 1},"
                    "{\"sum_logprob\": -3, \"n_tokens\": 3, \"cluster\": 0}]}";
    double a = 2 * exp(-1.0), b = exp(-2.0), pa = a / (a + b), pb = b / (a + b);
    ck_assert_near(score(w, "se", NULL), -(pa * log(pa) + pb * log(pb)), 1e-15);
    ck_assert_near(score(w, "se-discrete", NULL), -(2.0 / 3 * log(2.0 / 3) + 1.0 / 3 * log(1.0 / 3)), 1e-15);
}
END_TEST

START_TEST(test_clustering_methods)
{
    /* 0 ~ 2 and 1 ~ 2 but 0 !~ 1 (entailment probabilities) */
    double E[9] = {1, 0.1, 0.9, 0.1, 1, 0.9, 0.9, 0.9, 1};
    double C[9] = {0, 0.8, 0, 0.8, 0, 0, 0, 0, 0};
    long ids[3];
    /* Farquhar et al. reference code: 1 claims 2 after 0 did */
    ck_assert_uint_eq(st_uq_cluster(E, C, 3, ST_UQ_CLUSTER_GREEDY, ST_UQ_EQUIV_DEFAULT, ids), 2);
    ck_assert(ids[0] == 0 && ids[1] == 1 && ids[2] == 1);
    /* Kuhn et al. Algorithm 1: 2 joins the first class whose representative matches */
    ck_assert_uint_eq(st_uq_cluster(E, C, 3, ST_UQ_CLUSTER_REP, ST_UQ_EQUIV_DEFAULT, ids), 2);
    ck_assert(ids[0] == 0 && ids[1] == 1 && ids[2] == 0);
    /* transitive closure */
    ck_assert_uint_eq(st_uq_cluster(E, C, 3, ST_UQ_CLUSTER_UNION, ST_UQ_EQUIV_DEFAULT, ids), 1);
    ck_assert(ids[0] == 0 && ids[1] == 0 && ids[2] == 0);
    /* rules: both neutral is equivalent only under "no contradiction" */
    double En[4] = {1, 0.2, 0.2, 1}, Cn[4] = {0, 0.1, 0.1, 0};
    ck_assert_uint_eq(st_uq_cluster(En, Cn, 2, ST_UQ_CLUSTER_GREEDY, ST_UQ_EQUIV_DEFAULT, ids), 2);
    ck_assert_uint_eq(st_uq_cluster(En, Cn, 2, ST_UQ_CLUSTER_GREEDY, ST_UQ_EQUIV_NC, ids), 1);
    /* entailment one way, neutral the other: default yes, strict no */
    double Eh[4] = {1, 0.9, 0.3, 1}, Ch[4] = {0, 0, 0.1, 0};
    ck_assert_uint_eq(st_uq_cluster(Eh, Ch, 2, ST_UQ_CLUSTER_GREEDY, ST_UQ_EQUIV_DEFAULT, ids), 1);
    ck_assert_uint_eq(st_uq_cluster(Eh, Ch, 2, ST_UQ_CLUSTER_GREEDY, ST_UQ_EQUIV_STRICT, ids), 2);
    long in[5] = {7, 3, 7, 9, 3}, out[5];
    ck_assert_uint_eq(st_uq_relabel(in, 5, out), 3);
    ck_assert(out[0] == 0 && out[1] == 1 && out[2] == 0 && out[3] == 2 && out[4] == 1);
}
END_TEST

START_TEST(test_lexical)
{
    ck_assert_near(st_uq_rougel("The cat sat", "the cat sat on the mat"), 2.0 / 3.0, 1e-15);
    ck_assert_near(st_uq_jaccard("The cat sat", "the cat sat on the mat"), 3.0 / 5.0, 1e-15);
    ck_assert_near(st_uq_rougel("Paris!", "paris"), 1, 0);
    ck_assert_near(st_uq_rougel("", "paris"), 0, 0);
    ck_assert_near(st_uq_jaccard("", "..."), 1, 0);
    /* LCS of a b c d / b d c: 2 (b c or b d); P = 2/3, R = 2/4 */
    ck_assert_near(st_uq_rougel("a b c d", "b d c"), 2 * (2.0 / 3) * 0.5 / (2.0 / 3 + 0.5), 1e-15);
    const char *same = "{\"id\": 1, \"samples\": [{\"text\": \"Paris\"}, {\"text\": \"paris.\"}, {\"text\": \"PARIS\"}]}";
    ck_assert_near(score(same, "lexsim-rougel", NULL), 0, 0);
    ck_assert_near(score(same, "lexsim-jaccard", NULL), 0, 0);
    const char *diff = "{\"id\": 1, \"samples\": [{\"text\": \"a b\"}, {\"text\": \"c\"}]}";
    ck_assert_near(score(diff, "lexsim-rougel", NULL), 1, 0);
}
END_TEST

START_TEST(test_lexical_unicode)
{
    /* letters and digits of every script, case-folded; other code points
     * separate tokens */
    ck_assert_near(st_uq_rougel("Москва", "Париж"), 0, 0);
    ck_assert_near(st_uq_jaccard("Москва", "Париж"), 0, 0);
    ck_assert_near(st_uq_rougel("МОСКВА!", "москва"), 1, 0);
    ck_assert_near(st_uq_rougel("Café", "CAFÉ"), 1, 0);
    ck_assert_near(st_uq_rougel("Café", "caf"), 0, 0);            /* é stays in the token */
    ck_assert_near(st_uq_rougel("STRASSE", "straße"), 1, 0);      /* full case folding: ß = ss */
    ck_assert_near(st_uq_rougel("Δέλτα", "δέλτα"), 1, 0);
    ck_assert_near(st_uq_rougel("٣٤ apples", "٣٤"), 2.0 / 3.0, 1e-15); /* Arabic-Indic digits */
    ck_assert_near(st_uq_rougel("Cafe\xcc\x81", "Caf\xc3\xa9"), 0, 0); /* no normalisation */
    ck_assert_near(st_uq_rougel("Cafe\xcc\x81", "cafe\xcc\x81!"), 1, 0); /* a mark continues a word */
    ck_assert_near(st_uq_jaccard("東京タワー", "東京タワー 東京"), 0.5, 0); /* one token per run */
    ck_assert_near(st_uq_rougel("a\xff" "b", "a b"), 1, 0);        /* an invalid byte separates */
    /* the tokenizer interns tokens into dense ids and enforces a cap */
    st_uq_tokenizer *t;
    ck_assert_int_eq(st_uq_tokenizer_new(&t), 0);
    uint32_t *ids = NULL;
    size_t len = 0, cap = 0;
    ck_assert_int_eq(st_uq_tokenize(t, "b A a, B c", 100, &ids, &len, &cap), 5);
    ck_assert(ids[0] == 0 && ids[1] == 1 && ids[2] == 1 && ids[3] == 0 && ids[4] == 2);
    ck_assert_uint_eq(st_uq_tokenizer_vocab(t), 3);
    ck_assert_int_eq(st_uq_tokenize(t, "x y z", 2, &ids, &len, &cap), -2);
    st_uq_tokenizer_reset(t);
    len = 0;
    ck_assert_int_eq(st_uq_tokenize(t, "c", 100, &ids, &len, &cap), 1);
    ck_assert(ids[0] == 0);
    free(ids);
    st_uq_tokenizer_free(t);
    /* through the scores: a text beyond --max-text-tokens is an error */
    const char *js = "{\"id\": 1, \"samples\": [{\"text\": \"a b c\"}, {\"text\": \"a\"}]}";
    st_uq_prompt p;
    st_err e;
    st_uq_opts o;
    st_uq_opts_default(&o);
    o.max_text_tokens = 2;
    ck_assert_int_eq(st_uq_parse_line(js, strlen(js), "t", 1, &p, &e), 1);
    st_uq_work *w;
    ck_assert_int_eq(st_uq_work_new(&w, &e), 0);
    int which = ST_UQ_LEX_ROUGEL;
    double v;
    ck_assert_int_eq(st_uq_score_prompt(&p, &o, &which, 1, w, &v, &e), ST_EDATA);
    ck_assert(strstr(e.msg, "samples[0].text has more than 2 word tokens") != NULL);
    o.max_text_tokens = 3;
    ck_assert_int_eq(st_uq_score_prompt(&p, &o, &which, 1, w, &v, &e), 0);
    ck_assert_near(v, 1 - 0.5, 1e-15);
    st_uq_work_free(w);
    st_uq_prompt_free(&p);
}
END_TEST

static size_t lcs_dp(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    size_t *prev = calloc(nb + 1, sizeof *prev), *cur = calloc(nb + 1, sizeof *cur);
    for (size_t i = 1; i <= na; i++) {
        for (size_t j = 1; j <= nb; j++)
            cur[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1 : (prev[j] > cur[j - 1] ? prev[j] : cur[j - 1]);
        size_t *t = prev;
        prev = cur;
        cur = t;
    }
    size_t r = prev[nb];
    free(prev);
    free(cur);
    return r;
}

START_TEST(test_lcs_bit_parallel)
{
    /* the bit-parallel LCS equals the dynamic programme on random
     * sequences across word boundaries and alphabet sizes */
    uint64_t x = 88172645463325252ULL;
    uint32_t a[300], b[300];
    uint64_t masks[64] = {0};
    unsigned char carry[300];
    for (int trial = 0; trial < 400; trial++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t na = x % 300, nb = (x >> 20) % 300;
        uint32_t alpha = 1 + (uint32_t)((x >> 40) % 63);
        for (size_t i = 0; i < na; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            a[i] = (uint32_t)(x % alpha);
        }
        for (size_t j = 0; j < nb; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            b[j] = (uint32_t)(x % alpha);
        }
        size_t fast = st_uq_lcs(a, na, b, nb, masks, carry);
        ck_assert_uint_eq(fast, lcs_dp(a, na, b, nb));
        int dirty = 0;
        for (int k = 0; k < 64; k++)
            dirty += masks[k] != 0;
        ck_assert_int_eq(dirty, 0); /* left zeroed */
    }
}
END_TEST

START_TEST(test_token_scores)
{
    /* one token, alternatives (3/4, 1/4), temperature 1 */
    double a[2] = {log(0.75), log(0.25)}, u[2] = {log(0.5), log(0.5)};
    double bc = (sqrt(0.75) + sqrt(0.25)) / sqrt(2.0); /* Bhattacharyya coefficient with uniform */
    ck_assert_near(st_uq_renyi_uniform(a, 2, 0.5, 1), -2 * log(bc), 1e-15);
    ck_assert_near(st_uq_renyi_uniform(a, 2, 1, 1), 0.75 * log(1.5) + 0.25 * log(0.5), 1e-15);
    ck_assert_near(st_uq_renyi_uniform(a, 2, 2, 1), log(2 * (0.75 * 0.75 + 0.25 * 0.25)), 1e-15);
    ck_assert_near(st_uq_fisher_rao_uniform(a, 2, 1), 2 / M_PI * acos(bc), 1e-15);
    ck_assert_near(st_uq_renyi_uniform(u, 2, 0.5, 2), 0, 1e-15);  /* uniform: no distance */
    ck_assert_near(st_uq_fisher_rao_uniform(u, 2, 2), 0, 0);
    ck_assert_near(st_uq_kl_uniform(a, 2, ST_UQ_TOKENT_RENORM), -log(2.0) - (log(0.75) + log(0.25)) / 2, 1e-15);
    double half[2] = {log(0.25), log(0.25)}; /* partial: the k given as they are */
    ck_assert_near(st_uq_kl_uniform(half, 2, ST_UQ_TOKENT_PARTIAL), log(2.0), 1e-15);
    ck_assert_near(st_uq_kl_uniform(half, 2, ST_UQ_TOKENT_RENORM), 0, 1e-15);
    /* temperature 2 flattens: q = (sqrt 3, 1) / (sqrt 3 + 1) */
    double q0 = sqrt(3.0) / (sqrt(3.0) + 1), q1 = 1 / (sqrt(3.0) + 1);
    ck_assert_near(st_uq_renyi_uniform(a, 2, 1, 2), q0 * log(2 * q0) + q1 * log(2 * q1), 1e-15);
    /* PMI and CPMI */
    double l[3] = {-1, -2, -3}, lm[3] = {-4, -1, -2}, H[3] = {0.5, 0.01, 0.2};
    ck_assert_near(st_uq_pmi(l, lm, 3, ST_UQ_VARIANT_PAPER), -((-1 + 4) + (-2 + 1) + (-3 + 2)) / 3.0, 1e-15);
    ck_assert_near(st_uq_pmi(l, lm, 3, ST_UQ_VARIANT_POLYGRAPH), -((-1) + (-2 + 1) + (-3 + 2)) / 3.0, 1e-15);
    ck_assert_near(st_uq_cpmi(l, lm, H, 3, 0.1, 2, ST_UQ_VARIANT_PAPER), -((-1 + 8) + (-2) + (-3 + 4)) / 3.0, 1e-15);
    ck_assert_near(st_uq_cpmi(l, lm, H, 3, 0.1, 2, ST_UQ_VARIANT_POLYGRAPH), -((-1) + (-2) + (-3 + 4)) / 3.0, 1e-15);
    /* TokenSAR: relevance-weighted NLL; no relevant token gives 0 */
    double R[3] = {1, 0, 3}, Z[3] = {0, 0, 0};
    ck_assert_near(st_uq_token_sar(l, R, 3), (1 * 1 + 3 * 3) / 4.0, 1e-15);
    ck_assert_near(st_uq_token_sar(l, Z, 3), 0, 0);
    /* CCP of one token: entail 0.5 + 0.2, contra 0.1, neutral ignored */
    double alt[4] = {log(0.5), log(0.2), log(0.1), log(0.15)};
    unsigned char lab[4] = {ST_UQ_NLI_ENTAIL, ST_UQ_NLI_ENTAIL, ST_UQ_NLI_CONTRA, ST_UQ_NLI_NEUTRAL};
    ck_assert_near(st_uq_ccp_token(alt, lab, 4), 0.7 / 0.8, 1e-15);
    unsigned char neutral[2] = {ST_UQ_NLI_NEUTRAL, ST_UQ_NLI_NEUTRAL};
    ck_assert(isnan(st_uq_ccp_token(alt, neutral, 2)));
}
END_TEST

START_TEST(test_sample_scores)
{
    /* SentenceSAR: two samples, g = 0.5 off the diagonal, t = 1 */
    double lp[2] = {log(0.2), log(0.4)}, g[4] = {1, 0.5, 0.5, 1};
    double want = (-log(0.2 + 0.5 * 0.4) - log(0.4 + 0.5 * 0.2)) / 2;
    ck_assert_near(st_uq_sentence_sar(lp, g, 2, 1), want, 1e-15);
    /* long answers: probabilities below the smallest double stay finite */
    double tiny[2] = {-2000, -2001};
    ck_assert_near(st_uq_sentence_sar(tiny, g, 2, 1),
                   ((2000 - log(1 + 0.5 * exp(-1.0))) + (2001 - log(1 + 0.5 * exp(1.0)))) / 2, 1e-12);
    /* semantic density: kernel 1 - (c + n / 2) */
    double lw[3] = {log(0.5), log(0.25), log(0.5)}, E[3] = {1, 0, 0.2}, C[3] = {0, 1, 0.3};
    int use[3] = {1, 1, 0};
    ck_assert_near(st_uq_semantic_density(lw, E, C, use, 3, NAN, ST_UQ_VARIANT_PAPER),
                   (0.5 * 1 + 0.25 * 0) / 0.75, 1e-15);
    ck_assert_near(st_uq_semantic_density(lw, E, C, use, 3, log(0.25), ST_UQ_VARIANT_POLYGRAPH),
                   (0.5 * 1 + 0.25 * 0 + 0.25) / 1.0, 1e-15);
    use[2] = 1; /* n = 0.5, d = 0.55 */
    ck_assert_near(st_uq_semantic_density(lw, E, C, use, 3, NAN, ST_UQ_VARIANT_PAPER),
                   (0.5 + 0.5 * 0.45) / 1.25, 1e-15);
    /* Monte Carlo semantic entropy: classes {0, 1} and {2} */
    long ids[3] = {0, 0, 1};
    double w[3] = {log(0.2), log(0.3), log(0.1)};
    ck_assert_near(st_uq_se_mc(ids, w, 3, 0), -(log(0.5) + log(0.1)) / 2, 1e-15);
    ck_assert_near(st_uq_se_mc(ids, w, 3, 1), -(2 * log(0.5) + log(0.1)) / 3, 1e-15);
}
END_TEST

START_TEST(test_new_scores_from_json)
{
    const char *s = "{\"id\": 1, \"greedy\": {\"logprobs\": [-1, -2], \"lm_logprobs\": [-3, -1],"
                    " \"relevance\": [0, 1], \"top_logprobs\": [[-1, -1], [-2, -3]], \"p_true_logprob\": -0.5}}";
    ck_assert_near(score(s, "pmi", NULL), -((-1 + 3) + (-2 + 1)) / 2.0, 1e-15);
    ck_assert_near(score(s, "token-sar", NULL), 2, 0);
    ck_assert_near(score(s, "p-true", NULL), exp(-0.5), 0);
    ck_assert_near(score(s, "max-te", NULL), log(2.0), 1e-15); /* token 1 is uniform */
    ck_assert(isnan(score(s, "sar", NULL)));                    /* no samples */
    ck_assert(isnan(score(s, "semantic-density", NULL)));
    /* claims: one row per claim */
    const char *c = "{\"id\": 1, \"greedy\": {\"logprobs\": [-1, -2, -3], \"top_logprobs\": [[-1, -2], [-2], [-3, -0.5]],"
                    " \"claims\": [{\"tokens\": [0, 2], \"correct\": true, \"nli\": [[\"entail\", \"contra\"], [\"entail\", [\"entail\", \"neutral\"]]]},"
                    " {\"span\": [1, 3], \"p_true_logprob\": -2}]}}";
    st_uq_prompt p;
    st_err e;
    ck_assert_int_eq(st_uq_parse_line(c, strlen(c), "t", 1, &p, &e), 1);
    ck_assert_uint_eq(p.nclaims, 2);
    ck_assert_uint_eq(p.claims[1].ntok, 2);
    ck_assert_uint_eq(p.claims[1].tok[1], 2);
    ck_assert(p.claims[0].nli[3] == ST_UQ_NLI_ENTAIL); /* [entail, neutral] combines to entail */
    st_uq_opts o;
    st_uq_opts_default(&o);
    st_uq_work *w;
    ck_assert_int_eq(st_uq_work_new(&w, &e), 0);
    int which[4] = {ST_UQ_CCP, ST_UQ_CLAIM_MSP, ST_UQ_CLAIM_GNLL, ST_UQ_CLAIM_P_TRUE};
    double out[8];
    ck_assert_int_eq(st_uq_score_claims(&p, &o, which, 4, w, out, &e), 0);
    double ccp0 = exp(-1) / (exp(-1) + exp(-2)) * 1.0; /* token 2: both entail */
    ck_assert_near(out[0], ccp0, 1e-15);
    ck_assert_near(out[1], exp(-4), 1e-15);
    ck_assert_near(out[2], 4, 0);
    ck_assert(isnan(out[3]) && isnan(out[4])); /* no p_true; claim 1 has no nli */
    ck_assert_near(out[6], 5, 0);
    ck_assert_near(out[7], exp(-2), 0);
    ck_assert_near(p.claims[0].correct, 1, 0);
    /* a claim score is not a prompt score */
    ck_assert_int_eq(st_uq_score_prompt(&p, &o, which, 1, w, out, &e), ST_EINTERNAL);
    st_uq_work_free(w);
    st_uq_prompt_free(&p);
    /* bad claims */
    const char *bad[] = {
        "{\"id\": 1, \"greedy\": {\"logprobs\": [-1], \"claims\": [{\"tokens\": [3]}]}}",
        "{\"id\": 1, \"greedy\": {\"logprobs\": [-1], \"claims\": [{\"span\": [1, 1]}]}}",
        "{\"id\": 1, \"greedy\": {\"logprobs\": [-1], \"top_logprobs\": [[-1]], \"claims\": [{\"tokens\": [0], \"nli\": [[\"entail\", \"contra\"]]}]}}",
        "{\"id\": 1, \"greedy\": {\"logprobs\": [-1], \"top_logprobs\": [[-1]], \"claims\": [{\"tokens\": [0], \"nli\": [[\"maybe\"]]}]}}",
        "{\"id\": 1, \"greedy\": {\"logprobs\": [-1], \"claims\": [{\"text\": \"x\"}]}}",
        "{\"id\": 1, \"greedy\": {\"logprobs\": [-1, -2], \"lm_logprobs\": [-1]}}",
        "{\"id\": 1, \"greedy\": {\"logprobs\": [-1], \"lm_logprobs\": [0.5]}}",
        "{\"id\": 1, \"greedy\": {\"entail\": [0.5]}, \"samples\": [{}, {}]}",
        "{\"id\": 1, \"greedy\": {\"entail\": [0.7], \"contra\": [0.6]}, \"samples\": [{}]}",
    };
    const char *why[] = {"names token 3", "start < end", "has 2 labels but token 0 has 1 alternatives",
                         "is not \"entail\"", "no \"tokens\"", "lm_logprobs has 1 entries",
                         "outside", "expected 2", "exceeds 1"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ck_assert_int_eq(st_uq_parse_line(bad[k], strlen(bad[k]), "t", 1, &p, &e), ST_EDATA);
        ck_assert_msg(strstr(e.msg, why[k]) != NULL, "'%s' lacks '%s'", e.msg, why[k]);
    }
}
END_TEST

START_TEST(test_spectral_closed_forms)
{
    double work[3 * 16 + 8], v;
    st_err e;
    /* complete graph: EigV = 1, Deg = 0, Ecc = 0 */
    double J[16];
    for (int i = 0; i < 16; i++)
        J[i] = 1;
    /* exact 0/1 cliques: exact values, not eigensolver noise */
    ck_assert_int_eq(st_uq_eigv(J, 4, &v, work, &e), 0);
    ck_assert(v == 1);
    ck_assert_near(st_uq_degree(J, 4), 0, 0);
    ck_assert_int_eq(st_uq_ecc(J, 4, 0.9, &v, work, &e), 0);
    ck_assert(v == 0);
    ck_assert_int_eq(st_uq_ecc(J, 4, 1.5, &v, work, &e), 0); /* keeps every eigenvector */
    ck_assert(v == sqrt(3.0));
    /* nearly a clique: the eigensolver path, close to the exact values */
    double Jn[16];
    for (int i = 0; i < 16; i++)
        Jn[i] = i % 5 == 0 ? 1 : 1 - 1e-13;
    size_t sizes[4];
    ck_assert_uint_eq(st_uq_clique_blocks(Jn, 4, sizes), 0);
    ck_assert_int_eq(st_uq_eigv(Jn, 4, &v, work, &e), 0);
    ck_assert_near(v, 1, 1e-12);
    ck_assert_int_eq(st_uq_ecc(Jn, 4, 0.9, &v, work, &e), 0);
    ck_assert_near(v, 0, 1e-6);
    /* two disconnected pairs: EigV = 2, Deg = 1/2, Ecc = 1 */
    double B[16] = {1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1};
    ck_assert_int_eq(st_uq_eigv(B, 4, &v, work, &e), 0);
    ck_assert(v == 2);
    ck_assert_near(st_uq_degree(B, 4), 0.5, 0);
    ck_assert_int_eq(st_uq_ecc(B, 4, 0.9, &v, work, &e), 0);
    ck_assert(v == 1);
    ck_assert_uint_eq(st_uq_clique_blocks(B, 4, sizes), 2);
    ck_assert(sizes[0] == 2 && sizes[1] == 2);
    /* no edges: every sample its own set */
    double I[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    ck_assert_int_eq(st_uq_eigv(I, 4, &v, work, &e), 0);
    ck_assert(v == 4);
    /* a chain of 0/1 weights is not a partition: the eigensolver */
    double P[9] = {1, 1, 0, 1, 1, 1, 0, 1, 1};
    ck_assert_uint_eq(st_uq_clique_blocks(P, 3, sizes), 0);
    /* KLE: isolated samples -> ln m; complete graph -> closed form */
    ck_assert_int_eq(st_uq_kle(I, 4, 0.3, &v, work, &e), 0);
    ck_assert_near(v, log(4.0), 1e-12);
    ck_assert_int_eq(st_uq_kle(J, 4, 0.3, &v, work, &e), 0);
    double x = exp(-0.3 * 4), z = 1 + 3 * x, a = 1 / z, b = x / z;
    ck_assert_near(v, -(a * log(a) + 3 * b * log(b)), 1e-12);
}
END_TEST

START_TEST(test_eigenscore)
{
    double Z[4] = {1, 0, 0, 1}, work[2 * 4 + 2], v;
    st_err e;
    /* centred rows (.5,-.5), (-.5,.5): Sigma eigenvalues 0 and 1 */
    ck_assert_int_eq(st_uq_eigenscore(Z, 2, 2, 1e-3, ST_UQ_EIGENSCORE_PAPER, &v, work, &e), 0);
    ck_assert_near(v, (log(1e-3) + log(1 + 1e-3)) / 2, 1e-12);
    ck_assert_int_eq(st_uq_eigenscore(Z, 2, 2, 1e-3, ST_UQ_EIGENSCORE_CODE, &v, work, &e), 0);
    ck_assert_near(v, (log10(1e-3) + log10(1 + 1e-3)) / 2, 1e-12);
}
END_TEST

START_TEST(test_inv_entropy)
{
    double I[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, J[9], work[6];
    for (int i = 0; i < 9; i++)
        J[i] = 1;
    ck_assert_near(st_uq_inv_entropy_pairs(I, I, 3, work), 0, 0);
    ck_assert_near(st_uq_inv_entropy_pairs(J, J, 3, work), log(3.0), 1e-15);
    /* through the JSON: every output identical, inputs distinct: q_i = 1/3 */
    const char *s = "{\"id\": 1, \"samples\": [{}, {}, {}], \"sim\": [[1,1,1],[1,1,1],[1,1,1]],"
                    " \"inputs\": {\"sim\": [[1,0,0],[0,1,0],[0,0,1]], \"map\": [0, 1, 2]}}";
    ck_assert_near(score(s, "inv-entropy-full", NULL), log(3.0), 1e-15);
    ck_assert_near(score(s, "inv-entropy", NULL), log(3.0), 1e-15);
    /* two answers per input: the subsampled score averages the 4 choices exactly */
    const char *s2 = "{\"id\": 1, \"samples\": [{}, {}, {}, {}], \"sim\": [[1,0.2,0.5,0.1],[0.2,1,0.3,0.4],[0.5,0.3,1,0.6],[0.1,0.4,0.6,1]],"
                     " \"inputs\": {\"sim\": [[1,0.7],[0.7,1]], \"map\": [0, 0, 1, 1]}}";
    double sum = 0;
    int pick[4][2] = {{0, 2}, {1, 2}, {0, 3}, {1, 3}};
    double S[16] = {1, 0.2, 0.5, 0.1, 0.2, 1, 0.3, 0.4, 0.5, 0.3, 1, 0.6, 0.1, 0.4, 0.6, 1};
    for (int c = 0; c < 4; c++) {
        double SX[4] = {1, 0.7, 0.7, 1}, SY[4];
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++)
                SY[a * 2 + b] = S[pick[c][a] * 4 + pick[c][b]];
        sum += st_uq_inv_entropy_pairs(SX, SY, 2, work);
    }
    ck_assert_near(score(s2, "inv-entropy", NULL), sum / 4, 1e-15);
}
END_TEST

START_TEST(test_affinity_from_json)
{
    /* entail affinity symmetrised; complete agreement gives EigV 1 */
    const char *s = "{\"id\": 1, \"samples\": [{\"text\": \"a\"}, {\"text\": \"a\"}, {\"text\": \"a\"}],"
                    " \"entail\": [[1,1,1],[1,1,1],[1,1,1]], \"contra\": [[0,0,0],[0,0,0],[0,0,0]]}";
    ck_assert(score(s, "eigv", NULL) == 1);
    ck_assert(score(s, "ecc", NULL) == 0);
    ck_assert(score(s, "deg", NULL) == 0);
    ck_assert(score(s, "lexsim-rougel", NULL) == 0);
    ck_assert_near(score(s, "num-sets", NULL), 1, 0);
    st_uq_opts o;
    st_uq_opts_default(&o);
    o.affinity = ST_UQ_AFF_JACCARD;
    ck_assert(score(s, "eigv", &o) == 1);
    o.affinity = ST_UQ_AFF_CONTRA;
    ck_assert_near(score(s, "deg", &o), 0, 1e-15);
    o.affinity = ST_UQ_AFF_SIM; /* no sim matrix: NaN */
    ck_assert(isnan(score(s, "eigv", &o)));
}
END_TEST

static Suite *uq_scores_suite(void)
{
    Suite *s = suite_create("uq_scores");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_logprob_scores);
    tcase_add_test(tc, test_semantic_entropy);
    tcase_add_test(tc, test_clustering_methods);
    tcase_add_test(tc, test_lexical);
    tcase_add_test(tc, test_lexical_unicode);
    tcase_add_test(tc, test_lcs_bit_parallel);
    tcase_add_test(tc, test_token_scores);
    tcase_add_test(tc, test_sample_scores);
    tcase_add_test(tc, test_new_scores_from_json);
    tcase_add_test(tc, test_spectral_closed_forms);
    tcase_add_test(tc, test_eigenscore);
    tcase_add_test(tc, test_inv_entropy);
    tcase_add_test(tc, test_affinity_from_json);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(uq_scores_suite)
