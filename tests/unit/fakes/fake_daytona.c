/* fake_daytona.c: atc/daytona.h as a sandbox service with scripted answers
 * (see fakes.h). Like the real client, a call made while the stop test says
 * stop ends with ATC_ECANCELED. */
#include "fakes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/daytona.h"
#include "atc/error.h"

struct fake_daytona fake_dt;

struct atc_daytona {
    int (*stop)(void *arg);
    void *stop_arg;
    struct atc_daytona_status last;
};

void fake_daytona_reset(void)
{
    memset(&fake_dt, 0, sizeof(fake_dt));
    fake_dt.retry_after_s = -1;
    fake_dt.http_status = 503;
    /* An honest pytest run: its output, and the fleet's report of one passed test. */
    fake_dt.exec_output = "3 1 - -\nok\n";
    fake_dt.report_xml = "<testsuite><testcase classname=\"t\" name=\"test_ok\"/></testsuite>";
}

void fake_daytona_script(enum fake_dt_call call, const int *rcs, int n)
{
    for (int i = 0; i < n && i < FAKE_DT_SCRIPT_MAX; i++)
        fake_dt.rc[call][i] = rcs[i];
    fake_dt.nrc[call] = n < FAKE_DT_SCRIPT_MAX ? n : FAKE_DT_SCRIPT_MAX;
}

/* The answer of this call: ATC_ECANCELED when stopped, else the script's. */
static int answer(struct atc_daytona *d, enum fake_dt_call call, char *err, size_t errlen)
{
    int n = fake_dt.calls[call]++;
    if (fake_dt.on_call != NULL)
        fake_dt.on_call(fake_dt.on_call_arg, call, n);
    memset(&d->last, 0, sizeof(d->last));
    d->last.retry_after_s = -1;
    if (d->stop != NULL && d->stop(d->stop_arg)) {
        snprintf(err, errlen, "stopped");
        return ATC_ECANCELED;
    }
    int rc = fake_scripted(fake_dt.rc[call], fake_dt.nrc[call], n);
    if (rc != 0) {
        d->last.http_status = rc == ATC_ECONN || rc == ATC_ECANCELED ? 0 : fake_dt.http_status;
        d->last.retry_after_s = fake_dt.retry_after_s;
        snprintf(err, errlen, "fake failure %d (%s)", rc, atc_strerror(rc));
    } else {
        d->last.http_status = 200;
    }
    return rc;
}

struct atc_daytona *atc_daytona_new(const struct atc_daytona_opts *opts, char *err, size_t errlen)
{
    (void)opts;
    struct atc_daytona *d = calloc(1, sizeof(*d));
    if (d == NULL)
        snprintf(err, errlen, "out of memory");
    return d;
}

void atc_daytona_destroy(struct atc_daytona *d)
{
    free(d);
}

void atc_daytona_set_stop(struct atc_daytona *d, int (*stop)(void *arg), void *arg)
{
    d->stop = stop;
    d->stop_arg = arg;
    fake_dt.stop_set = stop != NULL;
}

const struct atc_daytona_status *atc_daytona_last(const struct atc_daytona *d)
{
    return &d->last;
}

static void fill_sandbox(struct atc_sandbox *sb, const char *name, const struct atc_kv *labels,
                         size_t nlabels)
{
    memset(sb, 0, sizeof(*sb));
    snprintf(sb->id, sizeof(sb->id), "sb-%d", fake_dt.calls[FAKE_DT_CREATE]);
    snprintf(sb->name, sizeof(sb->name), "%s", name ? name : "");
    snprintf(sb->state, sizeof(sb->state), "started");
    for (size_t i = 0; i < nlabels; i++) {
        if (strcmp(labels[i].key, "atc-job") == 0)
            snprintf(sb->job_label, sizeof(sb->job_label), "%s", labels[i].value);
        else if (strcmp(labels[i].key, "atc-fleet") == 0)
            snprintf(sb->fleet_label, sizeof(sb->fleet_label), "%s", labels[i].value);
    }
}

int atc_daytona_create(struct atc_daytona *d, const struct atc_sandbox_spec *spec,
                       struct atc_sandbox *out, char *err, size_t errlen)
{
    if (fake_dt.ncreated < FAKE_DT_LOG_MAX)
        snprintf(fake_dt.created[fake_dt.ncreated++], sizeof(fake_dt.created[0]), "%s",
                 spec->name ? spec->name : "");
    int rc = answer(d, FAKE_DT_CREATE, err, errlen);
    if (rc == 0)
        fill_sandbox(out, spec->name, spec->labels, spec->nlabels);
    return rc;
}

int atc_daytona_wait_started(struct atc_daytona *d, struct atc_sandbox *sb, long timeout_ms,
                             char *err, size_t errlen)
{
    (void)sb;
    (void)timeout_ms;
    return answer(d, FAKE_DT_WAIT, err, errlen);
}

int atc_daytona_get(struct atc_daytona *d, const char *id, struct atc_sandbox *out, char *err,
                    size_t errlen)
{
    int rc = answer(d, FAKE_DT_GET, err, errlen);
    if (rc == 0)
        fill_sandbox(out, id, NULL, 0);
    return rc;
}

int atc_daytona_delete(struct atc_daytona *d, const char *id, char *err, size_t errlen)
{
    if (fake_dt.ndeleted < FAKE_DT_LOG_MAX)
        snprintf(fake_dt.deleted[fake_dt.ndeleted++], sizeof(fake_dt.deleted[0]), "%s", id);
    return answer(d, FAKE_DT_DELETE, err, errlen);
}

uint64_t fake_fnv1a(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

int atc_daytona_upload(struct atc_daytona *d, const struct atc_sandbox *sb,
                       const struct atc_job_file *files, size_t nfiles, char *err, size_t errlen)
{
    (void)sb;
    fake_dt.nuploaded = 0;
    for (size_t i = 0; i < nfiles && i < FAKE_DT_FILES_MAX; i++) {
        struct fake_dt_file *f = &fake_dt.uploaded[fake_dt.nuploaded++];
        snprintf(f->path, sizeof(f->path), "%s", files[i].path);
        f->len = files[i].len;
        f->fnv = fake_fnv1a(files[i].data, files[i].len);
    }
    return answer(d, FAKE_DT_UPLOAD, err, errlen);
}

int atc_daytona_exec(struct atc_daytona *d, const struct atc_sandbox *sb, const char *command,
                     const char *cwd, const struct atc_kv *env, size_t nenv, unsigned timeout_s,
                     size_t max_output, int *exit_code, char **output, size_t *output_len,
                     int *truncated, char *err, size_t errlen)
{
    (void)sb;
    (void)cwd;
    if (fake_dt.nexecs < FAKE_DT_EXECS_MAX) {
        struct fake_dt_exec *x = &fake_dt.execs[fake_dt.nexecs++];
        snprintf(x->command, sizeof(x->command), "%s", command);
        for (size_t i = 0; i < nenv; i++)
            if (strcmp(env[i].key, "ATC_CMD") == 0)
                snprintf(x->atc_cmd, sizeof(x->atc_cmd), "%s", env[i].value);
        x->nenv = nenv;
        x->timeout_s = timeout_s;
        x->max_output = max_output;
    }
    int rc = answer(d, FAKE_DT_EXEC, err, errlen);
    if (rc != 0)
        return rc;
    size_t len = strlen(fake_dt.exec_output);
    *output = malloc(len + 1);
    if (*output == NULL)
        return ATC_ENOMEM;
    memcpy(*output, fake_dt.exec_output, len + 1);
    *output_len = len;
    *truncated = 0;
    *exit_code = fake_dt.exit_code;
    return 0;
}

int atc_daytona_download(struct atc_daytona *d, const struct atc_sandbox *sb, const char *path,
                         size_t max_bytes, char **data, size_t *len, char *err, size_t errlen)
{
    (void)sb;
    (void)path;
    (void)max_bytes;
    int rc = answer(d, FAKE_DT_DOWNLOAD, err, errlen);
    if (rc != 0)
        return rc;
    if (fake_dt.report_xml == NULL)
        return ATC_ENOTFOUND; /* the fake holds no other file */
    *len = strlen(fake_dt.report_xml);
    *data = malloc(*len + 1);
    if (*data == NULL)
        return ATC_ENOMEM;
    memcpy(*data, fake_dt.report_xml, *len + 1);
    return 0;
}

int atc_daytona_block_network(struct atc_daytona *d, const char *id, char *err, size_t errlen)
{
    (void)id;
    return answer(d, FAKE_DT_NETWORK, err, errlen);
}
