/* report.c: the fields of a result hash, built from a run's outcome. */
#include "report.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"
#include "envfile.h"

void report_fields_cleanup(struct report_fields *rf)
{
    for (size_t i = 0; i < rf->n; i++) {
        free(rf->f[i].name);
        free(rf->f[i].value);
    }
    free(rf->f);
    memset(rf, 0, sizeof(*rf));
}

int report_add(struct report_fields *rf, const char *name, const void *value, size_t len)
{
    if (rf->n == rf->cap) {
        size_t cap = rf->cap ? rf->cap * 2 : 32;
        struct atc_field *nf = realloc(rf->f, cap * sizeof(*nf));
        if (!nf)
            return ATC_ENOMEM;
        rf->f = nf;
        rf->cap = cap;
    }
    char *n = strdup(name);
    char *v = malloc(len + 1);
    if (!n || !v) {
        free(n);
        free(v);
        return ATC_ENOMEM;
    }
    if (len)
        memcpy(v, value, len);
    v[len] = '\0';
    rf->f[rf->n++] = (struct atc_field){.name = n, .value = v, .len = len};
    return 0;
}

int report_add_str(struct report_fields *rf, const char *name, const char *value)
{
    return report_add(rf, name, value, strlen(value));
}

int report_add_int(struct report_fields *rf, const char *name, long long value)
{
    /* Written backwards by hand: snprintf's machinery cost ~800 instructions
     * a number, a dozen numbers a job. */
    char buf[24];
    char *p = buf + sizeof(buf);
    unsigned long long u = value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (value < 0)
        *--p = '-';
    return report_add(rf, name, p, (size_t)(buf + sizeof(buf) - p));
}

int report_pack_labels(const struct atc_kv *labels, size_t n, char **buf, size_t *len)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, n);
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(labels[i].key), vl = strlen(labels[i].value);
        msgpack_pack_str(&pk, kl);
        msgpack_pack_str_body(&pk, labels[i].key, kl);
        msgpack_pack_str(&pk, vl);
        msgpack_pack_str_body(&pk, labels[i].value, vl);
    }
    if (!sb.data) {
        msgpack_sbuffer_destroy(&sb);
        return ATC_ENOMEM;
    }
    *buf = sb.data;
    *len = sb.size;
    return 0;
}

/* The value job's env gives name, else dflt. */
static const char *job_env(const struct atc_job *job, const char *name, const char *dflt)
{
    for (size_t i = 0; i < job->nenv; i++)
        if (strcmp(job->env[i].key, name) == 0)
            return job->env[i].value;
    return dflt;
}

static void pack_names(msgpack_packer *pk, const char *key, char *const *v, size_t n)
{
    size_t kl = strlen(key);
    msgpack_pack_str(pk, kl);
    msgpack_pack_str_body(pk, key, kl);
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(v[i]);
        msgpack_pack_str(pk, l);
        msgpack_pack_str_body(pk, v[i], l);
    }
}

int report_pack_lint(const struct side_report *side, char **buf, size_t *len)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pack_names(&pk, "tests_without_assert", side->no_assert, side->nno_assert);
    pack_names(&pk, "tests_not_importing_tool", side->no_import, side->nno_import);
    if (!sb.data) {
        msgpack_sbuffer_destroy(&sb);
        return ATC_ENOMEM;
    }
    *buf = sb.data;
    *len = sb.size;
    return 0;
}

int report_build_final(struct report_fields *rf, const struct report_meta *m,
                       const struct attempt_outcome *o)
{
    const struct atc_job *job = m->job;
    char *blob = NULL;
    size_t blen = 0;
    int rc = 0;

#define TRY(x)                  \
    do {                        \
        if ((rc = (x)) != 0)    \
            goto out;           \
    } while (0)

    TRY(report_add_str(rf, "reason", o->reason ? o->reason : ""));
    if (o->has_exit_code)
        TRY(report_add_int(rf, "exit_code", o->exit_code));
    if (o->has_report) {
        TRY(report_add_int(rf, "tests_total", o->report.total));
        TRY(report_add_int(rf, "tests_passed", o->report.passed));
        TRY(report_add_int(rf, "tests_failed", o->report.failed));
        TRY(report_add_int(rf, "tests_errors", o->report.errors));
        TRY(report_add_int(rf, "tests_skipped", o->report.skipped));
        if (o->has_side) {
            TRY(report_add_int(rf, "tests_flaky", o->tests_flaky));
            TRY(report_add_int(rf, "tests_timeout", o->tests_timeout));
        }
        TRY(atc_junit_tests_pack(&o->report, &blob, &blen));
        TRY(report_add(rf, "tests", blob, blen));
        free(blob);
        blob = NULL;
    }
    if (o->output) {
        TRY(report_add(rf, "output", o->output, o->output_len));
        TRY(report_add_int(rf, "output_truncated", o->output_truncated));
    }
    if (o->install_output)
        TRY(report_add(rf, "install_output", o->install_output, o->install_output_len));
    if (o->error[0])
        TRY(report_add_str(rf, "error", o->error));
    if (o->digest)
        TRY(report_add(rf, "digest", o->digest, o->digest_len));
    if (o->plugin) {
        TRY(report_add_int(rf, "test_timeout_s", o->test_timeout_s));
        TRY(report_add_int(rf, "reruns", o->reruns));
    }
    if (o->has_side && o->side.rerun_ms >= 0)
        TRY(report_add_int(rf, "rerun_ms", o->side.rerun_ms));
    if (o->has_side && o->side.has_coverage) {
        char pct[16];
        snprintf(pct, sizeof(pct), "%.1f", o->side.coverage_pct);
        TRY(report_add_str(rf, "coverage_pct", pct));
    }
    if (o->has_side) {
        TRY(report_pack_lint(&o->side, &blob, &blen));
        TRY(report_add(rf, "lint", blob, blen));
        free(blob);
        blob = NULL;
    }
    if (o->has_exit_code) {
        /* What the tests ran with: the fleet's fixed values unless the job's env set its own. */
        TRY(report_add_str(rf, "python_hash_seed", job_env(job, "PYTHONHASHSEED", ENVFILE_HASH_SEED)));
        TRY(report_add_str(rf, "tz", job_env(job, "TZ", ENVFILE_TZ)));
    }
    if (job->group)
        TRY(report_add_str(rf, "group", job->group));
    TRY(report_add_int(rf, "attempt", m->attempt));
    TRY(report_add_str(rf, "worker", m->worker_id));
    if (o->sandbox_id[0])
        TRY(report_add_str(rf, "sandbox", o->sandbox_id));
    if (o->network)
        TRY(report_add_str(rf, "network", o->network));
    if (o->peak_rss >= 0)
        TRY(report_add_int(rf, "peak_memory_bytes", o->peak_rss));
    if (o->cpu_ms >= 0)
        TRY(report_add_int(rf, "cpu_ms", o->cpu_ms));
    if (o->sandbox_ms > 0)
        TRY(report_add_int(rf, "sandbox_ms", o->sandbox_ms));
    if (o->env_name)
        TRY(report_add_str(rf, "env", o->env_name));
    if (o->env_status)
        TRY(report_add_str(rf, "env_status", o->env_status));
    if (o->env_status && o->env_build_ms >= 0)
        TRY(report_add_int(rf, "env_build_ms", o->env_build_ms));
    if (o->env_freeze)
        TRY(report_add_str(rf, "env_freeze", o->env_freeze));
    if (atc_job_has_resources(job) && o->sandbox_id[0]) {
        /* What the sandbox got: the job's resources when it came from its
         * environment's snapshot, else the default snapshot's. */
        char res[64];
        int applied = o->env_status && (strcmp(o->env_status, "hit") == 0 ||
                                        strcmp(o->env_status, "built") == 0 ||
                                        strcmp(o->env_status, "waited") == 0);
        atc_job_resources_text(job, res, sizeof(res));
        TRY(report_add_str(rf, "resources", applied ? res : "default"));
    }
    if (job->submitted_ms)
        TRY(report_add_int(rf, "submitted_ms", (long long)job->submitted_ms));
    TRY(report_add_int(rf, "started_ms", (long long)m->started_ms));
    TRY(report_add_int(rf, "finished_ms", (long long)m->finished_ms));
    TRY(report_add_int(rf, "duration_ms", (long long)(m->finished_ms - m->started_ms)));
    const struct {
        const char *name;
        long v;
    } phases[] = {{"create_ms", o->create_ms}, {"upload_ms", o->upload_ms},
                  {"install_ms", o->install_ms}, {"test_ms", o->test_ms},
                  {"delete_ms", o->delete_ms}};
    for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
        if (phases[i].v >= 0)
            TRY(report_add_int(rf, phases[i].name, phases[i].v));
    TRY(report_pack_labels(job->labels, job->nlabels, &blob, &blen));
    TRY(report_add(rf, "labels", blob, blen));
    if (m->traceparent)
        TRY(report_add_str(rf, "traceparent", m->traceparent));
out:
#undef TRY
    free(blob);
    return rc;
}

int report_build_rejected(struct report_fields *rf, const char *reason, const char *error,
                          const char *worker_id, const char *traceparent, uint64_t now_ms)
{
    int rc;
    if ((rc = report_add_str(rf, "reason", reason)) != 0 ||
        (rc = report_add_str(rf, "error", error)) != 0 ||
        (rc = report_add_str(rf, "worker", worker_id)) != 0 ||
        (rc = report_add_int(rf, "finished_ms", (long long)now_ms)) != 0)
        return rc;
    if (traceparent && (rc = report_add_str(rf, "traceparent", traceparent)) != 0)
        return rc;
    return 0;
}
