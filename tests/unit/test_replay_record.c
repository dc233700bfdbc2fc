/* test_replay_record.c: the pure parts of `atc replay-dlq`
 * (producer/replay_record.c): reading dead-letter records as the worker writes
 * them, finding their job id, the filters and --since. */
#include "support.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atc/error.h"
#include "atc/job.h"
#include "dlq.h"
#include "replay_record.h"

static char err[512];

/* A valid job message with id, encoded by libatc. *len set; caller frees. */
static char *job_bytes(const char *id, size_t *len)
{
    struct atc_job_file file = {"test_x.py", (unsigned char *)"def test_x(): pass\n", 19};
    struct atc_job job = {.v = 1, .id = (char *)id, .files = &file, .nfiles = 1};
    char *buf = NULL;
    assert_int_equal(atc_job_encode(&job, &buf, len, err, sizeof(err)), 0);
    return buf;
}

/* A dead-letter record as the worker writes it (worker/dlq.c). */
static char *record_bytes(const char *reason, const void *original, size_t olen, size_t *len)
{
    struct dlq_record rec = {
        .reason = reason,
        .error = "creating the sandbox: HTTP 503",
        .worker = "w-1",
        .ts_ms = 1764140400123ull,
        .topic = "atc.jobs",
        .partition = 3,
        .offset = 42,
        .original = original,
        .original_len = olen,
    };
    char *buf = NULL;
    assert_int_equal(dlq_encode(&rec, &buf, len), 0);
    return buf;
}

static void record_decode__a_worker_record__reads_every_field(void **state)
{
    size_t jlen = 0, rlen = 0;
    char *job = job_bytes("job-1", &jlen);
    char *rec = record_bytes("sandbox_failed", job, jlen, &rlen);
    struct replay_record r;

    assert_int_equal(replay_record_decode(rec, rlen, &r, err, sizeof(err)), 0);
    assert_string_equal(r.reason, "sandbox_failed");
    assert_string_equal(r.error, "creating the sandbox: HTTP 503");
    assert_string_equal(r.worker, "w-1");
    assert_string_equal(r.topic, "atc.jobs");
    assert_true(r.ts_ms == 1764140400123ull);
    assert_int_equal(r.partition, 3);
    assert_int_equal(r.offset, 42);
    assert_int_equal(r.original_len, jlen);
    assert_memory_equal(r.original, job, jlen);
    free(rec);
    free(job);
}

static void record_decode__a_cut_original__is_marked_truncated(void **state)
{
    size_t jlen = 0, rlen = 0;
    char *job = job_bytes("job-2", &jlen);
    struct dlq_record rec = {.reason = "too_large", .error = "too large", .worker = "w-1",
                             .topic = "atc.jobs", .original = job, .original_len = jlen / 2,
                             .original_full_len = jlen};
    char *buf = NULL;
    struct replay_record r;

    assert_int_equal(dlq_encode(&rec, &buf, &rlen), 0);
    assert_int_equal(replay_record_decode(buf, rlen, &r, err, sizeof(err)), 0);
    assert_int_equal(r.original_truncated, 1);
    assert_int_equal(r.original_len, jlen / 2);
    free(buf);
    /* A whole original is not. */
    buf = record_bytes("too_large", job, jlen, &rlen);
    assert_int_equal(replay_record_decode(buf, rlen, &r, err, sizeof(err)), 0);
    assert_int_equal(r.original_truncated, 0);
    free(buf);
    free(job);
}

/* Packs a map of the given pairs: key, then a value written by the callback. */
typedef void (*pack_fn)(msgpack_packer *pk);
static void pk_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}
static void v_one(msgpack_packer *pk) { msgpack_pack_uint8(pk, 1); }
static void v_two(msgpack_packer *pk) { msgpack_pack_uint8(pk, 2); }
static void reason_ok(msgpack_packer *pk) { pk_str(pk, "sandbox_failed"); }
static void reason_evil(msgpack_packer *pk) { pk_str(pk, "x\n\x1b[31m"); }
static void reason_int(msgpack_packer *pk) { msgpack_pack_int(pk, 5); }
static void orig_bin(msgpack_packer *pk) { msgpack_pack_bin(pk, 3); msgpack_pack_bin_body(pk, "abc", 3); }
static void orig_str(msgpack_packer *pk) { pk_str(pk, "abc"); }
static void ts_str(msgpack_packer *pk) { pk_str(pk, "yesterday"); }

static char *map_bytes(size_t n, const char *const *keys, const pack_fn *vals, size_t *len)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, n);
    for (size_t i = 0; i < n; i++) {
        pk_str(&pk, keys[i]);
        vals[i](&pk);
    }
    *len = sb.size;
    return sb.data;
}

static void expect_bad(size_t n, const char *const *keys, const pack_fn *vals, const char *why)
{
    size_t len = 0;
    char *buf = map_bytes(n, keys, vals, &len);
    struct replay_record r;
    err[0] = '\0';
    assert_int_equal(replay_record_decode(buf, len, &r, err, sizeof(err)), ATC_EBADMSG);
    if (strstr(err, why) == NULL)
        fail_msg("error '%s' does not mention '%s'", err, why);
    free(buf);
}

static void record_decode__minimal_record__is_read_with_defaults(void **state)
{
    const char *const keys[] = {"v", "reason", "original", "extra"};
    const pack_fn vals[] = {v_one, reason_ok, orig_bin, v_two};
    size_t len = 0;
    char *buf = map_bytes(4, keys, vals, &len);
    struct replay_record r;
    assert_int_equal(replay_record_decode(buf, len, &r, err, sizeof(err)), 0);
    assert_int_equal(r.partition, -1);
    assert_int_equal(r.offset, -1);
    assert_true(r.ts_ms == 0);
    assert_string_equal(r.error, "");
    assert_int_equal(r.original_len, 3);
    free(buf);
}

static void record_decode__broken_records__are_refused_naming_the_field(void **state)
{
    {
        const char *const k[] = {"v", "reason", "original"};
        const pack_fn v[] = {v_two, reason_ok, orig_bin};
        expect_bad(3, k, v, "v");
    }
    {
        const char *const k[] = {"reason", "original"};
        const pack_fn v[] = {reason_ok, orig_bin};
        expect_bad(2, k, v, "v");
    }
    {
        const char *const k[] = {"v", "original"};
        const pack_fn v[] = {v_one, orig_bin};
        expect_bad(2, k, v, "reason");
    }
    {
        const char *const k[] = {"v", "reason", "original"};
        const pack_fn v[] = {v_one, reason_int, orig_bin};
        expect_bad(3, k, v, "reason");
    }
    {
        const char *const k[] = {"v", "reason", "original"};
        const pack_fn v[] = {v_one, reason_evil, orig_bin};
        expect_bad(3, k, v, "reason");
    }
    {
        const char *const k[] = {"v", "reason"};
        const pack_fn v[] = {v_one, reason_ok};
        expect_bad(2, k, v, "original");
    }
    {
        const char *const k[] = {"v", "reason", "original"};
        const pack_fn v[] = {v_one, reason_ok, orig_str};
        expect_bad(3, k, v, "original");
    }
    {
        const char *const k[] = {"v", "reason", "original", "ts_ms"};
        const pack_fn v[] = {v_one, reason_ok, orig_bin, ts_str};
        expect_bad(4, k, v, "ts_ms");
    }
}

static void record_decode__bytes_that_are_not_a_record__are_refused(void **state)
{
    static const unsigned char not_map[] = {0x93, 0x01, 0x02, 0x03};
    static const unsigned char huge_array[] = {0x81, 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff};
    static const unsigned char huge_bin[] = {0x81, 0xa1, 'x', 0xc6, 0x7f, 0xff, 0xff, 0xff, 0x00};
    struct replay_record r;
    size_t jlen = 0, rlen = 0;
    char *job = job_bytes("job-1", &jlen);
    char *rec = record_bytes("sandbox_failed", job, jlen, &rlen);

    assert_int_equal(replay_record_decode(NULL, 0, &r, err, sizeof(err)), ATC_EBADMSG);
    assert_int_equal(replay_record_decode("garbage!", 8, &r, err, sizeof(err)), ATC_EBADMSG);
    assert_int_equal(replay_record_decode(not_map, sizeof(not_map), &r, err, sizeof(err)),
                     ATC_EBADMSG);
    assert_int_equal(replay_record_decode(huge_array, sizeof(huge_array), &r, err, sizeof(err)),
                     ATC_EBADMSG);
    assert_int_equal(replay_record_decode(huge_bin, sizeof(huge_bin), &r, err, sizeof(err)),
                     ATC_EBADMSG);
    /* Every cut of a good record is refused, and so is trailing data. */
    for (size_t n = 0; n < rlen; n++)
        assert_int_equal(replay_record_decode(rec, n, &r, err, sizeof(err)), ATC_EBADMSG);
    char *longer = malloc(rlen + 1);
    assert_non_null(longer);
    memcpy(longer, rec, rlen);
    longer[rlen] = 0x01;
    assert_int_equal(replay_record_decode(longer, rlen + 1, &r, err, sizeof(err)), ATC_EBADMSG);
    free(longer);
    free(rec);
    free(job);
}

static void record_job_id__valid_job__is_its_id(void **state)
{
    size_t jlen = 0;
    char *job = job_bytes("job-7", &jlen);
    struct replay_record r = {.original = job, .original_len = jlen};
    char id[ATC_JOB_ID_MAX + 1];
    assert_int_equal(replay_record_job_id(&r, "other", 5, id), 0);
    assert_string_equal(id, "job-7");
    free(job);
}

static void record_job_id__broken_job_with_readable_id__is_that_id(void **state)
{
    /* {v: 1, id: "bad-1", files: 7}: rejected, but its id can be read. */
    static const unsigned char msg[] = {0x83, 0xa1, 'v', 0x01, 0xa2, 'i', 'd', 0xa5, 'b', 'a',
                                        'd', '-', '1', 0xa5, 'f', 'i', 'l', 'e', 's', 0x07};
    struct replay_record r = {.original = msg, .original_len = sizeof(msg)};
    char id[ATC_JOB_ID_MAX + 1];
    assert_int_equal(replay_record_job_id(&r, NULL, 0, id), 0);
    assert_string_equal(id, "bad-1");
}

static void record_job_id__unreadable_job__falls_back_to_a_valid_key(void **state)
{
    struct replay_record r = {.original = "\xc1\xc1", .original_len = 2};
    char id[ATC_JOB_ID_MAX + 1];
    assert_int_equal(replay_record_job_id(&r, "key-1", 5, id), 0);
    assert_string_equal(id, "key-1");
    assert_int_equal(replay_record_job_id(&r, "bad key/..", 10, id), ATC_ENOTFOUND);
    assert_string_equal(id, "");
    assert_int_equal(replay_record_job_id(&r, NULL, 0, id), ATC_ENOTFOUND);
    /* A key with a NUL inside is not a valid id either. */
    assert_int_equal(replay_record_job_id(&r, "ab\0cd", 5, id), ATC_ENOTFOUND);
}

static void reason_is_rejection__knows_the_rejected_reasons(void **state)
{
    assert_true(replay_reason_is_rejection("bad_message"));
    assert_true(replay_reason_is_rejection("too_large"));
    assert_false(replay_reason_is_rejection("sandbox_failed"));
    assert_false(replay_reason_is_rejection("rate_limited"));
    assert_false(replay_reason_is_rejection(""));
}

#define NOW 1764140400000ull /* 2025-11-26T07:00:00Z */

static uint64_t since_ok(const char *s)
{
    uint64_t v = 0;
    err[0] = '\0';
    if (replay_parse_since(s, NOW, &v, err, sizeof(err)) != 0)
        fail_msg("'%s' refused: %s", s, err);
    return v;
}

static void parse_since__durations__count_back_from_now(void **state)
{
    assert_true(since_ok("90s") == NOW - 90000ull);
    assert_true(since_ok("90m") == NOW - 5400000ull);
    assert_true(since_ok("2h") == NOW - 7200000ull);
    assert_true(since_ok("7d") == NOW - 7ull * 86400000ull);
    assert_true(since_ok("1h30m") == NOW - 5400000ull);
    assert_true(since_ok("0s") == NOW);
    /* Longer ago than the epoch is the epoch. */
    assert_true(since_ok("30000000d") == 0);
}

static void parse_since__times__are_read_as_utc_or_with_their_offset(void **state)
{
    assert_true(since_ok("2025-11-26T07:00:00Z") == NOW);
    assert_true(since_ok("2025-11-26t07:00:00z") == NOW);
    assert_true(since_ok("2025-11-26 07:00:00Z") == NOW);
    assert_true(since_ok("2025-11-26T07:00:00.25Z") == NOW + 250);
    assert_true(since_ok("2025-11-26T09:00:00+02:00") == NOW);
    assert_true(since_ok("2025-11-26T06:30:00-00:30") == NOW);
    assert_true(since_ok("2025-11-26") == NOW - 7ull * 3600000ull);
    assert_true(since_ok("1764140400123") == NOW + 123);
}

static void parse_since__bad_values__are_refused(void **state)
{
    static const char *const bad[] = {
        "", "m", "5", "5x", "-5m", "5m-", "1h 30m", "h1", "2025-13-01", "2025-11-31T00:00:00Z",
        "2025-11-26T24:00:00Z", "2025-11-26T07:00:00", "2025-11-26T07:00Z", "2025-11-26T07:00:00+2",
        "99999999999999999999999d", "99999999999999999999999", "2025-11-26T07:00:00Zjunk",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t v = 7;
        err[0] = '\0';
        if (replay_parse_since(bad[i], NOW, &v, err, sizeof(err)) != ATC_EINVAL)
            fail_msg("'%s' accepted as %llu", bad[i], (unsigned long long)v);
        assert_true(err[0] != '\0');
    }
}

static void filter_match__each_filter__narrows_the_records(void **state)
{
    struct replay_record r = {.reason = "sandbox_failed", .ts_ms = 1000};
    const char *const reasons[] = {"rate_limited", "sandbox_failed"};
    const char *const other_reason[] = {"bad_message"};
    const char *const ids[] = {"a", "b"};
    struct replay_filter all = {0};
    struct replay_filter by_reason = {.reasons = reasons, .nreasons = 2};
    struct replay_filter by_other = {.reasons = other_reason, .nreasons = 1};
    struct replay_filter by_id = {.ids = ids, .nids = 2};
    struct replay_filter since_before = {.since_ms = 1000};
    struct replay_filter since_after = {.since_ms = 1001};

    assert_true(replay_filter_match(&all, &r, "z"));
    assert_true(replay_filter_match(&all, &r, ""));
    assert_true(replay_filter_match(&by_reason, &r, "z"));
    assert_false(replay_filter_match(&by_other, &r, "z"));
    assert_true(replay_filter_match(&by_id, &r, "b"));
    assert_false(replay_filter_match(&by_id, &r, "c"));
    assert_false(replay_filter_match(&by_id, &r, ""));
    assert_true(replay_filter_match(&since_before, &r, "z"));
    assert_false(replay_filter_match(&since_after, &r, "z"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(record_decode__a_worker_record__reads_every_field),
        cmocka_unit_test(record_decode__a_cut_original__is_marked_truncated),
        cmocka_unit_test(record_decode__minimal_record__is_read_with_defaults),
        cmocka_unit_test(record_decode__broken_records__are_refused_naming_the_field),
        cmocka_unit_test(record_decode__bytes_that_are_not_a_record__are_refused),
        cmocka_unit_test(record_job_id__valid_job__is_its_id),
        cmocka_unit_test(record_job_id__broken_job_with_readable_id__is_that_id),
        cmocka_unit_test(record_job_id__unreadable_job__falls_back_to_a_valid_key),
        cmocka_unit_test(reason_is_rejection__knows_the_rejected_reasons),
        cmocka_unit_test(parse_since__durations__count_back_from_now),
        cmocka_unit_test(parse_since__times__are_read_as_utc_or_with_their_offset),
        cmocka_unit_test(parse_since__bad_values__are_refused),
        cmocka_unit_test(filter_match__each_filter__narrows_the_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
