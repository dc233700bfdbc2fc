/* fake_pool.c: worker/pool.h without threads (see fakes.h): submitted tasks
 * wait until the test finishes them, in whatever order it likes. */
#include "fakes.h"

#include <stdlib.h>
#include <string.h>

#include "pool.h"

struct fake_pool fake_pool;

void fake_pool_reset(void)
{
    for (int i = 0; i < fake_pool.nout; i++)
        task_free(fake_pool.out[i]);
    while (fake_pool.done_head != NULL) {
        struct task *t = fake_pool.done_head;
        fake_pool.done_head = t->next;
        task_free(t);
    }
    memset(&fake_pool, 0, sizeof(fake_pool));
}

void pool_submit(struct pool *p, struct task *t)
{
    (void)p;
    fake_pool.submitted++;
    if (fake_pool.nout < FAKE_POOL_MAX)
        fake_pool.out[fake_pool.nout++] = t;
}

int fake_pool_finish(int32_t partition, int64_t offset, int store)
{
    for (int i = 0; i < fake_pool.nout; i++) {
        struct task *t = fake_pool.out[i];
        if (t->partition != partition || t->offset != offset)
            continue;
        memmove(fake_pool.out + i, fake_pool.out + i + 1,
                (size_t)(fake_pool.nout - i - 1) * sizeof(fake_pool.out[0]));
        fake_pool.nout--;
        t->store = store;
        t->run_ms = 1000;
        t->next = NULL;
        if (fake_pool.done_tail != NULL)
            fake_pool.done_tail->next = t;
        else
            fake_pool.done_head = t;
        fake_pool.done_tail = t;
        return 0;
    }
    return -1;
}

struct task *pool_take_done(struct pool *p, int wait_ms)
{
    (void)p;
    (void)wait_ms;
    struct task *t = fake_pool.done_head;
    fake_pool.done_head = fake_pool.done_tail = NULL;
    return t;
}

/* Every task out counts as started: a thread has it. */
size_t pool_drop_queued(struct pool *p, int (*match)(void *arg, const struct task *t), void *arg)
{
    (void)p;
    (void)match;
    (void)arg;
    return 0;
}

size_t pool_each_running(struct pool *p, void (*fn)(void *arg, const struct task *t), void *arg)
{
    (void)p;
    for (int i = 0; i < fake_pool.nout; i++)
        fn(arg, fake_pool.out[i]);
    return (size_t)fake_pool.nout;
}
