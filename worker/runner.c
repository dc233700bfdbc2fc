/* runner.c: the in-sandbox runner (see runner.h): its scripts, the files of
 * an upload, the command line that runs a command, and its reply. */
#include "runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"
#include "atc/output.h"
#include "envfile.h"
#include "fleet_plugin_py.h"

/* Runs $ATC_CMD under a time limit with its output capped to a head and a tail
 * (so a job printing gigabytes costs neither the sandbox's disk nor our memory),
 * then exits with the command's status: 124 when the limit fired. The job's
 * env (.atc/env) is sourced by the shell that then becomes the command's, so it
 * reaches the command only: timeout, cat and the capper run in the service's
 * environment whatever the job sets (PATH, LD_PRELOAD, PYTHONHOME...). That
 * shell gets the path of sh and the command as arguments, taken before the
 * job's PATH or ATC_CMD could change them. */
static const char RUN_SH[] =
    "# atc-worker: run $ATC_CMD for at most $1 seconds with the job's environment\n"
    "# (" ENVFILE_PATH "); print its output capped. $4: the fleet's report, whose\n"
    "# directory must not exist yet (- for none); $6: the plugin's side report (-).\n"
    "mkdir -p .atc || exit 125\n"
    "if [ \"$4\" != - ]; then mkdir -m 700 \"${4%/*}\" || exit 125; fi\n"
    "# $5: an address the sandbox must not reach (- for none): the network block\n"
    "# is checked before the job's code runs.\n"
    "if [ \"$5\" != - ] && ! python3 -I -S .atc/probe.py \"$5\"; then\n"
    "    echo " VERDICT_NETWORK_OPEN_MARK "; exit 125\n"
    "fi\n"
    "{ python3 -I -S .atc/meter.py .atc/usage timeout -k 5 \"$1\""
    " sh -c '. ./" ENVFILE_PATH " && exec \"$0\" -c \"$1\" sh'"
    " \"$(command -v sh)\" \"$ATC_CMD\" </dev/null 2>&1; echo $? >.atc/rc; }"
    " | python3 -I -S .atc/cap.py \"$2\" \"$3\" \"$4\" \"${6:--}\"\n"
    "exit \"$(cat .atc/rc 2>/dev/null || echo 125)\"\n";

/* Exits 0 once a TCP connection to argv[1] ("host:port") fails (the network
 * is blocked), 1 when it still succeeds after 10 s (Daytona applies a block
 * asynchronously: it is given that long). */
static const char PROBE_PY[] =
    "import socket, sys, time\n"
    "host, port = sys.argv[1].rsplit(':', 1)\n"
    "host = host.strip('[]')\n"
    "end = time.time() + 10\n"
    "while True:\n"
    "    try:\n"
    "        socket.create_connection((host, int(port)), timeout=1).close()\n"
    "    except OSError:\n"
    "        sys.exit(0)\n"
    "    if time.time() > end:\n"
    "        sys.exit(1)\n"
    "    time.sleep(0.5)\n";

/* Runs argv[2:] and writes what it and its waited-for descendants used to
 * argv[1]: "<largest resident set, bytes> <CPU ms, user + system>". Exits with
 * its status (128 + N for a signal N). */
static const char METER_PY[] =
    "import resource, subprocess, sys\n"
    "try:\n"
    "    rc = subprocess.call(sys.argv[2:])\n"
    "except OSError as e:\n"
    "    print('atc-worker: cannot run the command: %s' % e, flush=True)\n"
    "    rc = 127\n"
    "rc = 128 - rc if rc < 0 else rc\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "with open(sys.argv[1], 'w') as f:\n"
    "    f.write('%d %d\\n' % (u.ru_maxrss * 1024, int((u.ru_utime + u.ru_stime) * 1000)))\n"
    "sys.exit(rc)\n";

/* Reads everything on stdin; prints the byte count, whether a JUnit report
 * was written, the meter's usage (or "- -") and the length of the side
 * report on a line, then the side report (at most RUNNER_SIDE_MAX bytes, else
 * none: it rides in the exec's reply, saving a download), then the first HEAD
 * bytes and the last TAIL bytes of the output, with a mark where the middle
 * was cut. */
static const char CAP_PY[] =
    "import os, sys\n"
    "H, T = int(sys.argv[1]), int(sys.argv[2])\n"
    "src, dst = sys.stdin.buffer, sys.stdout.buffer\n"
    "head, tail, total = bytearray(), bytearray(), 0\n"
    "while True:\n"
    "    b = src.read(65536)\n"
    "    if not b:\n"
    "        break\n"
    "    total += len(b)\n"
    "    if len(head) < H:\n"
    "        k = H - len(head)\n"
    "        head += b[:k]\n"
    "        b = b[k:]\n"
    "    tail += b\n"
    "    if len(tail) > 2 * T + 65536:\n"
    "        del tail[:len(tail) - T]\n"
    "cut = len(tail) > T\n"
    "tail = tail[len(tail) - T:] if cut else tail\n"
    "try:\n"
    "    use = open('.atc/usage', 'rb').read().split()[:2]\n"
    "    use = [b'%d' % int(x) for x in use] if len(use) == 2 else [b'-', b'-']\n"
    "except (OSError, ValueError):\n"
    "    use = [b'-', b'-']\n"
    "side = b''\n"
    "if len(sys.argv) > 4 and sys.argv[4] != '-':\n"
    "    try:\n"
    "        with open(sys.argv[4], 'rb') as f:\n"
    "            side = f.read(262145)\n"
    "    except OSError:\n"
    "        pass\n"
    "    if len(side) > 262144:\n"
    "        side = b''\n"
    "dst.write(b'%d %d %s %s %d\\n' % (total, os.path.exists(sys.argv[3]), use[0], use[1],"
    " len(side)))\n"
    "dst.write(side)\n"
    "dst.write(head)\n"
    "if cut:\n"
    "    dst.write(b'\\n[... output truncated ...]\\n')\n"
    "dst.write(tail)\n";

/* The runner's files beside the job's: the runner, the capper, the job's
 * environment for its command, the meter, the network probe and (for the
 * default command only, so last) the fleet's pytest plugin. */
#define RUNNER_FILES 6

int runner_upload_init(struct runner_upload *u, const struct atc_job *job, const char *report,
                       char *err, size_t errlen)
{
    memset(u, 0, sizeof(*u));
    int rc = envfile_for_job(job, report, &u->envfile, &u->envfile_len, err, errlen);
    if (rc == 0) {
        u->files = calloc(job->nfiles + RUNNER_FILES, sizeof(*u->files));
        if (!u->files) {
            snprintf(err, errlen, "out of memory");
            rc = ATC_ENOMEM;
        }
    }
    if (rc != 0) {
        runner_upload_cleanup(u);
        return rc;
    }
    struct atc_job_file *f = u->files;
    memcpy(f, job->files, job->nfiles * sizeof(*f));
    f += job->nfiles;
    f[0] = (struct atc_job_file){".atc/run.sh", (unsigned char *)RUN_SH, sizeof(RUN_SH) - 1};
    f[1] = (struct atc_job_file){".atc/cap.py", (unsigned char *)CAP_PY, sizeof(CAP_PY) - 1};
    f[2] = (struct atc_job_file){ENVFILE_PATH, (unsigned char *)u->envfile, u->envfile_len};
    f[3] = (struct atc_job_file){".atc/meter.py", (unsigned char *)METER_PY, sizeof(METER_PY) - 1};
    f[4] = (struct atc_job_file){".atc/probe.py", (unsigned char *)PROBE_PY, sizeof(PROBE_PY) - 1};
    f[5] = (struct atc_job_file){VERDICT_PLUGIN_PATH, (unsigned char *)FLEET_PLUGIN_PY,
                                 sizeof(FLEET_PLUGIN_PY)};
    u->nfiles = job->nfiles + RUNNER_FILES - (job->cmd != NULL);
    return 0;
}

void runner_upload_cleanup(struct runner_upload *u)
{
    if (!u)
        return;
    free(u->files);
    free(u->envfile);
    memset(u, 0, sizeof(*u));
}

/* Splits the runner's "<total bytes> <report written> <side bytes>\n<side
 * report><capped output>" into a reply. *has_report is 1 unless the
 * runner said there is no report; *side (malloc'd, or NULL) the side report. */
static void take_output(char *raw, size_t len, size_t max, char **out, size_t *out_len,
                        int *truncated, struct verdict_header *h, char **side, size_t *side_len)
{
    char *nl = memchr(raw, '\n', len);
    size_t skip = 0;

    *side = NULL;
    *side_len = 0;
    if (verdict_parse_header(raw, nl ? (size_t)(nl - raw) : 0, h) == 0)
        skip = (size_t)(nl - raw) + 1;
    unsigned long long total = h->total;
    size_t nside = (size_t)h->side_len;
    if (skip && nside > 0 && nside <= RUNNER_SIDE_MAX && nside <= len - skip) {
        *side = malloc(nside + 1);
        if (*side) {
            memcpy(*side, raw + skip, nside);
            (*side)[nside] = '\0';
            *side_len = nside;
        }
        skip += nside;
    }
    memmove(raw, raw + skip, len - skip);
    len -= skip;
    raw[len] = '\0';
    int cut = 0;
    len = atc_output_cap(raw, len, max, &cut);
    raw[len] = '\0';
    *truncated = cut || total > len;
    *out = raw;
    *out_len = len;
}

int runner_exec(struct atc_daytona *d, const struct atc_sandbox *sb, const struct runner_run *run,
                struct runner_reply *reply, char *err, size_t errlen)
{
    const struct atc_kv env[] = {{.key = "ATC_CMD", .value = (char *)run->cmd}};
    char line[96 + 2 * VERDICT_REPORT_PATH_MAX + 300];
    char *raw = NULL;
    size_t raw_len = 0;
    int raw_cut = 0;

    memset(reply, 0, sizeof(*reply));
    reply->exit_code = -1;
    size_t max = run->max_output;
    size_t mark = sizeof(ATC_OUTPUT_CUT_MARK) - 1;
    size_t head = max > mark ? (max - mark) / 2 : max;
    size_t tail = max > mark ? max - mark - head : 0;
    snprintf(line, sizeof(line), "sh .atc/run.sh %u %zu %zu %s %s %s", run->limit_s, head, tail,
             run->report ? run->report : "-", run->probe && *run->probe ? run->probe : "-",
             run->side ? run->side : "-");
    /* The runner enforces the limit itself; the service's timeout is a backstop.
     * The command reaches run.sh in ATC_CMD only: .atc/env has the job's. */
    int rc = atc_daytona_exec(d, sb, line, NULL, env, sizeof(env) / sizeof(env[0]),
                              run->limit_s + 20, max + 128 + (run->side ? RUNNER_SIDE_MAX : 0),
                              &reply->exit_code, &raw, &raw_len, &raw_cut, err, errlen);
    if (rc != 0)
        return rc;
    take_output(raw, raw_len, max, &reply->output, &reply->output_len, &reply->truncated,
                &reply->h, &reply->side, &reply->side_len);
    return 0;
}

void runner_reply_cleanup(struct runner_reply *reply)
{
    if (!reply)
        return;
    free(reply->output);
    free(reply->side);
    reply->output = reply->side = NULL;
}
