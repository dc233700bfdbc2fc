/* offsets.c: the out-of-order completion tracker behind offset storing. */
#include "offsets.h"

#include <stdlib.h>
#include <string.h>

#include "atc/error.h"

struct pending {
    int64_t offset;
    int done;
};

struct part {
    char *topic;
    int32_t partition;
    uint64_t gen;
    struct pending *q;     /* in arrival order; q[head..head+n) live */
    size_t head, n, cap;
};

struct offsets {
    struct part *parts;
    size_t nparts, cap;
};

struct offsets *offsets_new(void)
{
    return calloc(1, sizeof(struct offsets));
}

void offsets_destroy(struct offsets *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->nparts; i++) {
        free(o->parts[i].topic);
        free(o->parts[i].q);
    }
    free(o->parts);
    free(o);
}

static struct part *find(const struct offsets *o, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < o->nparts; i++)
        if (o->parts[i].partition == partition && strcmp(o->parts[i].topic, topic) == 0)
            return &o->parts[i];
    return NULL;
}

int offsets_assign(struct offsets *o, const char *topic, int32_t partition, uint64_t gen)
{
    struct part *p = find(o, topic, partition);
    if (!p) {
        if (o->nparts == o->cap) {
            size_t cap = o->cap ? o->cap * 2 : 8;
            struct part *np = realloc(o->parts, cap * sizeof(*np));
            if (!np)
                return ATC_ENOMEM;
            o->parts = np;
            o->cap = cap;
        }
        p = &o->parts[o->nparts];
        memset(p, 0, sizeof(*p));
        p->topic = strdup(topic);
        if (!p->topic)
            return ATC_ENOMEM;
        p->partition = partition;
        o->nparts++;
    }
    p->gen = gen;
    p->head = p->n = 0;
    return 0;
}

void offsets_revoke(struct offsets *o, const char *topic, int32_t partition)
{
    struct part *p = find(o, topic, partition);
    if (!p)
        return;
    free(p->topic);
    free(p->q);
    *p = o->parts[o->nparts - 1];
    o->nparts--;
}

int offsets_begin(struct offsets *o, const char *topic, int32_t partition, int64_t offset,
                  uint64_t *gen_out)
{
    struct part *p = find(o, topic, partition);
    if (!p)
        return ATC_ENOTFOUND;
    if (p->head + p->n == p->cap) {
        if (p->head > 0) {
            memmove(p->q, p->q + p->head, p->n * sizeof(*p->q));
            p->head = 0;
        }
        if (p->n == p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 16;
            struct pending *nq = realloc(p->q, cap * sizeof(*nq));
            if (!nq)
                return ATC_ENOMEM;
            p->q = nq;
            p->cap = cap;
        }
    }
    p->q[p->head + p->n] = (struct pending){.offset = offset, .done = 0};
    p->n++;
    *gen_out = p->gen;
    return 0;
}

int64_t offsets_done(struct offsets *o, const char *topic, int32_t partition, int64_t offset,
                     uint64_t gen)
{
    struct part *p = find(o, topic, partition);
    int64_t store = -1;

    if (!p || p->gen != gen)
        return -1;
    for (size_t i = 0; i < p->n; i++) {
        if (p->q[p->head + i].offset == offset) {
            p->q[p->head + i].done = 1;
            break;
        }
    }
    while (p->n > 0 && p->q[p->head].done) {
        store = p->q[p->head].offset + 1;
        p->head++;
        p->n--;
    }
    if (p->n == 0)
        p->head = 0;
    return store;
}

size_t offsets_pending(const struct offsets *o)
{
    size_t n = 0;
    for (size_t i = 0; i < o->nparts; i++)
        n += o->parts[i].n;
    return n;
}
