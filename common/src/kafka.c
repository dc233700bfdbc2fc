/* kafka.c: librdkafka configuration from ATC_BROKERS, ATC_KAFKA_<NAME> and -X. */
#include "atc/kafka.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"

extern char **environ;

#define KAFKA_ENV_PREFIX "ATC_KAFKA_"
#define KAFKA_PROP_MAX 256

const char *atc_env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return (v != NULL && *v != '\0') ? v : def;
}

/* Sets one property, naming it (and where it came from) in err on failure. */
static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                    const char *origin, char *err, size_t errlen)
{
    char errstr[512];

    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka property '%s' (from %s): %s", name, origin, errstr);
        return ATC_EINVAL;
    }
    return 0;
}

/* Turns "SECURITY_PROTOCOL" into "security.protocol". Returns 0, or -1 when
 * the name is empty or too long. */
static int env_to_prop(const char *s, size_t len, char *out, size_t outlen)
{
    if (len == 0 || len >= outlen)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = c == '_' ? '.' : (char)tolower(c);
    }
    out[len] = '\0';
    return 0;
}

int atc_kafka_conf_apply(rd_kafka_conf_t *conf, const char *brokers,
                         char **xprops, size_t nxprops, char *err, size_t errlen)
{
    size_t plen = sizeof(KAFKA_ENV_PREFIX) - 1;
    char name[KAFKA_PROP_MAX];
    int rc;

    if (brokers != NULL && *brokers != '\0') {
        rc = conf_set(conf, "bootstrap.servers", brokers, "ATC_BROKERS", err, errlen);
        if (rc != 0)
            return rc;
    }

    for (char **e = environ; e != NULL && *e != NULL; e++) {
        const char *entry = *e;
        const char *eq;
        if (strncmp(entry, KAFKA_ENV_PREFIX, plen) != 0)
            continue;
        eq = strchr(entry, '=');
        if (eq == NULL)
            continue;
        if (env_to_prop(entry + plen, (size_t)(eq - entry) - plen, name, sizeof(name)) != 0) {
            snprintf(err, errlen, "environment variable '%.*s' names no kafka property",
                     (int)(eq - entry), entry);
            return ATC_EINVAL;
        }
        rc = conf_set(conf, name, eq + 1, "the environment", err, errlen);
        if (rc != 0)
            return rc;
    }

    for (size_t i = 0; i < nxprops; i++) {
        const char *p = xprops[i];
        const char *eq = p != NULL ? strchr(p, '=') : NULL;
        size_t nlen;
        if (eq == NULL || eq == p) {
            snprintf(err, errlen, "-X wants name=value, not '%s'", p != NULL ? p : "");
            return ATC_EINVAL;
        }
        nlen = (size_t)(eq - p);
        if (nlen >= sizeof(name)) {
            snprintf(err, errlen, "-X property name too long: '%.40s...'", p);
            return ATC_EINVAL;
        }
        memcpy(name, p, nlen);
        name[nlen] = '\0';
        rc = conf_set(conf, name, eq + 1, "-X", err, errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void atc_kafka_scrub_env(void)
{
    for (char **e = environ; e != NULL && *e != NULL;) {
        const char *eq = strchr(*e, '=');
        size_t nlen = eq ? (size_t)(eq - *e) : 0;
        char name[KAFKA_PROP_MAX];
        if (nlen == 0 || nlen >= sizeof(name) || strncmp(*e, KAFKA_ENV_PREFIX, strlen(KAFKA_ENV_PREFIX)) != 0 ||
            (memmem(*e, nlen, "PASSWORD", 8) == NULL && memmem(*e, nlen, "SECRET", 6) == NULL)) {
            e++;
            continue;
        }
        char *entry = *e;
        size_t len = strlen(entry);
        memcpy(name, entry, nlen);
        name[nlen] = '\0';
        unsetenv(name); /* environ shifts: *e is now the next entry */
        memset(entry, 0, len);
    }
}
