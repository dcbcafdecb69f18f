/* uq JSONL input: parsing every accepted shape, and rejecting bad lines
 * with the line number and a clear message. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "uq/uq.h"

static int parse(const char *s, st_uq_prompt *p, st_err *e)
{
    st_err_clear(e);
    return st_uq_parse_line(s, strlen(s), "in.jsonl", 7, p, e);
}

START_TEST(test_full_record)
{
    st_uq_prompt p;
    st_err e;
    const char *s = "{\"id\": \"q1\", \"prompt\": \"Capital of France?\","
                    " \"greedy\": {\"text\": \"Paris\", \"logprobs\": [-0.1, -0.2],"
                    "   \"top_logprobs\": [[-0.1, -2.5], {\"a\": -0.2, \"b\": -1.8}]},"
                    " \"samples\": [{\"text\": \"Paris\", \"logprobs\": [-0.1, -0.3]},"
                    "   {\"text\": \"Lyon\", \"sum_logprob\": -2.5, \"n_tokens\": 3}],"
                    " \"entail\": [[1, 0.1], [0.2, 1]], \"contra\": [[0, 0.8], [0.7, 0]],"
                    " \"embeddings\": [[1, 2, 3], [4, 5, 6]], \"correct\": true,"
                    " \"temperature\": 0.7, \"extra\": {\"ignored\": 1}}";
    ck_assert_int_eq(parse(s, &p, &e), 1);
    ck_assert_str_eq(p.id, "q1");
    ck_assert_int_eq(p.id_is_int, 0);
    ck_assert_int_eq(p.line, 7);
    ck_assert(p.has_greedy);
    ck_assert_uint_eq(p.greedy.ntok, 2);
    ck_assert_near(p.greedy.sum_logprob, -0.3, 1e-15);
    ck_assert_uint_eq(p.greedy.top_off[1], 2);
    ck_assert_uint_eq(p.greedy.top_off[2], 4);
    ck_assert_near(p.greedy.top[3], -1.8, 0);
    ck_assert_uint_eq(p.m, 2);
    ck_assert_near(p.samples[0].sum_logprob, -0.4, 1e-15);
    ck_assert_near(p.samples[0].n_tokens, 2, 0);
    ck_assert_near(p.samples[1].sum_logprob, -2.5, 0);
    ck_assert_near(p.samples[1].n_tokens, 3, 0);
    ck_assert_str_eq(p.samples[1].text, "Lyon");
    ck_assert_near(p.entail[2], 0.2, 0);
    ck_assert_near(p.contra[1], 0.8, 0);
    ck_assert_uint_eq(p.dim, 3);
    ck_assert_near(p.emb[5], 6, 0);
    ck_assert_near(p.correct, 1, 0);
    ck_assert_near(p.temperature, 0.7, 0);
    ck_assert(isnan(p.quality));
    st_uq_prompt_free(&p);
}
END_TEST

START_TEST(test_openai_content)
{
    st_uq_prompt p;
    st_err e;
    const char *s = "{\"id\": 42, \"greedy\": {\"logprobs\": {\"content\": ["
                    "{\"token\": \"Par\", \"logprob\": -0.5, \"top_logprobs\": ["
                    "{\"token\": \"Par\", \"logprob\": -0.5}, {\"token\": \"Ly\", \"logprob\": -1.0}]},"
                    "{\"token\": \"is\", \"logprob\": 0, \"top_logprobs\": [{\"token\": \"is\", \"logprob\": 0}]}]}}}";
    ck_assert_int_eq(parse(s, &p, &e), 1);
    ck_assert_str_eq(p.id, "42");
    ck_assert(p.id_is_int);
    ck_assert_near(p.id_num, 42, 0);
    ck_assert_uint_eq(p.greedy.ntok, 2);
    ck_assert_near(p.greedy.sum_logprob, -0.5, 0);
    ck_assert_ptr_nonnull(p.greedy.top_off);
    ck_assert_uint_eq(p.greedy.top_off[2], 3);
    ck_assert_near(p.greedy.top[1], -1.0, 0);
    ck_assert_ptr_null(p.samples);
    st_uq_prompt_free(&p);

    /* token objects as a plain list, and a digit-string id */
    s = "{\"id\": \"17\", \"samples\": [{\"logprobs\": [{\"token\": \"a\", \"logprob\": -1}], \"cluster\": 3}]}";
    ck_assert_int_eq(parse(s, &p, &e), 1);
    ck_assert(p.id_is_int);
    ck_assert_near(p.id_num, 17, 0);
    ck_assert_near(p.samples[0].sum_logprob, -1, 0);
    ck_assert_int_eq(p.samples[0].cluster, 3);
    st_uq_prompt_free(&p);
    /* OpenAI legacy / vLLM completions: token_logprobs + top_logprobs dicts */
    s = "{\"id\": 3, \"greedy\": {\"logprobs\": {\"tokens\": [\"a\", \"b\"], \"token_logprobs\": [-0.5, -0.25],"
        " \"top_logprobs\": [{\"a\": -0.5, \"c\": -1.5}, {\"b\": -0.25}], \"text_offset\": [0, 1]}}}";
    ck_assert_int_eq(parse(s, &p, &e), 1);
    ck_assert_near(p.greedy.sum_logprob, -0.75, 0);
    ck_assert_uint_eq(p.greedy.top_off[2], 3);
    ck_assert_near(p.greedy.top[1], -1.5, 0);
    st_uq_prompt_free(&p);
    s = "{\"id\": 3, \"greedy\": {\"logprobs\": {\"token_logprobs\": [null, -0.25]}}}";
    ck_assert_int_eq(parse(s, &p, &e), ST_EDATA);
    /* "007" keeps its text: not an integer id */
    ck_assert_int_eq(parse("{\"id\": \"007\"}", &p, &e), 1);
    ck_assert_int_eq(p.id_is_int, 0);
    st_uq_prompt_free(&p);
}
END_TEST

START_TEST(test_inputs)
{
    st_uq_prompt p;
    st_err e;
    const char *s = "{\"id\": 1, \"samples\": [{\"text\": \"a\"}, {\"text\": \"b\"}, {\"text\": \"c\"}],"
                    " \"sim\": [[1,0.5,0.2],[0.5,1,0.3],[0.2,0.3,1]],"
                    " \"inputs\": {\"sim\": [[1, 0.9], [0.9, 1]], \"map\": [0, 0, 1]}}";
    ck_assert_int_eq(parse(s, &p, &e), 1);
    ck_assert_uint_eq(p.k, 2);
    ck_assert_int_eq(p.in_map[2], 1);
    ck_assert_near(p.in_sim[1], 0.9, 0);
    st_uq_prompt_free(&p);
}
END_TEST

START_TEST(test_blank)
{
    st_uq_prompt p;
    st_err e;
    ck_assert_int_eq(parse("  \r\n", &p, &e), 0);
}
END_TEST

static void expect_bad(const char *s, const char *needle)
{
    st_uq_prompt p;
    st_err e;
    int rc = parse(s, &p, &e);
    ck_assert_msg(rc == ST_EDATA, "accepted: %s", s);
    ck_assert_int_eq(e.line, 7);
    ck_assert_str_eq(e.file, "in.jsonl");
    ck_assert_msg(strstr(e.msg, needle) != NULL, "message '%s' lacks '%s'", e.msg, needle);
}

START_TEST(test_bad_lines)
{
    expect_bad("{\"id\": 1, ", "malformed JSON");
    expect_bad("[1, 2]", "one JSON object");
    expect_bad("{\"prompt\": \"x\"}", "missing \"id\"");
    expect_bad("{\"id\": 1.5}", "string or an integer");
    expect_bad("{\"id\": 1, \"id\": 2}", "\"id\" given twice");
    expect_bad("{\"id\": 1, \"samples\": [{}], \"samples\": [{}]}", "\"samples\" given twice");
    expect_bad("{\"id\": 1, \"greedy\": {\"logprobs\": [-1], \"logprobs\": [-1]}}", "logprobs given twice");
    expect_bad("{\"id\": 1} x", "text after the end");
    expect_bad("{\"id\": 1, \"x\": [1, 2,]}", "malformed JSON");
    expect_bad("{\"id\": \"a\\u0000b\"}", "\\u0000");
    expect_bad("{\"id\": \"\\ud800\"}", "surrogate");
    expect_bad("{\"id\": \"a\xff\"}", "invalid UTF-8");
    expect_bad("{\"id\": \"a\xc0\x80\"}", "invalid UTF-8");
    expect_bad("{\"id\": \"a\tb\"}", "control character");
    expect_bad("{\"id\": 01}", "malformed JSON");
    expect_bad("{\"id\": 99999999999999999999}", "too big");
    expect_bad("{\"id\": 1, \"correct\": tru}", "malformed JSON");
    expect_bad("{\"id\": 1, \"greedy\": {\"logprobs\": [-0.1, 0.3]}}", "positive log-probability");
    expect_bad("{\"id\": 1, \"greedy\": {\"logprobs\": [-0.1, \"x\"]}}", "not a number");
    expect_bad("{\"id\": 1, \"greedy\": {\"logprobs\": [-1e999]}}", "malformed JSON");
    expect_bad("{\"id\": 1, \"greedy\": {\"logprobs\": []}}", "empty");
    expect_bad("{\"id\": 1, \"samples\": []}", "empty list");
    expect_bad("{\"id\": 1, \"samples\": [{\"sum_logprob\": 0.5}]}", "finite log-probability");
    expect_bad("{\"id\": 1, \"samples\": [{\"logprobs\": [-1, -2], \"n_tokens\": 3}]}", "n_tokens = 3");
    expect_bad("{\"id\": 1, \"samples\": [{\"logprobs\": [-1, -2], \"sum_logprob\": -1}]}", "disagrees");
    expect_bad("{\"id\": 1, \"samples\": [{\"cluster\": 0}, {}]}", "cluster is given for 1 of 2");
    expect_bad("{\"id\": 1, \"samples\": [{}, {}], \"entail\": [[1, 0], [0, 1], [0, 0]]}", "has 3 rows, expected 2");
    expect_bad("{\"id\": 1, \"samples\": [{}, {}], \"entail\": [[1, 0], [0]]}", "row 1 has 1 entries");
    expect_bad("{\"id\": 1, \"samples\": [{}, {}], \"sim\": [[1, 1.5], [0, 1]]}", "outside [0, 1]");
    expect_bad("{\"id\": 1, \"samples\": [{}, {}], \"contra\": [[0, -0.1], [0, 0]]}", "outside [0, 1]");
    expect_bad("{\"id\": 1, \"samples\": [{}, {}], \"entail\": [[1, 0.7], [0, 1]], \"contra\": [[0, 0.6], [0, 0]]}", "exceeds 1");
    expect_bad("{\"id\": 1, \"entail\": [[1]]}", "without samples");
    expect_bad("{\"id\": 1, \"samples\": [{}, {}], \"embeddings\": [[1, 2]]}", "expected 2");
    expect_bad("{\"id\": 1, \"samples\": [{}, {}], \"embeddings\": [[1, 2], [3]]}", "expected 2");
    expect_bad("{\"id\": 1, \"greedy\": {\"logprobs\": [-1], \"top_logprobs\": [[-1], [-2]]}}", "2 entries but there are 1");
    expect_bad("{\"id\": 1, \"correct\": 2}", "correct must be");
    expect_bad("{\"id\": 1, \"quality\": 1.5}", "quality must be");
    expect_bad("{\"id\": 1, \"samples\": [{}], \"inputs\": {\"sim\": [[1]], \"map\": [3]}}", "inputs.map[0]");
    expect_bad("{\"id\": 1, \"samples\": [{}], \"inputs\": {\"map\": [0]}}", "needs \"sim\" or \"embeddings\"");
}
END_TEST

START_TEST(test_duplicate_ids)
{
    st_uq_idset *set;
    st_err e;
    ck_assert_int_eq(st_uq_idset_new(&set, &e), 0);
    st_uq_prompt p;
    char line[64];
    /* many ids to exercise growth; the same id at another temperature is new */
    for (int i = 0; i < 3000; i++) {
        snprintf(line, sizeof line, "{\"id\": \"q%d\", \"temperature\": 0.5}", i);
        ck_assert_int_eq(st_uq_parse_line(line, strlen(line), "f", i + 1, &p, &e), 1);
        ck_assert_int_eq(st_uq_idset_add(set, p.id, p.temperature, p.line), 0);
        st_uq_prompt_free(&p);
    }
    const char *again = "{\"id\": \"q5\", \"temperature\": 0.5}";
    ck_assert_int_eq(st_uq_parse_line(again, strlen(again), "f", 9999, &p, &e), 1);
    ck_assert_int_eq(st_uq_idset_add(set, p.id, p.temperature, p.line), 6);
    st_uq_prompt_free(&p);
    const char *hot = "{\"id\": \"q5\", \"temperature\": 1.0}";
    ck_assert_int_eq(st_uq_parse_line(hot, strlen(hot), "f", 10000, &p, &e), 1);
    ck_assert_int_eq(st_uq_idset_add(set, p.id, p.temperature, p.line), 0);
    st_uq_prompt_free(&p);
    st_uq_idset_free(set);
}
END_TEST


START_TEST(test_arena_matches_malloc)
{
    /* the arena parser gives the same prompt, the same errors, and copes
     * with a line larger than its first block (1 MiB) */
    st_uq_arena *a;
    st_err e, e2;
    ck_assert_int_eq(st_uq_arena_new(&a, &e), 0);
    size_t m = 600, cap = 64 + m * m * 8; /* about 1.5 MB of JSON */
    char *big = malloc(cap);
    ck_assert_ptr_nonnull(big);
    size_t n = (size_t)snprintf(big, cap, "{\"id\": 5, \"samples\": [");
    for (size_t i = 0; i < m; i++)
        n += (size_t)snprintf(big + n, cap - n, "%s{\"sum_logprob\": -%zu.5, \"n_tokens\": 3}", i ? "," : "", i);
    n += (size_t)snprintf(big + n, cap - n, "], \"sim\": [");
    for (size_t i = 0; i < m; i++) {
        n += (size_t)snprintf(big + n, cap - n, "%s[", i ? "," : "");
        for (size_t j = 0; j < m; j++)
            n += (size_t)snprintf(big + n, cap - n, "%s0.%zu", j ? "," : "", (i + j) % 10);
        n += (size_t)snprintf(big + n, cap - n, "]");
    }
    n += (size_t)snprintf(big + n, cap - n, "]}");
    for (int round = 0; round < 3; round++) {
        st_uq_prompt p, q;
        ck_assert_int_eq(st_uq_parse_line_arena(big, n, "f", 1, ST_UQ_NEED_ALL, a, &p, &e), 1);
        ck_assert_int_eq(st_uq_parse_line(big, n, "f", 1, &q, &e2), 1);
        ck_assert_uint_eq(p.m, m);
        for (size_t i = 0; i < m; i++)
            ck_assert(p.samples[i].sum_logprob == q.samples[i].sum_logprob);
        ck_assert(memcmp(p.sim, q.sim, m * m * sizeof *p.sim) == 0);
        st_uq_prompt_free(&p); /* does not own: a no-op */
        st_uq_prompt_free(&q);
        st_uq_arena_reset(a);
        const char *bad = "{\"id\": 1, \"greedy\": {\"logprobs\": [-0.1, 0.3]}}";
        ck_assert_int_eq(st_uq_parse_line_arena(bad, strlen(bad), "f", 2, ST_UQ_NEED_ALL, a, &p, &e), ST_EDATA);
        ck_assert(strstr(e.msg, "positive") != NULL);
        ck_assert_int_eq(st_uq_parse_line_arena("{\"id\": [", 8, "f", 3, ST_UQ_NEED_ALL, a, &p, &e), ST_EDATA);
        ck_assert(strstr(e.msg, "string or an integer") != NULL);
        ck_assert_int_eq(st_uq_parse_line_arena("{\"id\": 1, \"x\": [", 15, "f", 3, ST_UQ_NEED_ALL, a, &p, &e),
                         ST_EDATA);
        ck_assert(strstr(e.msg, "malformed JSON") != NULL);
        st_uq_arena_reset(a);
    }
    free(big);
    st_uq_arena_free(a);
}
END_TEST

START_TEST(test_arena_grow)
{
    /* an array grown by doubling keeps its contents, in place while it is
     * the newest allocation, through new chunks and chunk resizes, with
     * other allocations in between */
    st_uq_arena *a;
    st_err e;
    ck_assert_int_eq(st_uq_arena_new(&a, &e), 0);
    for (int round = 0; round < 2; round++) {
        size_t n = 4, cap = 4;
        double *v = st_uq_arena_alloc(a, cap * sizeof *v);
        for (size_t i = 0; i < n; i++)
            v[i] = (double)i;
        char *other = NULL;
        for (; cap < ((size_t)4 << 20); cap *= 2) {
            v = st_uq_arena_grow(a, v, cap * sizeof *v, 2 * cap * sizeof *v);
            ck_assert_ptr_nonnull(v);
            for (size_t i = n; i < 2 * cap; i++)
                v[i] = (double)i;
            n = 2 * cap;
            if (cap == 1024) { /* something else in between */
                other = st_uq_arena_alloc(a, 100);
                memset(other, 'x', 100);
            }
        }
        size_t bad = 0; /* one assertion: Check records every ck_assert */
        for (size_t i = 0; i < n; i++)
            bad += v[i] != (double)i;
        for (int i = 0; i < 100; i++)
            bad += other[i] != 'x';
        ck_assert_uint_eq(bad, 0);
        st_uq_arena_reset(a);
    }
    st_uq_arena_free(a);
}
END_TEST

START_TEST(test_needs)
{
    /* only what the scores need is converted; the rest is checked for
     * syntax only */
    st_uq_arena *a;
    st_err e;
    st_uq_prompt p;
    ck_assert_int_eq(st_uq_arena_new(&a, &e), 0);
    const char *s = "{\"id\": 1, \"greedy\": {\"logprobs\": [-0.5, -0.25], \"text\": \"x\"},"
                    " \"samples\": [{\"logprobs\": [-1, 2]}], \"sim\": [[7]]}";
    ck_assert_int_eq(st_uq_parse_line_arena(s, strlen(s), "f", 1, ST_UQ_NEED_GREEDY_SUM, a, &p, &e), 1);
    ck_assert_near(p.greedy.sum_logprob, -0.75, 0);
    ck_assert_ptr_null(p.greedy.logprobs); /* per-token values not kept */
    ck_assert_ptr_null(p.samples);
    ck_assert_ptr_null(p.sim);
    st_uq_arena_reset(a);
    ck_assert_int_eq(st_uq_parse_line_arena(s, strlen(s), "f", 1, ST_UQ_NEED_GREEDY_TOKENS, a, &p, &e), 1);
    ck_assert_ptr_nonnull(p.greedy.logprobs);
    ck_assert_near(p.greedy.logprobs[1], -0.25, 0);
    st_uq_arena_reset(a);
    ck_assert_int_eq(st_uq_parse_line_arena(s, strlen(s), "f", 4, ST_UQ_NEED_SAMPLE_SUM, a, &p, &e), ST_EDATA);
    ck_assert_str_eq(e.msg, "samples[0].logprobs[1] = 2 is a positive log-probability");
    ck_assert_int_eq(e.line, 4);
    ck_assert_int_eq(e.col, (long)(strstr(s, "2]") - s) + 1);
    st_uq_arena_reset(a);
    /* a syntax error in a part nobody reads is still an error */
    const char *t = "{\"id\": 1, \"prompt\": {\"a\": [1, 2}, \"greedy\": {\"logprobs\": [-1]}}";
    ck_assert_int_eq(st_uq_parse_line_arena(t, strlen(t), "f", 1, ST_UQ_NEED_GREEDY_SUM, a, &p, &e), ST_EDATA);
    ck_assert(strstr(e.msg, "malformed JSON: unexpected '}', expected ',' or ']'") != NULL);
    ck_assert_int_eq(e.col, (long)(strstr(t, "}") - t) + 1);
    st_uq_arena_reset(a);
    /* deep nesting in a skipped value: up to the limit, iteratively */
    size_t depth = 1024, n = 0;
    char *deep = malloc(2 * 5000 + 64);
    ck_assert_ptr_nonnull(deep);
    n = (size_t)sprintf(deep, "{\"id\": 1, \"x\": ");
    for (size_t i = 0; i < depth; i++)
        deep[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    ck_assert_int_eq(st_uq_parse_line_arena(deep, n, "f", 1, ST_UQ_NEED_ALL, a, &p, &e), 1);
    st_uq_arena_reset(a);
    n = (size_t)sprintf(deep, "{\"id\": 1, \"x\": ");
    for (size_t i = 0; i < 5000; i++)
        deep[n++] = '[';
    ck_assert_int_eq(st_uq_parse_line_arena(deep, n, "f", 1, ST_UQ_NEED_ALL, a, &p, &e), ST_EDATA);
    ck_assert(strstr(e.msg, "nested deeper than 1024") != NULL);
    free(deep);
    /* escapes in keys and strings, exact numbers */
    const char *u = "{\"i\\u0064\": \"caf\\u00e9 \\ud83d\\ude00\\n\", \"temperature\": 7e-1,"
                    " \"samples\": [{\"sum_logprob\": -1.2345678901234567e-300, \"n_tokens\": 2}]}";
    ck_assert_int_eq(st_uq_parse_line_arena(u, strlen(u), "f", 1, ST_UQ_NEED_ALL, a, &p, &e), 1);
    ck_assert_str_eq(p.id, "caf\xc3\xa9 \xf0\x9f\x98\x80\n");
    ck_assert(p.temperature == 0.7);
    ck_assert(p.samples[0].sum_logprob == strtod("-1.2345678901234567e-300", NULL));
    st_uq_arena_reset(a);
    st_uq_arena_free(a);
}
END_TEST

static Suite *uq_input_suite(void)
{
    Suite *s = suite_create("uq_input");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_full_record);
    tcase_add_test(tc, test_openai_content);
    tcase_add_test(tc, test_inputs);
    tcase_add_test(tc, test_blank);
    tcase_add_test(tc, test_bad_lines);
    tcase_add_test(tc, test_duplicate_ids);
    tcase_add_test(tc, test_arena_matches_malloc);
    tcase_add_test(tc, test_needs);
    tcase_add_test(tc, test_arena_grow);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(uq_input_suite)
