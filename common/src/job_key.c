/* job_key.c: the content key of a job for the result cache (SHA-256 over a
 * canonical msgpack encoding of what decides its verdict). */
#include "atc/job.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"
#include "atc/sha256.h"

static void pack_s(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static int by_path(const void *a, const void *b)
{
    return strcmp((*(const struct atc_job_file *const *)a)->path,
                  (*(const struct atc_job_file *const *)b)->path);
}

static int by_key(const void *a, const void *b)
{
    return strcmp((*(const struct atc_kv *const *)a)->key, (*(const struct atc_kv *const *)b)->key);
}

int atc_job_cache_key(const struct atc_job *job, const char *default_snapshot,
                      unsigned max_timeout_s, char out[65])
{
    const struct atc_job_file **files = NULL;
    const struct atc_kv **env = NULL;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    unsigned char md[32];
    int rc = ATC_ENOMEM;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    files = calloc(job->nfiles + 1, sizeof(*files));
    env = calloc(job->nenv + 1, sizeof(*env));
    if (!files || !env)
        goto out;
    /* Order-free parts are sorted, so the same content gives the same key. */
    for (size_t i = 0; i < job->nfiles; i++)
        files[i] = &job->files[i];
    qsort(files, job->nfiles, sizeof(*files), by_path);
    for (size_t i = 0; i < job->nenv; i++)
        env[i] = &job->env[i];
    qsort(env, job->nenv, sizeof(*env), by_key);

    unsigned timeout = job->has_timeout && job->timeout_s ? job->timeout_s : ATC_JOB_DEFAULT_TIMEOUT_S;
    if (timeout > max_timeout_s)
        timeout = max_timeout_s;
    const char *snap = job->snapshot ? job->snapshot : default_snapshot ? default_snapshot : "";

    /* Per-test limits and reruns decide outcomes too; a job without them
     * keeps the key it had before these fields existed. */
    int extra = job->has_test_timeout || job->has_reruns;
    /* So do resources (a hog that ends oom in 1 GiB passes in 3): likewise
     * a part of its own only when the job asks for them. */
    int res = atc_job_has_resources(job);
    msgpack_pack_array(&pk, 7 + extra + res);
    /* A run with the network open is another run: its own tag keeps the
     * keys of every other job as they were. */
    pack_s(&pk, job->network_open ? "atc-cache-v1-net" : "atc-cache-v1");
    msgpack_pack_array(&pk, job->nfiles);
    for (size_t i = 0; i < job->nfiles; i++) {
        msgpack_pack_array(&pk, 2);
        pack_s(&pk, files[i]->path);
        msgpack_pack_bin(&pk, files[i]->len);
        msgpack_pack_bin_body(&pk, files[i]->data, files[i]->len);
    }
    msgpack_pack_array(&pk, job->ndeps);
    for (size_t i = 0; i < job->ndeps; i++)
        pack_s(&pk, job->deps[i]);
    if (job->cmd)
        pack_s(&pk, job->cmd);
    else
        msgpack_pack_nil(&pk);
    msgpack_pack_uint32(&pk, timeout);
    msgpack_pack_array(&pk, job->nenv);
    for (size_t i = 0; i < job->nenv; i++) {
        msgpack_pack_array(&pk, 2);
        pack_s(&pk, env[i]->key);
        pack_s(&pk, env[i]->value);
    }
    pack_s(&pk, snap);
    if (extra) {
        msgpack_pack_array(&pk, 2);
        msgpack_pack_int64(&pk, job->has_test_timeout ? (int64_t)job->test_timeout_s : -1);
        msgpack_pack_int64(&pk, job->has_reruns ? (int64_t)job->reruns : -1);
    }
    if (res) {
        char text[64];
        atc_job_resources_text(job, text, sizeof(text));
        pack_s(&pk, text);
    }
    if (!sb.data)
        goto out;
    if (atc_sha256(sb.data, sb.size, md) != 0) {
        rc = ATC_EIO;
        goto out;
    }
    for (unsigned i = 0; i < sizeof(md); i++) {
        static const char hex[] = "0123456789abcdef";
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    rc = 0;
out:
    msgpack_sbuffer_destroy(&sb);
    free(files);
    free(env);
    return rc;
}
