/* kafka.h: librdkafka configuration shared by the worker and the producer:
 * ATC_BROKERS, ATC_KAFKA_<NAME> from the environment and -X name=value. */
#ifndef ATC_KAFKA_H
#define ATC_KAFKA_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>

#define ATC_DEFAULT_BROKERS "127.0.0.1:9092"
#define ATC_DEFAULT_JOBS_TOPIC "atc.jobs"
#define ATC_DEFAULT_DLQ_TOPIC "atc.jobs.dlq"
#define ATC_DEFAULT_GROUP "atc-workers"

/* Sets bootstrap.servers to brokers, then every ATC_KAFKA_<NAME> from the
 * environment (lower-cased, '_' to '.'), then each "name=value" of xprops.
 * Returns 0, or ATC_EINVAL with the property named in err. */
int atc_kafka_conf_apply(rd_kafka_conf_t *conf, const char *brokers,
                         char **xprops, size_t nxprops, char *err, size_t errlen);

/* getenv(name), or def when unset or empty. */
const char *atc_env_or(const char *name, const char *def);

/* Removes the ATC_KAFKA_* variables whose name holds PASSWORD or SECRET
 * (sasl.password, ssl.key.password, ...) from the environment and wipes their
 * bytes (/proc/<pid>/environ), once every configuration was built from them.
 * Only for the start-up environment (see atc_config_scrub_secrets). */
void atc_kafka_scrub_env(void);

#endif
