/* pool.h: a fixed set of job threads fed from a queue, handing finished tasks
 * back to the main thread, which alone talks to the Kafka consumer. */
#ifndef ATC_WORKER_POOL_H
#define ATC_WORKER_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "task.h"

/* Runs a task on a job thread; thread_state is what init returned for it. */
typedef void (*pool_run_fn)(void *ctx, void *thread_state, struct task *t);
/* Creates a thread's own state (its connections); NULL fails the start. */
typedef void *(*pool_init_fn)(void *ctx, size_t index);
typedef void (*pool_fini_fn)(void *ctx, void *thread_state);

struct pool;

/* Starts n threads. Returns NULL when a thread or its state cannot be made. */
struct pool *pool_new(size_t n, pool_init_fn init, pool_run_fn run, pool_fini_fn fini, void *ctx);

/* Queues t (the pool owns it until it comes back from pool_take_done). */
void pool_submit(struct pool *p, struct task *t);

/* Takes every finished task, oldest first, as a list linked by next; NULL when
 * none. Waits up to wait_ms for one when none is ready. */
struct task *pool_take_done(struct pool *p, int wait_ms);

/* Takes the queued tasks that no thread has started and for which match says 1
 * out of the queue, and hands them back through pool_take_done with store 0
 * (a revoked partition's backlog, or everything at shutdown). Returns how many. */
size_t pool_drop_queued(struct pool *p, int (*match)(void *arg, const struct task *t), void *arg);

/* Calls fn(arg, state) on each thread's state (e.g. to abandon its sandbox). */
void pool_each_state(struct pool *p, void (*fn)(void *arg, void *thread_state), void *arg);

/* Calls fn(arg, t) on each task a thread is running now, under the pool's
 * lock (fn must not call the pool; t stays the pool's). Returns how many. */
size_t pool_each_running(struct pool *p, void (*fn)(void *arg, const struct task *t), void *arg);

/* Tells the threads to exit once the queue is empty, joins them, frees the
 * queued and finished tasks that remain. Accepts NULL. Waits as long as a
 * thread is running a task: with a thread that may never return, do not call
 * it (its state would be freed under it). */
void pool_destroy(struct pool *p);

#endif
