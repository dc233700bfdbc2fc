/* pool.c: job threads, a work queue and a queue of finished tasks. */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "atc/clock.h"

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t work_cond;
    pthread_cond_t done_cond;
    struct task *work_head, *work_tail;
    struct task *done_head, *done_tail;
    int quit;
    size_t n;               /* threads running */
    pthread_t *threads;
    void **states;
    struct task **running;  /* running[i]: the task thread i runs, or NULL */
    pool_run_fn run;
    pool_fini_fn fini;
    void *ctx;
};

struct thread_arg {
    struct pool *p;
    void *state;
    size_t index;
};

static void *thread_main(void *arg)
{
    struct pool *p = ((struct thread_arg *)arg)->p;
    void *state = ((struct thread_arg *)arg)->state;
    size_t index = ((struct thread_arg *)arg)->index;

    free(arg);
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (!p->work_head && !p->quit)
            pthread_cond_wait(&p->work_cond, &p->lock);
        struct task *t = p->work_head;
        if (!t) {
            pthread_mutex_unlock(&p->lock);
            break;
        }
        p->work_head = t->next;
        if (!p->work_head)
            p->work_tail = NULL;
        p->running[index] = t;
        pthread_mutex_unlock(&p->lock);

        t->next = NULL;
        int64_t t0 = atc_clock_mono_ms();
        p->run(p->ctx, state, t);
        t->run_ms = (long)(atc_clock_mono_ms() - t0);

        pthread_mutex_lock(&p->lock);
        p->running[index] = NULL;
        if (p->done_tail)
            p->done_tail->next = t;
        else
            p->done_head = t;
        p->done_tail = t;
        pthread_cond_signal(&p->done_cond);
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

struct pool *pool_new(size_t n, pool_init_fn init, pool_run_fn run, pool_fini_fn fini, void *ctx)
{
    pthread_attr_t attr;
    struct pool *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    pthread_condattr_t cattr;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work_cond, NULL);
    /* pool_take_done's deadline is on the monotonic clock: a step of the wall
     * clock must not stretch the main loop's wait. */
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->done_cond, &cattr);
    pthread_condattr_destroy(&cattr);
    p->run = run;
    p->fini = fini;
    p->ctx = ctx;
    p->threads = calloc(n, sizeof(*p->threads));
    p->states = calloc(n, sizeof(*p->states));
    p->running = calloc(n, sizeof(*p->running));
    if (!p->threads || !p->states || !p->running) {
        pool_destroy(p);
        return NULL;
    }
    pthread_attr_init(&attr);
    /* Job threads mostly wait on HTTP; a modest stack keeps hundreds cheap. */
    pthread_attr_setstacksize(&attr, 1024 * 1024);
    for (size_t i = 0; i < n; i++) {
        struct thread_arg *a = malloc(sizeof(*a));
        void *state = init(ctx, i);
        if (!a || !state) {
            free(a);
            if (state)
                fini(ctx, state);
            break;
        }
        a->p = p;
        a->state = state;
        a->index = i;
        if (pthread_create(&p->threads[i], &attr, thread_main, a) != 0) {
            free(a);
            fini(ctx, state);
            break;
        }
        p->states[i] = state;
        p->n++;
    }
    pthread_attr_destroy(&attr);
    if (p->n < n) {
        pool_destroy(p);
        return NULL;
    }
    return p;
}

void pool_submit(struct pool *p, struct task *t)
{
    t->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->work_tail)
        p->work_tail->next = t;
    else
        p->work_head = t;
    p->work_tail = t;
    pthread_cond_signal(&p->work_cond);
    pthread_mutex_unlock(&p->lock);
}

struct task *pool_take_done(struct pool *p, int wait_ms)
{
    pthread_mutex_lock(&p->lock);
    if (!p->done_head && wait_ms > 0) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until); /* done_cond's clock */
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!p->done_head) {
            if (pthread_cond_timedwait(&p->done_cond, &p->lock, &until) == ETIMEDOUT)
                break;
        }
    }
    struct task *list = p->done_head;
    p->done_head = p->done_tail = NULL;
    pthread_mutex_unlock(&p->lock);
    return list;
}

size_t pool_drop_queued(struct pool *p, int (*match)(void *arg, const struct task *t), void *arg)
{
    size_t n = 0;

    pthread_mutex_lock(&p->lock);
    struct task **link = &p->work_head;
    p->work_tail = NULL;
    while (*link) {
        struct task *t = *link;
        if (!match(arg, t)) {
            p->work_tail = t;
            link = &t->next;
            continue;
        }
        *link = t->next;
        t->next = NULL;
        t->store = 0;
        if (p->done_tail)
            p->done_tail->next = t;
        else
            p->done_head = t;
        p->done_tail = t;
        n++;
    }
    pthread_mutex_unlock(&p->lock);
    return n;
}

void pool_each_state(struct pool *p, void (*fn)(void *arg, void *thread_state), void *arg)
{
    for (size_t i = 0; i < p->n; i++)
        fn(arg, p->states[i]);
}

size_t pool_each_running(struct pool *p, void (*fn)(void *arg, const struct task *t), void *arg)
{
    size_t n = 0;

    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n; i++) {
        if (p->running[i]) {
            fn(arg, p->running[i]);
            n++;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return n;
}

void pool_destroy(struct pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->quit = 1;
    pthread_cond_broadcast(&p->work_cond);
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    for (size_t i = 0; i < p->n; i++)
        p->fini(p->ctx, p->states[i]);
    for (struct task *t = p->work_head, *next; t; t = next) {
        next = t->next;
        task_free(t);
    }
    for (struct task *t = p->done_head, *next; t; t = next) {
        next = t->next;
        task_free(t);
    }
    free(p->threads);
    free(p->states);
    free(p->running);
    pthread_cond_destroy(&p->work_cond);
    pthread_cond_destroy(&p->done_cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
