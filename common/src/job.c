/* job.c: the job message of CONTRACT section 3: decode, validate, encode. */
#include "atc/job.h"

#include <jansson.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"
#include "atc/mpcheck.h"

/* The longest dependency specifier we take; pip needs far less. */
#define JOB_DEP_LEN_MAX 256
/* Objects (keys, values, elements) one message may hold. A valid job needs
 * a few hundred; the cap bounds msgpack-c's allocations (24 bytes an object)
 * at about 1.5 MB whatever the message size, and leaves room for unknown keys. */
#define JOB_OBJECTS_MAX 65536
/* How many bytes of a bad value a message shows. */
#define JOB_QUOTE_MAX 40

/* ---- character classes -------------------------------------------------- */

static int is_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_id_char(unsigned char c)
{
    return is_alnum(c) || c == '.' || c == '_' || c == ':' || c == '-';
}

static int is_path_char(unsigned char c)
{
    return is_alnum(c) || c == '.' || c == '_' || c == '-';
}

static int is_version_char(unsigned char c)
{
    return is_alnum(c) || c == '.' || c == '*' || c == '+' || c == '!' || c == '-';
}

/* Writes s[0..len) to dst as a double-quoted, printable, possibly shortened
 * string, so hostile bytes never reach a log line or a result as they are. */
static void quote(char *dst, size_t dstlen, const char *s, size_t len)
{
    size_t o = 0;
    size_t shown = len > JOB_QUOTE_MAX ? JOB_QUOTE_MAX : len;

    if (dstlen < 8) {
        if (dstlen > 0)
            dst[0] = '\0';
        return;
    }
    dst[o++] = '"';
    for (size_t i = 0; i < shown && o + 8 < dstlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            int n = snprintf(dst + o, dstlen - o, "\\x%02x", c);
            if (n > 0)
                o += (size_t)n;
        } else {
            dst[o++] = (char)c;
        }
    }
    if (shown < len && o + 4 < dstlen) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o++] = '"';
    dst[o] = '\0';
}

/* ---- the rules of section 3 on single values ----------------------------- */

int atc_job_id_valid(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > ATC_JOB_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_id_char((unsigned char)s[i]))
            return 0;
    return 1;
}

/* NULL when s[0..len) is a valid relative path, else what is wrong with it. */
static const char *path_problem(const char *s, size_t len)
{
    size_t comp = 0; /* start of the current component */

    if (s == NULL || len == 0)
        return "is empty";
    if (len > ATC_JOB_PATH_MAX)
        return "is longer than 255 bytes";
    if (s[0] == '/')
        return "is absolute (starts with \"/\")";
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '/') {
            size_t n = i - comp;
            if (n == 0)
                return "has an empty component";
            if (n == 1 && s[comp] == '.')
                return "has a \".\" component";
            if (n == 2 && s[comp] == '.' && s[comp + 1] == '.')
                return "has a \"..\" component";
            comp = i + 1;
        } else if (!is_path_char((unsigned char)s[i])) {
            return "has a character outside [A-Za-z0-9._-] in a component";
        }
    }
    return NULL;
}

/* NULL when the valid path s may be a job's file, else why it is reserved:
 * a name that would run before pytest or instead of it (the interpreter's
 * startup hooks, a pytest or pluggy of the job's own), or the worker's own
 * directory .atc/, where the runner and the fleet's report live. */
static const char *reserved_problem(const char *s)
{
    static const char *const modules[] = {"pytest", "_pytest", "pluggy", "py"};
    static const char *const startup[] = {"sitecustomize.py", "usercustomize.py"};
    size_t len = strlen(s);

    if (strncmp(s, ".atc/", 5) == 0 || strcmp(s, ".atc") == 0)
        return "is reserved: .atc/ is the worker's directory in the sandbox";
    if (len >= 4 && strcmp(s + len - 4, ".pth") == 0)
        return "is reserved: a .pth file runs code when Python starts";
    for (const char *c = s; c != NULL; c = strchr(c, '/') ? strchr(c, '/') + 1 : NULL) {
        size_t n = strcspn(c, "/");
        for (size_t i = 0; i < sizeof(startup) / sizeof(startup[0]); i++)
            if (n == strlen(startup[i]) && strncmp(c, startup[i], n) == 0)
                return "is reserved: it runs code when Python starts";
        for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
            size_t m = strlen(modules[i]);
            /* The module as a package (a directory) or as a file. */
            if ((n == m && c[n] == '/' && strncmp(c, modules[i], m) == 0) ||
                (n == m + 3 && strncmp(c, modules[i], m) == 0 && strncmp(c + m, ".py", 3) == 0))
                return "is reserved: it would shadow the test runner (pytest, pluggy, py)";
        }
    }
    return NULL;
}

int atc_job_path_valid(const char *s, size_t len)
{
    return path_problem(s, len) == NULL;
}

/* Length of a PEP 508 name at s[0..len): alphanumerics, '.', '_', '-',
 * starting and ending with an alphanumeric; 0 when there is none. */
static size_t dep_name_len(const char *s, size_t len)
{
    size_t n = 0;

    while (n < len && (is_path_char((unsigned char)s[n])))
        n++;
    if (n == 0 || !is_alnum((unsigned char)s[0]) || !is_alnum((unsigned char)s[n - 1]))
        return 0;
    return n;
}

/* Length of the comparison operator at s[0..len), or 0. */
static size_t dep_op_len(const char *s, size_t len)
{
    if (len >= 3 && memcmp(s, "===", 3) == 0)
        return 3;
    if (len >= 2 && s[1] == '=' && strchr("=!<>~", s[0]) != NULL)
        return 2;
    if (len >= 1 && (s[0] == '<' || s[0] == '>'))
        return 1;
    return 0;
}

/* NULL when s[0..len) is an acceptable requirement specifier, else what is
 * wrong with it. Accepted: name, then optional [extra,extra], then optional
 * clauses op version joined by ','; no spaces, markers, URLs or options. */
static const char *dep_problem(const char *s, size_t len)
{
    size_t i;
    size_t n;

    if (s == NULL || len == 0)
        return "is empty";
    if (len > JOB_DEP_LEN_MAX)
        return "is longer than 256 bytes";
    if (s[0] == '-')
        return "is an option, not a requirement";
    if (s[0] == '.' || s[0] == '/' || memchr(s, '@', len) != NULL ||
        (len >= 3 && memmem(s, len, "://", 3) != NULL))
        return "is a URL or a path, not a requirement";
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_version_char(c) && strchr("_[],=<>~", c) == NULL)
            return "has a character that is not allowed (spaces, markers, quotes and shell characters are not)";
    }
    n = dep_name_len(s, len);
    if (n == 0)
        return "does not start with a package name";
    i = n;
    if (i < len && s[i] == '[') {
        i++;
        for (;;) {
            n = dep_name_len(s + i, len - i);
            if (n == 0)
                return "has a bad [extras] list";
            i += n;
            if (i < len && s[i] == ',') {
                i++;
                continue;
            }
            if (i < len && s[i] == ']') {
                i++;
                break;
            }
            return "has a bad [extras] list";
        }
    }
    if (i == len)
        return NULL;
    for (;;) {
        size_t v;
        n = dep_op_len(s + i, len - i);
        if (n == 0)
            return "has no version operator (==, !=, <=, >=, <, >, ~=, ===) where one is due";
        i += n;
        v = i;
        while (v < len && is_version_char((unsigned char)s[v]))
            v++;
        if (v == i)
            return "has an operator without a version";
        i = v;
        if (i == len)
            return NULL;
        if (s[i] != ',')
            return "has something other than ',' after a version";
        i++;
    }
}

int atc_job_dep_valid(const char *s, size_t len)
{
    return dep_problem(s, len) == NULL;
}

static int env_name_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (p == NULL || !(p[0] == '_' || (p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')))
        return 0;
    for (p++; *p != '\0'; p++)
        if (!(*p == '_' || is_alnum(*p)))
            return 0;
    return 1;
}

/* ---- whole job ----------------------------------------------------------- */

/* Checks a map of str to str (env, labels): size, names, values, repeats. */
static int check_kvs(const char *field, const struct atc_kv *kv, size_t n, size_t max,
                     int env_names, char *err, size_t errlen)
{
    char q[JOB_QUOTE_MAX * 4 + 8];

    if (n > max) {
        snprintf(err, errlen, "%s: at most %zu entries (got %zu)", field, max, n);
        return ATC_EINVAL;
    }
    if (n > 0 && kv == NULL) {
        snprintf(err, errlen, "%s: %zu entries but no array", field, n);
        return ATC_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (kv[i].key == NULL || kv[i].value == NULL) {
            snprintf(err, errlen, "%s: entry %zu has no %s", field, i,
                     kv[i].key == NULL ? "name" : "value");
            return ATC_EINVAL;
        }
        quote(q, sizeof(q), kv[i].key, strlen(kv[i].key));
        if (env_names && !env_name_valid(kv[i].key)) {
            snprintf(err, errlen, "%s: name %s does not match [A-Za-z_][A-Za-z0-9_]*", field, q);
            return ATC_EINVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(kv[i].key, kv[j].key) == 0) {
                snprintf(err, errlen, "%s: name %s appears twice", field, q);
                return ATC_EINVAL;
            }
        }
    }
    return 0;
}

/* An optional str field, when present, must not be empty. */
/* 1 when s is valid UTF-8, as jansson (which builds the Daytona requests)
 * checks it. */
static int utf8_valid(const char *s)
{
    json_t *v = json_stringn(s, strlen(s));
    int ok = v != NULL;
    json_decref(v);
    return ok;
}

static int check_opt_str(const char *field, const char *s, char *err, size_t errlen)
{
    if (s != NULL && s[0] == '\0') {
        snprintf(err, errlen, "%s: must not be empty when present", field);
        return ATC_EINVAL;
    }
    /* Both go into the JSON of a Daytona request, which must be UTF-8: a
     * request the client cannot build is a job that can never run. */
    if (s != NULL && !utf8_valid(s)) {
        snprintf(err, errlen, "%s: must be valid UTF-8", field);
        return ATC_EINVAL;
    }
    return 0;
}

int atc_job_validate(const struct atc_job *job, char *err, size_t errlen)
{
    char q[JOB_QUOTE_MAX * 4 + 8];
    const char *why;
    int rc;

    if (job == NULL) {
        snprintf(err, errlen, "job: missing");
        return ATC_EINVAL;
    }
    if (job->v != ATC_JOB_VERSION) {
        snprintf(err, errlen, "v: must be %d (got %lu)", ATC_JOB_VERSION, (unsigned long)job->v);
        return ATC_EINVAL;
    }
    if (job->id == NULL) {
        snprintf(err, errlen, "id: missing");
        return ATC_EINVAL;
    }
    if (!atc_job_id_valid(job->id, strlen(job->id))) {
        size_t n = strlen(job->id);
        quote(q, sizeof(q), job->id, n);
        if (n == 0 || n > ATC_JOB_ID_MAX)
            snprintf(err, errlen, "id: must be 1 to %d bytes (got %zu)", ATC_JOB_ID_MAX, n);
        else
            snprintf(err, errlen, "id: %s has a character outside [A-Za-z0-9._:-]", q);
        return ATC_EINVAL;
    }

    if (job->nfiles == 0 || job->nfiles > ATC_JOB_FILES_MAX) {
        snprintf(err, errlen, "files: must hold 1 to %d entries (got %zu)", ATC_JOB_FILES_MAX,
                 job->nfiles);
        return ATC_EINVAL;
    }
    if (job->files == NULL) {
        snprintf(err, errlen, "files: %zu entries but no array", job->nfiles);
        return ATC_EINVAL;
    }
    for (size_t i = 0; i < job->nfiles; i++) {
        const struct atc_job_file *f = &job->files[i];
        if (f->path == NULL) {
            snprintf(err, errlen, "files: entry %zu has no path", i);
            return ATC_EINVAL;
        }
        quote(q, sizeof(q), f->path, strlen(f->path));
        why = path_problem(f->path, strlen(f->path));
        if (why == NULL)
            why = reserved_problem(f->path);
        if (why != NULL) {
            snprintf(err, errlen, "files: path %s %s", q, why);
            return ATC_EINVAL;
        }
        if (f->data == NULL && f->len > 0) {
            snprintf(err, errlen, "files: path %s has a length but no contents", q);
            return ATC_EINVAL;
        }
        if (f->len > UINT32_MAX) {
            snprintf(err, errlen, "files: contents of %s are larger than 4 GiB", q);
            return ATC_EINVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(f->path, job->files[j].path) == 0) {
                snprintf(err, errlen, "files: path %s appears twice", q);
                return ATC_EINVAL;
            }
        }
    }

    if (job->ndeps > ATC_JOB_DEPS_MAX) {
        snprintf(err, errlen, "deps: at most %d entries (got %zu)", ATC_JOB_DEPS_MAX, job->ndeps);
        return ATC_EINVAL;
    }
    if (job->ndeps > 0 && job->deps == NULL) {
        snprintf(err, errlen, "deps: %zu entries but no array", job->ndeps);
        return ATC_EINVAL;
    }
    for (size_t i = 0; i < job->ndeps; i++) {
        if (job->deps[i] == NULL) {
            snprintf(err, errlen, "deps[%zu]: missing", i);
            return ATC_EINVAL;
        }
        why = dep_problem(job->deps[i], strlen(job->deps[i]));
        if (why != NULL) {
            quote(q, sizeof(q), job->deps[i], strlen(job->deps[i]));
            snprintf(err, errlen, "deps[%zu]: %s %s", i, q, why);
            return ATC_EINVAL;
        }
    }

    rc = check_opt_str("cmd", job->cmd, err, errlen);
    if (rc != 0)
        return rc;
    if (job->has_timeout && job->timeout_s == 0) {
        snprintf(err, errlen, "timeout_s: must be at least 1");
        return ATC_EINVAL;
    }
    if (job->has_test_timeout && job->test_timeout_s == 0) {
        snprintf(err, errlen, "test_timeout_s: must be at least 1");
        return ATC_EINVAL;
    }
    if (job->has_reruns && job->reruns > ATC_JOB_RERUNS_MAX) {
        snprintf(err, errlen, "reruns: at most %d (got %u)", ATC_JOB_RERUNS_MAX, job->reruns);
        return ATC_EINVAL;
    }
    if (job->group != NULL && !atc_job_id_valid(job->group, strlen(job->group))) {
        snprintf(err, errlen, "group: must be 1..%d characters of [A-Za-z0-9._:-]",
                 ATC_JOB_ID_MAX);
        return ATC_EINVAL;
    }
    rc = check_kvs("env", job->env, job->nenv, ATC_JOB_ENV_MAX, 1, err, errlen);
    if (rc != 0)
        return rc;
    rc = check_kvs("labels", job->labels, job->nlabels, ATC_JOB_LABELS_MAX, 0, err, errlen);
    if (rc != 0)
        return rc;
    rc = check_opt_str("snapshot", job->snapshot, err, errlen);
    if (rc != 0)
        return rc;
    const struct {
        const char *field;
        uint32_t v;
    } res[] = {{"cpu", job->cpu}, {"memory_gib", job->memory_gib}, {"disk_gib", job->disk_gib}};
    for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
        if (res[i].v > ATC_JOB_RESOURCE_MAX) {
            snprintf(err, errlen, "%s: at most %d (got %u)", res[i].field, ATC_JOB_RESOURCE_MAX,
                     (unsigned)res[i].v);
            return ATC_EINVAL;
        }
    }
    if (atc_job_has_resources(job) && job->snapshot) {
        /* Daytona sets resources only when it builds a snapshot. */
        snprintf(err, errlen, "cpu/memory_gib/disk_gib: not with \"snapshot\" (resources are "
                 "given to the fleet's own environment snapshots only)");
        return ATC_EINVAL;
    }
    return 0;
}

void atc_job_resources_text(const struct atc_job *job, char *out, size_t outlen)
{
    size_t o = 0;
    const struct {
        const char *name;
        uint32_t v;
    } res[] = {{"cpu", job->cpu}, {"memory", job->memory_gib}, {"disk", job->disk_gib}};

    if (outlen == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
        if (!res[i].v || o >= outlen)
            continue;
        int n = snprintf(out + o, outlen - o, "%s%s=%u", o ? "," : "", res[i].name,
                         (unsigned)res[i].v);
        o += n > 0 ? (size_t)n : 0;
    }
}

int atc_job_check_caps(const struct atc_job *job, unsigned max_cpu, unsigned max_memory_gib,
                       unsigned max_disk_gib, char *err, size_t errlen)
{
    const struct {
        const char *field, *cap;
        uint32_t v;
        unsigned max;
    } res[] = {{"cpu", "ATC_MAX_CPU", job->cpu, max_cpu},
               {"memory_gib", "ATC_MAX_MEMORY_GIB", job->memory_gib, max_memory_gib},
               {"disk_gib", "ATC_MAX_DISK_GIB", job->disk_gib, max_disk_gib}};

    for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
        if (res[i].max && res[i].v > res[i].max) {
            snprintf(err, errlen, "%s: the job asks for %u, more than this fleet's cap of %u "
                     "(%s); ask for %u or less", res[i].field, (unsigned)res[i].v, res[i].max,
                     res[i].cap, res[i].max);
            return ATC_EINVAL;
        }
    }
    return 0;
}

void atc_job_free(struct atc_job *job)
{
    if (job == NULL)
        return;
    free(job->id);
    if (job->files != NULL) {
        for (size_t i = 0; i < job->nfiles; i++) {
            free(job->files[i].path);
            free(job->files[i].data);
        }
    }
    free(job->files);
    if (job->deps != NULL) {
        for (size_t i = 0; i < job->ndeps; i++)
            free(job->deps[i]);
    }
    free(job->deps);
    free(job->cmd);
    if (job->env != NULL) {
        for (size_t i = 0; i < job->nenv; i++) {
            free(job->env[i].key);
            free(job->env[i].value);
        }
    }
    free(job->env);
    if (job->labels != NULL) {
        for (size_t i = 0; i < job->nlabels; i++) {
            free(job->labels[i].key);
            free(job->labels[i].value);
        }
    }
    free(job->labels);
    free(job->snapshot);
    free(job->group);
    free(job);
}

/* ---- decode -------------------------------------------------------------- */

enum job_key {
    K_V,
    K_ID,
    K_FILES,
    K_DEPS,
    K_CMD,
    K_TIMEOUT_S,
    K_ENV,
    K_LABELS,
    K_SNAPSHOT,
    K_SUBMITTED_MS,
    K_CACHE,
    K_NETWORK,
    K_TEST_TIMEOUT_S,
    K_RERUNS,
    K_GROUP,
    K_CPU,
    K_MEMORY_GIB,
    K_DISK_GIB,
    K_COUNT
};

static const char *const job_key_names[K_COUNT] = {
    "v", "id", "files", "deps", "cmd", "timeout_s", "env", "labels", "snapshot", "submitted_ms",
    "cache", "network", "test_timeout_s", "reruns", "group", "cpu", "memory_gib", "disk_gib",
};

static const char *mp_type_name(msgpack_object_type t)
{
    switch (t) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return "an unsigned integer";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "a negative integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "a float";
    case MSGPACK_OBJECT_STR:
        return "a str";
    case MSGPACK_OBJECT_ARRAY:
        return "an array";
    case MSGPACK_OBJECT_MAP:
        return "a map";
    case MSGPACK_OBJECT_BIN:
        return "a bin";
    case MSGPACK_OBJECT_EXT:
        return "an ext";
    }
    return "an unknown type";
}

static void bad(struct atc_job_error *jerr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void bad(struct atc_job_error *jerr, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(jerr->message, sizeof(jerr->message), fmt, ap);
    va_end(ap);
}

/* Copies a msgpack str into a new NUL-terminated string; a NUL byte inside is
 * refused since every consumer treats these as C strings. */
static int dup_str(const msgpack_object_str *s, const char *field, char **dst,
                   struct atc_job_error *jerr)
{
    char *p;

    if (s->size > 0 && memchr(s->ptr, '\0', s->size) != NULL) {
        bad(jerr, "%s: must not contain a NUL byte", field);
        return ATC_EBADMSG;
    }
    p = malloc((size_t)s->size + 1);
    if (p == NULL) {
        bad(jerr, "%s: out of memory", field);
        return ATC_ENOMEM;
    }
    if (s->size > 0)
        memcpy(p, s->ptr, s->size);
    p[s->size] = '\0';
    *dst = p;
    return 0;
}

static int str_cmp(const void *a, const void *b)
{
    const msgpack_object_str *x = *(const msgpack_object_str *const *)a;
    const msgpack_object_str *y = *(const msgpack_object_str *const *)b;
    int c;

    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    if (x->size == 0)
        return 0;
    c = memcmp(x->ptr, y->ptr, x->size);
    return c;
}

/* Rejects a map whose str keys repeat: sort pointers to them, compare
 * neighbours. Non-str keys are unknown keys and are left alone. */
static int check_dup_keys(const msgpack_object_map *m, struct atc_job_error *jerr)
{
    const msgpack_object_str **keys = NULL;
    size_t n = 0;
    int rc = 0;
    char q[JOB_QUOTE_MAX * 4 + 8];

    if (m->size < 2)
        goto out;
    keys = calloc(m->size, sizeof(*keys));
    if (keys == NULL) {
        bad(jerr, "message: out of memory");
        rc = ATC_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < m->size; i++)
        if (m->ptr[i].key.type == MSGPACK_OBJECT_STR)
            keys[n++] = &m->ptr[i].key.via.str;
    qsort(keys, n, sizeof(*keys), str_cmp);
    for (size_t i = 1; i < n; i++) {
        if (str_cmp(&keys[i - 1], &keys[i]) == 0) {
            quote(q, sizeof(q), keys[i]->ptr, keys[i]->size);
            bad(jerr, "message: key %s appears twice", q);
            rc = ATC_EBADMSG;
            goto out;
        }
    }
out:
    free(keys);
    return rc;
}

/* Decodes a map of str to str (env, labels) into *dst and *n. */
static int decode_kvs(const msgpack_object *o, const char *field, size_t max,
                      struct atc_kv **dst, size_t *n, struct atc_job_error *jerr)
{
    const msgpack_object_map *m;
    char q[JOB_QUOTE_MAX * 4 + 8];
    int rc;

    if (o->type != MSGPACK_OBJECT_MAP) {
        bad(jerr, "%s: must be a map of str to str (got %s)", field, mp_type_name(o->type));
        return ATC_EBADMSG;
    }
    m = &o->via.map;
    if (m->size > max) {
        bad(jerr, "%s: at most %zu entries (got %lu)", field, max, (unsigned long)m->size);
        return ATC_EBADMSG;
    }
    if (m->size == 0)
        return 0;
    *dst = calloc(m->size, sizeof(**dst));
    if (*dst == NULL) {
        bad(jerr, "%s: out of memory", field);
        return ATC_ENOMEM;
    }
    *n = m->size;
    for (size_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        const msgpack_object *v = &m->ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR) {
            bad(jerr, "%s: a name must be a str (got %s)", field, mp_type_name(k->type));
            return ATC_EBADMSG;
        }
        quote(q, sizeof(q), k->via.str.ptr, k->via.str.size);
        if (v->type != MSGPACK_OBJECT_STR) {
            bad(jerr, "%s: value of %s must be a str (got %s)", field, q, mp_type_name(v->type));
            return ATC_EBADMSG;
        }
        rc = dup_str(&k->via.str, field, &(*dst)[i].key, jerr);
        if (rc == 0)
            rc = dup_str(&v->via.str, field, &(*dst)[i].value, jerr);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int decode_files(const msgpack_object *o, struct atc_job *job, struct atc_job_error *jerr)
{
    const msgpack_object_map *m;
    char q[JOB_QUOTE_MAX * 4 + 8];
    int rc;

    if (o->type != MSGPACK_OBJECT_MAP) {
        bad(jerr, "files: must be a map of path to contents (got %s)", mp_type_name(o->type));
        return ATC_EBADMSG;
    }
    m = &o->via.map;
    if (m->size == 0 || m->size > ATC_JOB_FILES_MAX) {
        bad(jerr, "files: must hold 1 to %d entries (got %lu)", ATC_JOB_FILES_MAX,
            (unsigned long)m->size);
        return ATC_EBADMSG;
    }
    job->files = calloc(m->size, sizeof(*job->files));
    if (job->files == NULL) {
        bad(jerr, "files: out of memory");
        return ATC_ENOMEM;
    }
    job->nfiles = m->size;
    for (size_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        const msgpack_object *v = &m->ptr[i].val;
        struct atc_job_file *f = &job->files[i];
        const char *ptr;
        size_t len;

        if (k->type != MSGPACK_OBJECT_STR) {
            bad(jerr, "files: a path must be a str (got %s)", mp_type_name(k->type));
            return ATC_EBADMSG;
        }
        quote(q, sizeof(q), k->via.str.ptr, k->via.str.size);
        if (v->type == MSGPACK_OBJECT_BIN) {
            ptr = v->via.bin.ptr;
            len = v->via.bin.size;
        } else if (v->type == MSGPACK_OBJECT_STR) {
            ptr = v->via.str.ptr;
            len = v->via.str.size;
        } else {
            bad(jerr, "files: contents of %s must be bin or str (got %s)", q, mp_type_name(v->type));
            return ATC_EBADMSG;
        }
        rc = dup_str(&k->via.str, "files", &f->path, jerr);
        if (rc != 0)
            return rc;
        /* At least one byte, so data is never NULL, even for an empty file. */
        f->data = malloc(len > 0 ? len : 1);
        if (f->data == NULL) {
            bad(jerr, "files: out of memory");
            return ATC_ENOMEM;
        }
        if (len > 0)
            memcpy(f->data, ptr, len);
        f->len = len;
    }
    return 0;
}

static int decode_deps(const msgpack_object *o, struct atc_job *job, struct atc_job_error *jerr)
{
    const msgpack_object_array *a;
    char field[32];
    int rc;

    if (o->type != MSGPACK_OBJECT_ARRAY) {
        bad(jerr, "deps: must be an array of str (got %s)", mp_type_name(o->type));
        return ATC_EBADMSG;
    }
    a = &o->via.array;
    if (a->size > ATC_JOB_DEPS_MAX) {
        bad(jerr, "deps: at most %d entries (got %lu)", ATC_JOB_DEPS_MAX, (unsigned long)a->size);
        return ATC_EBADMSG;
    }
    if (a->size == 0)
        return 0;
    job->deps = calloc(a->size, sizeof(*job->deps));
    if (job->deps == NULL) {
        bad(jerr, "deps: out of memory");
        return ATC_ENOMEM;
    }
    job->ndeps = a->size;
    for (size_t i = 0; i < a->size; i++) {
        snprintf(field, sizeof(field), "deps[%zu]", i);
        if (a->ptr[i].type != MSGPACK_OBJECT_STR) {
            bad(jerr, "%s: must be a str (got %s)", field, mp_type_name(a->ptr[i].type));
            return ATC_EBADMSG;
        }
        rc = dup_str(&a->ptr[i].via.str, field, &job->deps[i], jerr);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int decode_uint(const msgpack_object *o, const char *field, uint64_t max, uint64_t *dst,
                       struct atc_job_error *jerr)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        bad(jerr, "%s: must be an unsigned integer (got %s)", field, mp_type_name(o->type));
        return ATC_EBADMSG;
    }
    if (o->via.u64 > max) {
        bad(jerr, "%s: must be at most %llu (got %llu)", field, (unsigned long long)max,
            (unsigned long long)o->via.u64);
        return ATC_EBADMSG;
    }
    *dst = o->via.u64;
    return 0;
}

static int decode_opt_str(const msgpack_object *o, const char *field, char **dst,
                          struct atc_job_error *jerr)
{
    if (o->type != MSGPACK_OBJECT_STR) {
        bad(jerr, "%s: must be a str (got %s)", field, mp_type_name(o->type));
        return ATC_EBADMSG;
    }
    return dup_str(&o->via.str, field, dst, jerr);
}

/* Fills job from the top-level map; vals[k] is the value of known key k or
 * NULL. Optional keys whose value is nil count as absent. */
static int decode_fields(const msgpack_object *const vals[K_COUNT], struct atc_job *job,
                         struct atc_job_error *jerr)
{
    uint64_t u = 0;
    int rc;

    if (vals[K_V] == NULL) {
        bad(jerr, "v: missing");
        return ATC_EBADMSG;
    }
    rc = decode_uint(vals[K_V], "v", UINT32_MAX, &u, jerr);
    if (rc != 0)
        return rc;
    if (u != ATC_JOB_VERSION) {
        bad(jerr, "v: must be %d (got %llu)", ATC_JOB_VERSION, (unsigned long long)u);
        return ATC_EBADMSG;
    }
    job->v = (uint32_t)u;

    if (vals[K_ID] == NULL) {
        bad(jerr, "id: missing");
        return ATC_EBADMSG;
    }
    if (vals[K_ID]->type != MSGPACK_OBJECT_STR) {
        bad(jerr, "id: must be a str (got %s)", mp_type_name(vals[K_ID]->type));
        return ATC_EBADMSG;
    }
    rc = dup_str(&vals[K_ID]->via.str, "id", &job->id, jerr);
    if (rc != 0)
        return rc;

    if (vals[K_FILES] == NULL) {
        bad(jerr, "files: missing");
        return ATC_EBADMSG;
    }
    rc = decode_files(vals[K_FILES], job, jerr);
    if (rc != 0)
        return rc;

    for (int k = K_DEPS; k < K_COUNT; k++) {
        const msgpack_object *o = vals[k];
        const char *field = job_key_names[k];

        if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
            continue;
        switch ((enum job_key)k) {
        case K_DEPS:
            rc = decode_deps(o, job, jerr);
            break;
        case K_CMD:
            rc = decode_opt_str(o, field, &job->cmd, jerr);
            break;
        case K_TIMEOUT_S:
            rc = decode_uint(o, field, UINT32_MAX, &u, jerr);
            job->timeout_s = (uint32_t)u;
            job->has_timeout = rc == 0;
            break;
        case K_ENV:
            rc = decode_kvs(o, field, ATC_JOB_ENV_MAX, &job->env, &job->nenv, jerr);
            break;
        case K_LABELS:
            rc = decode_kvs(o, field, ATC_JOB_LABELS_MAX, &job->labels, &job->nlabels, jerr);
            break;
        case K_SNAPSHOT:
            rc = decode_opt_str(o, field, &job->snapshot, jerr);
            break;
        case K_SUBMITTED_MS:
            rc = decode_uint(o, field, UINT64_MAX, &job->submitted_ms, jerr);
            break;
        case K_CACHE:
            if (o->type != MSGPACK_OBJECT_BOOLEAN) {
                bad(jerr, "cache: must be a boolean (got %s)", mp_type_name(o->type));
                rc = ATC_EBADMSG;
            } else {
                job->cache = o->via.boolean;
            }
            break;
        case K_NETWORK:
            if (o->type == MSGPACK_OBJECT_STR && o->via.str.size == 4 &&
                memcmp(o->via.str.ptr, "none", 4) == 0) {
                job->network_open = 0;
            } else if (o->type == MSGPACK_OBJECT_STR && o->via.str.size == 4 &&
                       memcmp(o->via.str.ptr, "open", 4) == 0) {
                job->network_open = 1;
            } else {
                bad(jerr, "network: must be \"none\" or \"open\"");
                rc = ATC_EBADMSG;
            }
            break;
        case K_TEST_TIMEOUT_S:
            rc = decode_uint(o, field, UINT32_MAX, &u, jerr);
            job->test_timeout_s = (uint32_t)u;
            job->has_test_timeout = rc == 0;
            break;
        case K_RERUNS:
            rc = decode_uint(o, field, UINT32_MAX, &u, jerr);
            job->reruns = (uint32_t)u;
            job->has_reruns = rc == 0;
            break;
        case K_GROUP:
            rc = decode_opt_str(o, field, &job->group, jerr);
            break;
        case K_CPU:
        case K_MEMORY_GIB:
        case K_DISK_GIB:
            rc = decode_uint(o, field, ATC_JOB_RESOURCE_MAX, &u, jerr);
            if (rc == 0 && u == 0) {
                bad(jerr, "%s: must be at least 1 (leave it out for the default)", field);
                rc = ATC_EBADMSG;
            }
            *(k == K_CPU          ? &job->cpu
              : k == K_MEMORY_GIB ? &job->memory_gib
                                  : &job->disk_gib) = (uint32_t)u;
            break;
        default:
            rc = 0;
            break;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

int atc_job_decode(const void *buf, size_t len, size_t max_bytes, struct atc_job **out,
                   struct atc_job_error *jerr)
{
    struct atc_job_error scratch;
    msgpack_unpacked up;
    struct atc_job *job = NULL;
    const msgpack_object *vals[K_COUNT] = { NULL };
    const msgpack_object_map *m;
    char why[160];
    size_t used = 0;
    size_t off = 0;
    int rc = ATC_EBADMSG;

    msgpack_unpacked_init(&up);
    if (jerr == NULL)
        jerr = &scratch;
    jerr->reason = "bad_message";
    jerr->id[0] = '\0';
    jerr->message[0] = '\0';
    if (out == NULL) {
        bad(jerr, "decode: no place for the job");
        rc = ATC_EINVAL;
        goto out;
    }
    *out = NULL;

    /* The size limit comes before anything looks inside the message. */
    if (len > max_bytes) {
        jerr->reason = "too_large";
        bad(jerr, "message: %zu bytes, more than the limit of %zu", len, max_bytes);
        rc = ATC_ETOOBIG;
        goto out;
    }
    if (len == 0 || buf == NULL) {
        bad(jerr, "message: empty");
        goto out;
    }
    if (((const unsigned char *)buf)[0] < 0x80 ||
        !(((const unsigned char *)buf)[0] <= 0x8f || ((const unsigned char *)buf)[0] == 0xde ||
          ((const unsigned char *)buf)[0] == 0xdf)) {
        bad(jerr, "message: must be a msgpack map");
        goto out;
    }
    if (atc_mp_check(buf, len, JOB_OBJECTS_MAX, &used, why, sizeof(why)) != 0) {
        bad(jerr, "message: not valid msgpack: %s", why);
        goto out;
    }
    if (used != len) {
        bad(jerr, "message: %zu bytes of trailing data after the map", len - used);
        goto out;
    }
    switch (msgpack_unpack_next(&up, buf, len, &off)) {
    case MSGPACK_UNPACK_SUCCESS:
        break;
    case MSGPACK_UNPACK_NOMEM_ERROR:
        bad(jerr, "message: out of memory while unpacking");
        rc = ATC_ENOMEM;
        goto out;
    default:
        bad(jerr, "message: not valid msgpack");
        goto out;
    }
    if (off != len || up.data.type != MSGPACK_OBJECT_MAP) {
        bad(jerr, "message: must be a single msgpack map");
        goto out;
    }
    m = &up.data.via.map;

    for (size_t i = 0; i < m->size; i++) {
        const msgpack_object_str *k = &m->ptr[i].key.via.str;
        if (m->ptr[i].key.type != MSGPACK_OBJECT_STR)
            continue;
        for (int j = 0; j < K_COUNT; j++) {
            if (k->size == strlen(job_key_names[j]) &&
                memcmp(k->ptr, job_key_names[j], k->size) == 0) {
                /* On a repeat keep neither, so no id is reported from an
                 * ambiguous message; check_dup_keys rejects it below. */
                vals[j] = vals[j] == NULL ? &m->ptr[i].val : &up.data;
                break;
            }
        }
    }
    /* Report the id early so even a message that is bad elsewhere can get
     * a `rejected` result. */
    if (vals[K_ID] != NULL && vals[K_ID]->type == MSGPACK_OBJECT_STR &&
        atc_job_id_valid(vals[K_ID]->via.str.ptr, vals[K_ID]->via.str.size)) {
        memcpy(jerr->id, vals[K_ID]->via.str.ptr, vals[K_ID]->via.str.size);
        jerr->id[vals[K_ID]->via.str.size] = '\0';
    }
    rc = check_dup_keys(m, jerr);
    if (rc != 0)
        goto out;

    job = calloc(1, sizeof(*job));
    if (job == NULL) {
        bad(jerr, "message: out of memory");
        rc = ATC_ENOMEM;
        goto out;
    }
    rc = decode_fields(vals, job, jerr);
    if (rc != 0)
        goto out;
    if (atc_job_validate(job, jerr->message, sizeof(jerr->message)) != 0) {
        rc = ATC_EBADMSG;
        goto out;
    }
    *out = job;
    job = NULL;
    rc = 0;
    jerr->message[0] = '\0';
out:
    atc_job_free(job);
    msgpack_unpacked_destroy(&up);
    return rc;
}

/* ---- encode -------------------------------------------------------------- */

static int pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);

    if (msgpack_pack_str(pk, n) != 0)
        return -1;
    return n > 0 ? msgpack_pack_str_body(pk, s, n) : 0;
}

static int pack_kvs(msgpack_packer *pk, const char *field, const struct atc_kv *kv, size_t n)
{
    if (pack_str(pk, field) != 0 || msgpack_pack_map(pk, n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (pack_str(pk, kv[i].key) != 0 || pack_str(pk, kv[i].value) != 0)
            return -1;
    return 0;
}

static int pack_job(msgpack_packer *pk, const struct atc_job *job)
{
    size_t n = 3;

    n += job->ndeps > 0;
    n += job->cmd != NULL;
    n += job->has_timeout != 0;
    n += job->nenv > 0;
    n += job->nlabels > 0;
    n += job->snapshot != NULL;
    n += job->submitted_ms != 0;
    n += job->cache != 0;
    n += job->network_open != 0;
    n += job->has_test_timeout != 0;
    n += job->has_reruns != 0;
    n += job->group != NULL;
    n += (job->cpu != 0) + (job->memory_gib != 0) + (job->disk_gib != 0);
    if (msgpack_pack_map(pk, n) != 0)
        return -1;
    if (pack_str(pk, "v") != 0 || msgpack_pack_uint32(pk, job->v) != 0)
        return -1;
    if (pack_str(pk, "id") != 0 || pack_str(pk, job->id) != 0)
        return -1;
    if (pack_str(pk, "files") != 0 || msgpack_pack_map(pk, job->nfiles) != 0)
        return -1;
    for (size_t i = 0; i < job->nfiles; i++) {
        const struct atc_job_file *f = &job->files[i];
        if (pack_str(pk, f->path) != 0 || msgpack_pack_bin(pk, f->len) != 0)
            return -1;
        if (f->len > 0 && msgpack_pack_bin_body(pk, f->data, f->len) != 0)
            return -1;
    }
    if (job->ndeps > 0) {
        if (pack_str(pk, "deps") != 0 || msgpack_pack_array(pk, job->ndeps) != 0)
            return -1;
        for (size_t i = 0; i < job->ndeps; i++)
            if (pack_str(pk, job->deps[i]) != 0)
                return -1;
    }
    if (job->cmd != NULL && (pack_str(pk, "cmd") != 0 || pack_str(pk, job->cmd) != 0))
        return -1;
    if (job->has_timeout &&
        (pack_str(pk, "timeout_s") != 0 || msgpack_pack_uint32(pk, job->timeout_s) != 0))
        return -1;
    if (job->nenv > 0 && pack_kvs(pk, "env", job->env, job->nenv) != 0)
        return -1;
    if (job->nlabels > 0 && pack_kvs(pk, "labels", job->labels, job->nlabels) != 0)
        return -1;
    if (job->snapshot != NULL &&
        (pack_str(pk, "snapshot") != 0 || pack_str(pk, job->snapshot) != 0))
        return -1;
    if (job->submitted_ms != 0 &&
        (pack_str(pk, "submitted_ms") != 0 || msgpack_pack_uint64(pk, job->submitted_ms) != 0))
        return -1;
    if (job->cache && (pack_str(pk, "cache") != 0 || msgpack_pack_true(pk) != 0))
        return -1;
    if (job->network_open && (pack_str(pk, "network") != 0 || pack_str(pk, "open") != 0))
        return -1;
    if (job->has_test_timeout && (pack_str(pk, "test_timeout_s") != 0 ||
                                  msgpack_pack_uint32(pk, job->test_timeout_s) != 0))
        return -1;
    if (job->has_reruns &&
        (pack_str(pk, "reruns") != 0 || msgpack_pack_uint32(pk, job->reruns) != 0))
        return -1;
    if (job->group != NULL && (pack_str(pk, "group") != 0 || pack_str(pk, job->group) != 0))
        return -1;
    if (job->cpu && (pack_str(pk, "cpu") != 0 || msgpack_pack_uint32(pk, job->cpu) != 0))
        return -1;
    if (job->memory_gib &&
        (pack_str(pk, "memory_gib") != 0 || msgpack_pack_uint32(pk, job->memory_gib) != 0))
        return -1;
    if (job->disk_gib &&
        (pack_str(pk, "disk_gib") != 0 || msgpack_pack_uint32(pk, job->disk_gib) != 0))
        return -1;
    return 0;
}

int atc_job_encode(const struct atc_job *job, char **buf, size_t *len, char *err, size_t errlen)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    int rc;

    msgpack_sbuffer_init(&sb);
    if (buf == NULL || len == NULL) {
        snprintf(err, errlen, "encode: no place for the bytes");
        rc = ATC_EINVAL;
        goto out;
    }
    *buf = NULL;
    *len = 0;
    rc = atc_job_validate(job, err, errlen);
    if (rc != 0)
        goto out;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (pack_job(&pk, job) != 0) {
        snprintf(err, errlen, "encode: out of memory");
        rc = ATC_ENOMEM;
        goto out;
    }
    *len = sb.size;
    *buf = msgpack_sbuffer_release(&sb);
    rc = 0;
out:
    msgpack_sbuffer_destroy(&sb);
    return rc;
}
