/* results.c: the result store of CONTRACT section 4 on hiredis: queued and running
 * marks, the atomic final write with its notifications, get and wait. */
#include "atc/clock.h"
#include "atc/results.h"

#include "atc/error.h"
#include "redis_url.h"
#include "results_priv.h"
/* The Redis scripts, generated from the files in common/lua (each says its KEYS,
 * ARGV and answer): atc_lua_running, atc_lua_final, atc_lua_cancel_final,
 * atc_lua_replay, run by workers and operators only: a producer runs none
 * (its Redis user may not, deploy/redis/acl.sh). */
#include "atc_lua_scripts.h"

#include <hiredis/hiredis.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define RESULTS_DEFAULT_TIMEOUT_MS 5000
#define RESULTS_ID_MAX 512
#define RESULTS_KEY_MAX (RESULTS_ID_MAX + 32)
#define RESULTS_FIELDS_MAX 1000
/* A wait of "forever" blocks in slices of this length, so a lost connection
 * is noticed within one slice instead of never. */
#define RESULTS_WAIT_SLICE_S 5.0
/* BLMOVE's timeout has millisecond resolution and 0 means forever: never
 * send less than this. */
#define RESULTS_WAIT_MIN_S 0.01

struct atc_results {
    struct atc_redis_url url;
    int timeout_ms;
    redisContext *c; /* NULL after a connection error: the next call reconnects */
};

/* The final statuses, as atc_status_is_final and the scripts know them. */
static const char *const results_final[] = {
    "passed", "failed", "error", "timeout", "rejected", "cancelled",
};

int atc_status_is_final(const char *status)
{
    if (status == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(results_final) / sizeof(results_final[0]); i++) {
        if (strcmp(status, results_final[i]) == 0)
            return 1;
    }
    return 0;
}

const struct atc_field *atc_result_field(const struct atc_result *r, const char *name)
{
    if (r == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < r->nfields; i++) {
        if (strcmp(r->fields[i].name, name) == 0)
            return &r->fields[i];
    }
    return NULL;
}

const char *atc_result_str(const struct atc_result *r, const char *name)
{
    const struct atc_field *f = atc_result_field(r, name);
    return f != NULL && f->value != NULL ? f->value : "";
}

void atc_result_free(struct atc_result *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nfields; i++) {
        free(r->fields[i].name);
        free(r->fields[i].value);
    }
    free(r->fields);
    free(r);
}

static struct timeval results_tv(double seconds)
{
    struct timeval tv;
    tv.tv_sec = (time_t)seconds;
    tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
    return tv;
}

static void results_where(const struct atc_results *r, char *buf, size_t buflen)
{
    if (r->url.is_unix)
        snprintf(buf, buflen, "%s", r->url.path);
    else if (strchr(r->url.host, ':') != NULL)
        snprintf(buf, buflen, "[%s]:%d", r->url.host, r->url.port);
    else
        snprintf(buf, buflen, "%s:%d", r->url.host, r->url.port);
}

/* Maps a Redis error reply to our code. */
static int results_reply_code(const char *msg)
{
    if (strncmp(msg, "NOAUTH", 6) == 0 || strncmp(msg, "WRONGPASS", 9) == 0 ||
        strncmp(msg, "NOPERM", 6) == 0)
        return ATC_EAUTH;
    return ATC_EIO;
}

/* Sends one command on a fresh connection during connect; NULL reply means
 * the connection failed. */
static int results_handshake(redisContext *c, const char *what, int argc, const char **argv,
                             const size_t *lens, int refused, char *err, size_t errlen)
{
    redisReply *reply = redisCommandArgv(c, argc, argv, lens);
    int rc = 0;

    if (reply == NULL) {
        snprintf(err, errlen, "Redis %s: %s", what, c->errstr);
        return ATC_ECONN;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "Redis refused %s: %.200s", what, reply->str);
        rc = refused;
    }
    freeReplyObject(reply);
    return rc;
}

static int results_connect(struct atc_results *r, char *err, size_t errlen)
{
    struct timeval tv = results_tv(r->timeout_ms / 1000.0);
    redisContext *c = NULL;
    char where[300];
    int rc = 0;

    results_where(r, where, sizeof(where));
    if (r->url.is_unix)
        c = redisConnectUnixWithTimeout(r->url.path, tv);
    else
        c = redisConnectWithTimeout(r->url.host, r->url.port, tv);
    if (c == NULL) {
        snprintf(err, errlen, "out of memory connecting to Redis at %s", where);
        rc = ATC_ENOMEM;
        goto out;
    }
    if (c->err != 0) {
        snprintf(err, errlen, "cannot connect to Redis at %s: %s", where, c->errstr);
        rc = ATC_ECONN;
        goto out;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(err, errlen, "cannot set the timeout on the Redis connection to %s: %s",
                 where, c->errstr);
        rc = ATC_ECONN;
        goto out;
    }
    if (!r->url.is_unix)
        redisEnableKeepAlive(c);
    if (r->url.password != NULL) {
        const char *argv[3] = {"AUTH"};
        size_t lens[3] = {4};
        int argc = 1;
        if (r->url.user != NULL) {
            argv[argc] = r->url.user;
            lens[argc++] = strlen(r->url.user);
        }
        argv[argc] = r->url.password;
        lens[argc++] = strlen(r->url.password);
        rc = results_handshake(c, "the password (AUTH)", argc, argv, lens, ATC_EAUTH, err,
                               errlen);
        if (rc != 0)
            goto out;
    }
    if (r->url.db != 0) {
        char db[16];
        int n = snprintf(db, sizeof(db), "%d", r->url.db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, (size_t)n};
        rc = results_handshake(c, "the database (SELECT)", 2, argv, lens, ATC_EINVAL, err,
                               errlen);
        if (rc != 0)
            goto out;
    }
    r->c = c;
    c = NULL;
out:
    if (c != NULL)
        redisFree(c);
    return rc;
}

/* A script's command as EVALSHA <sha1> ...: *sargv and *slens are malloc'd
 * copies of argv and lens with the first two replaced. 0 when the command is
 * not an EVAL of one of libatc's scripts (or memory ran out): send it as is. */
static int results_evalsha(int argc, const char **argv, const size_t *lens,
                           const char ***sargv, size_t **slens)
{
    const char *sha = argc >= 2 && strcmp(argv[0], "EVAL") == 0 ? atc_lua_sha1(argv[1]) : NULL;

    *sargv = NULL;
    *slens = NULL;
    if (sha == NULL)
        return 0;
    *sargv = malloc((size_t)argc * sizeof(**sargv));
    *slens = malloc((size_t)argc * sizeof(**slens));
    if (*sargv == NULL || *slens == NULL) {
        free(*sargv);
        free(*slens);
        *sargv = NULL;
        *slens = NULL;
        return 0;
    }
    memcpy(*sargv, argv, (size_t)argc * sizeof(**sargv));
    memcpy(*slens, lens, (size_t)argc * sizeof(**slens));
    (*sargv)[0] = "EVALSHA";
    (*slens)[0] = 7;
    (*sargv)[1] = sha;
    (*slens)[1] = strlen(sha);
    return 1;
}

/* 1 when reply says the server does not have the script (yet). */
static int results_noscript(const redisReply *reply)
{
    return reply != NULL && reply->type == REDIS_REPLY_ERROR && reply->str != NULL &&
           strncmp(reply->str, "NOSCRIPT", 8) == 0;
}

/* One command of a pipeline. */
struct results_cmd {
    int argc;
    const char **argv;
    const size_t *lens;
};

#define RESULTS_PIPE_MAX 8

/* Sends cmds[0..n) in one round trip, connecting first where needed. The
 * first command may be one of libatc's scripts: it goes as EVALSHA, and when
 * the server answers NOSCRIPT the pipeline goes once more with the script's
 * text (which makes the server keep it), so the commands behind a script must
 * be reads. On a connection error the context is dropped (the next call
 * reconnects) and ATC_ECONN returned; an error reply to the first command
 * becomes ATC_EIO (or ATC_EAUTH) with every reply freed. Otherwise 0 with
 * out[0..n) the replies (caller frees each; error replies to the later
 * commands are handed back as they are). */
static int results_pipeline(struct atc_results *r, const char *what, size_t n,
                            const struct results_cmd *cmds, redisReply **out, char *err,
                            size_t errlen)
{
    const char **sargv = NULL;
    size_t *slens = NULL;
    int sha, ok = 0, rc;

    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    if (n == 0 || n > RESULTS_PIPE_MAX) {
        snprintf(err, errlen, "%s: %zu commands in one pipeline", what, n);
        return ATC_EINVAL;
    }
    if (r->c == NULL) {
        rc = results_connect(r, err, errlen);
        if (rc != 0)
            return rc;
    }
    sha = results_evalsha(cmds[0].argc, cmds[0].argv, cmds[0].lens, &sargv, &slens);
    for (;;) {
        ok = redisAppendCommandArgv(r->c, cmds[0].argc, sha ? sargv : cmds[0].argv,
                                    sha ? slens : cmds[0].lens) == REDIS_OK;
        for (size_t i = 1; ok && i < n; i++)
            ok = redisAppendCommandArgv(r->c, cmds[i].argc, cmds[i].argv, cmds[i].lens) ==
                 REDIS_OK;
        for (size_t i = 0; ok && i < n; i++)
            ok = redisGetReply(r->c, (void **)&out[i]) == REDIS_OK && out[i] != NULL;
        if (!ok || !sha || !results_noscript(out[0]))
            break;
        /* Again with the script's text; the server keeps it from now on. */
        for (size_t i = 0; i < n; i++) {
            freeReplyObject(out[i]);
            out[i] = NULL;
        }
        sha = 0;
    }
    free(sargv);
    free(slens);
    if (!ok) {
        char where[300];
        results_where(r, where, sizeof(where));
        snprintf(err, errlen, "Redis at %s failed during %s: %s", where, what,
                 r->c->errstr[0] != '\0' ? r->c->errstr : "connection lost");
        rc = ATC_ECONN;
        redisFree(r->c);
        r->c = NULL;
        goto fail;
    }
    if (out[0]->type == REDIS_REPLY_ERROR) {
        rc = results_reply_code(out[0]->str);
        snprintf(err, errlen, "Redis refused %s: %.200s", what, out[0]->str);
        goto fail;
    }
    return 0;
fail:
    for (size_t i = 0; i < n; i++) {
        if (out[i] != NULL)
            freeReplyObject(out[i]);
        out[i] = NULL;
    }
    return rc;
}

/* What results_transaction returns when a WATCHed key changed: EXEC ran nothing. */
#define RESULTS_TX_WATCHED 1

/* Runs cmds[0..n) as one transaction, MULTI ... EXEC in one round trip: all
 * of them or none (an error reply to any, as a NOPERM, aborts the EXEC). 0,
 * RESULTS_TX_WATCHED when a key the connection WATCHes changed (nothing ran),
 * or ATC_ECONN, ATC_EIO or ATC_EAUTH with err naming what Redis said. */
static int results_transaction(struct atc_results *r, const char *what, size_t n,
                               const struct results_cmd *cmds, char *err, size_t errlen)
{
    static const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    static const size_t multi_len[] = {5}, exec_len[] = {4};
    struct results_cmd all[RESULTS_PIPE_MAX];
    redisReply *rep[RESULTS_PIPE_MAX];
    const char *bad = NULL;
    int rc;

    if (n + 2 > RESULTS_PIPE_MAX) {
        snprintf(err, errlen, "%s: %zu commands in one transaction", what, n);
        return ATC_EINVAL;
    }
    all[0] = (struct results_cmd){1, multi, multi_len};
    for (size_t i = 0; i < n; i++)
        all[i + 1] = cmds[i];
    all[n + 1] = (struct results_cmd){1, exec, exec_len};
    rc = results_pipeline(r, what, n + 2, all, rep, err, errlen);
    if (rc != 0)
        return rc;
    /* A command refused while queued says why; EXEC then says EXECABORT. */
    for (size_t i = 1; bad == NULL && i < n + 2; i++)
        if (rep[i]->type == REDIS_REPLY_ERROR)
            bad = rep[i]->str;
    const redisReply *ex = rep[n + 1];
    if (bad == NULL && ex->type == REDIS_REPLY_NIL)
        rc = RESULTS_TX_WATCHED;
    else if (bad == NULL && ex->type != REDIS_REPLY_ARRAY)
        bad = "EXEC answered something not a list";
    for (size_t i = 0; bad == NULL && ex->type == REDIS_REPLY_ARRAY && i < ex->elements; i++)
        if (ex->element[i]->type == REDIS_REPLY_ERROR)
            bad = ex->element[i]->str;
    if (bad != NULL) {
        rc = results_reply_code(bad);
        snprintf(err, errlen, "Redis refused %s: %.200s", what, bad);
    }
    for (size_t i = 0; i < n + 2; i++)
        freeReplyObject(rep[i]);
    return rc;
}

/* Runs one command (see results_pipeline), connecting first where needed. A
 * script goes as EVALSHA, and as EVAL only when the server answers NOSCRIPT.
 * *out is the reply on success. */
static int results_run(struct atc_results *r, const char *what, int argc, const char **argv,
                       const size_t *lens, redisReply **out, char *err, size_t errlen)
{
    struct results_cmd cmd = {argc, argv, lens};
    return results_pipeline(r, what, 1, &cmd, out, err, errlen);
}

static int results_check_id(const char *id, char *err, size_t errlen)
{
    size_t n = id != NULL ? strlen(id) : 0;

    if (n == 0 || n > RESULTS_ID_MAX) {
        snprintf(err, errlen, "a job id must be 1 to %d bytes long", RESULTS_ID_MAX);
        return ATC_EINVAL;
    }
    return 0;
}

static int results_check_fields(const struct atc_field *fields, size_t nfields, char *err,
                                size_t errlen)
{
    if (nfields > RESULTS_FIELDS_MAX) {
        snprintf(err, errlen, "%zu result fields are more than the %d allowed", nfields,
                 RESULTS_FIELDS_MAX);
        return ATC_EINVAL;
    }
    for (size_t i = 0; i < nfields; i++) {
        if (fields[i].name == NULL || fields[i].name[0] == '\0' ||
            (fields[i].value == NULL && fields[i].len > 0)) {
            snprintf(err, errlen, "result field %zu has no name or no value", i);
            return ATC_EINVAL;
        }
    }
    return 0;
}

struct atc_results *atc_results_new(const char *url, int timeout_ms, char *err, size_t errlen)
{
    struct atc_results *r = calloc(1, sizeof(*r));
    struct atc_results *ret = NULL;

    if (r == NULL) {
        snprintf(err, errlen, "out of memory creating the result store");
        goto out;
    }
    r->timeout_ms = timeout_ms > 0 ? timeout_ms : RESULTS_DEFAULT_TIMEOUT_MS;
    if (atc_redis_url_parse(url, &r->url, err, errlen) != 0)
        goto out;
    if (results_connect(r, err, errlen) != 0)
        goto out;
    ret = r;
    r = NULL;
out:
    atc_results_destroy(r);
    return ret;
}

void atc_results_destroy(struct atc_results *r)
{
    if (r == NULL)
        return;
    if (r->c != NULL)
        redisFree(r->c);
    atc_redis_url_cleanup(&r->url);
    free(r);
}

int atc_results_ping(struct atc_results *r, char *err, size_t errlen)
{
    const char *argv[1] = {"PING"};
    size_t lens[1] = {4};
    redisReply *reply = NULL;
    int rc = results_run(r, "PING", 1, argv, lens, &reply, err, errlen);

    if (reply != NULL)
        freeReplyObject(reply);
    return rc;
}

int atc_results_command_text(struct atc_results *r, int argc, const char **argv, char **out,
                             char *err, size_t errlen)
{
    redisReply *reply = NULL;
    size_t lens[8];
    size_t len = 0, pos = 0;
    char *text = NULL;
    int rc;

    *out = NULL;
    if (argc < 1 || argc > 8)
        return ATC_EINVAL;
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    rc = results_run(r, argv[0], argc, argv, lens, &reply, err, errlen);
    if (rc != 0)
        goto out;
    /* A string, or an array of strings (CONFIG GET) joined by newlines. */
    size_t n = reply->type == REDIS_REPLY_ARRAY ? reply->elements : 1;
    redisReply **el = reply->type == REDIS_REPLY_ARRAY ? reply->element : &reply;
    for (size_t i = 0; i < n; i++)
        len += (el[i]->str != NULL ? el[i]->len : 0) + 1;
    text = malloc(len + 1);
    if (text == NULL) {
        rc = ATC_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (el[i]->str != NULL) {
            memcpy(text + pos, el[i]->str, el[i]->len);
            pos += el[i]->len;
        }
        if (i + 1 < n)
            text[pos++] = '\n';
    }
    text[pos] = '\0';
    *out = text;
out:
    if (reply != NULL)
        freeReplyObject(reply);
    return rc;
}

int atc_results_mark_queued(struct atc_results *r, const char *id, uint64_t submitted_ms,
                            char *err, size_t errlen)
{
    return atc_results_mark_queued_group(r, id, submitted_ms, NULL, err, errlen);
}

int atc_results_mark_queued_group(struct atc_results *r, const char *id, uint64_t submitted_ms,
                                  const char *group, char *err, size_t errlen)
{
    char key[RESULTS_KEY_MAX], ms[24], ttl[24];
    int rc = results_check_id(id, err, errlen);

    if (rc != 0)
        return rc;
    int klen = snprintf(key, sizeof(key), "%s%s", ATC_QUEUED_KEY_PREFIX, id);
    int mlen = snprintf(ms, sizeof(ms), "%llu", (unsigned long long)submitted_ms);
    int tlen = snprintf(ttl, sizeof(ttl), "%d", ATC_RESULT_DEFAULT_TTL_S);
    const char *hset[] = {"HSET", key, "submitted_ms", ms, "group", group ? group : ""};
    size_t hset_lens[] = {4, (size_t)klen, 12, (size_t)mlen, 5, group ? strlen(group) : 0};
    const char *expire[] = {"EXPIRE", key, ttl};
    size_t expire_lens[] = {6, (size_t)klen, (size_t)tlen};
    struct results_cmd cmds[] = {{group ? 6 : 4, hset, hset_lens}, {3, expire, expire_lens}};
    /* Only while no worker has written the result: a fast job may have
     * started (and deleted the mark) before the submit got here, and a mark
     * written then would stay for its whole TTL. WATCH makes the check and
     * the write one step: a result written in between voids the EXEC. */
    char result[RESULTS_KEY_MAX];
    int rlen = snprintf(result, sizeof(result), "%s%s", ATC_RESULT_KEY_PREFIX, id);
    const char *watch[] = {"WATCH", result}, *exists[] = {"EXISTS", result};
    size_t watch_lens[] = {5, (size_t)rlen}, exists_lens[] = {6, (size_t)rlen};
    struct results_cmd check[] = {{2, watch, watch_lens}, {2, exists, exists_lens}};
    redisReply *rep[2];
    rc = results_pipeline(r, "the queued mark (WATCH)", 2, check, rep, err, errlen);
    if (rc != 0)
        return rc;
    int started = rep[1]->type != REDIS_REPLY_INTEGER || rep[1]->integer != 0;
    if (rep[1]->type == REDIS_REPLY_ERROR) {
        rc = results_reply_code(rep[1]->str);
        snprintf(err, errlen, "Redis refused the queued mark (EXISTS): %.200s", rep[1]->str);
    }
    freeReplyObject(rep[0]);
    freeReplyObject(rep[1]);
    if (started) {
        static const char *unwatch[] = {"UNWATCH"};
        static const size_t unwatch_len[] = {7};
        redisReply *u = NULL;
        if (results_run(r, "the queued mark (UNWATCH)", 1, unwatch, unwatch_len, &u, err,
                        errlen) == 0)
            freeReplyObject(u);
        return rc;
    }
    rc = results_transaction(r, "the queued mark", 2, cmds, err, errlen);
    return rc == RESULTS_TX_WATCHED ? 0 : rc;
}

/* Builds EVAL argv: EVAL script numkeys keys... args... then name, value per
 * field. The arrays are malloc'd; free both. */
static int results_eval_argv(const char *script, size_t script_len, const char *const *head,
                             const size_t *head_lens, int nhead, const char *numkeys,
                             const struct atc_field *fields, size_t nfields,
                             const char ***argv_out, size_t **lens_out, int *argc_out)
{
    size_t argc = 3 + (size_t)nhead + 2 * nfields;
    const char **argv = calloc(argc, sizeof(*argv));
    size_t *lens = calloc(argc, sizeof(*lens));
    size_t n = 0;

    if (argv == NULL || lens == NULL) {
        free(argv);
        free(lens);
        return ATC_ENOMEM;
    }
    argv[n] = "EVAL";
    lens[n++] = 4;
    argv[n] = script;
    lens[n++] = script_len;
    argv[n] = numkeys;
    lens[n++] = strlen(numkeys);
    for (int i = 0; i < nhead; i++) {
        argv[n] = head[i];
        lens[n++] = head_lens[i];
    }
    for (size_t i = 0; i < nfields; i++) {
        argv[n] = fields[i].name;
        lens[n++] = strlen(fields[i].name);
        /* hiredis needs a pointer even for an empty value. */
        argv[n] = fields[i].value != NULL ? fields[i].value : "";
        lens[n++] = fields[i].len;
    }
    *argv_out = argv;
    *lens_out = lens;
    *argc_out = (int)argc;
    return 0;
}

/* The running mark, with the cancel check pipelined behind it when cancel_out
 * is not NULL. */
static int results_mark_running(struct atc_results *r, const char *id,
                                const struct atc_field *fields, size_t nfields,
                                int *attempt_out, int *cancel_out, char *err, size_t errlen)
{
    char key[RESULTS_KEY_MAX], queued[RESULTS_KEY_MAX], ttl[24], cancel[RESULTS_KEY_MAX];
    const char **argv = NULL;
    size_t *lens = NULL;
    redisReply *reply = NULL, *reply2 = NULL;
    int argc = 0;
    int rc;

    if (attempt_out != NULL)
        *attempt_out = 0;
    if (cancel_out != NULL)
        *cancel_out = 0;
    rc = results_check_id(id, err, errlen);
    if (rc == 0)
        rc = results_check_fields(fields, nfields, err, errlen);
    if (rc != 0)
        goto out;
    int klen = snprintf(key, sizeof(key), "%s%s", ATC_RESULT_KEY_PREFIX, id);
    int qlen = snprintf(queued, sizeof(queued), "%s%s", ATC_QUEUED_KEY_PREFIX, id);
    int tlen = snprintf(ttl, sizeof(ttl), "%d", ATC_RESULT_DEFAULT_TTL_S);
    const char *head[] = {key, queued, ttl};
    size_t head_lens[] = {(size_t)klen, (size_t)qlen, (size_t)tlen};
    rc = results_eval_argv(atc_lua_running, sizeof(atc_lua_running) - 1, head,
                           head_lens, 3, "2", fields, nfields, &argv, &lens, &argc);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory writing the running mark of %s", id);
        goto out;
    }
    if (cancel_out != NULL) {
        int clen = snprintf(cancel, sizeof(cancel), "%s%s", ATC_CANCEL_KEY_PREFIX, id);
        const char *argv2[] = {"GET", cancel};
        size_t lens2[] = {3, (size_t)clen};
        struct results_cmd cmds[] = {{argc, argv, lens}, {2, argv2, lens2}};
        redisReply *rep[2];
        rc = results_pipeline(r, "the running mark", 2, cmds, rep, err, errlen);
        reply = rep[0];
        reply2 = rep[1];
    } else {
        rc = results_run(r, "the running mark", argc, argv, lens, &reply, err, errlen);
    }
    if (rc != 0)
        goto out;
    if (reply->type != REDIS_REPLY_INTEGER) {
        snprintf(err, errlen, "Redis answered the running mark of %s with reply type %d",
                 id, reply->type);
        rc = ATC_EPROTO;
        goto out;
    }
    if (reply->integer < 0) {
        snprintf(err, errlen, "the result of %s is already final", id);
        rc = ATC_EFINAL;
        goto out;
    }
    if (attempt_out != NULL)
        *attempt_out = reply->integer > 1000000000 ? 1000000000 : (int)reply->integer;
    /* As atc_results_cancel_check reads it: a string there is a cancel. */
    if (cancel_out != NULL && reply2 != NULL)
        *cancel_out = reply2->type == REDIS_REPLY_STRING;
out:
    if (reply != NULL)
        freeReplyObject(reply);
    if (reply2 != NULL)
        freeReplyObject(reply2);
    free(argv);
    free(lens);
    return rc;
}

int atc_results_mark_running(struct atc_results *r, const char *id,
                             const struct atc_field *fields, size_t nfields, int *attempt_out,
                             char *err, size_t errlen)
{
    return results_mark_running(r, id, fields, nfields, attempt_out, NULL, err, errlen);
}

int atc_results_mark_running_cancel(struct atc_results *r, const char *id,
                                    const struct atc_field *fields, size_t nfields,
                                    int *attempt_out, int *cancel_out, char *err,
                                    size_t errlen)
{
    return results_mark_running(r, id, fields, nfields, attempt_out, cancel_out, err, errlen);
}

int atc_results_write_final(struct atc_results *r, const char *id, const char *status,
                            const struct atc_field *fields, size_t nfields, long ttl_s,
                            char *err, size_t errlen)
{
    char key[RESULTS_KEY_MAX], done[RESULTS_KEY_MAX], queued[RESULTS_KEY_MAX], ttl[24];
    const char **argv = NULL;
    size_t *lens = NULL;
    redisReply *reply = NULL;
    int argc = 0;
    int rc;

    rc = results_check_id(id, err, errlen);
    if (rc == 0)
        rc = results_check_fields(fields, nfields, err, errlen);
    if (rc != 0)
        goto out;
    if (!atc_status_is_final(status)) {
        snprintf(err, errlen, "'%.32s' is not a final status", status ? status : "(null)");
        rc = ATC_EINVAL;
        goto out;
    }
    int klen = snprintf(key, sizeof(key), "%s%s", ATC_RESULT_KEY_PREFIX, id);
    int dlen = snprintf(done, sizeof(done), "%s%s", ATC_DONE_KEY_PREFIX, id);
    int qlen = snprintf(queued, sizeof(queued), "%s%s", ATC_QUEUED_KEY_PREFIX, id);
    int tlen = snprintf(ttl, sizeof(ttl), "%ld", ttl_s > 0 ? ttl_s : ATC_RESULT_DEFAULT_TTL_S);
    const char *head[] = {key, done, ATC_RESULTS_STREAM, queued, id, status, ttl};
    size_t head_lens[] = {(size_t)klen, (size_t)dlen, strlen(ATC_RESULTS_STREAM),
                          (size_t)qlen, strlen(id), strlen(status), (size_t)tlen};
    rc = results_eval_argv(atc_lua_final, sizeof(atc_lua_final) - 1, head, head_lens,
                           7, "4", fields, nfields, &argv, &lens, &argc);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory writing the result of %s", id);
        goto out;
    }
    rc = results_run(r, "the final write", argc, argv, lens, &reply, err, errlen);
    if (rc != 0)
        goto out;
    if (reply->type != REDIS_REPLY_INTEGER) {
        snprintf(err, errlen, "Redis answered the final write of %s with reply type %d", id,
                 reply->type);
        rc = ATC_EPROTO;
        goto out;
    }
    if (reply->integer == 0) {
        snprintf(err, errlen, "the result of %s was already final; nothing written", id);
        rc = ATC_EFINAL;
    }
out:
    if (reply != NULL)
        freeReplyObject(reply);
    free(argv);
    free(lens);
    return rc;
}

static char *results_memdup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p == NULL)
        return NULL;
    if (n > 0)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Appends a field (copies of name and value) to res, whose array has room. */
static int results_push(struct atc_result *res, const char *name, size_t nlen, const char *value,
                        size_t vlen)
{
    struct atc_field *f = &res->fields[res->nfields];

    f->name = results_memdup(name, nlen);
    f->value = results_memdup(value, vlen);
    f->len = vlen;
    res->nfields++;
    return f->name != NULL && f->value != NULL ? 0 : ATC_ENOMEM;
}

/* A result with room for nfields + extra fields; NULL when memory ran out. */
static struct atc_result *results_alloc(size_t nfields, size_t extra)
{
    struct atc_result *res = calloc(1, sizeof(*res));

    if (res != NULL && (res->fields = calloc(nfields + extra, sizeof(*res->fields))) == NULL) {
        free(res);
        res = NULL;
    }
    return res;
}

/* Turns a non-empty HGETALL reply into a result with room for extra more
 * fields. When only is not NULL, only the fields it names are kept. */
static int results_from_reply(const redisReply *reply, const char *id, size_t extra,
                              const char *const *only, struct atc_result **out, char *err,
                              size_t errlen)
{
    struct atc_result *res = results_alloc(reply->elements / 2, extra);
    int rc = 0;

    if (res == NULL) {
        snprintf(err, errlen, "out of memory reading the result of %s", id);
        rc = ATC_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const redisReply *k = reply->element[i];
        const redisReply *v = reply->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            snprintf(err, errlen, "the result of %s holds a field that is not a string", id);
            rc = ATC_EPROTO;
            goto out;
        }
        int keep = only == NULL;
        for (size_t j = 0; !keep && only[j] != NULL; j++)
            keep = k->len == strlen(only[j]) && memcmp(k->str, only[j], k->len) == 0;
        if (keep && results_push(res, k->str, k->len, v->str, v->len) != 0) {
            snprintf(err, errlen, "out of memory reading the result of %s", id);
            rc = ATC_ENOMEM;
            goto out;
        }
    }
    *out = res;
    res = NULL;
out:
    atc_result_free(res);
    return rc;
}

/* The reader's merge of atc_results_get: the replies to HGETALL of the
 * queued mark, HGETALL of the result hash and EXISTS of the cancel mark. */
static int results_merge(redisReply *const rep[3], const char *id, struct atc_result **out,
                         char *err, size_t errlen)
{
    static const char *const from_mark[] = {"submitted_ms", "group", NULL};
    const redisReply *queued = rep[0], *hash = rep[1], *cancel = rep[2];
    struct atc_result *res = NULL;
    int rc = 0;

    for (int i = 0; i < 3; i++) {
        if (rep[i]->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "Redis refused reading the result of %s: %.200s", id,
                     rep[i]->str);
            return results_reply_code(rep[i]->str);
        }
    }
    if (queued->type != REDIS_REPLY_ARRAY || queued->elements % 2 != 0 ||
        hash->type != REDIS_REPLY_ARRAY || hash->elements % 2 != 0 ||
        cancel->type != REDIS_REPLY_INTEGER) {
        snprintf(err, errlen, "Redis answered the read of %s with something not a hash", id);
        return ATC_EPROTO;
    }
    if (hash->elements > 0) {
        rc = results_from_reply(hash, id, 1, NULL, &res, err, errlen);
    } else if (queued->elements > 0) {
        /* Only the fields a queued mark has: nothing else a producer wrote there. */
        rc = results_from_reply(queued, id, 2, from_mark, &res, err, errlen);
        if (rc == 0 && results_push(res, "status", 6, "queued", 6) != 0) {
            snprintf(err, errlen, "out of memory reading the result of %s", id);
            rc = ATC_ENOMEM;
        }
    } else {
        snprintf(err, errlen, "no result for job %s", id);
        return ATC_ENOTFOUND;
    }
    if (rc == 0 && cancel->integer == 1 && !atc_status_is_final(atc_result_str(res, "status")) &&
        atc_result_field(res, "cancel_requested") == NULL &&
        results_push(res, "cancel_requested", 16, "1", 1) != 0) {
        snprintf(err, errlen, "out of memory reading the result of %s", id);
        rc = ATC_ENOMEM;
    }
    if (rc == 0) {
        *out = res;
        res = NULL;
    }
    atc_result_free(res);
    return rc;
}

int atc_results_get(struct atc_results *r, const char *id, struct atc_result **out,
                    char *err, size_t errlen)
{
    char queued[RESULTS_KEY_MAX], key[RESULTS_KEY_MAX], cancel[RESULTS_KEY_MAX];
    redisReply *rep[3];
    int rc;

    *out = NULL;
    rc = results_check_id(id, err, errlen);
    if (rc != 0)
        return rc;
    int qlen = snprintf(queued, sizeof(queued), "%s%s", ATC_QUEUED_KEY_PREFIX, id);
    int klen = snprintf(key, sizeof(key), "%s%s", ATC_RESULT_KEY_PREFIX, id);
    int clen = snprintf(cancel, sizeof(cancel), "%s%s", ATC_CANCEL_KEY_PREFIX, id);
    const char *q[] = {"HGETALL", queued}, *h[] = {"HGETALL", key}, *c[] = {"EXISTS", cancel};
    size_t qlens[] = {7, (size_t)qlen}, hlens[] = {7, (size_t)klen}, clens[] = {6, (size_t)clen};
    /* The queued mark before the hash: a worker deletes the mark in the script
     * that writes the hash, so a job read between the two is in one or both,
     * never in neither. */
    struct results_cmd cmds[] = {{2, q, qlens}, {2, h, hlens}, {2, c, clens}};
    rc = results_pipeline(r, "reading the result (HGETALL)", 3, cmds, rep, err, errlen);
    if (rc != 0)
        return rc;
    rc = results_merge(rep, id, out, err, errlen);
    for (int i = 0; i < 3; i++)
        freeReplyObject(rep[i]);
    return rc;
}

/* Blocks up to slice_s on atc:done:<id>. 1 when an element is there (the
 * result became final), 0 when the slice passed, or an error. BLMOVE moves
 * the element onto the same list, so it stays for other waiters. */
static int results_block(struct atc_results *r, const char *id, double slice_s, char *err,
                         size_t errlen)
{
    char done[RESULTS_KEY_MAX], secs[32];
    redisReply *reply = NULL;
    int rc;

    if (r->c == NULL) {
        rc = results_connect(r, err, errlen);
        if (rc != 0)
            return rc;
    }
    int dlen = snprintf(done, sizeof(done), "%s%s", ATC_DONE_KEY_PREFIX, id);
    int slen = snprintf(secs, sizeof(secs), "%.3f", slice_s);
    const char *argv[] = {"BLMOVE", done, done, "RIGHT", "LEFT", secs};
    size_t lens[] = {6, (size_t)dlen, (size_t)dlen, 5, 4, (size_t)slen};
    /* The socket must outlast the block, or hiredis would call it a timeout. */
    struct timeval block_tv = results_tv(slice_s + r->timeout_ms / 1000.0);
    if (redisSetTimeout(r->c, block_tv) != REDIS_OK) {
        snprintf(err, errlen, "cannot raise the Redis socket timeout: %s", r->c->errstr);
        redisFree(r->c);
        r->c = NULL;
        return ATC_ECONN;
    }
    rc = results_run(r, "waiting (BLMOVE)", 6, argv, lens, &reply, err, errlen);
    if (r->c != NULL && redisSetTimeout(r->c, results_tv(r->timeout_ms / 1000.0)) != REDIS_OK) {
        /* A context with the long timeout would make later calls hang: drop it. */
        redisFree(r->c);
        r->c = NULL;
    }
    if (rc != 0)
        goto out;
    rc = reply->type == REDIS_REPLY_NIL ? 0 : 1;
out:
    if (reply != NULL)
        freeReplyObject(reply);
    return rc;
}

int atc_results_wait(struct atc_results *r, const char *id, double timeout_s,
                     struct atc_result **out, char *err, size_t errlen)
{
    struct atc_result *cur = NULL;
    double deadline;
    int rc;

    *out = NULL;
    if (!(timeout_s >= 0) || isinf(timeout_s)) {
        snprintf(err, errlen, "the wait timeout must be 0 (forever) or a positive number");
        return ATC_EINVAL;
    }
    deadline = (double)atc_clock_mono_ms() / 1000.0 + timeout_s;
    rc = atc_results_get(r, id, &cur, err, errlen);
    if (rc != 0 && rc != ATC_ENOTFOUND)
        goto out;
    if (cur != NULL && atc_status_is_final(atc_result_str(cur, "status"))) {
        *out = cur;
        cur = NULL;
        goto out;
    }
    /* From here the done list decides: a final write after the read above left
     * its element on the list (it lives as long as the result), so BLMOVE
     * returns at once instead of missing it. */
    for (;;) {
        double slice = RESULTS_WAIT_SLICE_S;
        if (timeout_s > 0) {
            double left = deadline - (double)atc_clock_mono_ms() / 1000.0;
            if (left <= 0)
                break;
            if (left < slice)
                slice = left < RESULTS_WAIT_MIN_S ? RESULTS_WAIT_MIN_S : left;
        }
        rc = results_block(r, id, slice, err, errlen);
        if (rc < 0)
            goto out;
        if (rc == 1) {
            atc_result_free(cur);
            cur = NULL;
            rc = atc_results_get(r, id, &cur, err, errlen);
            if (rc != 0)
                goto out;
            if (atc_status_is_final(atc_result_str(cur, "status"))) {
                *out = cur;
                cur = NULL;
                goto out;
            }
            /* The done list says final, the hash does not: someone changed the
             * keys by hand. Waiting on would spin, so report it. */
            snprintf(err, errlen, "%s%s holds an element but the result of %s is '%.32s'",
                     ATC_DONE_KEY_PREFIX, id, id, atc_result_str(cur, "status"));
            rc = ATC_EIO;
            goto out;
        }
    }
    /* Timed out: hand back the newest state, not the one from the start
     * (which may even be final by now). */
    atc_result_free(cur);
    cur = NULL;
    rc = atc_results_get(r, id, &cur, err, errlen);
    if (rc != 0 && rc != ATC_ENOTFOUND)
        goto out;
    rc = 0;
    if (cur == NULL || !atc_status_is_final(atc_result_str(cur, "status"))) {
        snprintf(err, errlen, "the result of %s was not final within %.3g s", id, timeout_s);
        rc = ATC_ETIMEDOUT;
    }
    *out = cur;
    cur = NULL;
out:
    atc_result_free(cur);
    return rc;
}

/* The result cache (atc:cache:<content key> -> the id of a job whose final
 * result may be reused) and the cancel marks the worker watches. */

int atc_results_cache_lookup(struct atc_results *r, const char *key, char *id_out, size_t idlen,
                             char *err, size_t errlen)
{
    char k[160];
    redisReply *reply = NULL;
    int n = snprintf(k, sizeof(k), "atc:cache:%s", key);
    const char *argv[2] = {"GET", k};
    size_t lens[2] = {3, (size_t)n};
    int rc = results_run(r, "GET cache", 2, argv, lens, &reply, err, errlen);

    if (rc != 0)
        return rc;
    if (reply->type != REDIS_REPLY_STRING || reply->len == 0 || reply->len >= idlen) {
        rc = ATC_ENOTFOUND;
    } else {
        memcpy(id_out, reply->str, reply->len);
        id_out[reply->len] = '\0';
    }
    freeReplyObject(reply);
    return rc;
}

int atc_results_cache_store(struct atc_results *r, const char *key, const char *id, long ttl_s,
                            char *err, size_t errlen)
{
    char k[160], ttl[24];
    redisReply *reply = NULL;
    int n = snprintf(k, sizeof(k), "atc:cache:%s", key);
    int tn = snprintf(ttl, sizeof(ttl), "%ld", ttl_s);
    const char *argv[5] = {"SET", k, id, "EX", ttl};
    size_t lens[5] = {3, (size_t)n, strlen(id), 2, (size_t)tn};
    int rc = results_run(r, "SET cache", 5, argv, lens, &reply, err, errlen);

    if (reply != NULL)
        freeReplyObject(reply);
    return rc;
}

/* For each of names[0..n), flags[i] = 1 when the key <prefix><name> exists,
 * in one round trip (MGET). 0 or an error. */
static int results_keys_present(struct atc_results *r, const char *what, const char *prefix,
                                const char *const *names, size_t n, int *flags, char *err,
                                size_t errlen)
{
    const char **argv = NULL;
    size_t *lens = NULL;
    char **keys = NULL;
    redisReply *reply = NULL;
    int rc = ATC_ENOMEM;

    if (n == 0)
        return 0;
    argv = calloc(n + 1, sizeof(*argv));
    lens = calloc(n + 1, sizeof(*lens));
    keys = calloc(n, sizeof(*keys));
    if (!argv || !lens || !keys) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    argv[0] = "MGET";
    lens[0] = 4;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(prefix) + strlen(names[i]) + 1;
        keys[i] = malloc(len);
        if (!keys[i]) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        lens[i + 1] = (size_t)snprintf(keys[i], len, "%s%s", prefix, names[i]);
        argv[i + 1] = keys[i];
    }
    rc = results_run(r, what, (int)n + 1, argv, lens, &reply, err, errlen);
    if (rc != 0)
        goto out;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != n) {
        snprintf(err, errlen, "Redis answered MGET with something else");
        rc = ATC_EIO;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        flags[i] = reply->element[i]->type == REDIS_REPLY_STRING;
out:
    if (reply)
        freeReplyObject(reply);
    for (size_t i = 0; keys && i < n; i++)
        free(keys[i]);
    free(keys);
    free(argv);
    free(lens);
    return rc;
}

int atc_results_cancel_check(struct atc_results *r, const char *const *ids, size_t n, int *flags,
                             char *err, size_t errlen)
{
    return results_keys_present(r, "MGET cancel", "atc:cancel:", ids, n, flags, err, errlen);
}

/* The status of id's result ("" when none) and whether its queued mark exists. */
static int results_cancel_state(struct atc_results *r, const char *id, char *status,
                                size_t statuslen, int *queued, char *err, size_t errlen)
{
    char key[RESULTS_KEY_MAX], mark[RESULTS_KEY_MAX];
    redisReply *rep[2];
    int rc;

    status[0] = '\0';
    *queued = 0;
    int klen = snprintf(key, sizeof(key), "%s%s", ATC_RESULT_KEY_PREFIX, id);
    int qlen = snprintf(mark, sizeof(mark), "%s%s", ATC_QUEUED_KEY_PREFIX, id);
    const char *h[] = {"HGET", key, "status"}, *q[] = {"EXISTS", mark};
    size_t hlens[] = {4, (size_t)klen, 6}, qlens[] = {6, (size_t)qlen};
    struct results_cmd cmds[] = {{3, h, hlens}, {2, q, qlens}};
    rc = results_pipeline(r, "reading the status (HGET)", 2, cmds, rep, err, errlen);
    if (rc != 0)
        return rc;
    if ((rep[0]->type != REDIS_REPLY_STRING && rep[0]->type != REDIS_REPLY_NIL) ||
        rep[1]->type != REDIS_REPLY_INTEGER) {
        snprintf(err, errlen, "Redis answered the status read of %s with an unexpected reply",
                 id);
        rc = ATC_EPROTO;
    } else {
        if (rep[0]->type == REDIS_REPLY_STRING)
            snprintf(status, statuslen, "%.*s", (int)rep[0]->len, rep[0]->str);
        *queued = rep[1]->integer == 1;
    }
    freeReplyObject(rep[0]);
    freeReplyObject(rep[1]);
    return rc;
}

int atc_results_cancel(struct atc_results *r, const char *id, long ttl_s, double wait_s,
                       int *outcome, char *err, size_t errlen)
{
    char mark[RESULTS_KEY_MAX], ttl[24], status[32];
    struct atc_result *res = NULL;
    int queued = 0, got = ATC_CANCEL_REQUESTED;
    int rc;

    if (outcome != NULL)
        *outcome = ATC_CANCEL_ALREADY_FINAL;
    rc = results_check_id(id, err, errlen);
    if (rc == 0 && (!(wait_s >= 0) || isinf(wait_s))) {
        snprintf(err, errlen, "the cancel's wait must be 0 or a positive number of seconds");
        rc = ATC_EINVAL;
    }
    if (rc == 0)
        rc = results_cancel_state(r, id, status, sizeof(status), &queued, err, errlen);
    if (rc != 0 || atc_status_is_final(status))
        return rc;
    int mlen = snprintf(mark, sizeof(mark), "%s%s", ATC_CANCEL_KEY_PREFIX, id);
    int tlen = snprintf(ttl, sizeof(ttl), "%ld", ttl_s > 0 ? ttl_s : ATC_RESULT_DEFAULT_TTL_S);
    const char *set[] = {"SET", mark, "1", "EX", ttl};
    size_t set_lens[] = {3, (size_t)mlen, 1, 2, (size_t)tlen};
    const char *xadd[] = {"XADD", ATC_CANCELS_STREAM, "MAXLEN", "~", "10000", "*", "id", id};
    size_t xadd_lens[] = {4, strlen(ATC_CANCELS_STREAM), 6, 1, 5, 1, 2, strlen(id)};
    struct results_cmd cmds[] = {{5, set, set_lens}, {8, xadd, xadd_lens}};
    rc = results_transaction(r, "the cancel (SET, XADD)", 2, cmds, err, errlen);
    if (rc != 0)
        return rc;
    if (status[0] == '\0' && !queued) {
        got = ATC_CANCEL_UNKNOWN;
    } else if (wait_s > 0) {
        /* A worker reading the nudge makes a queued job final at once; the
         * worker running it stops a running one. A wait that fails leaves the
         * cancel asked all the same. */
        char werr[256];
        if (atc_results_wait(r, id, wait_s, &res, werr, sizeof(werr)) == 0)
            got = strcmp(atc_result_str(res, "status"), "cancelled") == 0
                      ? ATC_CANCEL_DONE
                      : ATC_CANCEL_ALREADY_FINAL;
        atc_result_free(res);
    }
    if (outcome != NULL)
        *outcome = got;
    return 0;
}

int atc_results_cancel_finalise(struct atc_results *r, const char *id, long ttl_s,
                                int *outcome, char *err, size_t errlen)
{
    char key[RESULTS_KEY_MAX], done[RESULTS_KEY_MAX], mark[RESULTS_KEY_MAX];
    char queued[RESULTS_KEY_MAX], ttl[24], ms[24];
    redisReply *reply = NULL;
    int rc;

    if (outcome != NULL)
        *outcome = ATC_CANCEL_NOT_ASKED;
    rc = results_check_id(id, err, errlen);
    if (rc != 0)
        return rc;
    int klen = snprintf(key, sizeof(key), "%s%s", ATC_RESULT_KEY_PREFIX, id);
    int dlen = snprintf(done, sizeof(done), "%s%s", ATC_DONE_KEY_PREFIX, id);
    int mlen = snprintf(mark, sizeof(mark), "%s%s", ATC_CANCEL_KEY_PREFIX, id);
    int qlen = snprintf(queued, sizeof(queued), "%s%s", ATC_QUEUED_KEY_PREFIX, id);
    int tlen = snprintf(ttl, sizeof(ttl), "%ld", ttl_s > 0 ? ttl_s : ATC_RESULT_DEFAULT_TTL_S);
    int nlen = snprintf(ms, sizeof(ms), "%lld", (long long)atc_clock_wall_ms());
    const char *argv[] = {"EVAL", atc_lua_cancel_final, "5", key, done, ATC_RESULTS_STREAM,
                          mark, queued, id, ttl, ms};
    size_t lens[] = {4, sizeof(atc_lua_cancel_final) - 1, 1, (size_t)klen, (size_t)dlen,
                     strlen(ATC_RESULTS_STREAM), (size_t)mlen, (size_t)qlen, strlen(id),
                     (size_t)tlen, (size_t)nlen};
    rc = results_run(r, "the cancel's final write", 11, argv, lens, &reply, err, errlen);
    if (rc != 0)
        goto out;
    if (reply->type != REDIS_REPLY_INTEGER || reply->integer < 0 ||
        reply->integer > ATC_CANCEL_NOT_ASKED) {
        snprintf(err, errlen, "Redis answered the cancel of %s with an unexpected reply", id);
        rc = ATC_EPROTO;
        goto out;
    }
    if (outcome != NULL)
        *outcome = (int)reply->integer;
out:
    if (reply != NULL)
        freeReplyObject(reply);
    return rc;
}

int atc_results_reset_for_replay(struct atc_results *r, const char *id, unsigned flags,
                                 long ttl_s, int *outcome, char *status, size_t statuslen,
                                 char *err, size_t errlen)
{
    char key[RESULTS_KEY_MAX], done[RESULTS_KEY_MAX], mark[RESULTS_KEY_MAX];
    char queued[RESULTS_KEY_MAX], ttl[24], ms[24];
    redisReply *reply = NULL;
    int rc;

    if (outcome != NULL)
        *outcome = ATC_REPLAY_KEPT;
    if (status != NULL && statuslen > 0)
        status[0] = '\0';
    rc = results_check_id(id, err, errlen);
    if (rc != 0)
        return rc;
    int klen = snprintf(key, sizeof(key), "%s%s", ATC_RESULT_KEY_PREFIX, id);
    int dlen = snprintf(done, sizeof(done), "%s%s", ATC_DONE_KEY_PREFIX, id);
    int mlen = snprintf(mark, sizeof(mark), "%s%s", ATC_CANCEL_KEY_PREFIX, id);
    int qlen = snprintf(queued, sizeof(queued), "%s%s", ATC_QUEUED_KEY_PREFIX, id);
    int tlen = snprintf(ttl, sizeof(ttl), "%ld", ttl_s > 0 ? ttl_s : ATC_RESULT_DEFAULT_TTL_S);
    int nlen = snprintf(ms, sizeof(ms), "%lld", (long long)atc_clock_wall_ms());
    const char *allow = (flags & ATC_REPLAY_ALLOW_REJECTED) != 0 ? "1" : "0";
    const char *check = (flags & ATC_REPLAY_CHECK_ONLY) != 0 ? "1" : "0";
    const char *argv[] = {"EVAL", atc_lua_replay, "4", key, done, mark, queued, allow, check,
                          ms, ttl};
    size_t lens[] = {4, sizeof(atc_lua_replay) - 1, 1, (size_t)klen, (size_t)dlen,
                     (size_t)mlen, (size_t)qlen, 1, 1, (size_t)nlen, (size_t)tlen};
    rc = results_run(r, "the reset for a replay", 11, argv, lens, &reply, err, errlen);
    if (rc != 0)
        goto out;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER || reply->element[0]->integer < 0 ||
        reply->element[0]->integer > ATC_REPLAY_CANCELLED ||
        reply->element[1]->type != REDIS_REPLY_STRING) {
        snprintf(err, errlen, "Redis answered the reset of %s with an unexpected reply", id);
        rc = ATC_EPROTO;
        goto out;
    }
    if (outcome != NULL)
        *outcome = (int)reply->element[0]->integer;
    if (status != NULL && statuslen > 0)
        snprintf(status, statuslen, "%.*s", (int)reply->element[1]->len, reply->element[1]->str);
out:
    if (reply != NULL)
        freeReplyObject(reply);
    return rc;
}

/* ---- the atc:results stream ---- */

/* Copies a string reply into dst (NUL-terminated); 0, or -1 when it is not a
 * string or does not fit. */
static int results_reply_copy(const redisReply *e, char *dst, size_t dstlen)
{
    if (e->type != REDIS_REPLY_STRING || e->len >= dstlen || memchr(e->str, '\0', e->len))
        return -1;
    memcpy(dst, e->str, e->len);
    dst[e->len] = '\0';
    return 0;
}

/* Reads an array of stream entries [sid, [field, value, ...]] into out. */
static int results_stream_entries(const redisReply *arr, struct atc_stream_entry *out,
                                  size_t max, size_t *n, char *err, size_t errlen)
{
    if (arr->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "Redis answered a stream read with something not a list");
        return ATC_EPROTO;
    }
    for (size_t i = 0; i < arr->elements && *n < max; i++) {
        const redisReply *e = arr->element[i];
        struct atc_stream_entry *o = &out[*n];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[1]->type != REDIS_REPLY_ARRAY) {
            snprintf(err, errlen, "Redis answered a stream read with a malformed entry");
            return ATC_EPROTO;
        }
        memset(o, 0, sizeof(*o));
        if (results_reply_copy(e->element[0], o->sid, sizeof(o->sid)) != 0) {
            snprintf(err, errlen, "Redis answered a stream read with a malformed entry id");
            return ATC_EPROTO;
        }
        const redisReply *kv = e->element[1];
        for (size_t k = 0; k + 1 < kv->elements; k += 2) {
            const redisReply *name = kv->element[k];
            if (name->type != REDIS_REPLY_STRING)
                continue;
            /* A value that does not fit stays "": the entry is still counted. */
            if (name->len == 2 && memcmp(name->str, "id", 2) == 0)
                (void)results_reply_copy(kv->element[k + 1], o->id, sizeof(o->id));
            else if (name->len == 6 && memcmp(name->str, "status", 6) == 0)
                (void)results_reply_copy(kv->element[k + 1], o->status, sizeof(o->status));
        }
        (*n)++;
    }
    return 0;
}

int atc_results_stream_last(struct atc_results *r, char *sid, size_t sidlen, char *err,
                            size_t errlen)
{
    const char *argv[] = {"XREVRANGE", ATC_RESULTS_STREAM, "+", "-", "COUNT", "1"};
    size_t lens[] = {9, strlen(ATC_RESULTS_STREAM), 1, 1, 5, 1};
    struct atc_stream_entry e;
    redisReply *reply = NULL;
    size_t n = 0;
    int rc;

    snprintf(sid, sidlen, "0-0");
    rc = results_run(r, "reading the stream (XREVRANGE)", 6, argv, lens, &reply, err, errlen);
    if (rc == 0)
        rc = results_stream_entries(reply, &e, 1, &n, err, errlen);
    if (rc == 0 && n == 1)
        snprintf(sid, sidlen, "%s", e.sid);
    if (reply != NULL)
        freeReplyObject(reply);
    return rc;
}

/* XREAD on stream (see atc_results_stream_read). */
static int results_xread(struct atc_results *r, const char *stream, const char *after,
                         double block_s, struct atc_stream_entry *out, size_t max, size_t *n,
                         char *err, size_t errlen)
{
    char count[24], block[24];
    redisReply *reply = NULL;
    int argc = 0;
    int rc;

    *n = 0;
    if (after == NULL || max == 0 || !(block_s >= 0) || isinf(block_s)) {
        snprintf(err, errlen, "stream read: no start id, no room, or a bad block time");
        return ATC_EINVAL;
    }
    if (r->c == NULL) {
        rc = results_connect(r, err, errlen);
        if (rc != 0)
            return rc;
    }
    int clen = snprintf(count, sizeof(count), "%zu", max);
    long long block_ms = (long long)(block_s * 1000.0);
    int blen = snprintf(block, sizeof(block), "%lld", block_ms > 0 ? block_ms : 1);
    const char *argv[9];
    size_t lens[9];
    argv[argc] = "XREAD";
    lens[argc++] = 5;
    argv[argc] = "COUNT";
    lens[argc++] = 5;
    argv[argc] = count;
    lens[argc++] = (size_t)clen;
    if (block_s > 0) {
        argv[argc] = "BLOCK";
        lens[argc++] = 5;
        argv[argc] = block;
        lens[argc++] = (size_t)blen;
    }
    argv[argc] = "STREAMS";
    lens[argc++] = 7;
    argv[argc] = stream;
    lens[argc++] = strlen(stream);
    argv[argc] = after;
    lens[argc++] = strlen(after);
    /* The socket must outlast the block, or hiredis would call it a timeout. */
    if (block_s > 0 &&
        redisSetTimeout(r->c, results_tv(block_s + r->timeout_ms / 1000.0)) != REDIS_OK) {
        snprintf(err, errlen, "cannot raise the Redis socket timeout: %s", r->c->errstr);
        redisFree(r->c);
        r->c = NULL;
        return ATC_ECONN;
    }
    rc = results_run(r, "reading the stream (XREAD)", argc, argv, lens, &reply, err, errlen);
    if (block_s > 0 && r->c != NULL &&
        redisSetTimeout(r->c, results_tv(r->timeout_ms / 1000.0)) != REDIS_OK) {
        redisFree(r->c);
        r->c = NULL;
    }
    if (rc != 0 || reply->type == REDIS_REPLY_NIL)
        goto out;
    /* [[stream name, [entries...]]] */
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1 ||
        reply->element[0]->type != REDIS_REPLY_ARRAY || reply->element[0]->elements != 2) {
        snprintf(err, errlen, "Redis answered XREAD with something unexpected");
        rc = ATC_EPROTO;
        goto out;
    }
    rc = results_stream_entries(reply->element[0]->element[1], out, max, n, err, errlen);
out:
    if (reply != NULL)
        freeReplyObject(reply);
    return rc;
}

int atc_results_stream_read(struct atc_results *r, const char *after, double block_s,
                            struct atc_stream_entry *out, size_t max, size_t *n, char *err,
                            size_t errlen)
{
    return results_xread(r, ATC_RESULTS_STREAM, after, block_s, out, max, n, err, errlen);
}

int atc_results_cancel_nudges(struct atc_results *r, const char *after,
                              struct atc_stream_entry *out, size_t max, size_t *n, char *err,
                              size_t errlen)
{
    return results_xread(r, ATC_CANCELS_STREAM, after, 0, out, max, n, err, errlen);
}

int atc_results_stream_range(struct atc_results *r, const char *start, const char *end,
                             struct atc_stream_entry *out, size_t max, size_t *n, char *err,
                             size_t errlen)
{
    char count[24];
    redisReply *reply = NULL;
    int rc;

    *n = 0;
    if (start == NULL || end == NULL || max == 0) {
        snprintf(err, errlen, "stream range: no start, no end or no room");
        return ATC_EINVAL;
    }
    int clen = snprintf(count, sizeof(count), "%zu", max);
    const char *argv[] = {"XRANGE", ATC_RESULTS_STREAM, start, end, "COUNT", count};
    size_t lens[] = {6, strlen(ATC_RESULTS_STREAM), strlen(start), strlen(end), 5,
                     (size_t)clen};
    rc = results_run(r, "reading the stream (XRANGE)", 6, argv, lens, &reply, err, errlen);
    if (rc == 0)
        rc = results_stream_entries(reply, out, max, n, err, errlen);
    if (reply != NULL)
        freeReplyObject(reply);
    return rc;
}

int atc_results_count_abandoned(struct atc_results *r, const char *id, char *err, size_t errlen)
{
    char k[160];
    redisReply *reply = NULL;
    int rc = results_check_id(id, err, errlen);

    if (rc != 0)
        return rc;
    int n = snprintf(k, sizeof(k), ATC_RESULT_KEY_PREFIX "%s", id);
    const char *argv[] = {"HINCRBY", k, "abandoned", "1"};
    size_t lens[] = {7, (size_t)n, 9, 1};
    rc = results_run(r, "counting an abandoned attempt (HINCRBY)", 4, argv, lens, &reply, err,
                     errlen);
    if (reply != NULL)
        freeReplyObject(reply);
    return rc;
}

int atc_results_job_state(struct atc_results *r, const char *id, char *status, size_t statuslen,
                          long *attempt, long *abandoned, char *err, size_t errlen)
{
    char k[160];
    redisReply *reply = NULL;
    int rc = results_check_id(id, err, errlen);

    if (statuslen > 0)
        status[0] = '\0';
    *attempt = *abandoned = 0;
    if (rc != 0)
        return rc;
    int n = snprintf(k, sizeof(k), ATC_RESULT_KEY_PREFIX "%s", id);
    const char *argv[] = {"HMGET", k, "status", "attempt", "abandoned"};
    size_t lens[] = {5, (size_t)n, 6, 7, 9};
    rc = results_run(r, "reading a job's state (HMGET)", 5, argv, lens, &reply, err, errlen);
    if (rc == 0 && (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)) {
        snprintf(err, errlen, "reading a job's state: HMGET gave an unexpected reply");
        rc = ATC_EPROTO;
    }
    for (size_t i = 0; rc == 0 && i < 3; i++) {
        const redisReply *e = reply->element[i];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        if (i == 0) {
            snprintf(status, statuslen, "%.*s", (int)e->len, e->str);
        } else {
            char *end = NULL;
            long v = strtol(e->str, &end, 10);
            if (end != e->str)
                *(i == 1 ? attempt : abandoned) = v;
        }
    }
    if (reply != NULL)
        freeReplyObject(reply);
    return rc;
}

int atc_results_worker_beat(struct atc_results *r, const char *group, const char *worker,
                            long ttl_s, char *err, size_t errlen)
{
    char k[512], ttl[24], now[24];
    redisReply *reply = NULL;
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    int n = snprintf(k, sizeof(k), ATC_WORKER_KEY_PREFIX "%s:%s", group, worker);
    if (n < 0 || (size_t)n >= sizeof(k)) {
        snprintf(err, errlen, "the group and worker names are too long for a liveness key");
        return ATC_EINVAL;
    }
    int tn = snprintf(ttl, sizeof(ttl), "%ld", ttl_s);
    int nn = snprintf(now, sizeof(now), "%lld", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    const char *argv[] = {"SET", k, now, "EX", ttl};
    size_t lens[] = {3, (size_t)n, (size_t)nn, 2, (size_t)tn};
    int rc = results_run(r, "the worker's liveness key (SET)", 5, argv, lens, &reply, err, errlen);
    if (reply != NULL)
        freeReplyObject(reply);
    return rc;
}

int atc_results_workers_alive(struct atc_results *r, const char *group,
                              const char *const *workers, size_t n, int *alive, char *err,
                              size_t errlen)
{
    char prefix[300];
    int pn = snprintf(prefix, sizeof(prefix), ATC_WORKER_KEY_PREFIX "%s:", group);

    if (pn < 0 || (size_t)pn >= sizeof(prefix)) {
        snprintf(err, errlen, "the group name is too long for a liveness key");
        return ATC_EINVAL;
    }
    return results_keys_present(r, "reading liveness keys (MGET)", prefix, workers, n, alive,
                                err, errlen);
}

int atc_results_run_(struct atc_results *r, const char *what, int argc, const char **argv,
                     const size_t *lens, redisReply **out, char *err, size_t errlen)
{
    return results_run(r, what, argc, argv, lens, out, err, errlen);
}
