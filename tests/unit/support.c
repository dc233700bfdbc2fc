/* support.c: child processes and ports for unit tests that use real servers. */
#include "support.h"

#include "atc/clock.h"
#include "atc/daytona.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t sl = sizeof(sa);
    int port = -1;

    if (fd < 0)
        return -1;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

const char *test_bin(const char *name, char *buf, size_t buflen)
{
    const char *dir = getenv("ATC_BIN_DIR");
    snprintf(buf, buflen, "%s/%s", dir && *dir ? dir : ATC_BIN_DIR, name);
    return buf;
}

static int read_line(int fd, char *buf, size_t buflen, int timeout_ms)
{
    size_t n = 0;
    while (n + 1 < buflen) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, timeout_ms);
        if (r <= 0)
            return -1;
        char c;
        ssize_t got = read(fd, &c, 1);
        if (got <= 0)
            return -1;
        if (c == '\n')
            break;
        buf[n++] = c;
    }
    buf[n] = '\0';
    return 0;
}

int test_proc_start(struct test_proc *p, char *const argv[], int wait_line)
{
    int pipefd[2];

    memset(p, 0, sizeof(*p));
    if (pipe(pipefd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(pipefd[1], STDOUT_FILENO);
        close(pipefd[0]);
        close(pipefd[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(pipefd[1]);
    p->pid = pid;
    if (wait_line && read_line(pipefd[0], p->first_line, sizeof(p->first_line), 10000) != 0) {
        close(pipefd[0]);
        test_proc_stop(p);
        return -1;
    }
    /* Keep draining the child's stdout so it never blocks on a full pipe. */
    pid_t drain = fork();
    if (drain == 0) {
        char buf[4096];
        while (read(pipefd[0], buf, sizeof(buf)) > 0)
            ;
        _exit(0);
    }
    close(pipefd[0]);
    return 0;
}

int test_proc_stop(struct test_proc *p)
{
    int status = -1;

    if (p->pid <= 0)
        return -1;
    kill(p->pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid) {
            p->pid = 0;
            return status;
        }
        atc_clock_sleep_ms(10);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &status, 0);
    p->pid = 0;
    return status;
}

static int wait_port(int port, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        close(fd);
        if (ok)
            return 0;
        atc_clock_sleep_ms(20);
    }
    return -1;
}

int test_redis_start(struct test_proc *p, int *port)
{
    char portstr[16];
    *port = test_free_port();
    snprintf(portstr, sizeof(portstr), "%d", *port);
    char *argv[] = {"/usr/bin/redis-server", "--port", portstr, "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--loglevel", "warning", NULL};
    if (test_proc_start(p, argv, 0) != 0)
        return -1;
    return wait_port(*port, 10000);
}

int test_daytona_local_start(struct test_proc *p, char *url, size_t urllen,
                             const char *const extra_args[])
{
    char bin[512];
    char *argv[32];
    int n = 0;

    argv[n++] = (char *)test_bin("daytona-local", bin, sizeof(bin));
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--api-key";
    argv[n++] = "test-key";
    for (int i = 0; extra_args && extra_args[i] && n < 31; i++)
        argv[n++] = (char *)extra_args[i];
    argv[n] = NULL;
    if (test_proc_start(p, argv, 1) != 0)
        return -1;
    const char *prefix = "DAYTONA_API_URL=";
    if (strncmp(p->first_line, prefix, strlen(prefix)) != 0) {
        test_proc_stop(p);
        return -1;
    }
    snprintf(url, urllen, "%s", p->first_line + strlen(prefix));
    return 0;
}

int test_daytona_up(struct test_daytona *t, const char *const extra_args[])
{
    char e[256];

    if (test_daytona_local_start(&t->proc, t->url, sizeof(t->url), extra_args) != 0) {
        print_error("could not start daytona-local\n");
        return -1;
    }
    t->started = 1;
    struct atc_daytona_opts o = {.api_url = t->url, .api_key = "test-key"};
    t->d = atc_daytona_new(&o, e, sizeof(e));
    if (t->d == NULL) {
        print_error("atc_daytona_new: %s\n", e);
        return -1;
    }
    return 0;
}

void test_daytona_down(struct test_daytona *t)
{
    atc_daytona_destroy(t->d);
    t->d = NULL;
    if (t->started)
        test_proc_stop(&t->proc);
    t->started = 0;
}
