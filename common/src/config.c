/* config.c: the option table loader: defaults, environment, command line. */
#include "atc/config.h"
#include "atc/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int set_value(const struct atc_opt *o, void *base, const char *val, const char *from,
                     char *err, size_t errlen)
{
    char *field = (char *)base + o->offset;

    switch (o->type) {
    case ATC_OPT_STRING: {
        char *copy = strdup(val ? val : "");
        if (!copy) {
            snprintf(err, errlen, "out of memory");
            return ATC_ENOMEM;
        }
        char **dst = (char **)(void *)field;
        free(*dst);
        *dst = copy;
        return 0;
    }
    case ATC_OPT_INT: {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(val ? val : "", &end, 10);
        if (!val || !*val || errno || *end) {
            snprintf(err, errlen, "%s (%s): \"%s\" is not an integer", o->name, from, val ? val : "");
            return ATC_EINVAL;
        }
        if (v < o->min || v > o->max) {
            snprintf(err, errlen, "%s (%s): %lld is outside %lld..%lld", o->name, from, v,
                     o->min, o->max);
            return ATC_EINVAL;
        }
        *(long long *)(void *)field = v;
        return 0;
    }
    case ATC_OPT_BOOL: {
        int v;
        if (!val || !strcasecmp(val, "1") || !strcasecmp(val, "true") || !strcasecmp(val, "yes") ||
            !strcasecmp(val, "on"))
            v = 1;
        else if (!strcasecmp(val, "0") || !strcasecmp(val, "false") || !strcasecmp(val, "no") ||
                 !strcasecmp(val, "off"))
            v = 0;
        else {
            snprintf(err, errlen, "%s (%s): \"%s\" is not a boolean", o->name, from, val);
            return ATC_EINVAL;
        }
        *(int *)(void *)field = v;
        return 0;
    }
    }
    return ATC_EINVAL;
}

static const struct atc_opt *find_opt(const struct atc_opt *table, size_t n, const char *name,
                                      size_t namelen)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(table[i].name) == namelen && strncmp(table[i].name, name, namelen) == 0)
            return &table[i];
    return NULL;
}

int atc_config_load(const struct atc_opt *table, size_t n, void *base,
                    int argc, char **argv, char **rest, int *nrest,
                    char *err, size_t errlen)
{
    int rc;

    *nrest = 0;
    for (size_t i = 0; i < n; i++) {
        if ((rc = set_value(&table[i], base, table[i].def, "default", err, errlen)) != 0)
            return rc;
    }
    for (size_t i = 0; i < n; i++) {
        const char *v = table[i].env ? getenv(table[i].env) : NULL;
        if (v && (rc = set_value(&table[i], base, v, table[i].env, err, errlen)) != 0)
            return rc;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            rest[(*nrest)++] = argv[i];
            continue;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t namelen = eq ? (size_t)(eq - name) : strlen(name);
        const struct atc_opt *o = find_opt(table, n, name, namelen);
        if (!o) {
            rest[(*nrest)++] = argv[i];
            continue;
        }
        const char *val = eq ? eq + 1 : NULL;
        if (!val && o->type != ATC_OPT_BOOL) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "--%s needs a value", o->name);
                return ATC_EINVAL;
            }
            val = argv[++i];
        }
        char from[80];
        snprintf(from, sizeof(from), "--%s", o->name);
        if ((rc = set_value(o, base, val, from, err, errlen)) != 0)
            return rc;
    }
    return 0;
}

void atc_config_cleanup(const struct atc_opt *table, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++) {
        if (table[i].type != ATC_OPT_STRING)
            continue;
        char **p = (char **)(void *)((char *)base + table[i].offset);
        free(*p);
        *p = NULL;
    }
}

void atc_config_usage(const struct atc_opt *table, size_t n, FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        const struct atc_opt *o = &table[i];
        fprintf(out, "  --%-22s %-24s %s", o->name, o->env ? o->env : "", o->help ? o->help : "");
        if (o->def && *o->def)
            fprintf(out, " (default: %s)", o->secret == 1 ? "***" : o->def);
        fputc('\n', out);
    }
}

void atc_config_describe(const struct atc_opt *table, size_t n, const void *base,
                         char *buf, size_t buflen)
{
    size_t pos = 0;

    if (buflen)
        buf[0] = '\0';
    for (size_t i = 0; i < n && pos + 1 < buflen; i++) {
        const struct atc_opt *o = &table[i];
        const char *field = (const char *)base + o->offset;
        int w = 0;
        switch (o->type) {
        case ATC_OPT_STRING: {
            const char *s = *(char *const *)(const void *)field;
            /* The '@' the URL parser splits at: the last for redis://
             * (a password may hold '@'), the first for unix:// (a path may). */
            const char *at = s == NULL                      ? NULL
                             : strncmp(s, "unix://", 7) == 0 ? strchr(s, '@')
                                                             : strrchr(s, '@');
            const char *scheme = s ? strstr(s, "://") : NULL;
            if (o->secret == ATC_SECRET_URL_PASSWORD && at && scheme && scheme < at)
                /* Show where a URL points, not the password inside it. */
                w = snprintf(buf + pos, buflen - pos, "%s%s=%.*s***%s", i ? " " : "", o->name,
                             (int)(scheme + 3 - s), s, at);
            else if (o->secret == ATC_SECRET_URL_PASSWORD)
                w = snprintf(buf + pos, buflen - pos, "%s%s=%s", i ? " " : "", o->name, s ? s : "");
            else
                w = snprintf(buf + pos, buflen - pos, "%s%s=%s", i ? " " : "", o->name,
                             o->secret ? (s && *s ? "***" : "") : (s ? s : ""));
            break;
        }
        case ATC_OPT_INT:
            w = snprintf(buf + pos, buflen - pos, "%s%s=%lld", i ? " " : "", o->name,
                         *(const long long *)(const void *)field);
            break;
        case ATC_OPT_BOOL:
            w = snprintf(buf + pos, buflen - pos, "%s%s=%s", i ? " " : "", o->name,
                         *(const int *)(const void *)field ? "true" : "false");
            break;
        }
        if (w < 0)
            break;
        pos += (size_t)w;
    }
}

int atc_config_read_secret_file(const char *path, char **out, char *err, size_t errlen)
{
    FILE *f = NULL;
    char *buf = NULL;
    size_t len = 0;
    int rc = ATC_EIO;

    *out = NULL;
    f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open secret file %s: %s", path, strerror(errno));
        goto out;
    }
    buf = malloc(4097);
    if (!buf) {
        rc = ATC_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    len = fread(buf, 1, 4096, f);
    if (ferror(f)) {
        snprintf(err, errlen, "cannot read secret file %s", path);
        goto out;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                       buf[len - 1] == '\t'))
        len--;
    buf[len] = '\0';
    *out = buf;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (f)
        fclose(f);
    return rc;
}

/* 1 when the environment value v of option o holds a secret. */
static int env_is_secret(const struct atc_opt *o, const char *v)
{
    return o->secret == 1 || (o->secret == ATC_SECRET_URL_PASSWORD && strchr(v, '@') != NULL);
}

void atc_config_scrub_secrets(const struct atc_opt *table, size_t n)
{
    extern char **environ;

    for (size_t i = 0; i < n; i++) {
        const char *name = table[i].env;
        size_t nlen = name ? strlen(name) : 0;
        char *entry = NULL;
        for (char **e = environ; name && e && *e; e++)
            if (strncmp(*e, name, nlen) == 0 && (*e)[nlen] == '=') {
                entry = *e;
                break;
            }
        if (entry == NULL || !env_is_secret(&table[i], entry + nlen + 1))
            continue;
        size_t len = strlen(entry);
        unsetenv(name);
        /* The string itself is wiped too: /proc/<pid>/environ shows the block
         * the process started with, which unsetenv leaves as it was. */
        memset(entry, 0, len);
    }
}
