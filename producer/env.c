/* env.c: `atc env ls | build DEP... | rm NAME`: the fleet's dependency
 * environments for an operator (worker/envs.c does the work). */
#include "env.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "atc/config.h"
#include "atc/daytona.h"
#include "atc/daytona_snapshot.h"
#include "atc/env_key.h"
#include "atc/env_store.h"
#include "atc/error.h"
#include "atc/job.h"
#include "atc/kafka.h" /* atc_env_or */
#include "envs.h"
#include "render.h"

static const char env_usage[] =
    "usage: atc env ls [--json]\n"
    "       atc env build DEP... [--json]\n"
    "       atc env rm NAME\n"
    "\n"
    "The fleet's dependency environments (docs/worker.md): a snapshot per set of\n"
    "deps, built once and shared by every worker.\n"
    "  ls     each environment: name, state in Redis, its snapshot's state, last use\n"
    "  build  builds (or waits for) the environment of DEP... now, as a job would:\n"
    "         prints its name and how it went (built, waited, hit, failed, fallback);\n"
    "         exit 0 when it is active, 3 when pip cannot install the set\n"
    "  rm     deletes an environment: its snapshot and its state\n"
    "Reads ATC_REDIS_URL, DAYTONA_API_URL, DAYTONA_API_KEY, ATC_ENV_BASE_IMAGE,\n"
    "ATC_PIP_INDEX_URL, ATC_ENV_MAX and ATC_ENV_BUILD_TIMEOUT_S as the workers do.\n";

static struct atc_daytona *open_daytona(void)
{
    char err[512];
    const char *key = getenv("DAYTONA_API_KEY");
    struct atc_daytona_opts o = {
        .api_url = atc_env_or("DAYTONA_API_URL", "https://app.daytona.io/api"),
        .api_key = key ? key : "",
    };
    if (!key || !*key) {
        fprintf(stderr, "atc: env: DAYTONA_API_KEY is not set\n");
        return NULL;
    }
    struct atc_daytona *d = atc_daytona_new(&o, err, sizeof(err));
    if (!d)
        fprintf(stderr, "atc: env: %s\n", err);
    return d;
}

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    char *end = NULL;
    long n = v ? strtol(v, &end, 10) : 0;
    return v && *v && end && !*end && n > 0 ? n : dflt;
}

static int env_ls(struct atc_results *r, struct atc_daytona *d, int as_json)
{
    char **names = NULL;
    long long *used = NULL;
    size_t n = 0;
    struct atc_snapshot *snaps = NULL;
    size_t nsnaps = 0;
    char err[512];
    json_t *arr = json_array();

    if (atc_env_store_list(r, &names, &used, &n, err, sizeof(err)) != 0) {
        fprintf(stderr, "atc: env ls: %s\n", err);
        json_decref(arr);
        return RENDER_EXIT_USAGE;
    }
    if (atc_daytona_snapshot_list(d, ATC_ENV_NAME_PREFIX, &snaps, &nsnaps, err, sizeof(err)) != 0)
        fprintf(stderr, "atc: env ls: listing snapshots: %s\n", err);
    if (!as_json)
        printf("%-25s %-8s %-13s %s\n", "NAME", "STATE", "SNAPSHOT", "LAST USED");
    /* Redis's environments first, then snapshots Redis does not know. */
    for (size_t i = 0; i < n + nsnaps; i++) {
        const char *name = i < n ? names[i] : snaps[i - n].name;
        const char *snap_state = "-";
        int known = 0;
        for (size_t k = 0; k < nsnaps; k++)
            if (strcmp(snaps[k].name, name) == 0)
                snap_state = snaps[k].state;
        for (size_t k = 0; i >= n && k < n; k++)
            known |= strcmp(names[k], name) == 0;
        if (known || (i >= n && !atc_env_name_valid(name)))
            continue;
        struct atc_env_state st;
        if (atc_env_store_get(r, name, &st, err, sizeof(err)) != 0)
            memset(&st, 0, sizeof(st));
        char when[32] = "-";
        if (i < n && used[i] > 0) {
            time_t t = (time_t)(used[i] / 1000);
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        }
        if (as_json)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "name", name, "state",
                                                 st.state[0] ? st.state : "-", "snapshot",
                                                 snap_state, "last_used", when));
        else
            printf("%-25s %-8s %-13s %s\n", name, st.state[0] ? st.state : "-", snap_state, when);
        atc_env_state_cleanup(&st);
    }
    if (as_json) {
        char *s = json_dumps(arr, JSON_COMPACT);
        if (s)
            puts(s);
        free(s);
    }
    json_decref(arr);
    atc_env_names_free(names, n);
    free(used);
    free(snaps);
    return 0;
}

static int env_build(struct atc_results *r, struct atc_daytona *d, int ndeps, char **deps,
                     int as_json)
{
    char id[64];
    snprintf(id, sizeof(id), "atc-env-build-%ld", (long)time(NULL));
    struct atc_job job = {.id = id, .deps = deps, .ndeps = (size_t)ndeps};
    const char *index = getenv("ATC_PIP_INDEX_URL");
    struct envs_params p = {
        .enabled = 1,
        .max = env_long("ATC_ENV_MAX", 40),
        .base_image = atc_env_or("ATC_ENV_BASE_IMAGE", "python:3.12.10-slim-bookworm"),
        .index_url = index && *index ? index : NULL,
        .build_timeout_s = env_long("ATC_ENV_BUILD_TIMEOUT_S", 900),
        .fail_ttl_s = env_long("ATC_ENV_FAIL_TTL_S", 600),
        .max_job_s = 60,
        .worker_id = "atc-cli",
    };
    struct envs_job ej;
    for (int i = 0; i < ndeps; i++)
        if (!atc_job_dep_valid(deps[i], strlen(deps[i]))) {
            fprintf(stderr, "atc: env build: \"%s\" is not a requirement a job may carry\n",
                    deps[i]);
            return RENDER_EXIT_USAGE;
        }
    envs_prepare(&p, d, r, &job, NULL, NULL, &ej);
    const char *status = envs_status_name(ej.status);
    if (as_json) {
        json_t *o = json_pack("{s:s, s:s}", "env", ej.name, "env_status", status ? status : "-");
        if (o && ej.build_ms >= 0)
            json_object_set_new(o, "env_build_ms", json_integer(ej.build_ms));
        if (o && ej.error)
            json_object_set_new(o, "error", json_string(ej.error));
        if (o && ej.why[0])
            json_object_set_new(o, "why", json_string(ej.why));
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s)
            puts(s);
        free(s);
        json_decref(o);
    } else {
        printf("%s %s", ej.name, status ? status : "-");
        if (ej.build_ms >= 0)
            printf(" in %ld ms", ej.build_ms);
        if (ej.why[0])
            printf(" (%s)", ej.why);
        printf("\n");
        if (ej.error)
            fprintf(stderr, "%s\n", ej.error);
    }
    int rc = ej.status == ENVS_FAILED ? RENDER_EXIT_ERROR
           : ej.status == ENVS_FALLBACK ? RENDER_EXIT_ERROR : 0;
    envs_finish(&p, d, r, &job, &ej);
    envs_job_cleanup(&ej);
    return rc;
}

int env_cmd(int argc, char **argv, int as_json)
{
    struct atc_results *r = NULL;
    struct atc_daytona *d = NULL;
    char err[512];
    int status = RENDER_EXIT_USAGE;
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    int nrest = 0;

    if (!rest)
        return RENDER_EXIT_USAGE;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            as_json = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(env_usage, stdout);
            free(rest);
            return 0;
        } else
            rest[nrest++] = argv[i];
    }
    const char *sub = nrest > 0 ? rest[0] : "";
    if (!((strcmp(sub, "ls") == 0 && nrest == 1) || (strcmp(sub, "build") == 0 && nrest > 1) ||
          (strcmp(sub, "rm") == 0 && nrest == 2))) {
        fputs(env_usage, stderr);
        goto out;
    }
    if (strcmp(sub, "rm") == 0 && !atc_env_name_valid(rest[1])) {
        fprintf(stderr, "atc: env rm: \"%s\" is not an environment name (atc-env-<16 hex>)\n",
                rest[1]);
        goto out;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    r = atc_results_new(atc_env_or("ATC_REDIS_URL", "redis://127.0.0.1:6379/0"), 5000, err,
                        sizeof(err));
    if (!r) {
        fprintf(stderr, "atc: cannot reach Redis: %s\n", err);
        goto out;
    }
    d = open_daytona();
    if (!d)
        goto out;
    if (strcmp(sub, "ls") == 0) {
        status = env_ls(r, d, as_json);
    } else if (strcmp(sub, "build") == 0) {
        status = env_build(r, d, nrest - 1, rest + 1, as_json);
    } else if (envs_remove(d, r, rest[1], err, sizeof(err)) != 0) {
        fprintf(stderr, "atc: env rm: %s\n", err);
        status = RENDER_EXIT_ERROR;
    } else {
        printf("%s removed\n", rest[1]);
        status = 0;
    }
out:
    atc_daytona_destroy(d);
    atc_results_destroy(r);
    free(rest);
    return status;
}
