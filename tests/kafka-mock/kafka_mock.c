/* kafka_mock.c: kafka-mock, a Kafka broker for development and tests, built on
 * librdkafka's mock cluster (rdkafka_mock.h), with fault injection by signal.
 *
 *   kafka-mock [--brokers N] [--partitions P] [--topic NAME]...
 *
 * Prints "ATC_BROKERS=host:port[,...]" as its first stdout line once the
 * cluster listens, then runs until SIGTERM or SIGINT.
 * Faults: SIGUSR1 takes every broker down (connections are closed and new ones
 * refused), SIGUSR2 brings them all up again. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MOCK_MAX_TOPICS 64
#define MOCK_MAX_BROKERS 16
#define MOCK_MAX_PARTITIONS 1024

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t down_requested;
static volatile sig_atomic_t up_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_down(int sig)
{
    (void)sig;
    down_requested = 1;
}

static void on_up(int sig)
{
    (void)sig;
    up_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: kafka-mock [--brokers N] [--partitions P] [--topic NAME]...\n"
            "  --brokers N      brokers in the cluster (default 1, at most %d)\n"
            "  --partitions P   partitions per topic (default 4)\n"
            "  --topic NAME     a topic to create (repeatable; default atc.jobs and atc.jobs.dlq)\n"
            "Prints ATC_BROKERS=<bootstrap servers> as its first line; runs until SIGTERM/SIGINT.\n"
            "SIGUSR1 takes all brokers down, SIGUSR2 brings them up again.\n",
            MOCK_MAX_BROKERS);
}

/* Parses a decimal int in [min, max]; 0 or -1. */
static int parse_int(const char *s, int min, int max, int *out)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static void set_handler(int sig, void (*fn)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
    int brokers = 1;
    int partitions = 4;
    const char *topics[MOCK_MAX_TOPICS];
    int ntopics = 0;
    char errstr[512];
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    int status = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (val == NULL) {
            fprintf(stderr, "kafka-mock: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (strcmp(a, "--brokers") == 0) {
            if (parse_int(val, 1, MOCK_MAX_BROKERS, &brokers) != 0) {
                fprintf(stderr, "kafka-mock: --brokers wants 1 to %d, not '%s'\n",
                        MOCK_MAX_BROKERS, val);
                return 2;
            }
        } else if (strcmp(a, "--partitions") == 0) {
            if (parse_int(val, 1, MOCK_MAX_PARTITIONS, &partitions) != 0) {
                fprintf(stderr, "kafka-mock: --partitions wants 1 to %d, not '%s'\n",
                        MOCK_MAX_PARTITIONS, val);
                return 2;
            }
        } else if (strcmp(a, "--topic") == 0) {
            if (ntopics == MOCK_MAX_TOPICS || *val == '\0') {
                fprintf(stderr, "kafka-mock: too many topics, or an empty name\n");
                return 2;
            }
            topics[ntopics++] = val;
        } else {
            fprintf(stderr, "kafka-mock: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        i++;
    }
    if (ntopics == 0) {
        topics[ntopics++] = "atc.jobs";
        topics[ntopics++] = "atc.jobs.dlq";
    }

    set_handler(SIGTERM, on_stop);
    set_handler(SIGINT, on_stop);
    set_handler(SIGUSR1, on_down);
    set_handler(SIGUSR2, on_up);
    signal(SIGPIPE, SIG_IGN);

    /* The mock cluster needs a client handle for its bookkeeping; the handle
     * itself is never used to produce. */
    conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafka-mock: %s\n", errstr);
        goto out;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "kafka-mock: cannot create a client handle: %s\n", errstr);
        goto out;
    }
    conf = NULL; /* owned by rk now */
    mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (mc == NULL) {
        fprintf(stderr, "kafka-mock: cannot create the mock cluster\n");
        goto out;
    }
    for (int i = 0; i < ntopics; i++) {
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, topics[i], partitions, 1);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "kafka-mock: cannot create topic '%s': %s\n", topics[i],
                    rd_kafka_err2str(e));
            goto out;
        }
    }

    printf("ATC_BROKERS=%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    fprintf(stderr, "kafka-mock: %d broker(s), %d partition(s) per topic, listening on %s\n",
            brokers, partitions, rd_kafka_mock_cluster_bootstraps(mc));

    while (!stop_requested) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
        if (down_requested) {
            down_requested = 0;
            rd_kafka_mock_broker_set_down(mc, -1);
            fprintf(stderr, "kafka-mock: all brokers down\n");
        }
        if (up_requested) {
            up_requested = 0;
            rd_kafka_mock_broker_set_up(mc, -1);
            fprintf(stderr, "kafka-mock: all brokers up\n");
        }
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "kafka-mock: stopping\n");
    status = 0;

out:
    if (mc != NULL)
        rd_kafka_mock_cluster_destroy(mc);
    if (rk != NULL)
        rd_kafka_destroy(rk);
    if (conf != NULL)
        rd_kafka_conf_destroy(conf);
    return status;
}
