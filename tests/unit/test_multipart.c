/* test_multipart.c: daytona-local's multipart/form-data parser and emitter
 * (tests/daytona-local/multipart.c), fed bytes with no server. */
#include "support.h"

#include "multipart.h"
#include "server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B "XyZ-b0undary"

/* util.c (linked for dl_buf) reads daytona-local's stop flag, defined in its main.c. */
volatile sig_atomic_t g_dl_stopping;

/* What the callback saw: up to 8 parts, copied. */
struct seen {
    int n;
    char name[8][64];
    char filename[8][64];
    int has_filename[8];
    char data[8][256];
    size_t len[8];
    int stop_at;            /* 1-based part index whose callback returns 7; 0: never */
};

static int collect(void *ud, const struct dl_mp_part *part)
{
    struct seen *s = ud;
    if (s->n < 8) {
        snprintf(s->name[s->n], sizeof(s->name[0]), "%s", part->name);
        s->has_filename[s->n] = part->filename != NULL;
        if (part->filename)
            snprintf(s->filename[s->n], sizeof(s->filename[0]), "%s", part->filename);
        size_t keep = part->len < sizeof(s->data[0]) ? part->len : sizeof(s->data[0]) - 1;
        memcpy(s->data[s->n], part->data, keep);
        s->len[s->n] = part->len;
    }
    s->n++;
    return s->stop_at && s->n == s->stop_at ? 7 : 0;
}

static int parse(const char *body, size_t len, struct seen *s, char *err, size_t errlen)
{
    return dl_mp_parse(body, len, B, collect, s, err, errlen);
}

static void mp_parse__two_normal_parts__come_in_order_with_names_and_bytes(void **state)
{
    static const char body[] =
        "--" B "\r\n"
        "Content-Disposition: form-data; name=\"greeting\"\r\n\r\n"
        "hello\r\n"
        "--" B "\r\n"
        "Content-Disposition: form-data; name=\"upload\"; filename=\"a b.txt\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
        "line1\r\nline2\r\n"
        "--" B "--\r\n";
    struct seen s = {0};
    char err[128] = "";
    assert_int_equal(parse(body, sizeof(body) - 1, &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.name[0], "greeting");
    assert_false(s.has_filename[0]);
    assert_int_equal(s.len[0], 5);
    assert_memory_equal(s.data[0], "hello", 5);
    assert_string_equal(s.name[1], "upload");
    assert_true(s.has_filename[1]);
    assert_string_equal(s.filename[1], "a b.txt");
    /* The CRLF inside the data stays; only the one before the delimiter goes. */
    assert_int_equal(s.len[1], 12);
    assert_memory_equal(s.data[1], "line1\r\nline2", 12);
}

static void mp_parse__path_field_before_its_file__is_seen_first(void **state)
{
    static const char body[] =
        "--" B "\r\n"
        "Content-Disposition: form-data; name=\"files[0].path\"\r\n\r\n"
        "src/calc.py\r\n"
        "--" B "\r\n"
        "Content-Disposition: form-data; name=\"files[0].file\"; filename=\"calc.py\"\r\n\r\n"
        "def add(a, b):\n    return a + b\n\r\n"
        "--" B "--\r\n";
    struct seen s = {0};
    char err[128] = "";
    assert_int_equal(parse(body, sizeof(body) - 1, &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.name[0], "files[0].path");
    assert_string_equal(s.data[0], "src/calc.py");
    assert_string_equal(s.name[1], "files[0].file");
    assert_string_equal(s.data[1], "def add(a, b):\n    return a + b\n");
}

static void mp_parse__preamble_before_the_first_delimiter__is_skipped(void **state)
{
    static const char body[] =
        "ignore me\r\n"
        "--" B "\r\n"
        "Content-Disposition: form-data; name=x\r\n\r\n"
        "1\r\n"
        "--" B "--";
    struct seen s = {0};
    char err[128] = "";
    assert_int_equal(parse(body, sizeof(body) - 1, &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.name[0], "x");
    assert_string_equal(s.data[0], "1");
}

static void mp_parse__boundary_text_inside_data_without_crlf__stays_data(void **state)
{
    static const char body[] =
        "--" B "\r\n"
        "Content-Disposition: form-data; name=\"f\"\r\n\r\n"
        "a--" B "b\r\n"
        "--" B "--\r\n";
    struct seen s = {0};
    char err[128] = "";
    assert_int_equal(parse(body, sizeof(body) - 1, &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.data[0], "a--" B "b");
}

static void mp_parse__body_without_the_boundary__is_rejected(void **state)
{
    static const char body[] =
        "--other\r\n"
        "Content-Disposition: form-data; name=\"f\"\r\n\r\n"
        "x\r\n"
        "--other--\r\n";
    struct seen s = {0};
    char err[128] = "";
    assert_int_equal(parse(body, sizeof(body) - 1, &s, err, sizeof(err)), -1);
    assert_int_equal(s.n, 0);
    assert_non_null(strstr(err, "no boundary"));
}

static void mp_parse__empty_body__is_rejected(void **state)
{
    struct seen s = {0};
    char err[128] = "";
    assert_int_equal(parse("", 0, &s, err, sizeof(err)), -1);
    assert_int_equal(s.n, 0);
    assert_true(err[0] != '\0');
}

static void mp_parse__empty_or_overlong_boundary__is_rejected(void **state)
{
    static const char body[] = "--\r\n\r\n\r\n----\r\n";
    char longb[80];
    struct seen s = {0};
    char err[128] = "";
    memset(longb, 'b', 71);
    longb[71] = '\0';
    assert_int_equal(dl_mp_parse(body, sizeof(body) - 1, "", collect, &s, err, sizeof(err)), -1);
    assert_int_equal(dl_mp_parse(body, sizeof(body) - 1, longb, collect, &s, err, sizeof(err)), -1);
    assert_int_equal(s.n, 0);
}

static void mp_parse__truncated_inside_the_data__is_rejected_without_a_callback(void **state)
{
    static const char body[] =
        "--" B "\r\n"
        "Content-Disposition: form-data; name=\"f\"\r\n\r\n"
        "the bytes go on and on and th";
    struct seen s = {0};
    char err[128] = "";
    assert_int_equal(parse(body, sizeof(body) - 1, &s, err, sizeof(err)), -1);
    assert_int_equal(s.n, 0);
    assert_non_null(strstr(err, "missing closing boundary"));
}

static void mp_parse__truncated_inside_the_part_headers__is_rejected(void **state)
{
    static const char body[] =
        "--" B "\r\n"
        "Content-Disposition: form-data; na";
    struct seen s = {0};
    char err[128] = "";
    assert_int_equal(parse(body, sizeof(body) - 1, &s, err, sizeof(err)), -1);
    assert_int_equal(s.n, 0);
    assert_non_null(strstr(err, "unterminated part headers"));
}

static void mp_parse__truncated_right_after_a_delimiter__is_rejected(void **state)
{
    static const char body[] = "--" B;
    struct seen s = {0};
    char err[128] = "";
    assert_int_equal(parse(body, sizeof(body) - 1, &s, err, sizeof(err)), -1);
    assert_int_equal(s.n, 0);
}

static void mp_parse__second_part_truncated__reports_the_first_then_fails(void **state)
{
    static const char body[] =
        "--" B "\r\n"
        "Content-Disposition: form-data; name=\"files[0].path\"\r\n\r\n"
        "a.txt\r\n"
        "--" B "\r\n"
        "Content-Disposition: form-data; name=\"files[0].file\"\r\n\r\n"
        "partial";
    struct seen s = {0};
    char err[128] = "";
    assert_int_equal(parse(body, sizeof(body) - 1, &s, err, sizeof(err)), -1);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.name[0], "files[0].path");
}

static void mp_parse__huge_declared_content_length__is_not_trusted(void **state)
{
    /* The part claims 2^64-ish bytes; the parser goes by the delimiters. */
    static const char body[] =
        "--" B "\r\n"
        "Content-Disposition: form-data; name=\"f\"\r\n"
        "Content-Length: 18446744073709551615\r\n\r\n"
        "tiny\r\n"
        "--" B "--\r\n";
    struct seen s = {0};
    char err[128] = "";
    assert_int_equal(parse(body, sizeof(body) - 1, &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.len[0], 4);
    assert_string_equal(s.data[0], "tiny");
}

static void mp_parse__huge_declared_size_without_the_bytes__is_rejected(void **state)
{
    static const char body[] =
        "--" B "\r\n"
        "Content-Disposition: form-data; name=\"f\"\r\n"
        "Content-Length: 9999999999\r\n\r\n"
        "only these";
    struct seen s = {0};
    char err[128] = "";
    assert_int_equal(parse(body, sizeof(body) - 1, &s, err, sizeof(err)), -1);
    assert_int_equal(s.n, 0);
}

static void mp_parse__name_longer_than_the_parser_keeps__is_rejected(void **state)
{
    size_t nlen = 5000;
    const char *head = "--" B "\r\nContent-Disposition: form-data; name=\"";
    const char *tail = "\"\r\n\r\nx\r\n--" B "--\r\n";
    size_t len = strlen(head) + nlen + strlen(tail);
    char *body = malloc(len + 1);
    struct seen s = {0};
    char err[128] = "";
    assert_non_null(body);
    memcpy(body, head, strlen(head));
    memset(body + strlen(head), 'n', nlen);
    memcpy(body + strlen(head) + nlen, tail, strlen(tail) + 1);
    assert_int_equal(parse(body, len, &s, err, sizeof(err)), -1);
    assert_int_equal(s.n, 0);
    assert_non_null(strstr(err, "too long"));
    free(body);
}

static void mp_parse__part_without_a_name__is_rejected(void **state)
{
    static const char body[] =
        "--" B "\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "x\r\n"
        "--" B "--\r\n";
    struct seen s = {0};
    char err[128] = "";
    assert_int_equal(parse(body, sizeof(body) - 1, &s, err, sizeof(err)), -1);
    assert_int_equal(s.n, 0);
    assert_non_null(strstr(err, "without a name"));
}

static void mp_parse__callback_returning_nonzero__stops_with_its_value(void **state)
{
    static const char body[] =
        "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
        "--" B "\r\nContent-Disposition: form-data; name=b\r\n\r\n2\r\n"
        "--" B "\r\nContent-Disposition: form-data; name=c\r\n\r\n3\r\n"
        "--" B "--\r\n";
    struct seen s = {.stop_at = 2};
    char err[128] = "";
    assert_int_equal(parse(body, sizeof(body) - 1, &s, err, sizeof(err)), 7);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.name[1], "b");
}

static void mp_boundary__content_types__give_the_boundary_or_fail(void **state)
{
    char b[80];
    assert_int_equal(dl_mp_boundary("multipart/form-data; boundary=abc123", b, sizeof(b)), 0);
    assert_string_equal(b, "abc123");
    assert_int_equal(dl_mp_boundary("Multipart/Form-Data; charset=utf-8; boundary=\"q q\"", b,
                                    sizeof(b)), 0);
    assert_string_equal(b, "q q");
    assert_int_equal(dl_mp_boundary("multipart/form-data", b, sizeof(b)), -1);
    assert_int_equal(dl_mp_boundary("multipart/form-data; boundary=", b, sizeof(b)), -1);
    assert_int_equal(dl_mp_boundary("multipart/form-data; boundary=\"open", b, sizeof(b)), -1);
    assert_int_equal(dl_mp_boundary("application/json; boundary=x", b, sizeof(b)), -1);
    assert_int_equal(dl_mp_boundary(NULL, b, sizeof(b)), -1);
    char ct[128];
    snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%071d", 0);
    assert_int_equal(dl_mp_boundary(ct, b, sizeof(b)), -1);
    /* Fits the grammar but not the caller's buffer. */
    assert_int_equal(dl_mp_boundary("multipart/form-data; boundary=abcdef", b, 4), -1);
}

static void mp_emit__parts_with_binary_data__parse_back_the_same(void **state)
{
    static const char bin[] = {'a', '\r', '\n', '-', '-', 0, (char)0xff, 'z'};
    struct dl_buf out = {0};
    struct seen s = {0};
    char err[128] = "";
    assert_int_equal(dl_mp_emit_part(&out, "file", "dir/a \"q\".bin", "application/octet-stream",
                                     bin, sizeof(bin)), 0);
    assert_int_equal(dl_mp_emit_part(&out, "error", "missing.txt", "application/json", "{}", 2),
                     0);
    assert_int_equal(dl_mp_emit_end(&out), 0);
    assert_int_equal(dl_mp_parse(out.p, out.len, DL_MP_BOUNDARY, collect, &s, err, sizeof(err)),
                     0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.name[0], "file");
    assert_string_equal(s.filename[0], "dir/a \"q\".bin");
    assert_int_equal(s.len[0], sizeof(bin));
    assert_memory_equal(s.data[0], bin, sizeof(bin));
    assert_string_equal(s.name[1], "error");
    assert_string_equal(s.data[1], "{}");
    dl_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mp_parse__two_normal_parts__come_in_order_with_names_and_bytes),
        cmocka_unit_test(mp_parse__path_field_before_its_file__is_seen_first),
        cmocka_unit_test(mp_parse__preamble_before_the_first_delimiter__is_skipped),
        cmocka_unit_test(mp_parse__boundary_text_inside_data_without_crlf__stays_data),
        cmocka_unit_test(mp_parse__body_without_the_boundary__is_rejected),
        cmocka_unit_test(mp_parse__empty_body__is_rejected),
        cmocka_unit_test(mp_parse__empty_or_overlong_boundary__is_rejected),
        cmocka_unit_test(mp_parse__truncated_inside_the_data__is_rejected_without_a_callback),
        cmocka_unit_test(mp_parse__truncated_inside_the_part_headers__is_rejected),
        cmocka_unit_test(mp_parse__truncated_right_after_a_delimiter__is_rejected),
        cmocka_unit_test(mp_parse__second_part_truncated__reports_the_first_then_fails),
        cmocka_unit_test(mp_parse__huge_declared_content_length__is_not_trusted),
        cmocka_unit_test(mp_parse__huge_declared_size_without_the_bytes__is_rejected),
        cmocka_unit_test(mp_parse__name_longer_than_the_parser_keeps__is_rejected),
        cmocka_unit_test(mp_parse__part_without_a_name__is_rejected),
        cmocka_unit_test(mp_parse__callback_returning_nonzero__stops_with_its_value),
        cmocka_unit_test(mp_boundary__content_types__give_the_boundary_or_fail),
        cmocka_unit_test(mp_emit__parts_with_binary_data__parse_back_the_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
