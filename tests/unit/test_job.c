/* test_job.c: unit tests of the job codec: round trips, every rule, hostile bytes. */
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "atc/error.h"
#include "atc/job.h"

#define MAX ATC_JOB_DEFAULT_MAX_BYTES

/* ---- building messages, valid or not ------------------------------------ */

typedef void (*pack_fn)(msgpack_packer *pk);

/* Values the pack_* helpers below use, set by each test. */
static const char *g_str;
static size_t g_len;
static uint64_t g_u64;
static int64_t g_i64;
static size_t g_count;

static void pstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void pack_g_str(msgpack_packer *pk)
{
    msgpack_pack_str_with_body(pk, g_str, g_len ? g_len : strlen(g_str));
}

static void pack_g_u64(msgpack_packer *pk)
{
    msgpack_pack_uint64(pk, g_u64);
}

static void pack_g_i64(msgpack_packer *pk)
{
    msgpack_pack_int64(pk, g_i64);
}

static void pack_nil(msgpack_packer *pk)
{
    msgpack_pack_nil(pk);
}

static void pack_float(msgpack_packer *pk)
{
    msgpack_pack_double(pk, 1.0);
}

static void pack_empty_array(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 0);
}

static void pack_empty_map(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 0);
}

/* files: {g_str: bin "x"} */
static void pack_files_g_path(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    pack_g_str(pk);
    msgpack_pack_bin_with_body(pk, "x", 1);
}

/* files: g_count distinct paths */
static void pack_files_n(msgpack_packer *pk)
{
    char path[32];

    msgpack_pack_map(pk, g_count);
    for (size_t i = 0; i < g_count; i++) {
        snprintf(path, sizeof(path), "test_%zu.py", i);
        pstr(pk, path);
        msgpack_pack_bin_with_body(pk, "x", 1);
    }
}

/* files: the same path twice */
static void pack_files_dup(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    pstr(pk, "test_a.py");
    msgpack_pack_bin_with_body(pk, "x", 1);
    pstr(pk, "test_a.py");
    msgpack_pack_bin_with_body(pk, "y", 1);
}

/* files: {"test_a.py": 7} */
static void pack_files_int_value(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    pstr(pk, "test_a.py");
    msgpack_pack_int(pk, 7);
}

/* files: {"test_a.py": str} */
static void pack_files_str_value(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    pstr(pk, "test_a.py");
    pstr(pk, "def test_a():\n    pass\n");
}

/* files: {1: bin} */
static void pack_files_int_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    msgpack_pack_int(pk, 1);
    msgpack_pack_bin_with_body(pk, "x", 1);
}

/* deps: [g_str] */
static void pack_deps_g_str(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    pack_g_str(pk);
}

/* deps: g_count copies of "pytest" */
static void pack_deps_n(msgpack_packer *pk)
{
    msgpack_pack_array(pk, g_count);
    for (size_t i = 0; i < g_count; i++)
        pstr(pk, "pytest");
}

/* deps: ["ok", 5] */
static void pack_deps_int(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);
    pstr(pk, "pytest");
    msgpack_pack_int(pk, 5);
}

/* env/labels: {g_str: "1"} */
static void pack_map_g_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    pack_g_str(pk);
    pstr(pk, "1");
}

/* env/labels: {"A": 1} */
static void pack_map_int_value(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    pstr(pk, "A");
    msgpack_pack_int(pk, 1);
}

/* env/labels: g_count entries K0..Kn */
static void pack_map_n(msgpack_packer *pk)
{
    char key[32];

    msgpack_pack_map(pk, g_count);
    for (size_t i = 0; i < g_count; i++) {
        snprintf(key, sizeof(key), "K%zu", i);
        pstr(pk, key);
        pstr(pk, "v");
    }
}

/* env/labels: {"A": "1", "A": "2"} */
static void pack_map_dup(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    pstr(pk, "A");
    pstr(pk, "1");
    pstr(pk, "A");
    pstr(pk, "2");
}

/* a nested value for an unknown key */
static void pack_nested(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    pstr(pk, "a");
    msgpack_pack_array(pk, 2);
    msgpack_pack_int(pk, -3);
    msgpack_pack_ext_with_body(pk, "abc", 3, 5);
    pstr(pk, "b");
    msgpack_pack_true(pk);
}

static const char *const std_keys[] = {
    "v", "id", "files", "deps", "cmd", "timeout_s", "env", "labels", "snapshot", "submitted_ms",
};

static void pack_std_value(msgpack_packer *pk, size_t k)
{
    switch (k) {
    case 0:
        msgpack_pack_uint32(pk, 1);
        break;
    case 1:
        pstr(pk, "job-1");
        break;
    case 2:
        msgpack_pack_map(pk, 2);
        pstr(pk, "test_a.py");
        msgpack_pack_bin_with_body(pk, "def test_a():\n    assert 1\n", 27);
        pstr(pk, "pkg/util.py");
        msgpack_pack_bin_with_body(pk, "X = 1\n\0", 7);
        break;
    case 3:
        msgpack_pack_array(pk, 2);
        pstr(pk, "requests==2.31.0");
        pstr(pk, "numpy>=1.20,<2");
        break;
    case 4:
        pstr(pk, "pytest -q");
        break;
    case 5:
        msgpack_pack_uint32(pk, 30);
        break;
    case 6:
        msgpack_pack_map(pk, 1);
        pstr(pk, "PYTHONHASHSEED");
        pstr(pk, "0");
        break;
    case 7:
        msgpack_pack_map(pk, 2);
        pstr(pk, "tool");
        pstr(pk, "parser");
        pstr(pk, "session");
        pstr(pk, "s-42");
        break;
    case 8:
        pstr(pk, "python-3.11");
        break;
    default:
        msgpack_pack_uint64(pk, 1700000000123ull);
        break;
    }
}

/* Packs the full valid job into sb, except that `key` takes its value from
 * fn, or is left out when fn is NULL; a key that is not a standard one is
 * added at the end. */
static void build(msgpack_sbuffer *sb, const char *key, pack_fn fn)
{
    msgpack_packer pk;
    size_t nstd = sizeof(std_keys) / sizeof(std_keys[0]);
    int is_std = 0;
    size_t n;

    for (size_t k = 0; k < nstd; k++)
        if (key != NULL && strcmp(key, std_keys[k]) == 0)
            is_std = 1;
    n = nstd;
    if (key != NULL && is_std && fn == NULL)
        n--;
    if (key != NULL && !is_std)
        n++;

    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, n);
    for (size_t k = 0; k < nstd; k++) {
        if (key != NULL && strcmp(key, std_keys[k]) == 0) {
            if (fn == NULL)
                continue;
            pstr(&pk, std_keys[k]);
            fn(&pk);
        } else {
            pstr(&pk, std_keys[k]);
            pack_std_value(&pk, k);
        }
    }
    if (key != NULL && !is_std) {
        pstr(&pk, key);
        fn(&pk);
    }
}

/* Decodes sb and expects a bad_message rejection whose message holds want;
 * returns nothing, fails the test otherwise. want_id: the id expected in
 * jerr ("" for none). */
static void expect_bad(msgpack_sbuffer *sb, const char *want, const char *want_id)
{
    struct atc_job *job = (struct atc_job *)(uintptr_t)1;
    struct atc_job_error jerr;
    int rc = atc_job_decode(sb->data, sb->size, MAX, &job, &jerr);

    if (rc == 0 || strstr(jerr.message, want) == NULL)
        print_error("message was \"%s\", wanted it to hold \"%s\"\n", jerr.message, want);
    assert_int_equal(rc, ATC_EBADMSG);
    assert_null(job);
    assert_string_equal(jerr.reason, "bad_message");
    assert_non_null(strstr(jerr.message, want));
    assert_string_equal(jerr.id, want_id);
    msgpack_sbuffer_destroy(sb);
}

static void expect_bad_value(const char *key, pack_fn fn, const char *want)
{
    msgpack_sbuffer sb;

    build(&sb, key, fn);
    expect_bad(&sb, want, strcmp(key, "id") == 0 ? "" : "job-1");
}

static void expect_good(msgpack_sbuffer *sb)
{
    struct atc_job *job = NULL;
    struct atc_job_error jerr;
    int rc = atc_job_decode(sb->data, sb->size, MAX, &job, &jerr);

    if (rc != 0)
        print_error("rejected: %s\n", jerr.message);
    assert_int_equal(rc, 0);
    assert_non_null(job);
    atc_job_free(job);
    msgpack_sbuffer_destroy(sb);
}

static void expect_good_value(const char *key, pack_fn fn)
{
    msgpack_sbuffer sb;

    build(&sb, key, fn);
    expect_good(&sb);
}

static void expect_bad_bytes(const void *buf, size_t len, const char *want)
{
    struct atc_job *job = NULL;
    struct atc_job_error jerr;
    int rc = atc_job_decode(buf, len, MAX, &job, &jerr);

    if (rc == 0 || strstr(jerr.message, want) == NULL)
        print_error("message was \"%s\", wanted \"%s\"\n", jerr.message, want);
    assert_int_equal(rc, ATC_EBADMSG);
    assert_null(job);
    assert_non_null(strstr(jerr.message, want));
}

/* ---- comparing jobs ------------------------------------------------------ */

static int same_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static int same_kvs(const struct atc_kv *a, size_t na, const struct atc_kv *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (!same_str(a[i].key, b[i].key) || !same_str(a[i].value, b[i].value))
            return 0;
    return 1;
}

static void assert_same_job(const struct atc_job *a, const struct atc_job *b)
{
    assert_int_equal(a->v, b->v);
    assert_string_equal(a->id, b->id);
    assert_int_equal(a->nfiles, b->nfiles);
    for (size_t i = 0; i < a->nfiles; i++) {
        assert_string_equal(a->files[i].path, b->files[i].path);
        assert_int_equal(a->files[i].len, b->files[i].len);
        if (a->files[i].len > 0)
            assert_memory_equal(a->files[i].data, b->files[i].data, a->files[i].len);
    }
    assert_int_equal(a->ndeps, b->ndeps);
    for (size_t i = 0; i < a->ndeps; i++)
        assert_string_equal(a->deps[i], b->deps[i]);
    assert_true(same_str(a->cmd, b->cmd));
    assert_int_equal(a->has_timeout, b->has_timeout);
    assert_int_equal(a->timeout_s, b->timeout_s);
    assert_true(same_kvs(a->env, a->nenv, b->env, b->nenv));
    assert_true(same_kvs(a->labels, a->nlabels, b->labels, b->nlabels));
    assert_true(same_str(a->snapshot, b->snapshot));
    assert_true(a->submitted_ms == b->submitted_ms);
}

/* ---- round trips --------------------------------------------------------- */

static void job_decode__full_job__yields_every_field(void **state)
{
    msgpack_sbuffer sb;
    struct atc_job *job = NULL;
    struct atc_job_error jerr;

    (void)state;
    build(&sb, NULL, NULL);
    assert_int_equal(atc_job_decode(sb.data, sb.size, MAX, &job, &jerr), 0);
    assert_int_equal(job->v, 1);
    assert_string_equal(job->id, "job-1");
    assert_int_equal(job->nfiles, 2);
    assert_string_equal(job->files[1].path, "pkg/util.py");
    assert_int_equal(job->files[1].len, 7);
    assert_memory_equal(job->files[1].data, "X = 1\n\0", 7);
    assert_int_equal(job->ndeps, 2);
    assert_string_equal(job->deps[1], "numpy>=1.20,<2");
    assert_string_equal(job->cmd, "pytest -q");
    assert_true(job->has_timeout);
    assert_int_equal(job->timeout_s, 30);
    assert_int_equal(job->nenv, 1);
    assert_string_equal(job->env[0].key, "PYTHONHASHSEED");
    assert_int_equal(job->nlabels, 2);
    assert_string_equal(job->labels[1].value, "s-42");
    assert_string_equal(job->snapshot, "python-3.11");
    assert_true(job->submitted_ms == 1700000000123ull);
    assert_string_equal(jerr.id, "job-1");
    atc_job_free(job);
    msgpack_sbuffer_destroy(&sb);
}

static void job_encode__then_decode__gives_the_same_job_and_bytes(void **state)
{
    msgpack_sbuffer sb;
    struct atc_job *a = NULL;
    struct atc_job *b = NULL;
    struct atc_job_error jerr;
    char *buf1 = NULL;
    char *buf2 = NULL;
    size_t len1 = 0;
    size_t len2 = 0;
    char err[256];

    (void)state;
    build(&sb, NULL, NULL);
    assert_int_equal(atc_job_decode(sb.data, sb.size, MAX, &a, &jerr), 0);
    assert_int_equal(atc_job_encode(a, &buf1, &len1, err, sizeof(err)), 0);
    assert_int_equal(atc_job_decode(buf1, len1, MAX, &b, &jerr), 0);
    assert_same_job(a, b);
    assert_int_equal(atc_job_encode(b, &buf2, &len2, err, sizeof(err)), 0);
    assert_int_equal(len1, len2);
    assert_memory_equal(buf1, buf2, len1);
    free(buf1);
    free(buf2);
    atc_job_free(a);
    atc_job_free(b);
    msgpack_sbuffer_destroy(&sb);
}

static void job_encode__built_by_hand__round_trips_with_only_present_fields(void **state)
{
    struct atc_job_file files[2] = {
        { .path = "test_x.py", .data = (unsigned char *)"def test_x(): pass\n", .len = 19 },
        { .path = "empty.txt", .data = NULL, .len = 0 },
    };
    struct atc_job job = { .v = 1, .id = "abc:1.2_3-4", .files = files, .nfiles = 2 };
    struct atc_job *back = NULL;
    struct atc_job_error jerr;
    msgpack_unpacked up;
    char *buf = NULL;
    size_t len = 0;
    size_t off = 0;
    char err[256];

    (void)state;
    assert_int_equal(atc_job_encode(&job, &buf, &len, err, sizeof(err)), 0);
    /* Only v, id and files are written. */
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, buf, len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(up.data.type, MSGPACK_OBJECT_MAP);
    assert_int_equal(up.data.via.map.size, 3);
    assert_int_equal(up.data.via.map.ptr[2].val.via.map.ptr[0].val.type, MSGPACK_OBJECT_BIN);
    msgpack_unpacked_destroy(&up);

    assert_int_equal(atc_job_decode(buf, len, MAX, &back, &jerr), 0);
    assert_null(back->cmd);
    assert_null(back->snapshot);
    assert_false(back->has_timeout);
    assert_int_equal(back->timeout_s, 0);
    assert_int_equal(back->ndeps, 0);
    assert_int_equal(back->nenv, 0);
    assert_int_equal(back->nlabels, 0);
    assert_true(back->submitted_ms == 0);
    assert_int_equal(back->files[1].len, 0);
    assert_non_null(back->files[1].data);
    assert_same_job(&job, back);
    atc_job_free(back);
    free(buf);
}

static void job_encode__invalid_job__is_refused_with_the_field_named(void **state)
{
    struct atc_job_file files[1] = { { .path = "../x", .data = (unsigned char *)"x", .len = 1 } };
    struct atc_job job = { .v = 1, .id = "j", .files = files, .nfiles = 1 };
    char *buf = (char *)(uintptr_t)1;
    size_t len = 7;
    char err[256];

    (void)state;
    assert_int_equal(atc_job_encode(&job, &buf, &len, err, sizeof(err)), ATC_EINVAL);
    assert_null(buf);
    assert_string_equal(err, "files: path \"../x\" has a \"..\" component");
}

static void job_encode__issue13_fields__round_trip_and_are_checked(void **state)
{
    struct atc_job_file files[1] = { { .path = "test_x.py", .data = (unsigned char *)"x", .len = 1 } };
    struct atc_job job = { .v = 1, .id = "j", .files = files, .nfiles = 1,
                           .test_timeout_s = 7, .has_test_timeout = 1, .reruns = 2,
                           .has_reruns = 1, .group = "race-1" };
    struct atc_job *back = NULL;
    struct atc_job_error jerr;
    char *buf = NULL;
    size_t len = 0;
    char err[256];
    char k1[65], k2[65];

    (void)state;
    assert_int_equal(atc_job_encode(&job, &buf, &len, err, sizeof(err)), 0);
    assert_int_equal(atc_job_decode(buf, len, MAX, &back, &jerr), 0);
    assert_true(back->has_test_timeout);
    assert_int_equal(back->test_timeout_s, 7);
    assert_true(back->has_reruns);
    assert_int_equal(back->reruns, 2);
    assert_string_equal(back->group, "race-1");
    /* The per-test limit and reruns decide outcomes: part of the cache key;
     * the group is not. */
    assert_int_equal(atc_job_cache_key(&job, NULL, 900, k1), 0);
    job.reruns = 0;
    assert_int_equal(atc_job_cache_key(&job, NULL, 900, k2), 0);
    assert_string_not_equal(k1, k2);
    job.reruns = 2;
    job.group = "race-2";
    assert_int_equal(atc_job_cache_key(&job, NULL, 900, k2), 0);
    assert_string_equal(k1, k2);
    atc_job_free(back);
    free(buf);

    job.reruns = 6;
    assert_int_equal(atc_job_validate(&job, err, sizeof(err)), ATC_EINVAL);
    assert_string_equal(err, "reruns: at most 5 (got 6)");
    job.reruns = 0;
    job.test_timeout_s = 0;
    assert_int_equal(atc_job_validate(&job, err, sizeof(err)), ATC_EINVAL);
    assert_string_equal(err, "test_timeout_s: must be at least 1");
    job.test_timeout_s = 1;
    job.group = "a b";
    assert_int_equal(atc_job_validate(&job, err, sizeof(err)), ATC_EINVAL);
    assert_non_null(strstr(err, "group: "));
}

static void job_validate__bad_env_name__names_env(void **state)
{
    struct atc_job_file files[1] = { { .path = "t.py", .data = (unsigned char *)"x", .len = 1 } };
    struct atc_kv env[1] = { { .key = "1BAD", .value = "x" } };
    struct atc_job job = { .v = 1, .id = "j", .files = files, .nfiles = 1, .env = env, .nenv = 1 };
    char err[256];

    (void)state;
    assert_int_equal(atc_job_validate(&job, err, sizeof(err)), ATC_EINVAL);
    assert_non_null(strstr(err, "env: name \"1BAD\""));
    env[0].key = "GOOD_1";
    assert_int_equal(atc_job_validate(&job, err, sizeof(err)), 0);
}

static void job_validate__reserved_file_names__are_rejected(void **state)
{
    static const char *const bad[] = {"pytest.py", "a/pytest.py", "pytest/__init__.py",
                                      "_pytest/main.py", "pluggy.py", "py.py",
                                      "sitecustomize.py", "lib/usercustomize.py", "x.pth",
                                      ".atc/report.xml", ".atc"};
    static const char *const good[] = {"conftest.py", "pytest_helpers.py", "mypytest.py",
                                       "pyx.py", "pth.py", ".atcx/a", "a/.atc/b"};
    struct atc_job_file files[1] = { { .path = NULL, .data = (unsigned char *)"x", .len = 1 } };
    struct atc_job job = { .v = 1, .id = "j", .files = files, .nfiles = 1 };
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        files[0].path = (char *)bad[i];
        assert_int_equal(atc_job_validate(&job, err, sizeof(err)), ATC_EINVAL);
        assert_non_null(strstr(err, "is reserved"));
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        files[0].path = (char *)good[i];
        assert_int_equal(atc_job_validate(&job, err, sizeof(err)), 0);
    }
}

static void job_validate__cmd_or_snapshot_not_utf8__is_rejected(void **state)
{
    struct atc_job_file files[1] = { { .path = "t.py", .data = (unsigned char *)"x", .len = 1 } };
    struct atc_job job = { .v = 1, .id = "j", .files = files, .nfiles = 1, .cmd = "echo \xff" };
    char err[256];

    (void)state;
    assert_int_equal(atc_job_validate(&job, err, sizeof(err)), ATC_EINVAL);
    assert_string_equal(err, "cmd: must be valid UTF-8");
    job.cmd = "echo \xc3\xa9";
    assert_int_equal(atc_job_validate(&job, err, sizeof(err)), 0);
    job.snapshot = "snap\xc0\x80";
    assert_int_equal(atc_job_validate(&job, err, sizeof(err)), ATC_EINVAL);
    assert_string_equal(err, "snapshot: must be valid UTF-8");
}

static void job_decode__minimal_job__leaves_optional_fields_absent(void **state)
{
    struct atc_job *job = NULL;
    struct atc_job_error jerr;
    msgpack_sbuffer sb;
    msgpack_packer pk;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    pstr(&pk, "files");
    pack_files_str_value(&pk);
    pstr(&pk, "id");
    pstr(&pk, "x");
    pstr(&pk, "v");
    msgpack_pack_int(&pk, 1);
    assert_int_equal(atc_job_decode(sb.data, sb.size, MAX, &job, &jerr), 0);
    assert_string_equal(job->id, "x");
    assert_int_equal(job->files[0].len, strlen("def test_a():\n    pass\n"));
    assert_null(job->deps);
    assert_null(job->cmd);
    assert_false(job->has_timeout);
    atc_job_free(job);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- v and id ------------------------------------------------------------ */

static void job_decode__missing_v__is_rejected(void **state)
{
    (void)state;
    expect_bad_value("v", NULL, "v: missing");
}

static void job_decode__v_2__is_rejected(void **state)
{
    (void)state;
    g_u64 = 2;
    expect_bad_value("v", pack_g_u64, "v: must be 1 (got 2)");
}

static void job_decode__v_as_str__is_rejected(void **state)
{
    (void)state;
    g_str = "1";
    g_len = 0;
    expect_bad_value("v", pack_g_str, "v: must be an unsigned integer");
}

static void job_decode__v_negative__is_rejected(void **state)
{
    (void)state;
    g_i64 = -1;
    expect_bad_value("v", pack_g_i64, "v: must be an unsigned integer");
}

static void job_decode__v_float__is_rejected(void **state)
{
    (void)state;
    expect_bad_value("v", pack_float, "v: must be an unsigned integer (got a float)");
}

static void job_decode__missing_id__is_rejected(void **state)
{
    (void)state;
    expect_bad_value("id", NULL, "id: missing");
}

static void job_decode__id_not_a_str__is_rejected(void **state)
{
    (void)state;
    g_u64 = 5;
    expect_bad_value("id", pack_g_u64, "id: must be a str");
}

static void job_decode__id_of_129_bytes__is_rejected(void **state)
{
    char id[130];

    (void)state;
    memset(id, 'a', 129);
    id[129] = '\0';
    g_str = id;
    g_len = 0;
    expect_bad_value("id", pack_g_str, "id: must be 1 to 128 bytes (got 129)");
}

static void job_decode__id_of_128_bytes__is_accepted(void **state)
{
    char id[129];
    msgpack_sbuffer sb;
    struct atc_job *job = NULL;
    struct atc_job_error jerr;

    (void)state;
    memset(id, 'Z', 128);
    id[128] = '\0';
    g_str = id;
    g_len = 0;
    build(&sb, "id", pack_g_str);
    assert_int_equal(atc_job_decode(sb.data, sb.size, MAX, &job, &jerr), 0);
    assert_string_equal(job->id, id);
    atc_job_free(job);
    msgpack_sbuffer_destroy(&sb);
}

static void job_decode__empty_id__is_rejected(void **state)
{
    (void)state;
    g_str = "";
    g_len = 0;
    expect_bad_value("id", pack_g_str, "id: must be 1 to 128 bytes (got 0)");
}

static void job_decode__id_with_bad_chars__is_rejected(void **state)
{
    static const char *const bad_ids[] = { "a b", "a/b", "a;b", "ä", "a\nb", "job$1" };

    (void)state;
    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        g_str = bad_ids[i];
        g_len = 0;
        expect_bad_value("id", pack_g_str, "has a character outside [A-Za-z0-9._:-]");
    }
}

static void job_decode__id_with_nul__is_rejected(void **state)
{
    (void)state;
    g_str = "ab\0cd";
    g_len = 5;
    expect_bad_value("id", pack_g_str, "id: must not contain a NUL byte");
    g_len = 0;
}

static void job_id_valid__accepts_the_contract_alphabet(void **state)
{
    (void)state;
    assert_true(atc_job_id_valid("Az09._:-", 8));
    assert_false(atc_job_id_valid("", 0));
    assert_false(atc_job_id_valid(NULL, 3));
    assert_false(atc_job_id_valid("a+b", 3));
}

/* ---- files --------------------------------------------------------------- */

static void job_decode__missing_files__is_rejected(void **state)
{
    (void)state;
    expect_bad_value("files", NULL, "files: missing");
}

static void job_decode__files_not_a_map__is_rejected(void **state)
{
    (void)state;
    expect_bad_value("files", pack_empty_array, "files: must be a map of path to contents (got an array)");
}

static void job_decode__no_files__is_rejected(void **state)
{
    (void)state;
    expect_bad_value("files", pack_empty_map, "files: must hold 1 to 64 entries (got 0)");
}

static void job_decode__65_files__is_rejected(void **state)
{
    (void)state;
    g_count = 65;
    expect_bad_value("files", pack_files_n, "files: must hold 1 to 64 entries (got 65)");
}

static void job_decode__64_files__is_accepted(void **state)
{
    (void)state;
    g_count = 64;
    expect_good_value("files", pack_files_n);
}

static void job_decode__file_contents_as_str__are_accepted(void **state)
{
    (void)state;
    expect_good_value("files", pack_files_str_value);
}

static void job_decode__file_contents_as_int__are_rejected(void **state)
{
    (void)state;
    expect_bad_value("files", pack_files_int_value,
                     "files: contents of \"test_a.py\" must be bin or str");
}

static void job_decode__path_not_a_str__is_rejected(void **state)
{
    (void)state;
    expect_bad_value("files", pack_files_int_key, "files: a path must be a str");
}

static void job_decode__duplicate_paths__are_rejected(void **state)
{
    (void)state;
    expect_bad_value("files", pack_files_dup, "files: path \"test_a.py\" appears twice");
}

static void expect_bad_path(const char *path, const char *want)
{
    g_str = path;
    g_len = 0;
    expect_bad_value("files", pack_files_g_path, want);
}

static void job_decode__path_with_dotdot__is_rejected(void **state)
{
    (void)state;
    expect_bad_path("../x", "files: path \"../x\" has a \"..\" component");
    expect_bad_path("a/../b", "files: path \"a/../b\" has a \"..\" component");
    expect_bad_path("a/..", "files: path \"a/..\" has a \"..\" component");
}

static void job_decode__path_with_dot_component__is_rejected(void **state)
{
    (void)state;
    expect_bad_path("./a", "has a \".\" component");
    expect_bad_path(".", "has a \".\" component");
}

static void job_decode__absolute_path__is_rejected(void **state)
{
    (void)state;
    expect_bad_path("/etc/passwd", "files: path \"/etc/passwd\" is absolute");
}

static void job_decode__path_with_empty_component__is_rejected(void **state)
{
    (void)state;
    expect_bad_path("a//b", "files: path \"a//b\" has an empty component");
    expect_bad_path("a/", "has an empty component");
    expect_bad_path("", "files: path \"\" is empty");
}

static void job_decode__path_with_bad_chars__is_rejected(void **state)
{
    (void)state;
    expect_bad_path("a b.py", "has a character outside");
    expect_bad_path("a\\b.py", "files: path \"a\\\\b.py\" has a character outside");
    expect_bad_path("x\n.py", "files: path \"x\\x0a.py\" has a character outside");
    expect_bad_path("$(id).py", "has a character outside");
    expect_bad_path("a*.py", "has a character outside");
}

static void job_decode__path_with_nul__is_rejected(void **state)
{
    (void)state;
    g_str = "a.py\0b";
    g_len = 6;
    expect_bad_value("files", pack_files_g_path, "files: must not contain a NUL byte");
    g_len = 0;
}

static void job_decode__path_of_256_bytes__is_rejected(void **state)
{
    char path[257];

    (void)state;
    memset(path, 'p', 256);
    path[256] = '\0';
    expect_bad_path(path, "is longer than 255 bytes");
}

static void job_decode__path_of_255_bytes__is_accepted(void **state)
{
    char path[256];

    (void)state;
    memset(path, 'p', 255);
    path[100] = '/';
    path[255] = '\0';
    g_str = path;
    g_len = 0;
    expect_good_value("files", pack_files_g_path);
}

static void job_path_valid__accepts_nested_relative_paths(void **state)
{
    (void)state;
    assert_true(atc_job_path_valid("a/b/c_d-e.f", 11));
    assert_true(atc_job_path_valid("..a", 3));
    assert_true(atc_job_path_valid(".hidden/x", 9));
    assert_false(atc_job_path_valid("a/./b", 5));
    assert_false(atc_job_path_valid(NULL, 0));
}

/* ---- deps ---------------------------------------------------------------- */

static void job_dep_valid__accepts_plain_pip_specifiers(void **state)
{
    static const char *const good[] = {
        "requests", "requests==2.31.0", "numpy>=1.20,<2", "attrs~=23.1", "x!=1.5",
        "x===weird-1", "requests[socks]", "requests[socks,security]>=2,<3", "x==1.*",
        "foo.bar_baz-qux", "x==1!2.0+local.1", "a", "x<=3", "x>1",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!atc_job_dep_valid(good[i], strlen(good[i])))
            print_error("rejected: %s\n", good[i]);
        assert_true(atc_job_dep_valid(good[i], strlen(good[i])));
    }
}

static void job_dep_valid__rejects_urls_options_and_shell(void **state)
{
    static const char *const bad_deps[] = {
        "requests; rm -rf /", "-r x", "-rreq.txt", "--index-url=https://evil", "--pre",
        "git+https://github.com/x/y", "x @ https://e/x.whl", "x@https://e/x.whl",
        "./local", "/abs/path", "a|b", "a&b", "$(id)", "`id`", "a'b", "a\"b", "a\\b",
        "x>", "x=1", "x==", "x[]", "x[a,]", "x[a", "x (>=1)", "x>=1 ", " x",
        "a\nb", "a b", "x; python_version<'3.8'", "x>=1,", "x==1,,<2", "_x", "x_",
        "x==1>2", "~=1", "x~1", "",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad_deps) / sizeof(bad_deps[0]); i++) {
        if (atc_job_dep_valid(bad_deps[i], strlen(bad_deps[i])))
            print_error("accepted: %s\n", bad_deps[i]);
        assert_false(atc_job_dep_valid(bad_deps[i], strlen(bad_deps[i])));
    }
}

static void expect_bad_dep(const char *dep, const char *want)
{
    g_str = dep;
    g_len = 0;
    expect_bad_value("deps", pack_deps_g_str, want);
}

static void job_decode__dep_with_shell_command__is_rejected(void **state)
{
    (void)state;
    expect_bad_dep("requests; rm -rf /", "deps[0]: \"requests; rm -rf /\" has a character that is not allowed");
}

static void job_decode__dep_option__is_rejected(void **state)
{
    (void)state;
    expect_bad_dep("-r x", "deps[0]: \"-r x\" is an option");
    expect_bad_dep("--index-url=x", "is an option");
}

static void job_decode__dep_url__is_rejected(void **state)
{
    (void)state;
    expect_bad_dep("git+https://github.com/psf/requests", "is a URL or a path");
}

static void job_decode__65_deps__are_rejected(void **state)
{
    (void)state;
    g_count = 65;
    expect_bad_value("deps", pack_deps_n, "deps: at most 64 entries (got 65)");
    g_count = 64;
    expect_good_value("deps", pack_deps_n);
}

static void job_decode__dep_not_a_str__is_rejected(void **state)
{
    (void)state;
    expect_bad_value("deps", pack_deps_int, "deps[1]: must be a str (got an unsigned integer)");
}

static void job_decode__deps_not_an_array__is_rejected(void **state)
{
    (void)state;
    g_str = "requests";
    g_len = 0;
    expect_bad_value("deps", pack_g_str, "deps: must be an array of str (got a str)");
}

/* ---- cmd, timeout_s, env, labels, snapshot, submitted_ms ---------------- */

static void job_decode__cmd_not_a_str__is_rejected(void **state)
{
    (void)state;
    g_u64 = 1;
    expect_bad_value("cmd", pack_g_u64, "cmd: must be a str");
}

static void job_decode__empty_cmd__is_rejected(void **state)
{
    (void)state;
    g_str = "";
    g_len = 0;
    expect_bad_value("cmd", pack_g_str, "cmd: must not be empty");
}

static void job_decode__cmd_with_nul__is_rejected(void **state)
{
    (void)state;
    g_str = "ls\0rm";
    g_len = 5;
    expect_bad_value("cmd", pack_g_str, "cmd: must not contain a NUL byte");
    g_len = 0;
}

static void job_decode__timeout_as_str__is_rejected(void **state)
{
    (void)state;
    g_str = "30";
    g_len = 0;
    expect_bad_value("timeout_s", pack_g_str, "timeout_s: must be an unsigned integer");
}

static void job_decode__negative_timeout__is_rejected(void **state)
{
    (void)state;
    g_i64 = -5;
    expect_bad_value("timeout_s", pack_g_i64, "timeout_s: must be an unsigned integer (got a negative integer)");
}

static void job_decode__zero_timeout__is_rejected(void **state)
{
    (void)state;
    g_u64 = 0;
    expect_bad_value("timeout_s", pack_g_u64, "timeout_s: must be at least 1");
}

static void job_decode__timeout_above_32_bits__is_rejected(void **state)
{
    (void)state;
    g_u64 = 4294967296ull;
    expect_bad_value("timeout_s", pack_g_u64, "timeout_s: must be at most 4294967295");
}

static void job_decode__bad_env_name__is_rejected(void **state)
{
    static const char *const names[] = { "1A", "A-B", "", "A B", "A=B", "Ä" };

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        g_str = names[i];
        g_len = 0;
        expect_bad_value("env", pack_map_g_key, "does not match [A-Za-z_][A-Za-z0-9_]*");
    }
    g_str = "_ok_1";
    expect_good_value("env", pack_map_g_key);
}

static void job_decode__env_value_not_a_str__is_rejected(void **state)
{
    (void)state;
    expect_bad_value("env", pack_map_int_value, "env: value of \"A\" must be a str");
}

static void job_decode__env_not_a_map__is_rejected(void **state)
{
    (void)state;
    expect_bad_value("env", pack_empty_array, "env: must be a map of str to str");
}

static void job_decode__65_env_entries__are_rejected(void **state)
{
    (void)state;
    g_count = 65;
    expect_bad_value("env", pack_map_n, "env: at most 64 entries (got 65)");
}

static void job_decode__repeated_env_name__is_rejected(void **state)
{
    (void)state;
    expect_bad_value("env", pack_map_dup, "env: name \"A\" appears twice");
}

static void job_decode__17_labels__are_rejected(void **state)
{
    (void)state;
    g_count = 17;
    expect_bad_value("labels", pack_map_n, "labels: at most 16 entries (got 17)");
    g_count = 16;
    expect_good_value("labels", pack_map_n);
}

static void job_decode__label_value_not_a_str__is_rejected(void **state)
{
    (void)state;
    expect_bad_value("labels", pack_map_int_value, "labels: value of \"A\" must be a str");
}

static void job_decode__snapshot_not_a_str__is_rejected(void **state)
{
    (void)state;
    g_u64 = 3;
    expect_bad_value("snapshot", pack_g_u64, "snapshot: must be a str");
}

static void job_decode__negative_submitted_ms__is_rejected(void **state)
{
    (void)state;
    g_i64 = -1;
    expect_bad_value("submitted_ms", pack_g_i64, "submitted_ms: must be an unsigned integer");
}

static void job_decode__nil_optional_fields__count_as_absent(void **state)
{
    static const char *const keys[] = { "deps", "cmd", "timeout_s", "env", "labels", "snapshot", "submitted_ms" };

    (void)state;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        expect_good_value(keys[i], pack_nil);
    expect_bad_value("v", pack_nil, "v: must be an unsigned integer (got nil)");
}

/* ---- the map as a whole --------------------------------------------------- */

static void job_decode__unknown_keys__are_ignored(void **state)
{
    (void)state;
    expect_good_value("future_field", pack_nested);
    expect_good_value("priority", pack_float);
}

static void job_decode__duplicate_top_level_key__is_rejected(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;

    (void)state;
    /* The valid job with a second "cmd" appended. */
    build(&sb, "zz", pack_nil);
    sb.data[0] = (char)((unsigned char)sb.data[0] + 1);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pstr(&pk, "cmd");
    pstr(&pk, "rm -rf /");
    expect_bad(&sb, "message: key \"cmd\" appears twice", "job-1");
}

static void job_decode__duplicate_id_key__reports_no_id(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;

    (void)state;
    build(&sb, "zz", pack_nil);
    sb.data[0] = (char)((unsigned char)sb.data[0] + 1);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pstr(&pk, "id");
    pstr(&pk, "other");
    expect_bad(&sb, "message: key \"id\" appears twice", "");
}

static void job_decode__duplicate_unknown_key__is_rejected(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;

    (void)state;
    build(&sb, "zz", pack_nil);
    sb.data[0] = (char)((unsigned char)sb.data[0] + 1);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pstr(&pk, "zz");
    msgpack_pack_nil(&pk);
    expect_bad(&sb, "message: key \"zz\" appears twice", "job-1");
}

static void job_decode__id_is_reported_although_a_path_is_bad(void **state)
{
    msgpack_sbuffer sb;
    struct atc_job *job = NULL;
    struct atc_job_error jerr;

    (void)state;
    g_str = "../../etc/shadow";
    g_len = 0;
    build(&sb, "files", pack_files_g_path);
    assert_int_equal(atc_job_decode(sb.data, sb.size, MAX, &job, &jerr), ATC_EBADMSG);
    assert_string_equal(jerr.id, "job-1");
    assert_string_equal(jerr.message, "files: path \"../../etc/shadow\" has a \"..\" component");
    msgpack_sbuffer_destroy(&sb);
}

static void job_decode__id_is_reported_although_v_is_wrong(void **state)
{
    msgpack_sbuffer sb;
    struct atc_job *job = NULL;
    struct atc_job_error jerr;

    (void)state;
    g_u64 = 7;
    build(&sb, "v", pack_g_u64);
    assert_int_equal(atc_job_decode(sb.data, sb.size, MAX, &job, &jerr), ATC_EBADMSG);
    assert_string_equal(jerr.id, "job-1");
    msgpack_sbuffer_destroy(&sb);
}

static void job_decode__top_level_array__is_rejected(void **state)
{
    static const unsigned char arr[] = { 0x91, 0x01 };
    static const unsigned char str[] = { 0xa1, 'x' };

    (void)state;
    expect_bad_bytes(arr, sizeof(arr), "message: must be a msgpack map");
    expect_bad_bytes(str, sizeof(str), "message: must be a msgpack map");
}

static void job_decode__empty_message__is_rejected(void **state)
{
    (void)state;
    expect_bad_bytes("", 0, "message: empty");
    expect_bad_bytes(NULL, 0, "message: empty");
}

/* ---- size and hostile bytes ---------------------------------------------- */

static void job_decode__over_max_bytes__is_too_large_before_decoding(void **state)
{
    msgpack_sbuffer sb;
    struct atc_job *job = NULL;
    struct atc_job_error jerr;
    unsigned char junk[64];

    (void)state;
    /* Garbage that would be a bad_message if it were looked at. */
    memset(junk, 0xc1, sizeof(junk));
    assert_int_equal(atc_job_decode(junk, sizeof(junk), 63, &job, &jerr), ATC_ETOOBIG);
    assert_string_equal(jerr.reason, "too_large");
    assert_null(job);
    assert_non_null(strstr(jerr.message, "64 bytes, more than the limit of 63"));

    build(&sb, NULL, NULL);
    assert_int_equal(atc_job_decode(sb.data, sb.size, sb.size - 1, &job, &jerr), ATC_ETOOBIG);
    assert_string_equal(jerr.reason, "too_large");
    assert_string_equal(jerr.id, "");
    assert_int_equal(atc_job_decode(sb.data, sb.size, sb.size, &job, &jerr), 0);
    atc_job_free(job);
    msgpack_sbuffer_destroy(&sb);
}

static void job_decode__huge_declared_array__is_rejected_by_the_prescan(void **state)
{
    /* {"x": array of 2^32-1} in 8 bytes; msgpack-c alone would try to
     * allocate ~100 GB. The message proves the pre-scan stopped it. */
    static const unsigned char inner[] = { 0x81, 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff };
    static const unsigned char bare[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };

    (void)state;
    expect_bad_bytes(inner, sizeof(inner),
                     "not valid msgpack: array at byte 3 declares 4294967295 elements");
    expect_bad_bytes(bare, sizeof(bare), "message: must be a msgpack map");
}

static void job_decode__huge_declared_map__is_rejected_by_the_prescan(void **state)
{
    static const unsigned char top[] = { 0xdf, 0xff, 0xff, 0xff, 0xff };
    static const unsigned char inner[] = { 0x81, 0xa5, 'f', 'i', 'l', 'e', 's', 0xdf, 0xff, 0xff, 0xff, 0xff };
    static const unsigned char map16[] = { 0xde, 0xff, 0xff, 0xa1, 'a', 0x01 };

    (void)state;
    expect_bad_bytes(top, sizeof(top), "map at byte 0 declares 4294967295 entries");
    expect_bad_bytes(inner, sizeof(inner), "map at byte 7 declares 4294967295 entries");
    expect_bad_bytes(map16, sizeof(map16), "map at byte 0 declares 65535 entries");
}

static void job_decode__huge_declared_str_bin_ext__are_rejected_by_the_prescan(void **state)
{
    static const unsigned char str32[] = { 0x81, 0xa1, 'x', 0xdb, 0xff, 0xff, 0xff, 0xff };
    static const unsigned char bin32[] = { 0x81, 0xa1, 'x', 0xc6, 0xff, 0xff, 0xff, 0xff };
    static const unsigned char ext32[] = { 0x81, 0xa1, 'x', 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01 };
    static const unsigned char key32[] = { 0x81, 0xdb, 0x7f, 0xff, 0xff, 0xff, 0x00 };

    (void)state;
    expect_bad_bytes(str32, sizeof(str32), "str at byte 3 declares 4294967295 bytes");
    expect_bad_bytes(bin32, sizeof(bin32), "bin at byte 3 declares 4294967295 bytes");
    expect_bad_bytes(ext32, sizeof(ext32), "ext at byte 3 declares 4294967295 bytes");
    expect_bad_bytes(key32, sizeof(key32), "str at byte 1 declares 2147483647 bytes");
}

static void job_decode__nested_arrays_owing_more_than_the_bytes__are_rejected(void **state)
{
    /* {"x": [ [ ... ] x 3 ]}: each count alone fits what is left, the sum
     * of what is owed does not. */
    static const unsigned char m[] = { 0x81, 0xa1, 'x', 0x93, 0x93, 0x01, 0x02 };

    (void)state;
    expect_bad_bytes(m, sizeof(m), "array at byte 4 declares 3 elements");
}

/* an unknown key's value: an array of g_count nils */
static void pack_nils(msgpack_packer *pk)
{
    msgpack_pack_array(pk, g_count);
    for (size_t i = 0; i < g_count; i++)
        msgpack_pack_nil(pk);
}

static void job_decode__more_than_65536_objects__are_rejected(void **state)
{
    msgpack_sbuffer sb;

    (void)state;
    g_count = 70000;
    build(&sb, "padding", pack_nils);
    /* The pre-scan stops it, before any id could be read. */
    expect_bad(&sb, "not valid msgpack: more than 65536 objects", "");
    g_count = 1000;
    expect_good_value("padding", pack_nils);
}

static void job_decode__deep_nesting__is_rejected(void **state)
{
    unsigned char m[64];
    size_t n = 0;

    (void)state;
    m[n++] = 0x81;
    m[n++] = 0xa1;
    m[n++] = 'x';
    while (n < sizeof(m) - 1)
        m[n++] = 0x91;
    m[n++] = 0xc0;
    expect_bad_bytes(m, n, "containers nest deeper than 16");
}

static void job_decode__unused_type_byte__is_rejected(void **state)
{
    static const unsigned char m[] = { 0x81, 0xa1, 'x', 0xc1 };

    (void)state;
    expect_bad_bytes(m, sizeof(m), "0xc1");
}

static void job_decode__trailing_garbage__is_rejected(void **state)
{
    msgpack_sbuffer sb;
    struct atc_job *job = NULL;
    struct atc_job_error jerr;

    (void)state;
    build(&sb, NULL, NULL);
    msgpack_sbuffer_write(&sb, "\xc0", 1);
    assert_int_equal(atc_job_decode(sb.data, sb.size, MAX, &job, &jerr), ATC_EBADMSG);
    assert_null(job);
    assert_string_equal(jerr.message, "message: 1 bytes of trailing data after the map");
    msgpack_sbuffer_destroy(&sb);
}

static void job_decode__every_truncation_of_a_valid_job__is_rejected(void **state)
{
    msgpack_sbuffer sb;
    char *copy;

    (void)state;
    build(&sb, NULL, NULL);
    for (size_t n = 0; n < sb.size; n++) {
        struct atc_job *job = NULL;
        struct atc_job_error jerr;
        /* A fresh buffer of exactly n bytes, so ASan sees any overread. */
        copy = malloc(n > 0 ? n : 1);
        assert_non_null(copy);
        memcpy(copy, sb.data, n);
        assert_int_equal(atc_job_decode(copy, n, MAX, &job, &jerr), ATC_EBADMSG);
        assert_null(job);
        assert_string_equal(jerr.reason, "bad_message");
        free(copy);
    }
    msgpack_sbuffer_destroy(&sb);
}

static void job_decode__random_bytes__are_rejected(void **state)
{
    unsigned int seed = 12345;

    (void)state;
    for (int round = 0; round < 5000; round++) {
        size_t n = (size_t)(rand_r(&seed) % 96);
        unsigned char *buf = malloc(n > 0 ? n : 1);
        struct atc_job *job = NULL;
        struct atc_job_error jerr;

        assert_non_null(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)rand_r(&seed);
        /* Half of them start like a map so they get past the first byte. */
        if (n > 0 && round % 2 == 0)
            buf[0] = (unsigned char)(0x80 | (buf[0] & 0x0f));
        assert_int_not_equal(atc_job_decode(buf, n, MAX, &job, &jerr), 0);
        assert_null(job);
        free(buf);
    }
}

static void job_decode__mutated_valid_jobs__never_crash(void **state)
{
    msgpack_sbuffer sb;
    unsigned int seed = 777;
    int accepted = 0;

    (void)state;
    build(&sb, NULL, NULL);
    for (int round = 0; round < 5000; round++) {
        unsigned char *buf = malloc(sb.size);
        struct atc_job *job = NULL;
        struct atc_job_error jerr;
        int rc;

        assert_non_null(buf);
        memcpy(buf, sb.data, sb.size);
        for (int k = 0; k < 1 + round % 3; k++)
            buf[(size_t)rand_r(&seed) % sb.size] = (unsigned char)rand_r(&seed);
        rc = atc_job_decode(buf, sb.size, MAX, &job, &jerr);
        assert_true(rc == 0 || rc == ATC_EBADMSG);
        assert_true((rc == 0) == (job != NULL));
        accepted += rc == 0;
        atc_job_free(job);
        free(buf);
    }
    /* Flipping bytes inside file contents keeps a job valid. */
    assert_true(accepted > 0);
    msgpack_sbuffer_destroy(&sb);
}

static void job_decode__null_out__is_refused(void **state)
{
    struct atc_job_error jerr;

    (void)state;
    assert_int_equal(atc_job_decode("\x80", 1, MAX, NULL, &jerr), ATC_EINVAL);
}

/* ---- free ---------------------------------------------------------------- */

static void job_free__null_and_partial_jobs__are_fine(void **state)
{
    struct atc_job *job = calloc(1, sizeof(*job));

    (void)state;
    atc_job_free(NULL);
    assert_non_null(job);
    job->id = strdup("x");
    job->files = calloc(3, sizeof(*job->files));
    assert_non_null(job->files);
    job->nfiles = 3;
    job->files[0].path = strdup("a.py");
    job->env = calloc(2, sizeof(*job->env));
    assert_non_null(job->env);
    job->nenv = 2;
    job->env[0].key = strdup("A");
    job->ndeps = 4; /* counted but never allocated */
    atc_job_free(job);
}

/* ---- cpu, memory_gib, disk_gib ------------------------------------------- */

static void job_decode__resources_out_of_bounds__are_rejected_with_the_field_named(void **state)
{
    (void)state;
    g_u64 = 0;
    expect_bad_value("cpu", pack_g_u64, "cpu: must be at least 1");
    g_u64 = ATC_JOB_RESOURCE_MAX + 1;
    expect_bad_value("memory_gib", pack_g_u64, "memory_gib: must be at most 1024 (got 1025)");
    g_str = "3";
    g_len = 0;
    expect_bad_value("disk_gib", pack_g_str, "disk_gib: must be an unsigned integer");
    g_i64 = -1;
    expect_bad_value("cpu", pack_g_i64, "cpu: must be an unsigned integer");
}

static void job_decode__resources_with_a_snapshot__are_rejected(void **state)
{
    (void)state;
    g_u64 = 2; /* the standard message names a snapshot */
    expect_bad_value("memory_gib", pack_g_u64, "not with \"snapshot\"");
}

static void job_encode__resources__round_trip_and_read_in_daytona_units(void **state)
{
    struct atc_job_file files[1] = {
        { .path = "test_x.py", .data = (unsigned char *)"def test_x(): pass\n", .len = 19 },
    };
    struct atc_job job = { .v = 1, .id = "res", .files = files, .nfiles = 1, .cpu = 2,
                           .memory_gib = 3 };
    struct atc_job *back = NULL;
    struct atc_job_error jerr;
    char *buf = NULL, err[256], text[64];
    size_t len = 0;

    (void)state;
    assert_int_equal(atc_job_encode(&job, &buf, &len, err, sizeof(err)), 0);
    assert_int_equal(atc_job_decode(buf, len, MAX, &back, &jerr), 0);
    assert_int_equal(back->cpu, 2);
    assert_int_equal(back->memory_gib, 3);
    assert_int_equal(back->disk_gib, 0);
    assert_true(atc_job_has_resources(back));
    atc_job_resources_text(back, text, sizeof(text));
    assert_string_equal(text, "cpu=2,memory=3");
    back->disk_gib = 7;
    atc_job_resources_text(back, text, sizeof(text));
    assert_string_equal(text, "cpu=2,memory=3,disk=7");
    /* Resources decide outcomes: part of the cache key, each size its own. */
    char k1[65], k2[65], k0[65];
    assert_int_equal(atc_job_cache_key(&job, NULL, 900, k1), 0);
    job.memory_gib = 1;
    assert_int_equal(atc_job_cache_key(&job, NULL, 900, k2), 0);
    assert_string_not_equal(k1, k2);
    job.cpu = job.memory_gib = 0;
    assert_int_equal(atc_job_cache_key(&job, NULL, 900, k0), 0);
    assert_string_not_equal(k0, k2);
    back->cpu = back->memory_gib = back->disk_gib = 0;
    assert_false(atc_job_has_resources(back));
    atc_job_resources_text(back, text, sizeof(text));
    assert_string_equal(text, "");
    atc_job_free(back);
    free(buf);
}

static void job_check_caps__a_job_over_a_cap__is_refused_naming_the_cap(void **state)
{
    struct atc_job job = { .v = 1, .id = "res", .cpu = 4, .memory_gib = 8, .disk_gib = 10 };
    char err[256] = "";

    (void)state;
    assert_int_equal(atc_job_check_caps(&job, 4, 8, 10, err, sizeof(err)), 0);
    job.memory_gib = 9;
    assert_int_equal(atc_job_check_caps(&job, 4, 8, 10, err, sizeof(err)), ATC_EINVAL);
    assert_non_null(strstr(err, "memory_gib: the job asks for 9, more than this fleet's cap of 8 "
                                "(ATC_MAX_MEMORY_GIB)"));
    job.memory_gib = 1;
    job.disk_gib = 11;
    assert_int_equal(atc_job_check_caps(&job, 4, 8, 10, err, sizeof(err)), ATC_EINVAL);
    assert_non_null(strstr(err, "ATC_MAX_DISK_GIB"));
    job.disk_gib = 0;
    job.cpu = 5;
    assert_int_equal(atc_job_check_caps(&job, 4, 8, 10, err, sizeof(err)), ATC_EINVAL);
    assert_non_null(strstr(err, "ATC_MAX_CPU"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(job_decode__resources_out_of_bounds__are_rejected_with_the_field_named),
        cmocka_unit_test(job_decode__resources_with_a_snapshot__are_rejected),
        cmocka_unit_test(job_encode__resources__round_trip_and_read_in_daytona_units),
        cmocka_unit_test(job_check_caps__a_job_over_a_cap__is_refused_naming_the_cap),
        cmocka_unit_test(job_decode__full_job__yields_every_field),
        cmocka_unit_test(job_encode__then_decode__gives_the_same_job_and_bytes),
        cmocka_unit_test(job_encode__built_by_hand__round_trips_with_only_present_fields),
        cmocka_unit_test(job_encode__invalid_job__is_refused_with_the_field_named),
        cmocka_unit_test(job_encode__issue13_fields__round_trip_and_are_checked),
        cmocka_unit_test(job_validate__bad_env_name__names_env),
        cmocka_unit_test(job_validate__reserved_file_names__are_rejected),
        cmocka_unit_test(job_validate__cmd_or_snapshot_not_utf8__is_rejected),
        cmocka_unit_test(job_decode__minimal_job__leaves_optional_fields_absent),
        cmocka_unit_test(job_decode__missing_v__is_rejected),
        cmocka_unit_test(job_decode__v_2__is_rejected),
        cmocka_unit_test(job_decode__v_as_str__is_rejected),
        cmocka_unit_test(job_decode__v_negative__is_rejected),
        cmocka_unit_test(job_decode__v_float__is_rejected),
        cmocka_unit_test(job_decode__missing_id__is_rejected),
        cmocka_unit_test(job_decode__id_not_a_str__is_rejected),
        cmocka_unit_test(job_decode__id_of_129_bytes__is_rejected),
        cmocka_unit_test(job_decode__id_of_128_bytes__is_accepted),
        cmocka_unit_test(job_decode__empty_id__is_rejected),
        cmocka_unit_test(job_decode__id_with_bad_chars__is_rejected),
        cmocka_unit_test(job_decode__id_with_nul__is_rejected),
        cmocka_unit_test(job_id_valid__accepts_the_contract_alphabet),
        cmocka_unit_test(job_decode__missing_files__is_rejected),
        cmocka_unit_test(job_decode__files_not_a_map__is_rejected),
        cmocka_unit_test(job_decode__no_files__is_rejected),
        cmocka_unit_test(job_decode__65_files__is_rejected),
        cmocka_unit_test(job_decode__64_files__is_accepted),
        cmocka_unit_test(job_decode__file_contents_as_str__are_accepted),
        cmocka_unit_test(job_decode__file_contents_as_int__are_rejected),
        cmocka_unit_test(job_decode__path_not_a_str__is_rejected),
        cmocka_unit_test(job_decode__duplicate_paths__are_rejected),
        cmocka_unit_test(job_decode__path_with_dotdot__is_rejected),
        cmocka_unit_test(job_decode__path_with_dot_component__is_rejected),
        cmocka_unit_test(job_decode__absolute_path__is_rejected),
        cmocka_unit_test(job_decode__path_with_empty_component__is_rejected),
        cmocka_unit_test(job_decode__path_with_bad_chars__is_rejected),
        cmocka_unit_test(job_decode__path_with_nul__is_rejected),
        cmocka_unit_test(job_decode__path_of_256_bytes__is_rejected),
        cmocka_unit_test(job_decode__path_of_255_bytes__is_accepted),
        cmocka_unit_test(job_path_valid__accepts_nested_relative_paths),
        cmocka_unit_test(job_dep_valid__accepts_plain_pip_specifiers),
        cmocka_unit_test(job_dep_valid__rejects_urls_options_and_shell),
        cmocka_unit_test(job_decode__dep_with_shell_command__is_rejected),
        cmocka_unit_test(job_decode__dep_option__is_rejected),
        cmocka_unit_test(job_decode__dep_url__is_rejected),
        cmocka_unit_test(job_decode__65_deps__are_rejected),
        cmocka_unit_test(job_decode__dep_not_a_str__is_rejected),
        cmocka_unit_test(job_decode__deps_not_an_array__is_rejected),
        cmocka_unit_test(job_decode__cmd_not_a_str__is_rejected),
        cmocka_unit_test(job_decode__empty_cmd__is_rejected),
        cmocka_unit_test(job_decode__cmd_with_nul__is_rejected),
        cmocka_unit_test(job_decode__timeout_as_str__is_rejected),
        cmocka_unit_test(job_decode__negative_timeout__is_rejected),
        cmocka_unit_test(job_decode__zero_timeout__is_rejected),
        cmocka_unit_test(job_decode__timeout_above_32_bits__is_rejected),
        cmocka_unit_test(job_decode__bad_env_name__is_rejected),
        cmocka_unit_test(job_decode__env_value_not_a_str__is_rejected),
        cmocka_unit_test(job_decode__env_not_a_map__is_rejected),
        cmocka_unit_test(job_decode__65_env_entries__are_rejected),
        cmocka_unit_test(job_decode__repeated_env_name__is_rejected),
        cmocka_unit_test(job_decode__17_labels__are_rejected),
        cmocka_unit_test(job_decode__label_value_not_a_str__is_rejected),
        cmocka_unit_test(job_decode__snapshot_not_a_str__is_rejected),
        cmocka_unit_test(job_decode__negative_submitted_ms__is_rejected),
        cmocka_unit_test(job_decode__nil_optional_fields__count_as_absent),
        cmocka_unit_test(job_decode__unknown_keys__are_ignored),
        cmocka_unit_test(job_decode__duplicate_top_level_key__is_rejected),
        cmocka_unit_test(job_decode__duplicate_id_key__reports_no_id),
        cmocka_unit_test(job_decode__duplicate_unknown_key__is_rejected),
        cmocka_unit_test(job_decode__id_is_reported_although_a_path_is_bad),
        cmocka_unit_test(job_decode__id_is_reported_although_v_is_wrong),
        cmocka_unit_test(job_decode__top_level_array__is_rejected),
        cmocka_unit_test(job_decode__empty_message__is_rejected),
        cmocka_unit_test(job_decode__over_max_bytes__is_too_large_before_decoding),
        cmocka_unit_test(job_decode__huge_declared_array__is_rejected_by_the_prescan),
        cmocka_unit_test(job_decode__huge_declared_map__is_rejected_by_the_prescan),
        cmocka_unit_test(job_decode__huge_declared_str_bin_ext__are_rejected_by_the_prescan),
        cmocka_unit_test(job_decode__nested_arrays_owing_more_than_the_bytes__are_rejected),
        cmocka_unit_test(job_decode__more_than_65536_objects__are_rejected),
        cmocka_unit_test(job_decode__deep_nesting__is_rejected),
        cmocka_unit_test(job_decode__unused_type_byte__is_rejected),
        cmocka_unit_test(job_decode__trailing_garbage__is_rejected),
        cmocka_unit_test(job_decode__every_truncation_of_a_valid_job__is_rejected),
        cmocka_unit_test(job_decode__random_bytes__are_rejected),
        cmocka_unit_test(job_decode__mutated_valid_jobs__never_crash),
        cmocka_unit_test(job_decode__null_out__is_refused),
        cmocka_unit_test(job_free__null_and_partial_jobs__are_fine),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
