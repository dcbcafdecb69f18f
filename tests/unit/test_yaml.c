/* Model files: the strict reader (every error names file:line:column), the
 * typed accessors, and the writer, whose output reads back bit-exact. */
#include "config.h"

#include <float.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "core/yaml.h"

/* Load text as "m.yaml"; the document, or NULL with e filled. */
static st_ydoc *load(const char *text, st_err *e)
{
    st_ydoc *d = NULL;
    st_err_clear(e);
    int rc = st_ydoc_load_string(&d, text, strlen(text), "m.yaml", e);
    if (rc == 0)
        ck_assert_ptr_nonnull(d);
    else
        ck_assert_ptr_null(d);
    return d;
}

static const char *fmt_err(const st_err *e)
{
    static char buf[1024];
    return st_err_format(e, buf, sizeof buf);
}

/* Loading text fails with exactly this formatted message. */
static void load_fails(const char *text, size_t len, const char *want)
{
    st_ydoc *d = NULL;
    st_err e;
    st_err_clear(&e);
    int rc = st_ydoc_load_string(&d, text, len, "m.yaml", &e);
    ck_assert_int_lt(rc, 0);
    ck_assert_ptr_null(d);
    ck_assert_str_eq(fmt_err(&e), want);
}
#define LOAD_FAILS(text, want) load_fails(text, strlen(text), want)

/* Root key k of text read with reader fn fails with this message. */
#define READ_FAILS(text, key, call, want)                                 \
    do {                                                                  \
        st_err e_;                                                        \
        st_ydoc *d_ = load(text, &e_);                                    \
        ck_assert_msg(d_ != NULL, "load: %s", fmt_err(&e_));              \
        const st_ynode *n = st_ymap_get(d_, st_ydoc_root(d_), key);       \
        ck_assert_ptr_nonnull(n);                                         \
        st_ydoc *doc = d_;                                                \
        st_err *e = &e_;                                                  \
        int rc_ = (call);                                                 \
        ck_assert_int_lt(rc_, 0);                                         \
        ck_assert_str_eq(fmt_err(&e_), want);                             \
        st_ydoc_free(d_);                                                 \
    } while (0)

/* ------------------------------------------------------------ reading */

START_TEST(test_tree_and_marks)
{
    const char *text = "model: hmm\n"
                       "version: 1\n"
                       "# a comment\n"
                       "states:\n"
                       "  - name: a   # trailing comment\n"
                       "    mean: 1.5\n"
                       "  - name: b\n"
                       "    mean: -2\n"
                       "pi: [0.25, 0.75]\n"
                       "nested:\n"
                       "  inner:\n"
                       "    x: \"quoted\"\n";
    st_err e;
    st_ydoc *d = load(text, &e);
    const st_ynode *root = st_ydoc_root(d);
    ck_assert_int_eq(st_ynode_kind(root), ST_YMAP);
    ck_assert_uint_eq(st_ynode_len(root), 5);
    ck_assert_str_eq(st_ymap_key_at(root, 2), "states");
    const st_ynode *states = st_ymap_get(d, root, "states");
    ck_assert_int_eq(st_ynode_kind(states), ST_YSEQ);
    ck_assert_uint_eq(st_ynode_len(states), 2);
    const st_ynode *b = st_yseq_at(states, 1);
    ck_assert_int_eq(st_ynode_line(b), 7);
    ck_assert_int_eq(st_ynode_col(b), 5);
    const st_ynode *mean = st_ymap_get(d, b, "mean");
    ck_assert_int_eq(st_ynode_line(mean), 8);
    ck_assert_int_eq(st_ynode_col(mean), 11);
    double x;
    ck_assert_int_eq(st_ynode_double(d, mean, -INFINITY, INFINITY, &x, &e), 0);
    ck_assert(x == -2.0);
    const st_ynode *pi = st_ymap_get(d, root, "pi");
    ck_assert_int_eq(st_ynode_line(st_yseq_at(pi, 1)), 9);
    ck_assert_int_eq(st_ynode_col(st_yseq_at(pi, 1)), 12);
    const st_ynode *inner = st_ymap_get(d, st_ymap_get(d, root, "nested"), "inner");
    const char *s;
    ck_assert_int_eq(st_ynode_string(d, st_ymap_get(d, inner, "x"), &s, &e), 0);
    ck_assert_str_eq(s, "quoted");
    ck_assert_ptr_null(st_ynode_text(inner));
    ck_assert_ptr_null(st_yseq_at(states, 2));
    ck_assert_ptr_null(st_ymap_key_at(root, 5));
    st_ydoc_free(d);
    st_ydoc_free(NULL);
}
END_TEST

START_TEST(test_syntax_errors_have_positions)
{
    /* empty input, comments only, an empty document */
    LOAD_FAILS("", "m.yaml:1:1: empty file: no YAML document");
    LOAD_FAILS("# nothing\n\n", "m.yaml:1:1: empty file: no YAML document");
    LOAD_FAILS("---\n", "m.yaml:2:1: empty YAML document");
    /* tabs anywhere, even where libyaml would allow them */
    LOAD_FAILS("a: 1\nb:\t2\n", "m.yaml:2:3: tab character: indent and separate with spaces");
    LOAD_FAILS("a:\n\tb: 2\n", "m.yaml:2:1: tab character: indent and separate with spaces");
    /* binary garbage */
    load_fails("a: 1\n\x01\x02", 7, "m.yaml:2:1: control character (binary data?)");
    load_fails("a: \0", 4, "m.yaml:1:4: NUL byte (binary data?)");
    LOAD_FAILS("a: \xc3\xa9t\xe9\n", "m.yaml:1:6: invalid UTF-8 (binary data?)");
    LOAD_FAILS("\xff\xfe" "a", "m.yaml:1:1: invalid UTF-8 (binary data?)");
    LOAD_FAILS("a: 1\nb: x\xc2\x85y\n", "m.yaml:2:5: control character (binary data?)");
    LOAD_FAILS("a: 1\nb: x\xe2\x80\xa8y\n", "m.yaml:2:5: Unicode line separator: use a plain newline");
    LOAD_FAILS("a: \"\xef\xbf\xbe\"\n",
               "m.yaml:1:5: control characters are not allowed");
    /* columns count characters, not bytes */
    LOAD_FAILS("\xc3\xa9t\xc3\xa9: [1, &x 2]\n", "m.yaml:1:10: anchors (&x) are not allowed in model files");
    LOAD_FAILS("a: 1\r\nb: 2\r\na: 3\r\n", "m.yaml:3:1: duplicate key 'a' (first at line 1)");
    /* anchors, aliases, tags, several documents */
    LOAD_FAILS("a: &x 1\nb: 2\n", "m.yaml:1:4: anchors (&x) are not allowed in model files");
    LOAD_FAILS("a: [1]\nb: *x\n", "m.yaml:2:4: aliases (*x) are not allowed in model files");
    LOAD_FAILS("a: !!float 1\n", "m.yaml:1:4: tags (tag:yaml.org,2002:float) are not allowed in model files");
    LOAD_FAILS("a: 1\n---\nb: 2\n",
               "m.yaml:2:1: more than one YAML document (a model file holds one)");
    /* duplicate keys, also quoted and nested */
    LOAD_FAILS("a: 1\nb: 2\na: 3\n", "m.yaml:3:1: duplicate key 'a' (first at line 1)");
    LOAD_FAILS("x:\n  k: 1\n  \"k\": 2\n", "m.yaml:3:3: duplicate key 'k' (first at line 2)");
    LOAD_FAILS("b: 0\na: 1\nb: 2\na: 3\n", "m.yaml:3:1: duplicate key 'b' (first at line 1)");
    /* complex keys */
    LOAD_FAILS("? [1, 2]\n: 3\n", "m.yaml:1:3: mapping keys must be scalars");
    /* libyaml's own errors keep their mark */
    LOAD_FAILS("a: [1, 2\nb: 3\n",
               "m.yaml:2:2: did not find expected ',' or ']' while parsing a flow sequence (line 1)");
    LOAD_FAILS("a: 1\n b: 2\n",
               "m.yaml:2:3: mapping values are not allowed in this context");
    LOAD_FAILS("a: \"abc\n",
               "m.yaml:2:1: found unexpected end of stream while scanning a quoted scalar (line 1)");
    LOAD_FAILS("a: \"x\\0y\"\n", "m.yaml:1:4: NUL character in a string");
}
END_TEST

START_TEST(test_crlf_bom_and_deep_nesting)
{
    st_err e;
    st_ydoc *d = load("\xef\xbb\xbf" "a: 1\r\nb:\r\n  - 2\r\n", &e);
    ck_assert_msg(d != NULL, "%s", fmt_err(&e));
    const st_ynode *b = st_yseq_at(st_ymap_get(d, st_ydoc_root(d), "b"), 0);
    ck_assert_int_eq(st_ynode_line(b), 3);
    ck_assert_int_eq(st_ynode_col(b), 5);
    st_ydoc_free(d);

    /* 300 nested lists: refused, not a stack overflow */
    char deep[700];
    memset(deep, '[', 300);
    memset(deep + 300, ']', 300);
    deep[600] = '\0';
    LOAD_FAILS(deep, "m.yaml:1:257: nesting deeper than 256 levels");
    memset(deep, '[', 200);
    memset(deep + 200, ']', 200);
    deep[400] = '\0';
    d = load(deep, &e);
    ck_assert_ptr_nonnull(d);
    st_ydoc_free(d);
}
END_TEST

START_TEST(test_load_file_errors)
{
    st_ydoc *d = (st_ydoc *)1;
    st_err e;
    st_err_clear(&e);
    ck_assert_int_eq(st_ydoc_load(&d, "/nonexistent/m.yaml", &e), ST_EIO);
    ck_assert_ptr_null(d);
    ck_assert_str_eq(fmt_err(&e), "/nonexistent/m.yaml: cannot open: No such file or directory");

    char path[] = "/tmp/test_yaml_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *fp = fdopen(fd, "w");
    fputs("model: hmm\nversion: 1\nfoo: 2\n", fp);
    fclose(fp);
    ck_assert_int_eq(st_ydoc_load(&d, path, &e), 0);
    ck_assert_int_eq(st_ymodel_header(d, "hmm", &e), 0);
    ck_assert_int_eq(st_ymap_check_unknown(d, st_ydoc_root(d), &e), ST_EDATA);
    char want[128];
    snprintf(want, sizeof want, "%s:3:1: unknown key 'foo' (known keys here: model, version)", path);
    ck_assert_str_eq(fmt_err(&e), want);
    st_ydoc_free(d);

    fp = fopen(path, "w");
    fclose(fp);
    ck_assert_int_eq(st_ydoc_load(&d, path, &e), ST_EFORMAT);
    snprintf(want, sizeof want, "%s:1:1: empty file: no YAML document", path);
    ck_assert_str_eq(fmt_err(&e), want);

    /* A regular file over the limit is refused from its size, unread (a
     * sparse file: reading it would take the time of 32 MiB of zeros and
     * report a NUL byte instead). */
    ck_assert_int_eq(truncate(path, (off_t)ST_YAML_MAX_BYTES + 1), 0);
    ck_assert_int_eq(st_ydoc_load(&d, path, &e), ST_ENOMEM);
    ck_assert_ptr_null(d);
    snprintf(want, sizeof want, "%s: model file of %lld bytes is larger than the 32 MiB limit", path,
             (long long)ST_YAML_MAX_BYTES + 1);
    ck_assert_str_eq(fmt_err(&e), want);
    ck_assert_int_eq(truncate(path, (off_t)ST_YAML_MAX_BYTES), 0);
    ck_assert_int_eq(st_ydoc_load(&d, path, &e), ST_EFORMAT);
    ck_assert_ptr_nonnull(strstr(fmt_err(&e), "NUL"));
    remove(path);
}
END_TEST

START_TEST(test_keys_required_and_unknown)
{
    st_err e;
    st_ydoc *d = load("model: hmm\nversion: 1\nK: 3\nextra: 1\nsub:\n  z: 1\n", &e);
    const st_ynode *root = st_ydoc_root(d), *n;
    ck_assert_int_eq(st_ymodel_header(d, "hmm", &e), 0);
    ck_assert_int_eq(st_ymap_require(d, root, "K", &n, &e), 0);
    ck_assert_ptr_null(st_ymap_get(d, root, "absent"));
    ck_assert_int_eq(st_ymap_require(d, root, "emission", &n, &e), ST_EDATA);
    ck_assert_ptr_null(n);
    ck_assert_str_eq(fmt_err(&e), "m.yaml:1:1: missing key 'emission'");
    ck_assert_int_eq(st_ymap_check_unknown(d, root, &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "m.yaml:4:1: unknown key 'extra' "
                                  "(known keys here: model, version, K, absent, emission)");
    st_ymap_get(d, root, "extra");
    /* sub was never asked for: unknown */
    ck_assert_int_eq(st_ymap_check_unknown(d, root, &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "m.yaml:5:1: unknown key 'sub' "
                                  "(known keys here: model, version, K, absent, emission, extra)");
    const st_ynode *sub = st_ymap_get(d, root, "sub");
    ck_assert_int_eq(st_ymap_check_unknown(d, root, &e), 0);
    ck_assert_int_eq(st_ymap_check_unknown(d, sub, &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "m.yaml:6:3: unknown key 'z'");
    /* a near miss gets a suggestion */
    st_ydoc_free(d);
    d = load("transtion: 1\nemision: 2\nK: 3\n", &e);
    root = st_ydoc_root(d);
    st_ymap_get(d, root, "K");
    st_ymap_get(d, root, "transition");
    st_ymap_get(d, root, "emission");
    ck_assert_int_eq(st_ymap_check_unknown(d, root, &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "m.yaml:1:1: unknown key 'transtion' (did you mean 'transition'?)");
    st_ymap_get(d, root, "transtion");
    ck_assert_int_eq(st_ymap_check_unknown(d, root, &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "m.yaml:2:1: unknown key 'emision' (did you mean 'emission'?)");
    ck_assert_int_eq(st_ymap_check_unknown(d, NULL, &e), 0);
    ck_assert_int_eq(st_ymap_require(d, NULL, "x", &n, &e), ST_EINTERNAL);
    ck_assert_int_eq(st_ynode_error(d, NULL, &e, ST_EDATA, "whole file %d", 1), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "m.yaml: whole file 1");
    /* asking a sequence for keys is a shape error */
    st_ydoc_free(d);
    d = load("a: [1, 2]\n", &e);
    const st_ynode *a = st_ymap_get(d, st_ydoc_root(d), "a");
    ck_assert_int_eq(st_ymap_require(d, a, "x", &n, &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "m.yaml:1:4: expected a mapping (key: value lines), found a list");
    st_ydoc_free(d);
}
END_TEST

START_TEST(test_model_header)
{
    st_err e;
    st_ydoc *d = load("model: ssm\nversion: 1\n", &e);
    ck_assert_int_eq(st_ymodel_header(d, "hmm", &e), ST_EFORMAT);
    ck_assert_str_eq(fmt_err(&e), "m.yaml:1:8: model is 'ssm', expected 'hmm'");
    st_ydoc_free(d);
    d = load("model: hmm\nversion: 2\n", &e);
    ck_assert_int_eq(st_ymodel_header(d, "hmm", &e), ST_EFORMAT);
    ck_assert_str_eq(fmt_err(&e),
                     "m.yaml:2:10: unsupported hmm model version 2 (this program reads version 1)");
    st_ydoc_free(d);
    d = load("model: hmm\n", &e);
    ck_assert_int_eq(st_ymodel_header(d, "hmm", &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "m.yaml:1:1: missing key 'version'");
    st_ydoc_free(d);
    d = load("version: 1\nK: 2\n", &e);
    ck_assert_int_eq(st_ymodel_header(d, "hmm", &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "m.yaml:1:1: missing key 'model'");
    st_ydoc_free(d);
    d = load("- 1\n- 2\n", &e);
    ck_assert_int_eq(st_ymodel_header(d, "mjp", &e), ST_EFORMAT);
    ck_assert_str_eq(fmt_err(&e),
                     "m.yaml:1:1: a model file is a mapping starting with 'model: mjp', found a list");
    st_ydoc_free(d);
    d = load("model: hmm\nversion: 1.5\n", &e);
    ck_assert_int_eq(st_ymodel_header(d, "hmm", &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "m.yaml:2:10: expected an integer, found '1.5'");
    st_ydoc_free(d);
}
END_TEST

/* ------------------------------------------------------------ numbers */

static double num(const char *spelling)
{
    char text[128];
    snprintf(text, sizeof text, "x: %s\n", spelling);
    st_err e;
    st_ydoc *d = load(text, &e);
    ck_assert_msg(d != NULL, "%s", fmt_err(&e));
    double x = NAN;
    int rc = st_ynode_double(d, st_ymap_get(d, st_ydoc_root(d), "x"), -INFINITY, INFINITY, &x, &e);
    ck_assert_msg(rc == 0, "%s: %s", spelling, fmt_err(&e));
    st_ydoc_free(d);
    return x;
}

static void num_fails(const char *spelling, const char *want)
{
    char text[128];
    snprintf(text, sizeof text, "x: %s\n", spelling);
    READ_FAILS(text, "x", st_ynode_double(doc, n, -INFINITY, INFINITY, &(double){0}, e), want);
}

START_TEST(test_number_spellings)
{
    ck_assert(num("1e-3") == 1e-3);
    ck_assert(num("1.0E+2") == 100.0);
    ck_assert(num("-0.5") == -0.5);
    ck_assert(num("+2") == 2.0);
    ck_assert(num(".5") == 0.5);
    ck_assert(num("5.") == 5.0);
    ck_assert(num("007") == 7.0);
    ck_assert(num("0.1") == 0.1);
    ck_assert(num("4.9406564584124654e-324") == 4.9406564584124654e-324);
    ck_assert(num("1e-400") == 0.0); /* underflow reads as 0, like strtod */
    double z = num("-0.0");
    ck_assert(z == 0 && signbit(z));
    ck_assert(num("1.7976931348623157e308") == DBL_MAX);

    num_fails(".nan", "m.yaml:1:4: non-finite number '.nan' is not allowed");
    num_fails("-.inf", "m.yaml:1:4: non-finite number '-.inf' is not allowed");
    num_fails(".Inf", "m.yaml:1:4: non-finite number '.Inf' is not allowed");
    num_fails("nan", "m.yaml:1:4: non-finite number 'nan' is not allowed");
    num_fails("1e999", "m.yaml:1:4: number '1e999' is too large for a double");
    num_fails("0x10", "m.yaml:1:4: expected a number, found '0x10'");
    num_fails("0o17", "m.yaml:1:4: expected a number, found '0o17'");
    num_fails("1_000", "m.yaml:1:4: expected a number, found '1_000'");
    num_fails("1,5", "m.yaml:1:4: expected a number, found '1,5'");
    num_fails("e5", "m.yaml:1:4: expected a number, found 'e5'");
    num_fails("1e", "m.yaml:1:4: expected a number, found '1e'");
    num_fails(".", "m.yaml:1:4: expected a number, found '.'");
    num_fails("\"1.5\"", "m.yaml:1:4: expected a number, found the quoted string '1.5'");
    num_fails("", "m.yaml:1:3: expected a number, found an empty value");
    num_fails("~", "m.yaml:1:4: expected a number, found '~'");
    num_fails("[1]", "m.yaml:1:4: expected a number, found a list");
    num_fails("{a: 1}", "m.yaml:1:4: expected a number, found a mapping");
}
END_TEST

START_TEST(test_ranges_ints_bools_enums)
{
    READ_FAILS("p: 1.5\n", "p", st_ynode_double(doc, n, 0, 1, &(double){0}, e),
               "m.yaml:1:4: value 1.5 out of range [0, 1]");
    READ_FAILS("p: -1e-300\n", "p", st_ynode_double(doc, n, 0, INFINITY, &(double){0}, e),
               "m.yaml:1:4: value -1e-300 out of range: must be >= 0");
    READ_FAILS("p: 0.3\n", "p", st_ynode_double(doc, n, -INFINITY, 0.1, &(double){0}, e),
               "m.yaml:1:4: value 0.3 out of range: must be <= 0.1");
    READ_FAILS("K: 0\n", "K", st_ynode_long(doc, n, 1, LONG_MAX, &(long){0}, e),
               "m.yaml:1:4: value 0 out of range: must be >= 1");
    READ_FAILS("K: 11\n", "K", st_ynode_long(doc, n, 1, 10, &(long){0}, e),
               "m.yaml:1:4: value 11 out of range [1, 10]");
    READ_FAILS("K: 2.5\n", "K", st_ynode_long(doc, n, LONG_MIN, LONG_MAX, &(long){0}, e),
               "m.yaml:1:4: expected an integer, found '2.5'");
    READ_FAILS("K: 99999999999999999999\n", "K",
               st_ynode_long(doc, n, LONG_MIN, LONG_MAX, &(long){0}, e),
               "m.yaml:1:4: integer '99999999999999999999' is too large");
    READ_FAILS("K: 1e30\n", "K", st_ynode_long(doc, n, LONG_MIN, LONG_MAX, &(long){0}, e),
               "m.yaml:1:4: integer '1e30' is too large");
    READ_FAILS("K: .inf\n", "K", st_ynode_long(doc, n, LONG_MIN, LONG_MAX, &(long){0}, e),
               "m.yaml:1:4: non-finite number '.inf' is not allowed");
    READ_FAILS("b: yes\n", "b", st_ynode_bool(doc, n, &(int){0}, e),
               "m.yaml:1:4: expected true or false, found 'yes'");
    READ_FAILS("b: \"true\"\n", "b", st_ynode_bool(doc, n, &(int){0}, e),
               "m.yaml:1:4: expected true or false, found 'true'");
    static const char *const kinds[] = {"gaussian", "poisson", NULL};
    READ_FAILS("e: gauss\n", "e", st_ynode_enum(doc, n, kinds, &(int){0}, e),
               "m.yaml:1:4: expected one of gaussian, poisson; found 'gauss'");
    READ_FAILS("e:\n  - a\n", "e", st_ynode_string(doc, n, &(const char *){0}, e),
               "m.yaml:2:3: expected a string, found a list");

    st_err er;
    st_ydoc *d = load("a: 1e3\nb: -42\nc: 3.0\nt: True\nf: false\ne: poisson\ns: ''\n", &er);
    const st_ynode *r = st_ydoc_root(d);
    long v;
    int bv, idx;
    const char *s;
    ck_assert_int_eq(st_ynode_long(d, st_ymap_get(d, r, "a"), 0, 1000, &v, &er), 0);
    ck_assert_int_eq(v, 1000);
    ck_assert_int_eq(st_ynode_long(d, st_ymap_get(d, r, "b"), LONG_MIN, LONG_MAX, &v, &er), 0);
    ck_assert_int_eq(v, -42);
    ck_assert_int_eq(st_ynode_long(d, st_ymap_get(d, r, "c"), LONG_MIN, LONG_MAX, &v, &er), 0);
    ck_assert_int_eq(v, 3);
    ck_assert_int_eq(st_ynode_bool(d, st_ymap_get(d, r, "t"), &bv, &er), 0);
    ck_assert_int_eq(bv, 1);
    ck_assert_int_eq(st_ynode_bool(d, st_ymap_get(d, r, "f"), &bv, &er), 0);
    ck_assert_int_eq(bv, 0);
    ck_assert_int_eq(st_ynode_enum(d, st_ymap_get(d, r, "e"), kinds, &idx, &er), 0);
    ck_assert_int_eq(idx, 1);
    ck_assert_int_eq(st_ynode_string(d, st_ymap_get(d, r, "s"), &s, &er), 0);
    ck_assert_str_eq(s, "");
    st_ydoc_free(d);
}
END_TEST

/* ------------------------------------------------- vectors and matrices */

START_TEST(test_vectors_and_matrices)
{
    st_err er;
    st_ydoc *d = load("v: [1, 2.5, -3]\n"
                      "m:\n"
                      "  - [1, 2]\n"
                      "  - [3, 4]\n"
                      "  - [5, 6]\n"
                      "b:\n"
                      "  -\n"
                      "    - 1\n"
                      "    - 2\n",
                      &er);
    const st_ynode *r = st_ydoc_root(d);
    double *v, *m;
    size_t len, rows, cols;
    ck_assert_int_eq(st_ynode_vector(d, st_ymap_get(d, r, "v"), 0, -INFINITY, INFINITY, &v, &len, &er), 0);
    ck_assert_uint_eq(len, 3);
    ck_assert(v[0] == 1 && v[1] == 2.5 && v[2] == -3);
    free(v);
    ck_assert_int_eq(st_ynode_matrix(d, st_ymap_get(d, r, "m"), 3, 2, 0, 10, &m, &rows, &cols, &er), 0);
    ck_assert_uint_eq(rows, 3);
    ck_assert_uint_eq(cols, 2);
    for (int i = 0; i < 6; i++)
        ck_assert(m[i] == i + 1);
    free(m);
    ck_assert_int_eq(st_ynode_matrix(d, st_ymap_get(d, r, "b"), 0, 0, 0, 10, &m, &rows, &cols, &er), 0);
    ck_assert_uint_eq(rows, 1);
    ck_assert_uint_eq(cols, 2);
    free(m);
    st_ydoc_free(d);

    READ_FAILS("v: [1, 2]\n", "v",
               st_ynode_vector(doc, n, 3, -INFINITY, INFINITY, &(double *){0}, NULL, e),
               "m.yaml:1:4: expected a list of 3 numbers, found 2");
    READ_FAILS("v: []\n", "v",
               st_ynode_vector(doc, n, 0, -INFINITY, INFINITY, &(double *){0}, NULL, e),
               "m.yaml:1:4: expected a non-empty list of numbers");
    READ_FAILS("v: 3\n", "v",
               st_ynode_vector(doc, n, 0, -INFINITY, INFINITY, &(double *){0}, NULL, e),
               "m.yaml:1:4: expected a list of numbers, found a scalar");
    READ_FAILS("v: [1, .nan, 3]\n", "v",
               st_ynode_vector(doc, n, 0, -INFINITY, INFINITY, &(double *){0}, NULL, e),
               "m.yaml:1:8: non-finite number '.nan' is not allowed");
    READ_FAILS("v: [0.5, 1.5]\n", "v", st_ynode_vector(doc, n, 0, 0, 1, &(double *){0}, NULL, e),
               "m.yaml:1:10: value 1.5 out of range [0, 1]");
    READ_FAILS("m:\n  - [1, 2]\n  - [3]\n", "m",
               st_ynode_matrix(doc, n, 0, 0, -INFINITY, INFINITY, &(double *){0}, NULL, NULL, e),
               "m.yaml:3:5: ragged matrix: row 1 has 1 entries, row 0 has 2");
    READ_FAILS("m:\n  - [1, 2]\n  - 3\n", "m",
               st_ynode_matrix(doc, n, 0, 0, -INFINITY, INFINITY, &(double *){0}, NULL, NULL, e),
               "m.yaml:3:5: row 1: expected a list of numbers, found a scalar");
    READ_FAILS("m: [1, 2]\n", "m",
               st_ynode_matrix(doc, n, 0, 0, -INFINITY, INFINITY, &(double *){0}, NULL, NULL, e),
               "m.yaml:1:5: row 0: expected a list of numbers, found a scalar");
    READ_FAILS("m:\n  - [1, 2]\n", "m",
               st_ynode_matrix(doc, n, 2, 2, -INFINITY, INFINITY, &(double *){0}, NULL, NULL, e),
               "m.yaml:2:3: expected a matrix of 2 rows, found 1");
    READ_FAILS("m:\n  - [1, 2]\n", "m",
               st_ynode_matrix(doc, n, 1, 3, -INFINITY, INFINITY, &(double *){0}, NULL, NULL, e),
               "m.yaml:2:5: row 0 has 2 entries, expected 3");
    READ_FAILS("m: []\n", "m",
               st_ynode_matrix(doc, n, 0, 0, -INFINITY, INFINITY, &(double *){0}, NULL, NULL, e),
               "m.yaml:1:4: expected a non-empty matrix (a list of rows)");
    READ_FAILS("m: [[]]\n", "m",
               st_ynode_matrix(doc, n, 0, 0, -INFINITY, INFINITY, &(double *){0}, NULL, NULL, e),
               "m.yaml:1:5: row 0 is empty");
    READ_FAILS("m:\n  - [1, 2]\n  - [3, x]\n", "m",
               st_ynode_matrix(doc, n, 0, 0, -INFINITY, INFINITY, &(double *){0}, NULL, NULL, e),
               "m.yaml:3:9: expected a number, found 'x'");
}
END_TEST

static int check_stoch(const char *text, int rates, double tol, st_err *e)
{
    st_ydoc *d = load(text, e);
    ck_assert_ptr_nonnull(d);
    const st_ynode *n = st_ymap_get(d, st_ydoc_root(d), "P");
    double *m;
    size_t r, c;
    int rc = st_ynode_matrix(d, n, 0, 0, -INFINITY, INFINITY, &m, &r, &c, e);
    if (rc && st_ynode_kind(n) == ST_YSEQ) { /* a vector */
        rc = st_ynode_vector(d, n, 0, -INFINITY, INFINITY, &m, &c, e);
        r = 1;
    }
    ck_assert_int_eq(rc, 0);
    rc = rates ? st_ynode_check_rates(d, n, m, r, c, tol, e)
               : st_ynode_check_stochastic(d, n, m, r, c, tol, e);
    free(m);
    st_ydoc_free(d);
    return rc;
}

START_TEST(test_stochastic_and_rates)
{
    st_err e;
    ck_assert_int_eq(check_stoch("P:\n  - [0.9, 0.1]\n  - [0.2, 0.8]\n", 0, 1e-9, &e), 0);
    ck_assert_int_eq(check_stoch("P: [0.25, 0.75]\n", 0, 1e-9, &e), 0);
    ck_assert_int_eq(check_stoch("P:\n  - [0.9, 0.1]\n  - [0.3, 0.8]\n", 0, 1e-9, &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "m.yaml:3:5: row 1 sums to 1.1000000000000001, not 1 (tolerance 1e-09)");
    ck_assert_int_eq(check_stoch("P:\n  - [1.1, -0.1]\n  - [0.2, 0.8]\n", 0, 1e-9, &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "m.yaml:2:11: row 0: probability -0.10000000000000001 is negative");
    ck_assert_int_eq(check_stoch("P: [0.25, 0.7]\n", 0, 1e-9, &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "m.yaml:1:4: row 0 sums to 0.94999999999999996, not 1 (tolerance 1e-09)");
    ck_assert_int_eq(check_stoch("P: [0.25, 0.7]\n", 0, 0.1, &e), 0);

    ck_assert_int_eq(check_stoch("P:\n  - [-1, 1]\n  - [2000, -2000]\n", 1, 1e-12, &e), 0);
    ck_assert_int_eq(check_stoch("P:\n  - [-1, 1]\n  - [2, -2.5]\n", 1, 1e-9, &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e),
                     "m.yaml:3:5: row 1 of the rate matrix sums to -0.5, not 0 (tolerance 1e-09)");
    ck_assert_int_eq(check_stoch("P:\n  - [1, -1]\n  - [2, -2]\n", 1, 1e-9, &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "m.yaml:2:9: row 0: off-diagonal rate -1 is negative");
    ck_assert_int_eq(check_stoch("P:\n  - [0, 0, 0]\n  - [0, 0, 0]\n", 1, 1e-9, &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "m.yaml:2:3: rate matrix must be square, found 2 x 3");
}
END_TEST

/* ------------------------------------------------------------- writing */

/* Writer output into a malloc'ed string. */
typedef struct {
    char *buf;
    size_t len;
    FILE *fp;
    st_yw w;
} membuf;

static void mb_open(membuf *mb)
{
    mb->buf = NULL;
    mb->len = 0;
    mb->fp = open_memstream(&mb->buf, &mb->len);
    ck_assert_ptr_nonnull(mb->fp);
    st_yw_init(&mb->w, mb->fp);
}

static int mb_close(membuf *mb, st_err *e)
{
    int rc = st_yw_finish(&mb->w, e);
    fclose(mb->fp);
    return rc;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Doubles of every magnitude: random bit patterns (all exponents, both
 * signs, subnormals included) plus the hard cases. */
static size_t test_doubles(double *x, size_t n)
{
    static const double special[] = {0.1, -0.0, 0.0, 1e308, -1e308, DBL_MAX, -DBL_MAX, DBL_MIN,
                                     4.9406564584124654e-324, 2.2250738585072009e-308,
                                     1.0 / 3, 2.0 / 3, 1e-8, 5e-324, 9007199254740993.0,
                                     123456789012345678.0, 0.30000000000000004, 1e21, 1e22,
                                     1e23, 8.41e21, 5e-310, 1, -1, 100, 1e15, 1e16, 1e17};
    size_t k = 0, ns = sizeof special / sizeof special[0];
    for (; k < ns && k < n; k++)
        x[k] = special[k];
    uint64_t s = 42;
    while (k < n) {
        uint64_t bits = splitmix(&s);
        if (k % 4 == 0)
            bits &= 0x800FFFFFFFFFFFFFULL; /* subnormal */
        double v;
        memcpy(&v, &bits, sizeof v);
        if (isfinite(v))
            x[k++] = v;
    }
    return k;
}

START_TEST(test_round_trip_doubles)
{
    enum { N = 20000, C = 10 };
    double *x = malloc(N * sizeof *x);
    test_doubles(x, N);
    membuf mb;
    mb_open(&mb);
    st_yw_key_string(&mb.w, "model", "test");
    st_yw_key_long(&mb.w, "version", 1);
    st_yw_key_double(&mb.w, "first", x[0]);
    st_yw_key_double(&mb.w, "negzero", -0.0);
    st_yw_key_vector(&mb.w, "v", x, N);
    st_yw_key_matrix(&mb.w, "m", x, N / C, C);
    st_err e;
    ck_assert_int_eq(mb_close(&mb, &e), 0);

    st_ydoc *d = load(mb.buf, &e);
    ck_assert_msg(d != NULL, "%s", fmt_err(&e));
    ck_assert_int_eq(st_ymodel_header(d, "test", &e), 0);
    const st_ynode *r = st_ydoc_root(d);
    double *v, *m, f, nz;
    size_t rows, cols;
    ck_assert_int_eq(st_ynode_double(d, st_ymap_get(d, r, "first"), -INFINITY, INFINITY, &f, &e), 0);
    ck_assert_int_eq(st_ynode_double(d, st_ymap_get(d, r, "negzero"), -INFINITY, INFINITY, &nz, &e), 0);
    ck_assert(nz == 0 && signbit(nz));
    ck_assert(f == x[0]);
    ck_assert_int_eq(st_ynode_vector(d, st_ymap_get(d, r, "v"), N, -INFINITY, INFINITY, &v, NULL, &e), 0);
    ck_assert_int_eq(st_ynode_matrix(d, st_ymap_get(d, r, "m"), N / C, C, -INFINITY, INFINITY, &m,
                                     &rows, &cols, &e), 0);
    ck_assert_int_eq(st_ymap_check_unknown(d, r, &e), 0);
    for (size_t i = 0; i < N; i++) {
        ck_assert_msg(memcmp(&v[i], &x[i], sizeof(double)) == 0, "v[%zu]: %.17g read as %.17g", i,
                      x[i], v[i]);
        ck_assert_msg(memcmp(&m[i], &x[i], sizeof(double)) == 0, "m[%zu]: %.17g read as %.17g", i,
                      x[i], m[i]);
    }
    free(v);
    free(m);
    st_ydoc_free(d);
    free(mb.buf);
    free(x);
}
END_TEST

START_TEST(test_double_spelling)
{
    char b[32];
    st_yw_format_double(b, 0.1);
    ck_assert_str_eq(b, "0.1");
    st_yw_format_double(b, 1e-8);
    ck_assert_str_eq(b, "1.0e-08");
    st_yw_format_double(b, 2.5e-8);
    ck_assert_str_eq(b, "2.5e-08");
    st_yw_format_double(b, 1e308);
    ck_assert_str_eq(b, "1.0e+308");
    st_yw_format_double(b, -0.0);
    ck_assert_str_eq(b, "-0.0");
    st_yw_format_double(b, 3);
    ck_assert_str_eq(b, "3");
    st_yw_format_double(b, 1.0 / 3);
    ck_assert_str_eq(b, "0.3333333333333333");
    st_yw_format_double(b, 0.30000000000000004);
    ck_assert_str_eq(b, "0.30000000000000004");
    st_yw_format_double(b, 4.9406564584124654e-324);
    ck_assert_str_eq(b, "5.0e-324");
    st_yw_format_double(b, 2.2250738585072009e-308);
    ck_assert_str_eq(b, "2.225073858507201e-308");
    st_yw_format_double(b, 1.5e-320);
    ck_assert_str_eq(b, "1.5e-320");
    st_yw_format_double(b, -DBL_MAX);
    ck_assert_str_eq(b, "-1.7976931348623157e+308");
    st_yw_format_double(b, NAN);
    ck_assert_str_eq(b, ".nan");
    st_yw_format_double(b, -INFINITY);
    ck_assert_str_eq(b, "-.inf");
}
END_TEST

START_TEST(test_writer_layout_and_nesting)
{
    membuf mb;
    mb_open(&mb);
    st_yw_comment(&mb.w, "written by %s\nsecond line", "test");
    st_yw_key_string(&mb.w, "model", "hmm");
    st_yw_key_long(&mb.w, "version", 1);
    st_yw_key_bool(&mb.w, "fitted", 1);
    st_yw_key_string(&mb.w, "name", "a: \"b\"\n\tc \xc3\xa9 yes");
    st_yw_key_string(&mb.w, "word", "no");
    st_yw_key_string(&mb.w, "empty", "");
    st_yw_begin_map(&mb.w, "emission");
    st_yw_key_string(&mb.w, "kind", "gaussian");
    st_yw_key_matrix(&mb.w, "means", (const double[]){1, 2, 3, 4}, 2, 2);
    st_yw_begin_map(&mb.w, "none");
    st_yw_end(&mb.w);
    st_yw_end(&mb.w);
    st_yw_begin_list(&mb.w, "states");
    st_yw_item_map(&mb.w);
    st_yw_key_string(&mb.w, "name", "a");
    st_yw_key_long_vector(&mb.w, "ids", (const long[]){1, -2}, 2);
    st_yw_item_map(&mb.w);
    st_yw_item_map(&mb.w);
    st_yw_comment(&mb.w, "third");
    st_yw_key_string(&mb.w, "name", "c");
    st_yw_begin_list(&mb.w, "inner");
    st_yw_end(&mb.w);
    st_yw_end(&mb.w);
    st_yw_key_vector(&mb.w, "pi", (const double[]){0.5, 0.25, 0.25}, 3);
    st_yw_key_vector(&mb.w, "nothing", NULL, 0);
    st_yw_key_string_vector(&mb.w, "names", (const char *const[]){"a", "b c", "1", "x,y"}, 4);
    st_err e;
    ck_assert_int_eq(mb_close(&mb, &e), 0);
    ck_assert_str_eq(mb.buf, "# written by test\n"
                             "# second line\n"
                             "model: hmm\n"
                             "version: 1\n"
                             "fitted: true\n"
                             "name: \"a: \\\"b\\\"\\n\\tc \xc3\xa9 yes\"\n"
                             "word: \"no\"\n"
                             "empty: \"\"\n"
                             "emission:\n"
                             "  kind: gaussian\n"
                             "  means:\n"
                             "    - [1, 2]\n"
                             "    - [3, 4]\n"
                             "  none:\n"
                             "    {}\n"
                             "states:\n"
                             "  - name: a\n"
                             "    ids: [1, -2]\n"
                             "  - {}\n"
                             "    # third\n"
                             "  - name: c\n"
                             "    inner:\n"
                             "      []\n"
                             "pi: [0.5, 0.25, 0.25]\n"
                             "nothing: []\n"
                             "names: [a, \"b c\", \"1\", \"x,y\"]\n");

    /* and it reads back as the same tree */
    st_ydoc *d = load(mb.buf, &e);
    ck_assert_msg(d != NULL, "%s", fmt_err(&e));
    const st_ynode *r = st_ydoc_root(d), *n;
    const char *s;
    ck_assert_int_eq(st_ynode_string(d, st_ymap_get(d, r, "name"), &s, &e), 0);
    ck_assert_str_eq(s, "a: \"b\"\n\tc \xc3\xa9 yes");
    ck_assert_int_eq(st_ynode_string(d, st_ymap_get(d, r, "word"), &s, &e), 0);
    ck_assert_str_eq(s, "no");
    n = st_ymap_get(d, st_ymap_get(d, r, "emission"), "none");
    ck_assert_int_eq(st_ynode_kind(n), ST_YMAP);
    ck_assert_uint_eq(st_ynode_len(n), 0);
    n = st_ymap_get(d, r, "names");
    ck_assert_uint_eq(st_ynode_len(n), 4);
    ck_assert_str_eq(st_ynode_text(st_yseq_at(n, 3)), "x,y");
    n = st_ymap_get(d, st_yseq_at(st_ymap_get(d, r, "states"), 0), "ids");
    long *ids;
    size_t nids;
    ck_assert_int_eq(st_ynode_long_vector(d, n, 2, LONG_MIN, LONG_MAX, &ids, &nids, &e), 0);
    ck_assert_int_eq(ids[0], 1);
    ck_assert_int_eq(ids[1], -2);
    free(ids);
    ck_assert_int_eq(st_ynode_long_vector(d, n, 0, 0, 5, &ids, &nids, &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "m.yaml:18:14: value -2 out of range [0, 5]");
    ck_assert_int_eq(st_ynode_long_vector(d, n, 3, 0, 5, &ids, &nids, &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "m.yaml:18:10: expected a list of 3 integers, found 2");
    n = st_ymap_get(d, r, "states");
    ck_assert_uint_eq(st_ynode_len(n), 3);
    ck_assert_int_eq(st_ynode_kind(st_yseq_at(n, 1)), ST_YMAP);
    ck_assert_uint_eq(st_ynode_len(st_yseq_at(n, 1)), 0);
    n = st_ymap_get(d, st_yseq_at(n, 2), "inner");
    ck_assert_int_eq(st_ynode_kind(n), ST_YSEQ);
    ck_assert_uint_eq(st_ynode_len(n), 0);
    st_ydoc_free(d);
    free(mb.buf);
}
END_TEST

START_TEST(test_writer_reports_problems)
{
    membuf mb;
    st_err e;
    mb_open(&mb);
    st_yw_key_double(&mb.w, "x", NAN);
    ck_assert_int_eq(mb_close(&mb, &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "non-finite number .nan written for 'x'");
    free(mb.buf);

    mb_open(&mb);
    st_yw_key_string(&mb.w, "s", "bad \xff byte");
    ck_assert_int_eq(mb_close(&mb, &e), ST_EDATA);
    ck_assert_str_eq(fmt_err(&e), "string is not valid UTF-8");
    free(mb.buf);

    mb_open(&mb);
    st_yw_begin_map(&mb.w, "open");
    st_yw_key_long(&mb.w, "k", 1);
    ck_assert_int_eq(mb_close(&mb, &e), ST_EINTERNAL);
    free(mb.buf);

    /* comments never carry what the reader rejects */
    mb_open(&mb);
    st_yw_comment(&mb.w, "data\tfile \xff\x01 \xc3\xa9");
    st_yw_key_long(&mb.w, "k", 1);
    ck_assert_int_eq(mb_close(&mb, &e), 0);
    ck_assert_str_eq(mb.buf, "# data file ?? \xc3\xa9\nk: 1\n");
    st_ydoc *d = load(mb.buf, &e);
    ck_assert_ptr_nonnull(d);
    st_ydoc_free(d);
    free(mb.buf);

    mb_open(&mb);
    st_yw_end(&mb.w);
    ck_assert_int_eq(mb_close(&mb, &e), ST_EINTERNAL);
    free(mb.buf);

    mb_open(&mb);
    st_yw_begin_list(&mb.w, "l");
    st_yw_key_long(&mb.w, "k", 1);
    st_yw_end(&mb.w);
    ck_assert_int_eq(mb_close(&mb, &e), ST_EINTERNAL);
    free(mb.buf);

    /* a full disk is an error, not a silent truncation */
    FILE *full = fopen("/dev/full", "w");
    if (full) {
        st_yw w;
        st_yw_init(&w, full);
        st_yw_key_long(&w, "k", 1);
        ck_assert_int_eq(st_yw_finish(&w, &e), ST_EIO);
        fclose(full);
    }
}
END_TEST

/* ------------------------------------------------------------ fixtures */

/* The reader a family would write, for the "test" family of the fixtures
 * in tests/data/yaml: every key optional except the header. */
static int read_test_model(const char *path, st_err *e)
{
    st_ydoc *d;
    int rc = st_ydoc_load(&d, path, e);
    if (rc)
        return rc;
    const st_ynode *r = st_ydoc_root(d), *n;
    static const char *const kinds[] = {"gaussian", "poisson", NULL};
    double x, *v = NULL, *m = NULL;
    long l;
    int b, k;
    size_t len, rows, cols;
    const char *s;
    rc = st_ymodel_header(d, "test", e);
    if (rc == 0 && (n = st_ymap_get(d, r, "x")))
        rc = st_ynode_double(d, n, 0, 1, &x, e);
    if (rc == 0 && (n = st_ymap_get(d, r, "n")))
        rc = st_ynode_long(d, n, 1, 100, &l, e);
    if (rc == 0 && (n = st_ymap_get(d, r, "flag")))
        rc = st_ynode_bool(d, n, &b, e);
    if (rc == 0 && (n = st_ymap_get(d, r, "kind")))
        rc = st_ynode_enum(d, n, kinds, &k, e);
    if (rc == 0 && (n = st_ymap_get(d, r, "name")))
        rc = st_ynode_string(d, n, &s, e);
    if (rc == 0 && (n = st_ymap_get(d, r, "v"))) {
        rc = st_ynode_vector(d, n, 0, -INFINITY, INFINITY, &v, &len, e);
        free(v);
    }
    if (rc == 0 && (n = st_ymap_get(d, r, "P"))) {
        rc = st_ynode_matrix(d, n, 0, 0, -INFINITY, INFINITY, &m, &rows, &cols, e);
        if (rc == 0)
            rc = st_ynode_check_stochastic(d, n, m, rows, cols, 1e-9, e);
        free(m);
    }
    if (rc == 0 && (n = st_ymap_get(d, r, "Q"))) {
        rc = st_ynode_matrix(d, n, 0, 0, -INFINITY, INFINITY, &m, &rows, &cols, e);
        if (rc == 0)
            rc = st_ynode_check_rates(d, n, m, rows, cols, 1e-9, e);
        free(m);
    }
    if (rc == 0)
        rc = st_ymap_check_unknown(d, r, e);
    st_ydoc_free(d);
    return rc;
}

static const char *fixture(const char *name)
{
    static char path[1024];
    const char *top = getenv("top_srcdir");
    snprintf(path, sizeof path, "%s/tests/data/yaml/%s", top ? top : ".", name);
    return path;
}

START_TEST(test_fixtures)
{
    st_err e;
    st_err_clear(&e);
    ck_assert_msg(read_test_model(fixture("good.yaml"), &e) == 0, "%s", fmt_err(&e));
    ck_assert_msg(read_test_model(fixture("good_crlf_bom.yaml"), &e) == 0, "%s", fmt_err(&e));
    FILE *fp = fopen(fixture("errors.txt"), "r");
    ck_assert_msg(fp != NULL, "cannot open %s", fixture("errors.txt"));
    char line[512];
    int count = 0;
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '#')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *sp = strchr(line, ' ');
        ck_assert_ptr_nonnull(sp);
        *sp = '\0';
        const char *path = fixture(line);
        char want[1100];
        snprintf(want, sizeof want, "%s:%s", path, sp + 1);
        st_err_clear(&e);
        int rc = read_test_model(path, &e);
        ck_assert_msg(rc < 0, "%s: accepted", line);
        ck_assert_str_eq(fmt_err(&e), want);
        count++;
    }
    fclose(fp);
    ck_assert_int_ge(count, 28);

    /* a directory is a read error, not a crash */
    ck_assert_int_eq(read_test_model(fixture(""), &e), ST_EIO);
}
END_TEST

/* ------------------------------------------------------------ robustness */

static const char valid_model[] =
    "# a model\n"
    "model: hmm\n"
    "version: 1\n"
    "K: 2\n"
    "transition:\n"
    "  - [0.9, 0.1]\n"
    "  - [0.2, 0.8]\n"
    "emission:\n"
    "  kind: gaussian\n"
    "  states:\n"
    "    - {mean: 1.5, var: 0.25}\n"
    "    - mean: -2\n"
    "      var: 1e-3\n"
    "name: \"two \\u00e9tats\"\n"
    "text: |\n"
    "  block\n"
    "  scalar\n";

/* Everything must fail cleanly or succeed; walk whatever loaded. */
static void walk(const st_ydoc *d, const st_ynode *n, int depth)
{
    st_err e;
    double x;
    long l;
    int b;
    const char *s;
    ck_assert_int_ge(st_ynode_line(n), 1);
    ck_assert_int_ge(st_ynode_col(n), 1);
    switch (st_ynode_kind(n)) {
    case ST_YSCALAR:
        (void)st_ynode_double(d, n, -INFINITY, INFINITY, &x, &e);
        (void)st_ynode_long(d, n, LONG_MIN, LONG_MAX, &l, &e);
        (void)st_ynode_bool(d, n, &b, &e);
        (void)st_ynode_string(d, n, &s, &e);
        break;
    case ST_YSEQ:
        for (size_t i = 0; i < st_ynode_len(n); i++)
            walk(d, st_yseq_at(n, i), depth + 1);
        break;
    case ST_YMAP:
        for (size_t i = 0; i < st_ynode_len(n); i++)
            walk(d, st_ymap_value_at(n, i), depth + 1);
        (void)st_ymap_check_unknown(d, n, &e);
        break;
    }
}

static void try_load(const char *text, size_t len)
{
    st_ydoc *d = NULL;
    st_err e;
    st_err_clear(&e);
    int rc = st_ydoc_load_string(&d, text, len, "f.yaml", &e);
    if (rc == 0) {
        walk(d, st_ydoc_root(d), 0);
        st_ydoc_free(d);
    } else {
        ck_assert_ptr_null(d);
        ck_assert(e.msg[0] != '\0');
        ck_assert_ptr_null(strchr(e.msg, '\n'));
        ck_assert_str_eq(e.file, "f.yaml");
        if (rc != ST_ENOMEM)
            ck_assert_int_ge(e.line, 1);
    }
}

START_TEST(test_fuzz_truncated_and_mutated)
{
    size_t len = strlen(valid_model);
    /* every prefix, into an exact-size buffer so ASan sees overreads */
    for (size_t k = 0; k <= len; k++) {
        char *p = malloc(k ? k : 1);
        memcpy(p, valid_model, k);
        try_load(p, k);
        free(p);
    }
    /* single-byte mutations with bytes YAML cares about */
    static const char alphabet[] = "-:[]{},#&*!|>'\"%@` \n?\t\x01\xc3\xff" "0.e";
    uint64_t s = 7;
    char *p = malloc(len);
    for (int it = 0; it < 4000; it++) {
        memcpy(p, valid_model, len);
        int nmut = 1 + (int)(splitmix(&s) % 3);
        for (int j = 0; j < nmut; j++)
            p[splitmix(&s) % len] = alphabet[splitmix(&s) % (sizeof alphabet - 1)];
        try_load(p, len);
    }
    free(p);
    /* random bytes and random YAML-ish tokens */
    char buf[256];
    for (int it = 0; it < 2000; it++) {
        size_t n = splitmix(&s) % sizeof buf;
        for (size_t j = 0; j < n; j++)
            buf[j] = (it & 1) ? (char)splitmix(&s) : alphabet[splitmix(&s) % (sizeof alphabet - 1)];
        try_load(buf, n);
    }
}
END_TEST

static Suite *yaml_suite(void)
{
    Suite *s = suite_create("yaml");
    TCase *tc = tcase_create("read");
    tcase_add_test(tc, test_tree_and_marks);
    tcase_add_test(tc, test_syntax_errors_have_positions);
    tcase_add_test(tc, test_crlf_bom_and_deep_nesting);
    tcase_add_test(tc, test_load_file_errors);
    tcase_add_test(tc, test_keys_required_and_unknown);
    tcase_add_test(tc, test_model_header);
    tcase_add_test(tc, test_number_spellings);
    tcase_add_test(tc, test_ranges_ints_bools_enums);
    tcase_add_test(tc, test_vectors_and_matrices);
    tcase_add_test(tc, test_stochastic_and_rates);
    tcase_add_test(tc, test_fixtures);
    suite_add_tcase(s, tc);
    tc = tcase_create("write");
    tcase_add_test(tc, test_round_trip_doubles);
    tcase_add_test(tc, test_double_spelling);
    tcase_add_test(tc, test_writer_layout_and_nesting);
    tcase_add_test(tc, test_writer_reports_problems);
    suite_add_tcase(s, tc);
    tc = tcase_create("robust");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_fuzz_truncated_and_mutated);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(yaml_suite)
