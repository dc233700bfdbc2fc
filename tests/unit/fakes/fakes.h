/* fakes.h: link-time fakes of the worker's neighbours for unit tests, in the
 * way OpenVPN's cmocka tests replace theirs: a test program compiled with one
 * of these files gets the fake instead of the real module (the static
 * libraries then leave the real object out). Each fake records what it was
 * asked and answers as the test scripts it; reset before each test.
 *   fake_clock.c    atc/clock.h: time moves only when the code sleeps
 *   fake_daytona.c  atc/daytona.h: a sandbox service with scripted failures
 *   fake_results.c  atc/results.h: the result store, in memory
 *   fake_worker.c   the worker's dlq_send and reaper hand-overs
 *   fake_envs.c     worker/envs.h: every job with deps falls back to pip
 *   fake_kafka.c    the librdkafka calls of worker/consumer.c
 *   fake_pool.c     worker/pool.h without threads: the test finishes tasks */
#ifndef ATC_TEST_FAKES_H
#define ATC_TEST_FAKES_H

#include <stddef.h>
#include <stdint.h>

/* ---- clock ---- */
struct fake_clock {
    int64_t now_ms;             /* the monotonic time; wall = 1.7e12 + now_ms */
    long sleeps;                /* calls to atc_clock_sleep_ms */
    /* Called after every sleep (the time already moved), e.g. to set a stop
     * flag once the code waits. May be NULL. */
    void (*on_sleep)(void *arg);
    void *on_sleep_arg;
};
extern struct fake_clock fake_clock;
void fake_clock_reset(void);

/* ---- Daytona ---- */
enum fake_dt_call {
    FAKE_DT_CREATE,
    FAKE_DT_GET,
    FAKE_DT_WAIT,
    FAKE_DT_DELETE,
    FAKE_DT_UPLOAD,
    FAKE_DT_EXEC,
    FAKE_DT_DOWNLOAD,
    FAKE_DT_NETWORK,
    FAKE_DT_NCALLS
};

#define FAKE_DT_SCRIPT_MAX 16
#define FAKE_DT_LOG_MAX 64
#define FAKE_DT_FILES_MAX 16
#define FAKE_DT_EXECS_MAX 8

/* One file of an upload: its path, size and fake_fnv1a of its bytes. */
struct fake_dt_file {
    char path[160];
    size_t len;
    uint64_t fnv;
};

/* One exec: the command line, its ATC_CMD variable (the only one the runner
 * is given), the service's timeout and the reply's cap. */
struct fake_dt_exec {
    char command[640];
    char atc_cmd[2048];
    size_t nenv;
    unsigned timeout_s;
    size_t max_output;
};

struct fake_daytona {
    /* rc[call][n]: what the n-th call of that kind (from 0) returns; the last
     * scripted entry repeats (none scripted: success). */
    int rc[FAKE_DT_NCALLS][FAKE_DT_SCRIPT_MAX];
    int nrc[FAKE_DT_NCALLS];
    double retry_after_s;       /* what atc_daytona_last reports after a failure (-1: none) */
    long http_status;           /* ditto, after a failure (0: no answer) */
    int exit_code;              /* of a successful exec */
    const char *exec_output;    /* the runner's raw output ("<bytes> <report>\n...") */
    const char *report_xml;     /* what a download answers (NULL: no such file) */
    /* Called at the start of each call, before its scripted answer, e.g. to
     * cancel the job meanwhile. May be NULL. */
    void (*on_call)(void *arg, enum fake_dt_call call, int n);
    void *on_call_arg;
    /* Recorded. */
    int calls[FAKE_DT_NCALLS];
    char deleted[FAKE_DT_LOG_MAX][160]; /* ids or names asked to delete, in order */
    int ndeleted;
    char created[FAKE_DT_LOG_MAX][160]; /* names asked to create */
    int ncreated;
    struct fake_dt_file uploaded[FAKE_DT_FILES_MAX]; /* the files of the last upload */
    int nuploaded;
    struct fake_dt_exec execs[FAKE_DT_EXECS_MAX];     /* the execs, in order */
    int nexecs;
    int stop_set;               /* a stop test is installed now */
};
extern struct fake_daytona fake_dt;
void fake_daytona_reset(void);
/* Scripts the answers of one kind of call: rcs[0..n). */
void fake_daytona_script(enum fake_dt_call call, const int *rcs, int n);

/* ---- the result store ---- */
#define FAKE_RESULTS_MAX 16
struct fake_results {
    int write_rc[FAKE_DT_SCRIPT_MAX];   /* answers of write_final, as fake_dt.rc */
    int nwrite_rc;
    int running_rc[FAKE_DT_SCRIPT_MAX]; /* answers of mark_running_cancel */
    int nrunning_rc;
    int cancel_asked;           /* what mark_running_cancel reports in *cancel_out */
    int cancel_flag;            /* what cancel_check reports for every id */
    int writes, runnings;       /* calls made */
    char final_status[FAKE_RESULTS_MAX][32]; /* statuses written, in order */
    int nfinal;
    int order;                  /* a counter shared with fake_worker's dlq_send */
    int final_order;            /* the order of the last final write */
    long abandoned;             /* what job_state reports; count_abandoned adds one */
};
extern struct fake_results fake_results;
void fake_results_reset(void);

/* ---- dlq and reaper ---- */
struct fake_worker {
    int dlq_rc[FAKE_DT_SCRIPT_MAX];     /* answers of dlq_send */
    int ndlq_rc;
    int dlq_sends;
    char dlq_reason[64];        /* of the last record */
    int dlq_order;              /* the order (fake_results.order) of the last send */
    int reaper_takes;           /* what reaper_defer_delete/reaper_delete_now answer (1/0) */
    char deferred[8][160];      /* ids handed over by reaper_defer_delete */
    int ndeferred;
    char deleted_now[8][160];   /* ids handed over by reaper_delete_now */
    int ndeleted_now;
};
extern struct fake_worker fake_worker;
void fake_worker_reset(void);

/* ---- librdkafka, as worker/consumer.c uses it ---- */
#define FAKE_KAFKA_PARTS 8
#define FAKE_KAFKA_QUEUE 64
struct fake_kafka {
    int64_t stored[FAKE_KAFKA_PARTS];   /* last offset stored per partition, -1: none */
    int nstores;
    int paused;                         /* any assigned partition is paused now */
    int part_paused[FAKE_KAFKA_PARTS];  /* per partition: paused by the application */
    int pause_calls, resume_calls;      /* rd_kafka_pause/resume_partitions calls */
    int nassigned;                      /* partitions assigned now */
    int commits;
};
extern struct fake_kafka fake_kafka;
void fake_kafka_reset(void);
/* The group assigns partitions parts[0..n) of topic (the rebalance callback
 * runs as it would inside a poll), or revokes the whole assignment. */
void fake_kafka_assign(const char *topic, const int32_t *parts, int n);
void fake_kafka_revoke(void);
/* Queues a message for the consumer's next poll. */
void fake_kafka_deliver(const char *topic, int32_t partition, int64_t offset, const char *value);

/* ---- the job-thread pool, without threads ---- */
struct task;
#define FAKE_POOL_MAX 64
struct fake_pool {
    struct task *out[FAKE_POOL_MAX];    /* submitted and not finished, in order */
    int nout;
    int submitted;                      /* pool_submit calls */
    struct task *done_head, *done_tail; /* finished, for pool_take_done */
};
extern struct fake_pool fake_pool;
void fake_pool_reset(void);
/* The job thread finishes the task of (partition, offset): store says
 * whether its final result is written. 0, or -1 when no such task is out. */
int fake_pool_finish(int32_t partition, int64_t offset, int store);

/* FNV-1a, 64 bits, of p[0..n): a fingerprint of recorded bytes. */
uint64_t fake_fnv1a(const void *p, size_t n);

/* The n-th scripted answer of rcs[0..count) (the last repeats; 0 if none). */
int fake_scripted(const int *rcs, int count, int n);

#endif
