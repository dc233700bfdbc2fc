/* job.h: the job message of CONTRACT section 3 (msgpack, schema v1): decode with
 * every rule checked, and encode. No sockets here: bytes in, values out. */
#ifndef ATC_JOB_H
#define ATC_JOB_H

#include <stddef.h>
#include <stdint.h>

#define ATC_JOB_VERSION 1
#define ATC_JOB_ID_MAX 128
#define ATC_JOB_FILES_MAX 64
#define ATC_JOB_PATH_MAX 255
#define ATC_JOB_DEPS_MAX 64
#define ATC_JOB_ENV_MAX 64
#define ATC_JOB_LABELS_MAX 16
#define ATC_JOB_DEFAULT_TIMEOUT_S 60
#define ATC_JOB_DEFAULT_MAX_BYTES (4u * 1024u * 1024u)

struct atc_job_file {
    char *path;            /* relative, validated */
    unsigned char *data;   /* contents; may hold NUL bytes */
    size_t len;
};

struct atc_kv {
    char *key;
    char *value;
};

/* A decoded job. Every pointer is owned by the job; free with atc_job_free. */
struct atc_job {
    uint32_t v;
    char *id;
    struct atc_job_file *files;
    size_t nfiles;
    char **deps;
    size_t ndeps;
    char *cmd;             /* NULL: the default pytest command */
    uint32_t timeout_s;    /* as sent (0 when absent: use the default) */
    int has_timeout;
    struct atc_kv *env;
    size_t nenv;
    struct atc_kv *labels;
    size_t nlabels;
    char *snapshot;        /* NULL: worker default */
    uint64_t submitted_ms; /* 0 when absent */
    int cache;             /* 1: reuse the final result of an identical earlier job */
    int network_open;      /* 1: "network": "open" (the worker may refuse it) */
    uint32_t test_timeout_s; /* per-test limit as sent (0 when absent: the worker's) */
    int has_test_timeout;
    uint32_t reruns;       /* reruns of a failed test as sent */
    int has_reruns;
    char *group;           /* a race's group (an id-like name), or NULL */
    uint32_t cpu;          /* CPUs asked for; 0 when absent (the snapshot default) */
    uint32_t memory_gib;   /* memory in GiB; 0 when absent */
    uint32_t disk_gib;     /* disk in GiB; 0 when absent */
};

#define ATC_JOB_RERUNS_MAX 5

/* The most of each resource a job may ask before any worker cap applies. */
#define ATC_JOB_RESOURCE_MAX 1024

/* 1 when the job asks for any of cpu, memory_gib, disk_gib. */
static inline int atc_job_has_resources(const struct atc_job *job)
{
    return job->cpu || job->memory_gib || job->disk_gib;
}

/* The job's resources in the environment key's form, in Daytona's units and
 * names ("cpu=2,memory=3,disk=5", only the fields it sets), into out; "" when
 * it sets none. */
void atc_job_resources_text(const struct atc_job *job, char *out, size_t outlen);

/* Checks the job's resources against the worker's caps (0: no cap). Returns 0,
 * or ATC_EINVAL with a sentence naming the field and the cap in err. */
int atc_job_check_caps(const struct atc_job *job, unsigned max_cpu, unsigned max_memory_gib,
                       unsigned max_disk_gib, char *err, size_t errlen);

/* Why a message was rejected; reason is one of the documented reason codes
 * ("bad_message", "too_large"); id is set ("" otherwise) when the message's id
 * could be read and is itself valid, so a rejected result can be written. */
struct atc_job_error {
    const char *reason;
    char id[ATC_JOB_ID_MAX + 1];
    char message[256];
};

/* Decodes buf[0..len) into a new job. len is checked against max_bytes before
 * any decoding; no declared length inside the message can make the decoder
 * allocate more than the message could hold. On success returns 0 and *out owns
 * a job (free with atc_job_free). On failure returns ATC_ETOOBIG or ATC_EBADMSG,
 * *out is NULL and *jerr says why, naming the field. */
int atc_job_decode(const void *buf, size_t len, size_t max_bytes,
                   struct atc_job **out, struct atc_job_error *jerr);

/* Checks job against every rule of section 3 (the same checks decode runs).
 * Returns 0, or ATC_EINVAL with a sentence naming the field in err. */
int atc_job_validate(const struct atc_job *job, char *err, size_t errlen);

/* Encodes job (validated first) as msgpack. On success *buf is malloc'd (caller
 * frees) and *len is its size. Returns 0, ATC_EINVAL (with err) or ATC_ENOMEM. */
int atc_job_encode(const struct atc_job *job, char **buf, size_t *len,
                   char *err, size_t errlen);

/* The job's content key for the result cache: the SHA-256, as 64 hex digits
 * and a NUL in out, of everything that decides a run's verdict (files by path,
 * deps, cmd, timeout, env, snapshot; not the id, labels or times). Two jobs
 * with the same key run the same code the same way. Returns 0 or ATC_ENOMEM. */
int atc_job_cache_key(const struct atc_job *job, const char *default_snapshot,
                      unsigned max_timeout_s, char out[65]);

/* Frees job and everything it owns; accepts NULL. */
void atc_job_free(struct atc_job *job);

/* 1 when s is a valid job id (1..128 bytes of [A-Za-z0-9._:-]). */
int atc_job_id_valid(const char *s, size_t len);

/* 1 when s is a valid relative file path per section 3. */
int atc_job_path_valid(const char *s, size_t len);

/* 1 when s is an acceptable pip requirement specifier per section 3. */
int atc_job_dep_valid(const char *s, size_t len);

#endif
