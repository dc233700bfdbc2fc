/* support.h: what unit tests need to run real servers: free ports, child
 * processes started and stopped, and the first line a server prints. */
#ifndef ATC_TEST_SUPPORT_H
#define ATC_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <sys/types.h>
#include <cmocka.h>

struct test_proc {
    pid_t pid;
    char first_line[512];   /* the first line the child printed on stdout */
};

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int test_free_port(void);

/* Starts argv[0] (a path) with argv, stdout piped; when wait_line is set, reads
 * the child's first stdout line (within 10 s) into p->first_line. The rest of
 * stdout goes to /dev/null. Returns 0 or -1. */
int test_proc_start(struct test_proc *p, char *const argv[], int wait_line);

/* SIGTERM, then SIGKILL after 5 s; reaps the child. Returns its exit status
 * as waitpid reports it, or -1. */
int test_proc_stop(struct test_proc *p);

/* Starts redis-server on a free port with no persistence; *port receives it. */
int test_redis_start(struct test_proc *p, int *port);

/* Starts build/bin/daytona-local on a free port with api key "test-key" and
 * any extra args (NULL-terminated); url receives its DAYTONA_API_URL value. */
int test_daytona_local_start(struct test_proc *p, char *url, size_t urllen,
                             const char *const extra_args[]);

struct atc_daytona;

/* daytona-local and a client of it, for the tests of what talks to it. */
struct test_daytona {
    struct test_proc proc;
    char url[256];             /* its DAYTONA_API_URL */
    struct atc_daytona *d;     /* a client with api key "test-key" */
    int started;
};

/* test_daytona_local_start with extra_args, then t->d. Returns 0, or -1 with
 * the reason printed (call test_daytona_down all the same). */
int test_daytona_up(struct test_daytona *t, const char *const extra_args[]);

/* Destroys t->d and stops daytona-local, whatever was started. */
void test_daytona_down(struct test_daytona *t);

/* assert_int_equal that prints msg (an err buffer, say) when it fails. */
#define assert_int_equal_msg(a, b, msg)                                   \
    do {                                                                  \
        long long a_ = (a), b_ = (b);                                     \
        if (a_ != b_)                                                     \
            print_error("%lld != %lld: %s\n", a_, b_, (msg));             \
        assert_int_equal(a_, b_);                                         \
    } while (0)

/* Path of a program in the build's bin directory. */
const char *test_bin(const char *name, char *buf, size_t buflen);

#endif
