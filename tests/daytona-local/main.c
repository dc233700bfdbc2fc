/* main.c: daytona-local's entry point: options, the listening socket, the
 * HTTP daemon, and an orderly stop on SIGTERM/SIGINT. */
#include "memwatch.h"
#include "confine.h"
#include "faults.h"
#include "interp.h"
#include "sandbox.h"
#include "snapshots.h"
#include "server.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct dl_config g_dl_cfg;
volatile sig_atomic_t g_dl_stopping;

static void on_signal(int sig)
{
    (void)sig;
    g_dl_stopping = 1;
}

/* MHD's own messages ("Application reported internal error" after a drop
 * fault, ...) are noise unless --verbose. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (!g_dl_cfg.verbose)
        return;
    fputs("daytona-local: microhttpd: ", stderr);
    vfprintf(stderr, fmt, ap);
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: daytona-local [options]\n"
"A Daytona-API-compatible sandbox server that runs sandboxes on this machine.\n"
"Prints DAYTONA_API_URL=http://HOST:PORT/api as its first stdout line once listening.\n"
"\n"
"  --listen HOST:PORT        address to listen on (default 127.0.0.1:3000; port 0 = any free)\n"
"  --root DIR                where sandbox directories live (default: a fresh directory\n"
"                            under $TMPDIR, removed at exit)\n"
"  --api-key KEY             the Bearer token to require (default $DAYTONA_LOCAL_API_KEY;\n"
"                            when neither is set any non-empty Bearer token is accepted)\n"
"  --verbose                 log one line per request on stderr\n"
"  --create-state STATE      'started' (default) or 'starting': answer create with\n"
"                            state starting, started after --start-delay-ms\n"
"  --start-delay-ms MS       see --create-state (default 1000)\n"
"  --latency-ms MS           delay added to every /api and /toolbox call\n"
"  --latency-create-ms MS    delay added to POST /api/sandbox\n"
"  --latency-exec-ms MS      delay added to process/execute and process/code-run\n"
"  --created-ago-ms MS       a new sandbox's createdAt is MS before now, as if it had\n"
"                            lived that long (the Date header stays the real time)\n"
"  --fault-rate R            share (0..1) of /api and /toolbox calls answered by a fault\n"
"  --fault-kinds LIST        faults to draw from, comma-separated: 429, 500, 503 (any\n"
"                            status 400..599), drop (close without a response),\n"
"                            drop_after (carry the request out, then close without\n"
"                            the response), hang (hold for --hang-ms, then close);\n"
"                            default 429,500,drop\n"
"  --fault-seed N            seed of the fault draw (default 1)\n"
"  --hang-ms MS              how long a hang fault holds a request (default 30000)\n"
"  --create-rate-per-min N   sliding-window limit on creates; beyond it 429 with\n"
"                            Retry-After-sandbox-create (default 0 = none)\n"
"  --max-output-bytes N      output kept per command; the rest is read and dropped\n"
"                            (default 67108864)\n"
"  --max-body-bytes N        largest request body and downloaded file (default 536870912)\n"
"  --no-confine              run commands unconfined, as the server's user (default:\n"
"                            each command in namespaces of its own with rlimits, through\n"
"                            daytona-local-jail; see docs/daytona-local.md)\n"
"  --confine                 the default; kept for old scripts\n"
"  --no-network              no sandbox reaches the network (as networkBlockAll: true)\n"
"  --refuse-network-settings POST /sandbox/{id}/network-settings answers 403 (a tier\n"
"                            without it)\n"
"  --python PATH             the sandboxes' Python (default /usr/bin/python3): python3,\n"
"                            python, pip, pip3 and pytest run it, whatever this server's\n"
"                            PATH; a command's PATH starts BIN:/usr/bin:/bin\n"
"  --max-procs N             RLIMIT_NPROC of a confined sandbox (default 512)\n"
"  --sandbox-memory-gib N    memory of a sandbox that asks for none (default 1, as\n"
"                            Daytona's default; 0: unlimited); enforced for confined\n"
"                            sandboxes by killing their largest process past it\n"
"  --exec-canned TEXT        benchmarks: process/execute runs nothing and answers exit\n"
"                            code 0 with TEXT as the result (after --latency-exec-ms),\n"
"                            as if the sandbox's CPU were on another machine\n"
"  --snapshot-build-delay-ms MS  a snapshot build stays \"building\" this long before\n"
"                            pip runs (tests of a builder killed mid-build)\n"
"  --snapshot-quota N        snapshots pending, building or active at most (default 100,\n"
"                            as Daytona Cloud; 0: no limit); beyond it 400 quota exceeded\n"
"  --strict-snapshots        a sandbox create naming a snapshot that is not one of\n"
"                            /api/snapshots is a 400, as the real API (default: any other\n"
"                            name is the default image)\n"
"  --help                    this text\n"
"\n"
"Test endpoints (no auth): GET /_local/stats; POST /_local/faults {\"next\":[{...}]} queues\n"
"one-shot faults; GET lists them; DELETE clears them. See docs/daytona-local.md.\n");
}

enum {
    OPT_LISTEN = 1000, OPT_ROOT, OPT_API_KEY, OPT_VERBOSE, OPT_CREATE_STATE, OPT_START_DELAY,
    OPT_LATENCY, OPT_LATENCY_CREATE, OPT_LATENCY_EXEC, OPT_CREATED_AGO, OPT_FAULT_RATE, OPT_FAULT_KINDS,
    OPT_FAULT_SEED, OPT_HANG, OPT_CREATE_RATE, OPT_MAX_OUTPUT, OPT_MAX_BODY, OPT_CONFINE, OPT_NO_CONFINE,
    OPT_NO_NETWORK, OPT_REFUSE_NETWORK_SETTINGS, OPT_MAX_PROCS, OPT_SANDBOX_MEMORY, OPT_EXEC_CANNED,
    OPT_PYTHON, OPT_SNAPSHOT_BUILD_DELAY, OPT_SNAPSHOT_QUOTA, OPT_STRICT_SNAPSHOTS, OPT_HELP,
};

static int parse_ms(const char *name, const char *v, long *out)
{
    if (dl_parse_long(v, 0, 86400000L, out) != 0) {
        fprintf(stderr, "daytona-local: %s: '%s' is not a number of milliseconds\n", name, v);
        return -1;
    }
    return 0;
}

static int parse_size(const char *name, const char *v, size_t *out)
{
    long n;
    if (dl_parse_long(v, 1, 1L << 40, &n) != 0) {
        fprintf(stderr, "daytona-local: %s: '%s' is not a byte count\n", name, v);
        return -1;
    }
    *out = (size_t)n;
    return 0;
}

/* Opens, binds and listens on host:port; fills the real port. Returns the fd or -1. */
static int listen_on(const char *host, const char *port, int *real_port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int fd = -1;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "daytona-local: --listen %s:%s: %s\n", host, port, gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "daytona-local: cannot listen on %s:%s: %s\n", host, port, strerror(errno));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET)
            *real_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            *real_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return fd;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"root", required_argument, NULL, OPT_ROOT},
        {"api-key", required_argument, NULL, OPT_API_KEY},
        {"verbose", no_argument, NULL, OPT_VERBOSE},
        {"create-state", required_argument, NULL, OPT_CREATE_STATE},
        {"start-delay-ms", required_argument, NULL, OPT_START_DELAY},
        {"latency-ms", required_argument, NULL, OPT_LATENCY},
        {"latency-create-ms", required_argument, NULL, OPT_LATENCY_CREATE},
        {"latency-exec-ms", required_argument, NULL, OPT_LATENCY_EXEC},
        {"created-ago-ms", required_argument, NULL, OPT_CREATED_AGO},
        {"fault-rate", required_argument, NULL, OPT_FAULT_RATE},
        {"fault-kinds", required_argument, NULL, OPT_FAULT_KINDS},
        {"fault-seed", required_argument, NULL, OPT_FAULT_SEED},
        {"hang-ms", required_argument, NULL, OPT_HANG},
        {"create-rate-per-min", required_argument, NULL, OPT_CREATE_RATE},
        {"max-output-bytes", required_argument, NULL, OPT_MAX_OUTPUT},
        {"max-body-bytes", required_argument, NULL, OPT_MAX_BODY},
        {"confine", no_argument, NULL, OPT_CONFINE},
        {"no-confine", no_argument, NULL, OPT_NO_CONFINE},
        {"no-network", no_argument, NULL, OPT_NO_NETWORK},
        {"refuse-network-settings", no_argument, NULL, OPT_REFUSE_NETWORK_SETTINGS},
        {"max-procs", required_argument, NULL, OPT_MAX_PROCS},
        {"sandbox-memory-gib", required_argument, NULL, OPT_SANDBOX_MEMORY},
        {"exec-canned", required_argument, NULL, OPT_EXEC_CANNED},
        {"python", required_argument, NULL, OPT_PYTHON},
        {"snapshot-build-delay-ms", required_argument, NULL, OPT_SNAPSHOT_BUILD_DELAY},
        {"snapshot-quota", required_argument, NULL, OPT_SNAPSHOT_QUOTA},
        {"strict-snapshots", no_argument, NULL, OPT_STRICT_SNAPSHOTS},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    struct dl_config *c = &g_dl_cfg;
    const char *listen_arg = "127.0.0.1:3000";
    const char *root_arg = NULL;
    const char *fault_kinds = NULL;
    const char *python = "/usr/bin/python3";
    double fault_rate = 0.0;
    long fault_seed = 1;
    char err[256];
    char port_s[16];
    struct MHD_Daemon *d = NULL;
    int lfd = -1;
    int status = 1;
    int opt;

    c->start_delay_ms = 1000;
    c->hang_ms = 30000;
    c->max_output_bytes = (size_t)64 << 20;
    c->max_body_bytes = (size_t)512 << 20;
    c->confine = 1;
    c->max_procs = 512;
    c->sandbox_memory_gib = 1;
    c->snapshot_quota = 100;
    const char *env_key = getenv("DAYTONA_LOCAL_API_KEY");
    if (env_key)
        snprintf(c->api_key, sizeof(c->api_key), "%s", env_key);

    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (opt) {
        case OPT_LISTEN: listen_arg = optarg; break;
        case OPT_ROOT: root_arg = optarg; break;
        case OPT_API_KEY:
            if (strlen(optarg) >= sizeof(c->api_key)) {
                fprintf(stderr, "daytona-local: --api-key is too long\n");
                return 2;
            }
            snprintf(c->api_key, sizeof(c->api_key), "%s", optarg);
            break;
        case OPT_VERBOSE: c->verbose = 1; break;
        case OPT_CREATE_STATE:
            if (strcmp(optarg, "starting") == 0) {
                c->create_starting = 1;
            } else if (strcmp(optarg, "started") == 0) {
                c->create_starting = 0;
            } else {
                fprintf(stderr, "daytona-local: --create-state must be started or starting\n");
                return 2;
            }
            break;
        case OPT_START_DELAY: if (parse_ms("--start-delay-ms", optarg, &c->start_delay_ms)) return 2; break;
        case OPT_LATENCY: if (parse_ms("--latency-ms", optarg, &c->latency_ms)) return 2; break;
        case OPT_LATENCY_CREATE: if (parse_ms("--latency-create-ms", optarg, &c->latency_create_ms)) return 2; break;
        case OPT_LATENCY_EXEC: if (parse_ms("--latency-exec-ms", optarg, &c->latency_exec_ms)) return 2; break;
        case OPT_CREATED_AGO: if (parse_ms("--created-ago-ms", optarg, &c->created_ago_ms)) return 2; break;
        case OPT_HANG: if (parse_ms("--hang-ms", optarg, &c->hang_ms)) return 2; break;
        case OPT_FAULT_RATE:
            errno = 0;
            fault_rate = strtod(optarg, &end);
            if (errno || !end || *end || fault_rate < 0.0 || fault_rate > 1.0) {
                fprintf(stderr, "daytona-local: --fault-rate must be a number from 0 to 1\n");
                return 2;
            }
            break;
        case OPT_FAULT_KINDS: fault_kinds = optarg; break;
        case OPT_FAULT_SEED:
            if (dl_parse_long(optarg, 0, 0x7fffffff, &fault_seed) != 0) {
                fprintf(stderr, "daytona-local: --fault-seed must be a number\n");
                return 2;
            }
            break;
        case OPT_CREATE_RATE:
            if (dl_parse_long(optarg, 0, 100000, &c->create_rate_per_min) != 0) {
                fprintf(stderr, "daytona-local: --create-rate-per-min must be 0..100000\n");
                return 2;
            }
            break;
        case OPT_MAX_OUTPUT: if (parse_size("--max-output-bytes", optarg, &c->max_output_bytes)) return 2; break;
        case OPT_MAX_BODY: if (parse_size("--max-body-bytes", optarg, &c->max_body_bytes)) return 2; break;
        case OPT_CONFINE: c->confine = 1; break;
        case OPT_NO_CONFINE: c->confine = 0; break;
        case OPT_NO_NETWORK: c->no_network = 1; break;
        case OPT_REFUSE_NETWORK_SETTINGS: c->refuse_network_settings = 1; break;
        case OPT_EXEC_CANNED: c->exec_canned = optarg; break;
        case OPT_SANDBOX_MEMORY: {
            long gib = 0;
            if (dl_parse_long(optarg, 0, 1024, &gib) != 0) {
                fprintf(stderr, "daytona-local: --sandbox-memory-gib must be 0..1024\n");
                return 2;
            }
            c->sandbox_memory_gib = gib;
            break;
        }
        case OPT_PYTHON: python = optarg; break;
        case OPT_SNAPSHOT_BUILD_DELAY:
            if (parse_ms("--snapshot-build-delay-ms", optarg, &c->snapshot_build_delay_ms))
                return 2;
            break;
        case OPT_STRICT_SNAPSHOTS: c->strict_snapshots = 1; break;
        case OPT_SNAPSHOT_QUOTA:
            if (dl_parse_long(optarg, 0, 100000, &c->snapshot_quota) != 0) {
                fprintf(stderr, "daytona-local: --snapshot-quota must be 0..100000\n");
                return 2;
            }
            break;
        case OPT_MAX_PROCS:
            if (dl_parse_long(optarg, 8, 1L << 22, &c->max_procs) != 0) {
                fprintf(stderr, "daytona-local: --max-procs must be 8..4194304\n");
                return 2;
            }
            break;
        case OPT_HELP:
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "daytona-local: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (dl_faults_configure(fault_rate, fault_kinds, (unsigned)fault_seed, err, sizeof(err)) != 0) {
        fprintf(stderr, "daytona-local: %s\n", err);
        return 2;
    }

    /* --listen HOST:PORT; the last colon splits, so [::1]:0 works too. */
    const char *colon = strrchr(listen_arg, ':');
    if (!colon || colon == listen_arg || (size_t)(colon - listen_arg) >= sizeof(c->host) ||
        strlen(colon + 1) >= sizeof(port_s) || !colon[1]) {
        fprintf(stderr, "daytona-local: --listen wants HOST:PORT, got '%s'\n", listen_arg);
        return 2;
    }
    snprintf(c->host, sizeof(c->host), "%.*s", (int)(colon - listen_arg), listen_arg);
    snprintf(port_s, sizeof(port_s), "%s", colon + 1);
    char bare_host[sizeof(c->host)];
    memcpy(bare_host, c->host, sizeof(bare_host));
    if (bare_host[0] == '[') {
        size_t n = strlen(bare_host);
        if (n >= 2 && bare_host[n - 1] == ']') {
            memmove(bare_host, bare_host + 1, n - 2);
            bare_host[n - 2] = '\0';
        }
    }

    if (dl_interp_init(python, err, sizeof(err)) != 0) {
        fprintf(stderr, "daytona-local: %s\n", err);
        return 2;
    }
    char sandbox_path[PATH_MAX * 2];
    dl_interp_sandbox_path("$HOME", sandbox_path, sizeof(sandbox_path));
    fprintf(stderr, "daytona-local: sandboxes' python: %s (%s); PATH=%s\n", dl_interp_python(),
            dl_interp_version(), sandbox_path);

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    raise_nofile();

    if (root_arg) {
        if (mkdir(root_arg, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "daytona-local: --root %s: %s\n", root_arg, strerror(errno));
            dl_interp_cleanup();
            return 1;
        }
        if (!realpath(root_arg, c->root)) {
            fprintf(stderr, "daytona-local: --root %s: %s\n", root_arg, strerror(errno));
            dl_interp_cleanup();
            return 1;
        }
    } else {
        const char *tmp = getenv("TMPDIR");
        char tmpl[PATH_MAX];
        snprintf(tmpl, sizeof(tmpl), "%s/daytona-local.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(tmpl) || !realpath(tmpl, c->root)) {
            fprintf(stderr, "daytona-local: cannot make a root directory %s: %s\n", tmpl,
                    strerror(errno));
            dl_interp_cleanup();
            return 1;
        }
        c->root_owned = 1;
    }
    dl_sandbox_init();
    dl_confine_init(c->confine, c->no_network, c->max_procs);

    /* Only the main thread takes SIGTERM/SIGINT (sigwait below): the HTTP
     * threads inherit this mask; commands get an empty one (posix_spawn). */
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    if (dl_memwatch_start() != 0)
        fprintf(stderr, "daytona-local: warning: cannot start the memory watcher\n");

    lfd = listen_on(bare_host, port_s, &c->port);
    if (lfd < 0)
        goto out;
    d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD |
                             MHD_USE_ERROR_LOG,
                         0, NULL, NULL, dl_handle, NULL,
                         MHD_OPTION_LISTEN_SOCKET, lfd,
                         MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                         MHD_OPTION_NOTIFY_COMPLETED, dl_completed, NULL,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0,
                         MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1 << 20),
                         MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "daytona-local: cannot start the HTTP server\n");
        goto out;
    }
    lfd = -1;                   /* MHD owns it now */
    printf("DAYTONA_API_URL=http://%s:%d/api\n", c->host, c->port);
    fflush(stdout);
    if (c->verbose)
        fprintf(stderr, "daytona-local: listening on %s:%d, root %s\n", c->host, c->port, c->root);

    while (!g_dl_stopping) {
        int sig = 0;
        if (sigwait(&stop_set, &sig) == 0)
            g_dl_stopping = 1;
    }
    status = 0;

out:
    dl_sandbox_kill_all();
    if (d)
        MHD_stop_daemon(d);
    dl_snapshot_shutdown();
    if (lfd >= 0)
        close(lfd);
    dl_memwatch_stop();
    dl_sandbox_shutdown();
    dl_faults_cleanup();
    if (c->root_owned)
        dl_rmtree(c->root);
    dl_interp_cleanup();
    return status;
}
