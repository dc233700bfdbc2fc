/* env_store.c: dependency environments' state in Redis (see atc/env_store.h). */
#include "atc/env_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "atc/env_key.h"
#include "atc/error.h"
#include "atc_lua_scripts.h"
#include "results_priv.h"

#define ENV_PREFIX "atc:env:"
#define ENV_LRU "atc:envs"
#define ENV_KEY_MAX 128

static long long now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* The key ENV_PREFIX name suffix into out; -1 for a name that is not ours. */
static int env_key(char *out, size_t outlen, const char *name, const char *suffix)
{
    if (!atc_env_name_valid(name))
        return -1;
    snprintf(out, outlen, ENV_PREFIX "%s%s", name, suffix);
    return 0;
}

/* Runs argv[0..argc) with lengths from strlen. */
static int run(struct atc_results *r, const char *what, int argc, const char **argv,
               redisReply **out, char *err, size_t errlen)
{
    size_t lens[32];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return atc_results_run_(r, what, argc, argv, lens, out, err, errlen);
}

static int bad_name(const char *name, char *err, size_t errlen)
{
    snprintf(err, errlen, "\"%.64s\" is not an environment name (atc-env-<16 hex>)",
             name ? name : "");
    return ATC_EINVAL;
}

static char *dup_reply(const redisReply *e)
{
    if (!e || e->type != REDIS_REPLY_STRING)
        return NULL;
    char *s = malloc(e->len + 1);
    if (s) {
        memcpy(s, e->str, e->len);
        s[e->len] = '\0';
    }
    return s;
}

int atc_env_store_get(struct atc_results *r, const char *name, struct atc_env_state *st,
                      char *err, size_t errlen)
{
    char key[ENV_KEY_MAX];
    redisReply *rep = NULL;

    memset(st, 0, sizeof(*st));
    st->build_ms = -1;
    if (env_key(key, sizeof(key), name, "") != 0)
        return bad_name(name, err, errlen);
    const char *argv[] = {"HMGET", key, "state", "snapshot_id", "error", "freeze", "build_ms"};
    int rc = run(r, "reading an environment's state", 7, argv, &rep, err, errlen);
    if (rc != 0)
        return rc;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 5) {
        char *s = dup_reply(rep->element[0]);
        snprintf(st->state, sizeof(st->state), "%s", s ? s : "");
        free(s);
        s = dup_reply(rep->element[1]);
        snprintf(st->snapshot_id, sizeof(st->snapshot_id), "%s", s ? s : "");
        free(s);
        st->error = dup_reply(rep->element[2]);
        st->freeze = dup_reply(rep->element[3]);
        s = dup_reply(rep->element[4]);
        if (s)
            st->build_ms = strtoll(s, NULL, 10);
        free(s);
    }
    freeReplyObject(rep);
    return 0;
}

void atc_env_state_cleanup(struct atc_env_state *st)
{
    if (!st)
        return;
    free(st->error);
    free(st->freeze);
    st->error = st->freeze = NULL;
}

int atc_env_store_claim(struct atc_results *r, const char *name, const char *token, long ttl_ms,
                        int *claimed, char *err, size_t errlen)
{
    char key[ENV_KEY_MAX], hash[ENV_KEY_MAX], ttl[32];
    redisReply *rep = NULL;

    *claimed = 0;
    if (env_key(key, sizeof(key), name, ":claim") != 0 || env_key(hash, sizeof(hash), name, "") != 0)
        return bad_name(name, err, errlen);
    snprintf(ttl, sizeof(ttl), "%ld", ttl_ms > 0 ? ttl_ms : 1);
    const char *argv[] = {"EVAL", atc_lua_env_claim, "2", key, hash, token, ttl};
    int rc = run(r, "claiming an environment's build", 7, argv, &rep, err, errlen);
    if (rc != 0)
        return rc;
    *claimed = rep->type == REDIS_REPLY_INTEGER ? (int)rep->integer : 0;
    freeReplyObject(rep);
    return 0;
}

int atc_env_store_finish(struct atc_results *r, const char *name, const char *token,
                         const char *state, const char *snapshot_id, const char *error,
                         long long build_ms, long fail_ttl_s, char *err, size_t errlen)
{
    char hash[ENV_KEY_MAX], claim[ENV_KEY_MAX], ttl[32], now[32], bms[32];
    redisReply *rep = NULL;

    if (env_key(hash, sizeof(hash), name, "") != 0 ||
        env_key(claim, sizeof(claim), name, ":claim") != 0)
        return bad_name(name, err, errlen);
    snprintf(ttl, sizeof(ttl), "%ld", fail_ttl_s > 0 ? fail_ttl_s : 1);
    snprintf(now, sizeof(now), "%lld", now_ms());
    snprintf(bms, sizeof(bms), "%lld", build_ms);
    const char *argv[20] = {"EVAL", atc_lua_env_finish, "3", hash, claim, ENV_LRU, state, ttl,
                            now, name, token, "build_ms", bms};
    int argc = 13;
    if (snapshot_id && *snapshot_id) {
        argv[argc++] = "snapshot_id";
        argv[argc++] = snapshot_id;
    }
    if (error) {
        argv[argc++] = "error";
        argv[argc++] = error;
    }
    int rc = run(r, "recording an environment's build", argc, argv, &rep, err, errlen);
    if (rc == 0)
        freeReplyObject(rep);
    return rc;
}

int atc_env_store_set_freeze(struct atc_results *r, const char *name, const char *freeze,
                             char *err, size_t errlen)
{
    char key[ENV_KEY_MAX];
    redisReply *rep = NULL;

    if (env_key(key, sizeof(key), name, "") != 0)
        return bad_name(name, err, errlen);
    const char *argv[] = {"HSETNX", key, "freeze", freeze};
    int rc = run(r, "storing an environment's pip freeze", 4, argv, &rep, err, errlen);
    if (rc == 0)
        freeReplyObject(rep);
    return rc;
}

int atc_env_store_use(struct atc_results *r, const char *name, const char *job_id,
                      long long until_ms, char *err, size_t errlen)
{
    char users[ENV_KEY_MAX], until[32], now[32];
    redisReply *rep = NULL;

    if (env_key(users, sizeof(users), name, ":users") != 0)
        return bad_name(name, err, errlen);
    snprintf(until, sizeof(until), "%lld", until_ms > 0 ? until_ms : 0);
    snprintf(now, sizeof(now), "%lld", now_ms());
    const char *argv[] = {"EVAL", atc_lua_env_use, "2", users, ENV_LRU, job_id, until, now, name};
    int rc = run(r, "leasing an environment", 9, argv, &rep, err, errlen);
    if (rc == 0)
        freeReplyObject(rep);
    return rc;
}

/* Copies an array reply of strings into a malloc'd array. */
static int take_names(const redisReply *rep, char ***names, size_t *n, char *err, size_t errlen)
{
    *names = NULL;
    *n = 0;
    if (rep->type != REDIS_REPLY_ARRAY)
        return 0;
    char **v = calloc(rep->elements + 1, sizeof(*v));
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return ATC_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < rep->elements; i++) {
        char *s = dup_reply(rep->element[i]);
        if (s)
            v[k++] = s;
    }
    *names = v;
    *n = k;
    return 0;
}

int atc_env_store_gc(struct atc_results *r, long max, char ***names, size_t *n, char *err,
                     size_t errlen)
{
    char maxs[32], now[32];
    redisReply *rep = NULL;

    *names = NULL;
    *n = 0;
    snprintf(maxs, sizeof(maxs), "%ld", max > 0 || max == ATC_ENV_GC_ONE ? max : 0);
    snprintf(now, sizeof(now), "%lld", now_ms());
    const char *argv[] = {"EVAL", atc_lua_env_gc, "1", ENV_LRU, maxs, now, ENV_PREFIX};
    int rc = run(r, "collecting environments", 7, argv, &rep, err, errlen);
    if (rc != 0)
        return rc;
    rc = take_names(rep, names, n, err, errlen);
    freeReplyObject(rep);
    return rc;
}

int atc_env_store_forget(struct atc_results *r, const char *name, char *err, size_t errlen)
{
    char hash[ENV_KEY_MAX], claim[ENV_KEY_MAX], users[ENV_KEY_MAX];
    redisReply *rep = NULL;

    if (env_key(hash, sizeof(hash), name, "") != 0 ||
        env_key(claim, sizeof(claim), name, ":claim") != 0 ||
        env_key(users, sizeof(users), name, ":users") != 0)
        return bad_name(name, err, errlen);
    const char *del[] = {"DEL", hash, claim, users};
    int rc = run(r, "forgetting an environment", 4, del, &rep, err, errlen);
    if (rc != 0)
        return rc;
    freeReplyObject(rep);
    const char *zrem[] = {"ZREM", ENV_LRU, name};
    rc = run(r, "forgetting an environment", 3, zrem, &rep, err, errlen);
    if (rc == 0)
        freeReplyObject(rep);
    return rc;
}

int atc_env_store_list(struct atc_results *r, char ***names, long long **last_used, size_t *n,
                       char *err, size_t errlen)
{
    redisReply *rep = NULL;

    *names = NULL;
    *last_used = NULL;
    *n = 0;
    const char *argv[] = {"ZREVRANGE", ENV_LRU, "0", "-1", "WITHSCORES"};
    int rc = run(r, "listing environments", 5, argv, &rep, err, errlen);
    if (rc != 0)
        return rc;
    size_t pairs = rep->type == REDIS_REPLY_ARRAY ? rep->elements / 2 : 0;
    char **v = calloc(pairs + 1, sizeof(*v));
    long long *t = calloc(pairs + 1, sizeof(*t));
    if (!v || !t) {
        free(v);
        free(t);
        freeReplyObject(rep);
        snprintf(err, errlen, "out of memory");
        return ATC_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < pairs; i++) {
        char *s = dup_reply(rep->element[2 * i]);
        char *score = dup_reply(rep->element[2 * i + 1]);
        if (s) {
            v[k] = s;
            t[k++] = score ? strtoll(score, NULL, 10) : 0;
        }
        free(score);
    }
    freeReplyObject(rep);
    *names = v;
    *last_used = t;
    *n = k;
    return 0;
}

void atc_env_names_free(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}
