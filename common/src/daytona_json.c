/* daytona_json.c: the Daytona API's request bodies and replies with jansson
 * (daytona_json.h). */
#include "daytona_json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "atc/error.h"

/* Sets key to a new string; 0, or -1 when s is NULL or not UTF-8 (or no memory). */
static int set_str(json_t *o, const char *key, const char *s)
{
    return s == NULL ? -1 : json_object_set_new(o, key, json_string(s));
}

/* An object of string pairs (the last of equal keys wins, as in any jansson
 * object); NULL when a pair is NULL or not UTF-8, or out of memory. */
static json_t *kv_object(const struct atc_kv *kv, size_t n)
{
    json_t *o = json_object();

    for (size_t i = 0; o != NULL && i < n; i++) {
        if (kv[i].key == NULL || set_str(o, kv[i].key, kv[i].value) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
}

/* Dumps o compactly into *out; consumes o. ATC_EINVAL when bad (a member
 * could not be set), ATC_ENOMEM when the dump fails. */
static int dump(json_t *o, int bad, char **out)
{
    int rc = 0;

    *out = NULL;
    if (o == NULL)
        return ATC_ENOMEM;
    if (bad)
        rc = ATC_EINVAL;
    else if ((*out = json_dumps(o, JSON_COMPACT)) == NULL)
        rc = ATC_ENOMEM;
    json_decref(o);
    return rc;
}

int atc_djson_create_body(const struct atc_sandbox_spec *spec, const char *target, char **out)
{
    json_t *o = json_object();
    int bad = 0;

    if (o == NULL)
        return dump(NULL, 0, out);
    if (spec->name != NULL)
        bad |= set_str(o, "name", spec->name);
    if (spec->snapshot != NULL)
        bad |= set_str(o, "snapshot", spec->snapshot);
    if (target != NULL)
        bad |= set_str(o, "target", target);
    json_t *labels = kv_object(spec->labels, spec->nlabels);
    json_t *env = kv_object(spec->env, spec->nenv);
    bad |= labels == NULL || json_object_set_new(o, "labels", labels) != 0;
    bad |= env == NULL || json_object_set_new(o, "env", env) != 0;
    if (spec->auto_stop_min >= 0)
        bad |= json_object_set_new(o, "autoStopInterval", json_integer(spec->auto_stop_min));
    if (spec->auto_delete_min >= 0)
        bad |= json_object_set_new(o, "autoDeleteInterval", json_integer(spec->auto_delete_min));
    if (spec->network_block_all)
        bad |= json_object_set_new(o, "networkBlockAll", json_true());
    return dump(o, bad, out);
}

int atc_djson_labels_query(const struct atc_kv *labels, size_t n, char **out)
{
    json_t *o = kv_object(labels, n);
    int rc = ATC_EINVAL;

    *out = NULL;
    if (o != NULL) {
        *out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        rc = *out != NULL ? 0 : ATC_ENOMEM;
    }
    json_decref(o);
    return rc;
}

int atc_djson_exec_body(const char *command, const char *cwd, const struct atc_kv *env,
                        size_t nenv, unsigned timeout_s, char **out)
{
    json_t *o = json_object();
    int bad = 0;

    if (o == NULL)
        return dump(NULL, 0, out);
    bad |= set_str(o, "command", command);
    if (cwd != NULL && cwd[0] != '\0')
        bad |= set_str(o, "cwd", cwd);
    if (nenv > 0) {
        json_t *envs = kv_object(env, nenv);
        bad |= envs == NULL || json_object_set_new(o, "envs", envs) != 0;
    }
    if (timeout_s > 0)
        bad |= json_object_set_new(o, "timeout", json_integer(timeout_s));
    return dump(o, bad, out);
}

/* Parses doc as a JSON object; NULL with err set when it is not one. */
static json_t *load_object(const char *doc, size_t len, const char *what, char *err,
                           size_t errlen)
{
    json_error_t jerr;
    json_t *v = json_loadb(doc, len, JSON_ALLOW_NUL, &jerr);

    if (v == NULL) {
        snprintf(err, errlen, "%s: the response is not JSON (line %d: %.80s)", what, jerr.line,
                 jerr.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        snprintf(err, errlen, "%s: the response is not a JSON object", what);
        json_decref(v);
        return NULL;
    }
    return v;
}

/* Copies string member key of o into out[outlen] up to its first NUL,
 * truncated to fit; "" when absent or not a string. Returns the length it
 * has up to that NUL (>= outlen when truncated), as snprintf. */
static size_t copy_str(json_t *o, const char *key, char *out, size_t outlen)
{
    const char *s = json_string_value(json_object_get(o, key));
    int n = snprintf(out, outlen, "%s", s != NULL ? s : "");
    return n > 0 ? (size_t)n : 0;
}

/* Copies a label into out when it is a string with no NUL that fits; else
 * leaves out "". */
static void copy_label(json_t *labels, const char *key, char *out, size_t outlen)
{
    json_t *v = json_object_get(labels, key);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);

    out[0] = '\0';
    if (s != NULL && n < outlen && memchr(s, '\0', n) == NULL)
        memcpy(out, s, n + 1);
}

int atc_djson_id_ok(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;
    if (n == 0 || n >= sizeof(((struct atc_sandbox *)0)->id))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
            return 0;
    return 1;
}

int atc_djson_sandbox(const char *doc, size_t len, struct atc_sandbox *out, char *proxy,
                      size_t proxylen, const char *what, char *err, size_t errlen)
{
    json_t *root = NULL;
    int rc = ATC_EPROTO;

    memset(out, 0, sizeof(*out));
    proxy[0] = '\0';
    root = load_object(doc, len, what, err, errlen);
    if (root == NULL)
        goto out;
    if (!json_is_string(json_object_get(root, "id")) ||
        copy_str(root, "id", out->id, sizeof(out->id)) >= sizeof(out->id) ||
        !atc_djson_id_ok(out->id)) {
        out->id[0] = '\0';
        snprintf(err, errlen, "%s: the sandbox in the response has no usable id", what);
        goto out;
    }
    copy_str(root, "name", out->name, sizeof(out->name));
    copy_str(root, "state", out->state, sizeof(out->state));
    copy_str(root, "errorReason", out->error_reason, sizeof(out->error_reason));
    json_t *labels = json_object_get(root, "labels");
    if (json_is_object(labels)) {
        copy_label(labels, "atc-job", out->job_label, sizeof(out->job_label));
        copy_label(labels, "atc-fleet", out->fleet_label, sizeof(out->fleet_label));
    }
    if (copy_str(root, "toolboxProxyUrl", proxy, proxylen) >= proxylen) {
        snprintf(err, errlen, "%s: toolboxProxyUrl is too long", what);
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int atc_djson_exec_reply(const char *doc, size_t len, int *exit_code, char **output,
                         size_t *output_len, const char *what, char *err, size_t errlen)
{
    json_t *root = NULL;
    int rc = ATC_EPROTO;

    *output = NULL;
    *output_len = 0;
    root = load_object(doc, len, what, err, errlen);
    if (root == NULL)
        goto out;
    json_t *ec = json_object_get(root, "exitCode");
    if (!json_is_integer(ec))
        ec = json_object_get(root, "code");
    if (!json_is_integer(ec) || json_integer_value(ec) < INT32_MIN ||
        json_integer_value(ec) > INT32_MAX) {
        snprintf(err, errlen, "%s: the response has no exitCode", what);
        goto out;
    }
    json_t *res = json_object_get(root, "result");
    if (res != NULL && !json_is_null(res) && !json_is_string(res)) {
        snprintf(err, errlen, "%s: result is not a string", what);
        goto out;
    }
    size_t n = json_is_string(res) ? json_string_length(res) : 0;
    char *buf = malloc(n + 1);
    if (buf == NULL) {
        rc = ATC_ENOMEM;
        snprintf(err, errlen, "%s: out of memory", what);
        goto out;
    }
    if (n > 0)
        memcpy(buf, json_string_value(res), n);
    buf[n] = '\0';
    *exit_code = (int)json_integer_value(ec);
    *output = buf;
    *output_len = n;
    rc = 0;
out:
    json_decref(root);
    return rc;
}
