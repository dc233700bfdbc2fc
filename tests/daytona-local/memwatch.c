/* memwatch.c: the memory watcher of daytona-local (see memwatch.h). */
#include "memwatch.h"
#include "sandbox.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_WATCHED 4096
#define TICK_MS 100

static pthread_t g_thread;
static volatile int g_quit;
static int g_started;

struct usage {
    long long rss;      /* bytes, summed over the uid's processes */
    long long top_rss;  /* its largest process */
    long top_pid;
};

/* Reads uid and VmRSS of pid; 0 when both were found. */
static int read_status(long pid, long *uid, long long *rss)
{
    char path[64], line[256];
    int got = 0;
    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    *rss = 0;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "Uid:", 4) == 0 && sscanf(line + 4, "%ld", uid) == 1)
            got |= 1;
        else if (strncmp(line, "VmRSS:", 6) == 0 && sscanf(line + 6, "%lld", rss) == 1)
            got |= 2;
    }
    fclose(f);
    *rss *= 1024;
    return got == 3 ? 0 : -1;
}

static void tick(long *uids, long long *limits, struct usage *use)
{
    size_t n = dl_sandbox_mem_limits(uids, limits, MAX_WATCHED);
    if (n == 0)
        return;
    memset(use, 0, n * sizeof(*use));
    DIR *d = opendir("/proc");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end = NULL;
        long pid = strtol(e->d_name, &end, 10);
        long uid;
        long long rss;
        if (end == e->d_name || *end != '\0' || read_status(pid, &uid, &rss) != 0)
            continue;
        for (size_t i = 0; i < n; i++) {
            if (uids[i] != uid)
                continue;
            use[i].rss += rss;
            if (rss > use[i].top_rss) {
                use[i].top_rss = rss;
                use[i].top_pid = pid;
            }
            break;
        }
    }
    closedir(d);
    for (size_t i = 0; i < n; i++) {
        if (use[i].rss <= limits[i] || use[i].top_pid <= 0)
            continue;
        if (kill((pid_t)use[i].top_pid, SIGKILL) == 0) {
            fprintf(stderr, "daytona-local: sandbox uid %ld over its memory (%lld MiB > %lld "
                    "MiB): killed pid %ld (%lld MiB)\n", uids[i], use[i].rss >> 20,
                    limits[i] >> 20, use[i].top_pid, use[i].top_rss >> 20);
            dl_sandbox_count_oom(uids[i]);
        }
    }
}

static void *watch_main(void *arg)
{
    long *uids = calloc(MAX_WATCHED, sizeof(*uids));
    long long *limits = calloc(MAX_WATCHED, sizeof(*limits));
    struct usage *use = calloc(MAX_WATCHED, sizeof(*use));
    (void)arg;
    while (!g_quit && uids && limits && use) {
        tick(uids, limits, use);
        struct timespec ts = {.tv_sec = 0, .tv_nsec = TICK_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    free(use);
    free(limits);
    free(uids);
    return NULL;
}

int dl_memwatch_start(void)
{
    if (g_started)
        return 0;
    if (pthread_create(&g_thread, NULL, watch_main, NULL) != 0)
        return -1;
    g_started = 1;
    return 0;
}

void dl_memwatch_stop(void)
{
    if (!g_started)
        return;
    g_quit = 1;
    pthread_join(g_thread, NULL);
    g_started = 0;
}
