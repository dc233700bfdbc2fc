/* task.h: one consumed Kafka message as the worker carries it from the
 * consumer to a job thread and back: copied out of librdkafka so that it
 * outlives the consumer, with what the job thread decided about its offset. */
#ifndef ATC_WORKER_TASK_H
#define ATC_WORKER_TASK_H

#include <stddef.h>
#include <stdint.h>

struct task {
    char *topic;
    int32_t partition;
    int64_t offset;
    uint64_t gen;           /* the assignment generation it was consumed under */
    char *key;              /* NUL-terminated copy of the key, or NULL */
    void *value;
    size_t len;
    char *traceparent;      /* header, or NULL */
    int store;              /* set by the job thread: 1 when the offset may be stored */
    long run_ms;            /* set by the pool: how long the job thread ran it; -1 if it
                             * did not (dropped from the queue) */
    struct task *next;
};

void task_free(struct task *t); /* accepts NULL */

#endif
