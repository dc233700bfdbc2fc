/* render.c: a result from Redis rendered as text or JSON for the `atc` command. */
#include "render.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>

/* The bounds check libatc runs before msgpack-c unpacks anything; private to
 * libatc, but the result blobs read from Redis need it just the same. */
#include "atc/mpcheck.h"

/* A result blob holds at most a few thousand tests of five fields each. */
#define RENDER_MP_MAX_OBJECTS (1u << 20)

/* ---- UTF-8 ---- */

/* Length of the valid UTF-8 sequence at s[0..len), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (len < n)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* A JSON string of buf[0..len), each invalid byte replaced by U+FFFD. */
static json_t *json_str_bytes(const char *buf, size_t len)
{
    const unsigned char *s = (const unsigned char *)buf;
    char *clean = NULL;
    size_t o = 0;
    json_t *j = NULL;

    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    clean = malloc(len * 3 + 1);
    if (clean == NULL)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq(s + i, len - i);
        if (n == 0) {
            memcpy(clean + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(clean + o, s + i, n);
            o += n;
            i += n;
        }
    }
    clean[o] = '\0';
    j = json_stringn(clean, o);
    free(clean);
    return j;
}

/* ---- msgpack to JSON ---- */

static json_t *mp_to_json(const msgpack_object *o)
{
    json_t *j = NULL;

    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX)
            return json_real((double)o->via.u64);
        return json_integer((json_int_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR:
        return json_str_bytes(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return json_str_bytes(o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_ARRAY:
        j = json_array();
        for (uint32_t i = 0; j != NULL && i < o->via.array.size; i++) {
            json_t *e = mp_to_json(&o->via.array.ptr[i]);
            if (e == NULL || json_array_append_new(j, e) != 0) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    case MSGPACK_OBJECT_MAP:
        j = json_object();
        for (uint32_t i = 0; j != NULL && i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            json_t *k = NULL;
            json_t *v = NULL;
            if (kv->key.type == MSGPACK_OBJECT_STR)
                k = json_str_bytes(kv->key.via.str.ptr, kv->key.via.str.size);
            else if (kv->key.type == MSGPACK_OBJECT_BIN)
                k = json_str_bytes(kv->key.via.bin.ptr, kv->key.via.bin.size);
            else
                continue; /* a JSON object has string keys only */
            v = mp_to_json(&kv->val);
            if (k == NULL || v == NULL ||
                json_object_setn_new(j, json_string_value(k), json_string_length(k), v) != 0) {
                json_decref(k);
                if (v != NULL && k != NULL)
                    v = NULL; /* json_object_setn_new consumed it */
                json_decref(v);
                json_decref(j);
                return NULL;
            }
            json_decref(k);
        }
        return j;
    default:
        return json_null();
    }
}

/* Decodes one msgpack blob into JSON; JSON null when the bytes are not one
 * well-formed object. NULL only when out of memory. */
static json_t *blob_to_json(const char *buf, size_t len)
{
    msgpack_unpacked u;
    size_t used = 0;
    size_t off = 0;
    char err[128];
    json_t *j;

    if (atc_mp_check(buf, len, RENDER_MP_MAX_OBJECTS, &used, err, sizeof(err)) != 0)
        return json_null();
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, buf, used, &off) != MSGPACK_UNPACK_SUCCESS)
        j = json_null();
    else
        j = mp_to_json(&u.data);
    msgpack_unpacked_destroy(&u);
    return j;
}

/* ---- JSON ---- */

static int is_numeric_field(const char *name)
{
    size_t n = strlen(name);

    return strcmp(name, "exit_code") == 0 || strcmp(name, "attempt") == 0 ||
           strcmp(name, "output_truncated") == 0 || strcmp(name, "cached") == 0 ||
           strcmp(name, "replayed") == 0 || strcmp(name, "reruns") == 0 ||
           strcmp(name, "test_timeout_s") == 0 || strncmp(name, "tests_", 6) == 0 || (n > 3 && strcmp(name + n - 3, "_ms") == 0);
}

static json_t *field_to_json(const struct atc_field *f)
{
    if (strcmp(f->name, "tests") == 0 || strcmp(f->name, "labels") == 0 ||
        strcmp(f->name, "lint") == 0)
        return blob_to_json(f->value, f->len);
    if (is_numeric_field(f->name) && f->len > 0 && f->len < 32 &&
        memchr(f->value, '\0', f->len) == NULL) {
        char num[32];
        char *end = NULL;
        long long v;
        memcpy(num, f->value, f->len);
        num[f->len] = '\0';
        errno = 0;
        v = strtoll(num, &end, 10);
        if (errno == 0 && end != num && *end == '\0')
            return json_integer((json_int_t)v);
    }
    return json_str_bytes(f->value, f->len);
}

json_t *render_result_json(const struct atc_result *r, const char *id)
{
    json_t *obj = json_object();

    if (obj == NULL)
        return NULL;
    for (size_t i = 0; i < r->nfields; i++) {
        const struct atc_field *f = &r->fields[i];
        json_t *v = field_to_json(f);
        if (v == NULL || json_object_set_new(obj, f->name, v) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    if (id != NULL && json_object_get(obj, "id") == NULL) {
        json_t *v = json_string(id);
        if (v == NULL || json_object_set_new(obj, "id", v) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

/* ---- text ---- */

/* Writes s up to its first newline (a test's message can be a whole traceback). */
static void put_first_line(const char *s, FILE *out)
{
    size_t n = strcspn(s, "\r\n");
    fwrite(s, 1, n, out);
    if (s[n] != '\0')
        fputs(" ...", out);
}

static const char *obj_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

static void put_field(const struct atc_result *r, const char *name, FILE *out)
{
    const struct atc_field *f = atc_result_field(r, name);
    if (f != NULL)
        fwrite(f->value, 1, f->len, out);
}

/* The lint lists, one line each when not empty. */
static void put_lint(const struct atc_result *r, FILE *out)
{
    const struct atc_field *f = atc_result_field(r, "lint");
    static const char *const keys[] = {"tests_without_assert", "tests_not_importing_tool"};
    static const char *const says[] = {"tests that assert nothing", "tests that import nothing from the tool"};
    if (f == NULL)
        return;
    json_t *lint = blob_to_json(f->value, f->len);
    for (size_t k = 0; k < 2; k++) {
        json_t *arr = json_object_get(lint, keys[k]);
        size_t i;
        json_t *v;
        if (json_array_size(arr) == 0)
            continue;
        fprintf(out, "lint: %s:", says[k]);
        json_array_foreach(arr, i, v)
        {
            fprintf(out, " %s", json_string_value(v) ? json_string_value(v) : "?");
        }
        fputc('\n', out);
    }
    json_decref(lint);
}

void render_result_text(const struct atc_result *r, FILE *out)
{
    const char *status = atc_result_str(r, "status");
    const struct atc_field *tests = atc_result_field(r, "tests");
    const struct atc_field *output = atc_result_field(r, "output");
    const struct atc_field *install = atc_result_field(r, "install_output");

    fprintf(out, "status: %s\n", *status ? status : "unknown");
    if (*atc_result_str(r, "reason"))
        fprintf(out, "reason: %s\n", atc_result_str(r, "reason"));
    if (atc_result_field(r, "tests_total") != NULL)
        fprintf(out, "tests: %s total, %s passed, %s failed, %s errors, %s skipped\n",
                atc_result_str(r, "tests_total"), atc_result_str(r, "tests_passed"),
                atc_result_str(r, "tests_failed"), atc_result_str(r, "tests_errors"),
                atc_result_str(r, "tests_skipped"));
    if (tests != NULL) {
        json_t *arr = blob_to_json(tests->value, tests->len);
        size_t i;
        json_t *t;
        json_array_foreach(arr, i, t)
        {
            const char *cls = obj_str(t, "classname");
            fprintf(out, "  %-8s %s%s%s", obj_str(t, "outcome"), cls, *cls ? "::" : "",
                    obj_str(t, "name"));
            if (*obj_str(t, "message")) {
                fputs("  ", out);
                put_first_line(obj_str(t, "message"), out);
            }
            fputc('\n', out);
        }
        json_decref(arr);
    }
    if (*atc_result_str(r, "tests_flaky") || *atc_result_str(r, "tests_timeout"))
        fprintf(out, "flaky: %s, timed out: %s (reruns %s, per-test limit %s s)\n",
                atc_result_str(r, "tests_flaky"), atc_result_str(r, "tests_timeout"),
                atc_result_str(r, "reruns"), atc_result_str(r, "test_timeout_s"));
    if (*atc_result_str(r, "coverage_pct"))
        fprintf(out, "coverage: %s%% of the lines of the job's non-test files\n",
                atc_result_str(r, "coverage_pct"));
    put_lint(r, out);
    if (*atc_result_str(r, "group"))
        fprintf(out, "group: %s\n", atc_result_str(r, "group"));
    if (*atc_result_str(r, "error"))
        fprintf(out, "error: %s\n", atc_result_str(r, "error"));
    if (*atc_result_str(r, "digest")) {
        fputs("digest:\n", out);
        put_field(r, "digest", out);
    }
    if (*atc_result_str(r, "exit_code"))
        fprintf(out, "exit code: %s\n", atc_result_str(r, "exit_code"));
    if (*atc_result_str(r, "duration_ms"))
        fprintf(out, "duration: %s ms\n", atc_result_str(r, "duration_ms"));
    if (install != NULL && install->len > 0) {
        fputs("install output:\n", out);
        put_field(r, "install_output", out);
        if (install->value[install->len - 1] != '\n')
            fputc('\n', out);
    }
    if (output != NULL && output->len > 0) {
        fprintf(out, "output%s:\n",
                strcmp(atc_result_str(r, "output_truncated"), "1") == 0 ? " (truncated)" : "");
        put_field(r, "output", out);
        if (output->value[output->len - 1] != '\n')
            fputc('\n', out);
    }
}

int render_result(const struct atc_result *r, const char *id, int json, FILE *out)
{
    json_t *obj;

    if (!json) {
        render_result_text(r, out);
        return 0;
    }
    obj = render_result_json(r, id);
    if (obj == NULL)
        return -1;
    json_dumpf(obj, out, JSON_COMPACT | JSON_SORT_KEYS);
    fputc('\n', out);
    json_decref(obj);
    return 0;
}

int render_exit_status(const char *status)
{
    if (status == NULL || strcmp(status, "passed") == 0)
        return RENDER_EXIT_OK;
    if (strcmp(status, "failed") == 0)
        return RENDER_EXIT_FAILED;
    if (strcmp(status, "error") == 0 || strcmp(status, "timeout") == 0 ||
        strcmp(status, "rejected") == 0 || strcmp(status, "cancelled") == 0 ||
        strcmp(status, "canceled") == 0)
        return RENDER_EXIT_ERROR;
    return RENDER_EXIT_OK;
}
