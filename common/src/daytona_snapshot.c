/* daytona_snapshot.c: the Daytona client's snapshot calls (see atc/daytona_snapshot.h). */
#include "atc/daytona_snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "atc/error.h"
#include "daytona_priv.h"

#define SNAP_MAX_JSON (16u * 1024 * 1024)
#define SNAP_LIST_LIMIT 200
#define SNAP_LIST_MAX_PAGES 50

/* A name or id we put in a path: printable, no '/', '?', '#', '%' or space. */
static int ref_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '/' || c == '?' || c == '#' || c == '%')
            return 0;
    }
    return 1;
}

static void copy_str(char *out, size_t outlen, json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    snprintf(out, outlen, "%s", s ? s : "");
}

static long long time_ms(json_t *obj, const char *key)
{
    long long ms = 0;
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s || atc_dhttp_iso8601_ms(s, &ms) != 0)
        return 0;
    return ms;
}

/* Fills out from a SnapshotDto; ATC_EPROTO when it has no id. */
static int from_json(json_t *o, struct atc_snapshot *out, const char *what, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(o) || !json_is_string(json_object_get(o, "id"))) {
        snprintf(err, errlen, "%s: the snapshot in the response has no id", what);
        return ATC_EPROTO;
    }
    copy_str(out->id, sizeof(out->id), o, "id");
    copy_str(out->name, sizeof(out->name), o, "name");
    copy_str(out->state, sizeof(out->state), o, "state");
    copy_str(out->error_reason, sizeof(out->error_reason), o, "errorReason");
    out->last_used_ms = time_ms(o, "lastUsedAt");
    out->created_ms = time_ms(o, "createdAt");
    return 0;
}

/* One call: method on the URL api_url + path (path already escaped), with an
 * optional JSON body; on success *reply holds the parsed JSON (or NULL when
 * want_json is 0). */
static int snap_call(struct atc_daytona *d, const char *method, const char *path,
                     const char *json, const char *endpoint, const char *what, int want_json,
                     json_t **reply, char *err, size_t errlen)
{
    struct atc_dhttp_body body = {0};
    char *url = atc_dhttp_fmt("%s%s", atc_daytona_api_url_(d), path);
    int rc;

    *reply = NULL;
    atc_daytona_reset_last_(d);
    if (!url) {
        snprintf(err, errlen, "%s: out of memory", what);
        return ATC_ENOMEM;
    }
    struct atc_dhttp_req req = {.method = method, .url = url, .what = what, .json = json,
                                .timeout_ms = atc_daytona_request_timeout_ms_(d),
                                .max_body = SNAP_MAX_JSON, .gzip = want_json};
    rc = atc_dhttp_do(atc_daytona_http_(d), &req, &body, err, errlen);
    atc_daytona_observe_(d, endpoint);
    if (rc == 0 && want_json) {
        json_error_t jerr;
        *reply = json_loadb(body.data, body.len, 0, &jerr);
        if (!*reply) {
            snprintf(err, errlen, "%s: the response is not JSON (line %d: %.80s)", what,
                     jerr.line, jerr.text);
            rc = ATC_EPROTO;
        }
    }
    atc_dhttp_body_free(&body);
    free(url);
    return rc;
}

int atc_daytona_snapshot_create(struct atc_daytona *d, const char *name, const char *dockerfile,
                                struct atc_snapshot *out, char *err, size_t errlen)
{
    json_t *req = NULL, *reply = NULL;
    char *text = NULL;
    int rc = ATC_ENOMEM;

    memset(out, 0, sizeof(*out));
    if (!ref_ok(name) || !dockerfile || !*dockerfile) {
        snprintf(err, errlen, "POST /snapshots: invalid snapshot name or empty Dockerfile");
        return ATC_EINVAL;
    }
    req = json_pack("{s:s, s:{s:s, s:[]}}", "name", name, "buildInfo", "dockerfileContent",
                    dockerfile, "contextHashes");
    text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    if (!text) {
        snprintf(err, errlen, "POST /snapshots: out of memory");
        goto out;
    }
    rc = snap_call(d, "POST", "/snapshots", text, "snapshot_create", "POST /snapshots", 1,
                   &reply, err, errlen);
    if (rc == 0)
        rc = from_json(reply, out, "POST /snapshots", err, errlen);
out:
    json_decref(req);
    json_decref(reply);
    free(text);
    return rc;
}

int atc_daytona_snapshot_get(struct atc_daytona *d, const char *id_or_name,
                             struct atc_snapshot *out, char *err, size_t errlen)
{
    char path[320], what[340];
    json_t *reply = NULL;

    memset(out, 0, sizeof(*out));
    if (!ref_ok(id_or_name)) {
        snprintf(err, errlen, "GET /snapshots: invalid snapshot name");
        return ATC_EINVAL;
    }
    snprintf(path, sizeof(path), "/snapshots/%s", id_or_name);
    snprintf(what, sizeof(what), "GET %s", path);
    int rc = snap_call(d, "GET", path, NULL, "snapshot_get", what, 1, &reply, err, errlen);
    if (rc == 0)
        rc = from_json(reply, out, what, err, errlen);
    json_decref(reply);
    return rc;
}

int atc_daytona_snapshot_delete(struct atc_daytona *d, const char *id, char *err, size_t errlen)
{
    char path[320], what[340];
    json_t *reply = NULL;

    if (!ref_ok(id)) {
        snprintf(err, errlen, "DELETE /snapshots: invalid snapshot id");
        return ATC_EINVAL;
    }
    snprintf(path, sizeof(path), "/snapshots/%s", id);
    snprintf(what, sizeof(what), "DELETE %s", path);
    int rc = snap_call(d, "DELETE", path, NULL, "snapshot_delete", what, 0, &reply, err, errlen);
    return rc == ATC_ENOTFOUND ? 0 : rc;
}

int atc_daytona_snapshot_activate(struct atc_daytona *d, const char *id, char *err,
                                  size_t errlen)
{
    char path[340], what[360];
    json_t *reply = NULL;

    if (!ref_ok(id)) {
        snprintf(err, errlen, "POST /snapshots/activate: invalid snapshot id");
        return ATC_EINVAL;
    }
    snprintf(path, sizeof(path), "/snapshots/%s/activate", id);
    snprintf(what, sizeof(what), "POST %s", path);
    int rc = snap_call(d, "POST", path, "{}", "snapshot_activate", what, 0, &reply, err, errlen);
    return rc;
}

int atc_daytona_snapshot_list(struct atc_daytona *d, const char *name,
                              struct atc_snapshot **items, size_t *nitems, char *err,
                              size_t errlen)
{
    struct atc_snapshot *v = NULL;
    size_t n = 0, cap = 0;
    char *ename = NULL;
    int rc = 0;

    *items = NULL;
    *nitems = 0;
    if (name && *name) {
        ename = atc_dhttp_escape(atc_daytona_http_(d), name);
        if (!ename) {
            snprintf(err, errlen, "GET /snapshots: out of memory");
            return ATC_ENOMEM;
        }
    }
    for (int page = 1; page <= SNAP_LIST_MAX_PAGES; page++) {
        char path[600];
        json_t *reply = NULL;
        snprintf(path, sizeof(path), "/snapshots?page=%d&limit=%d%s%s", page, SNAP_LIST_LIMIT,
                 ename ? "&name=" : "", ename ? ename : "");
        rc = snap_call(d, "GET", path, NULL, "snapshot_list", "GET /snapshots", 1, &reply, err,
                       errlen);
        if (rc != 0)
            break;
        json_t *arr = json_object_get(reply, "items");
        if (!json_is_array(arr)) {
            json_decref(reply);
            snprintf(err, errlen, "GET /snapshots: the response has no items array");
            rc = ATC_EPROTO;
            break;
        }
        size_t i;
        json_t *it;
        json_array_foreach(arr, i, it) {
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                struct atc_snapshot *nv = realloc(v, ncap * sizeof(*nv));
                if (!nv) {
                    rc = ATC_ENOMEM;
                    break;
                }
                v = nv;
                cap = ncap;
            }
            char e2[64];
            if (from_json(it, &v[n], "GET /snapshots", e2, sizeof(e2)) == 0)
                n++;
        }
        json_int_t total_pages = json_integer_value(json_object_get(reply, "totalPages"));
        size_t got = json_array_size(arr);
        json_decref(reply);
        if (rc != 0) {
            snprintf(err, errlen, "GET /snapshots: out of memory");
            break;
        }
        if (got < SNAP_LIST_LIMIT || page >= total_pages)
            break;
    }
    free(ename);
    if (rc != 0) {
        free(v);
        return rc;
    }
    *items = v;
    *nitems = n;
    return 0;
}
