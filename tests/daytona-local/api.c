/* api.c: daytona-local's control plane: sandboxes under /api/sandbox. */
#include "api.h"
#include "faults.h"
#include "sandbox.h"
#include "snapshots.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum MHD_Result sandbox_create(struct dl_req *r, const char *tbx)
{
    char err[512];
    struct dl_sandbox *sb = NULL;
    long retry_after = 1;
    if (g_dl_cfg.latency_create_ms > 0)
        dl_sleep_ms(g_dl_cfg.latency_create_ms);
    if (!dl_faults_create_allowed(g_dl_cfg.create_rate_per_min, &retry_after))
        return dl_reply_rate_limited(r, "sandbox-create", g_dl_cfg.create_rate_per_min,
                                     retry_after);
    json_t *body = dl_req_json(r);
    if (!body)
        return dl_reply_api_error(r, 400, "Invalid request body: expected a JSON object");
    int rc = dl_sandbox_create(body, &sb, err, sizeof(err));
    json_decref(body);
    if (rc != 0)
        return dl_reply_api_error(r, -rc, err);
    json_t *o = dl_sandbox_json(sb, tbx, 1);
    dl_sandbox_put(sb);
    return dl_reply_json(r, 200, o);
}

static enum MHD_Result collect_states(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    if (key && value && strcmp(key, "states") == 0)
        json_array_append_new((json_t *)cls, json_string(value));
    return MHD_YES;
}

static enum MHD_Result sandbox_list(struct dl_req *r, const char *tbx)
{
    const char *labels = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "labels");
    const char *limit_s = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "limit");
    const char *cursor = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "cursor");
    json_t *filter = NULL, *states = NULL, *items = NULL;
    long limit = 100, offset = 0, next = -1;
    enum MHD_Result ret;

    if (labels && *labels) {
        filter = json_loads(labels, 0, NULL);
        if (!json_is_object(filter)) {
            json_decref(filter);
            return dl_reply_api_error(r, 400, "Invalid labels JSON format");
        }
    }
    if (limit_s && *limit_s && dl_parse_long(limit_s, 1, 200, &limit) != 0) {
        json_decref(filter);
        return dl_reply_api_error(r, 400, "limit must be an integer from 1 to 200");
    }
    if (cursor && *cursor && dl_parse_long(cursor, 0, 1L << 40, &offset) != 0) {
        json_decref(filter);
        return dl_reply_api_error(r, 400, "invalid cursor");
    }
    states = json_array();
    if (states)
        MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_states, states);
    items = dl_sandbox_list(filter, states, offset, limit, tbx, &next);
    json_decref(filter);
    json_decref(states);
    if (!items)
        return dl_reply_api_error(r, 500, "An unexpected error occurred.");
    json_t *o = json_pack("{s:o}", "items", items);
    if (o) {
        if (next >= 0) {
            char buf[32];
            snprintf(buf, sizeof(buf), "%ld", next);
            json_object_set_new(o, "nextCursor", json_string(buf));
        } else {
            json_object_set_new(o, "nextCursor", json_null());
        }
    }
    ret = dl_reply_json(r, 200, o);
    return ret;
}

static enum MHD_Result not_found(struct dl_req *r, const char *id)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "Sandbox with ID or name %.400s not found", id);
    return dl_reply_api_error(r, 404, msg);
}

/* POST /sandbox/{id}/network-settings; --refuse-network-settings answers 403,
 * as a tier without the feature does. */
static enum MHD_Result network_settings(struct dl_req *r, struct dl_sandbox *sb, const char *tbx)
{
    char err[256];
    if (g_dl_cfg.refuse_network_settings)
        return dl_reply_api_error(r, 403, "Network settings are not available on this tier");
    json_t *body = dl_req_json(r);
    if (!body)
        return dl_reply_api_error(r, 400, "Invalid request body: expected a JSON object");
    int rc = dl_sandbox_set_network(sb, body, err, sizeof(err));
    json_decref(body);
    if (rc != 0)
        return dl_reply_api_error(r, -rc, err);
    return dl_reply_json(r, 200, dl_sandbox_json(sb, tbx, 1));
}

enum MHD_Result dl_api_handle(struct dl_req *r)
{
    char tbx[320];
    char id[300];
    const char *m = r->method;
    dl_toolbox_url(r, tbx, sizeof(tbx));

    if (strncmp(r->url, "/api/snapshots", 14) == 0 && (r->url[14] == '\0' || r->url[14] == '/'))
        return dl_snapshot_handle(r);

    if (strcmp(r->url, "/api/sandbox") == 0 || strcmp(r->url, "/api/sandbox/") == 0) {
        if (strcmp(m, "POST") == 0)
            return sandbox_create(r, tbx);
        if (strcmp(m, "GET") == 0)
            return sandbox_list(r, tbx);
        return dl_reply_api_error(r, 405, "Method Not Allowed");
    }
    if (strncmp(r->url, "/api/sandbox/", 13) != 0)
        return dl_reply_api_error(r, 404, "Not Found");

    /* /api/sandbox/<idOrName>[/<action>] */
    const char *action = "";
    if (dl_split_id_action(r->url + 13, id, sizeof(id), &action) != 0)
        return dl_reply_api_error(r, 404, "Not Found");

    if (!*action) {
        if (strcmp(m, "GET") == 0) {
            struct dl_sandbox *sb = dl_sandbox_get(id);
            if (!sb)
                return not_found(r, id);
            json_t *o = dl_sandbox_json(sb, tbx, 1);
            dl_sandbox_put(sb);
            return dl_reply_json(r, 200, o);
        }
        if (strcmp(m, "DELETE") == 0) {
            json_t *o = NULL;
            if (dl_sandbox_delete(id, tbx, &o) != 0)
                return not_found(r, id);
            return dl_reply_json(r, 200, o);
        }
        return dl_reply_api_error(r, 405, "Method Not Allowed");
    }
    struct dl_sandbox *sb = dl_sandbox_get(id);
    if (!sb)
        return not_found(r, id);
    enum MHD_Result ret;
    if (strcmp(action, "toolbox-proxy-url") == 0 && strcmp(m, "GET") == 0) {
        ret = dl_reply_json(r, 200, json_pack("{s:s}", "url", tbx));
    } else if (strcmp(action, "start") == 0 && strcmp(m, "POST") == 0) {
        dl_sandbox_start(sb);
        ret = dl_reply_json(r, 200, dl_sandbox_json(sb, tbx, 1));
    } else if (strcmp(action, "network-settings") == 0 && strcmp(m, "POST") == 0) {
        ret = network_settings(r, sb, tbx);
    } else if (strcmp(action, "stop") == 0 && strcmp(m, "POST") == 0) {
        dl_sandbox_stop(sb);
        ret = dl_reply_json(r, 200, dl_sandbox_json(sb, tbx, 1));
    } else {
        ret = dl_reply_api_error(r, 404, "Not Found");
    }
    dl_sandbox_put(sb);
    return ret;
}
