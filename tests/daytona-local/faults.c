/* faults.c: injected faults and the sandbox-create rate limit of daytona-local. */
#include "faults.h"
#include "util.h"

#include "atc/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct queued_fault {
    struct queued_fault *next;
    char *path_prefix;      /* NULL: any path */
    char *method;           /* NULL: any method */
    struct dl_fault f;
};

#define MAX_KINDS 16
#define MAX_WINDOW 100000

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct queued_fault *g_head;
static struct queued_fault *g_tail;
static double g_rate;
static struct dl_fault g_kinds[MAX_KINDS];
static int g_nkinds;
static uint64_t g_rng = 0x9e3779b97f4a7c15ULL;
static long g_injected;
static long g_create_refused;
/* Ring of the monotonic times (ms) of the creates in the last minute. */
static int64_t *g_window;
static size_t g_window_cap, g_window_start, g_window_len;

static uint64_t rng_next(void)
{
    /* xorshift64*: plenty for choosing faults. */
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 2685821657736338717ULL;
}

static int parse_kind(const char *s, size_t n, struct dl_fault *f)
{
    char word[16];
    if (n == 0 || n >= sizeof(word))
        return -1;
    memcpy(word, s, n);
    word[n] = '\0';
    memset(f, 0, sizeof(*f));
    if (strcmp(word, "drop") == 0) {
        f->kind = DL_FAULT_DROP;
        return 0;
    }
    if (strcmp(word, "hang") == 0) {
        f->kind = DL_FAULT_HANG;
        return 0;
    }
    if (strcmp(word, "drop_after") == 0) {
        f->kind = DL_FAULT_DROP_AFTER;
        return 0;
    }
    long status;
    if (dl_parse_long(word, 400, 599, &status) != 0)
        return -1;
    f->kind = DL_FAULT_STATUS;
    f->status = (int)status;
    f->retry_after = 1;
    return 0;
}

int dl_faults_configure(double rate, const char *kinds, unsigned seed, char *err, size_t errlen)
{
    struct dl_fault parsed[MAX_KINDS];
    int n = 0;
    if (rate < 0.0 || rate > 1.0) {
        snprintf(err, errlen, "--fault-rate must be between 0 and 1");
        return -1;
    }
    const char *p = kinds ? kinds : "429,500,drop";
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (n == MAX_KINDS || parse_kind(p, len, &parsed[n]) != 0) {
            snprintf(err, errlen, "--fault-kinds: '%.*s' is not one of 429, 500, 503, drop, drop_after, hang "
                     "(or any status 400..599)", (int)len, p);
            return -1;
        }
        n++;
        p += len;
        if (*p == ',')
            p++;
    }
    if (n == 0 && rate > 0.0) {
        snprintf(err, errlen, "--fault-kinds is empty");
        return -1;
    }
    pthread_mutex_lock(&g_lock);
    g_rate = rate;
    memcpy(g_kinds, parsed, sizeof(parsed[0]) * (size_t)n);
    g_nkinds = n;
    if (seed)
        g_rng = 0x9e3779b97f4a7c15ULL ^ seed;
    pthread_mutex_unlock(&g_lock);
    return 0;
}

static void free_queued(struct queued_fault *q)
{
    if (!q)
        return;
    free(q->path_prefix);
    free(q->method);
    free(q);
}

/* Builds one queued fault from its JSON object; NULL with err when invalid. */
static struct queued_fault *queued_from_json(const json_t *o, size_t idx, char *err, size_t errlen)
{
    struct queued_fault *q = NULL;
    if (!json_is_object(o)) {
        snprintf(err, errlen, "next[%zu] is not an object", idx);
        return NULL;
    }
    q = calloc(1, sizeof(*q));
    if (!q) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const json_t *v;
    if ((v = json_object_get(o, "path_prefix")) && !json_is_null(v)) {
        if (!json_is_string(v) || !(q->path_prefix = strdup(json_string_value(v))))
            goto bad;
    }
    if ((v = json_object_get(o, "method")) && !json_is_null(v)) {
        if (!json_is_string(v) || !(q->method = strdup(json_string_value(v))))
            goto bad;
    }
    const json_t *kind = json_object_get(o, "kind");
    const json_t *status = json_object_get(o, "status");
    if (kind) {
        const char *k = json_string_value(kind);
        if (!k || parse_kind(k, strlen(k), &q->f) != 0)
            goto bad;
    } else if (status) {
        if (!json_is_integer(status) || json_integer_value(status) < 400 ||
            json_integer_value(status) > 599)
            goto bad;
        q->f.kind = DL_FAULT_STATUS;
        q->f.status = (int)json_integer_value(status);
        q->f.retry_after = 1;
    } else {
        goto bad;
    }
    if (status && q->f.kind == DL_FAULT_STATUS && json_is_integer(status))
        q->f.status = (int)json_integer_value(status);
    if ((v = json_object_get(o, "retry_after"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 86400)
            goto bad;
        q->f.retry_after = (long)json_integer_value(v);
    }
    if ((v = json_object_get(o, "hang_ms"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 3600000)
            goto bad;
        q->f.hang_ms = (long)json_integer_value(v);
    }
    return q;
bad:
    snprintf(err, errlen, "next[%zu]: expected {path_prefix?: str, method?: str, status: 400..599 "
             "| kind: \"drop\"|\"drop_after\"|\"hang\"|\"<status>\", retry_after?: s, hang_ms?: ms}", idx);
    free_queued(q);
    return NULL;
}

int dl_faults_enqueue(const json_t *root, char *err, size_t errlen)
{
    const json_t *next = json_object_get(root, "next");
    struct queued_fault *head = NULL, *tail = NULL;
    size_t i;
    const json_t *o;
    if (!json_is_array(next)) {
        snprintf(err, errlen, "body must be {\"next\": [ ... ]}");
        return -1;
    }
    json_array_foreach(next, i, o) {
        struct queued_fault *q = queued_from_json(o, i, err, errlen);
        if (!q) {
            while (head) {
                struct queued_fault *n = head->next;
                free_queued(head);
                head = n;
            }
            return -1;
        }
        if (tail)
            tail->next = q;
        else
            head = q;
        tail = q;
    }
    pthread_mutex_lock(&g_lock);
    if (head) {
        if (g_tail)
            g_tail->next = head;
        else
            g_head = head;
        g_tail = tail;
    }
    pthread_mutex_unlock(&g_lock);
    return (int)json_array_size(next);
}

void dl_faults_clear(void)
{
    pthread_mutex_lock(&g_lock);
    struct queued_fault *q = g_head;
    g_head = g_tail = NULL;
    pthread_mutex_unlock(&g_lock);
    while (q) {
        struct queued_fault *n = q->next;
        free_queued(q);
        q = n;
    }
}

static const char *kind_name(enum dl_fault_kind k)
{
    switch (k) {
    case DL_FAULT_STATUS: return "status";
    case DL_FAULT_DROP: return "drop";
    case DL_FAULT_HANG: return "hang";
    case DL_FAULT_DROP_AFTER: return "drop_after";
    default: return "none";
    }
}

json_t *dl_faults_pending(void)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    pthread_mutex_lock(&g_lock);
    for (struct queued_fault *q = g_head; q; q = q->next) {
        json_t *o = json_pack("{s:s, s:s?, s:s?, s:i, s:I, s:I}", "kind", kind_name(q->f.kind),
                              "path_prefix", q->path_prefix, "method", q->method,
                              "status", q->f.status, "retry_after", (json_int_t)q->f.retry_after,
                              "hang_ms", (json_int_t)q->f.hang_ms);
        if (o)
            json_array_append_new(arr, o);
    }
    pthread_mutex_unlock(&g_lock);
    return arr;
}

int dl_faults_pick(const char *method, const char *url, struct dl_fault *out)
{
    int found = 0;
    pthread_mutex_lock(&g_lock);
    struct queued_fault *prev = NULL;
    for (struct queued_fault *q = g_head; q; prev = q, q = q->next) {
        if (q->path_prefix && strncmp(url, q->path_prefix, strlen(q->path_prefix)) != 0)
            continue;
        if (q->method && strcasecmp(method, q->method) != 0)
            continue;
        *out = q->f;
        if (prev)
            prev->next = q->next;
        else
            g_head = q->next;
        if (g_tail == q)
            g_tail = prev;
        free_queued(q);
        found = 1;
        break;
    }
    if (!found && g_rate > 0.0 && g_nkinds > 0) {
        double x = (double)(rng_next() >> 11) / (double)(1ULL << 53);
        if (x < g_rate) {
            *out = g_kinds[rng_next() % (uint64_t)g_nkinds];
            found = 1;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return found;
}

int dl_faults_create_allowed(long per_min, long *retry_after)
{
    int ok = 0;
    int64_t now = atc_clock_mono_ms();
    if (per_min <= 0)
        return 1;
    if (per_min > MAX_WINDOW)
        per_min = MAX_WINDOW;
    pthread_mutex_lock(&g_lock);
    if (!g_window) {
        g_window = calloc((size_t)per_min, sizeof(*g_window));
        g_window_cap = g_window ? (size_t)per_min : 0;
    }
    while (g_window_len > 0 && now - g_window[g_window_start] >= 60000) {
        g_window_start = (g_window_start + 1) % g_window_cap;
        g_window_len--;
    }
    if (g_window_cap == 0) {
        ok = 1;             /* no memory for the window: do not limit */
    } else if (g_window_len < g_window_cap) {
        g_window[(g_window_start + g_window_len) % g_window_cap] = now;
        g_window_len++;
        ok = 1;
    } else {
        int64_t wait = 60000 - (now - g_window[g_window_start]);
        *retry_after = (long)((wait + 999) / 1000);
        if (*retry_after < 1)
            *retry_after = 1;
        g_create_refused++;
    }
    pthread_mutex_unlock(&g_lock);
    return ok;
}

void dl_faults_count_injected(void)
{
    pthread_mutex_lock(&g_lock);
    g_injected++;
    pthread_mutex_unlock(&g_lock);
}

void dl_faults_stats(json_t *obj)
{
    pthread_mutex_lock(&g_lock);
    long injected = g_injected, refused = g_create_refused;
    size_t pending = 0;
    for (struct queued_fault *q = g_head; q; q = q->next)
        pending++;
    pthread_mutex_unlock(&g_lock);
    json_object_set_new(obj, "faults_injected", json_integer(injected));
    json_object_set_new(obj, "faults_pending", json_integer((json_int_t)pending));
    json_object_set_new(obj, "creates_rate_limited", json_integer(refused));
}

void dl_faults_cleanup(void)
{
    dl_faults_clear();
    pthread_mutex_lock(&g_lock);
    free(g_window);
    g_window = NULL;
    g_window_cap = g_window_len = g_window_start = 0;
    pthread_mutex_unlock(&g_lock);
}
