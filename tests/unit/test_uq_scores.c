/* uq scores on hand-computed cases: closed forms for entropies, clusters,
 * lexical similarity, graph-spectral scores, KLE, EigenScore, Inv-Entropy. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "check_util.h"
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

START_TEST(test_spectral_closed_forms)
{
    double work[3 * 16 + 8], v;
    st_err e;
    /* complete graph: EigV = 1, Deg = 0, Ecc = 0 */
    double J[16];
    for (int i = 0; i < 16; i++)
        J[i] = 1;
    ck_assert_int_eq(st_uq_eigv(J, 4, &v, work, &e), 0);
    ck_assert_near(v, 1, 1e-12);
    ck_assert_near(st_uq_degree(J, 4), 0, 0);
    ck_assert_int_eq(st_uq_ecc(J, 4, 0.9, &v, work, &e), 0);
    ck_assert_near(v, 0, 1e-12);
    /* two disconnected pairs: EigV = 2, Deg = 1/2, Ecc = 1 */
    double B[16] = {1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1};
    ck_assert_int_eq(st_uq_eigv(B, 4, &v, work, &e), 0);
    ck_assert_near(v, 2, 1e-12);
    ck_assert_near(st_uq_degree(B, 4), 0.5, 0);
    ck_assert_int_eq(st_uq_ecc(B, 4, 0.9, &v, work, &e), 0);
    ck_assert_near(v, 1, 1e-12);
    /* no edges: every sample its own set */
    double I[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    ck_assert_int_eq(st_uq_eigv(I, 4, &v, work, &e), 0);
    ck_assert_near(v, 4, 1e-12);
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
    ck_assert_near(score(s, "eigv", NULL), 1, 1e-12);
    ck_assert_near(score(s, "deg", NULL), 0, 1e-15);
    ck_assert_near(score(s, "num-sets", NULL), 1, 0);
    st_uq_opts o;
    st_uq_opts_default(&o);
    o.affinity = ST_UQ_AFF_JACCARD;
    ck_assert_near(score(s, "eigv", &o), 1, 1e-12);
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
    tcase_add_test(tc, test_spectral_closed_forms);
    tcase_add_test(tc, test_eigenscore);
    tcase_add_test(tc, test_inv_entropy);
    tcase_add_test(tc, test_affinity_from_json);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(uq_scores_suite)
