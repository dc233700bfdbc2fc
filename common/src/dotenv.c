/* dotenv.c: `.env.local` and `.env` read as the Daytona SDKs read them (see dotenv.h). */
#include "atc/dotenv.h"
#include "atc/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define DOTENV_MAX_BYTES (1 << 20)
#define DAYTONA_DEFAULT_API_URL "https://app.daytona.io/api"

/* The SDK's precedence: .env.local first, then .env. */
static const char *const dotenv_files[] = {".env.local", ".env"};
/* Never from a file: the endpoint the key is sent to (the SDK's rule). */
static const char *const endpoint_names[] = {"DAYTONA_API_URL", "DAYTONA_SERVER_URL"};

static int is_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

static int is_space(char c)
{
    return is_blank(c) || c == '\n' || c == '\r';
}

void atc_dotenv_vars_free(struct atc_dotenv_var *vars, size_t n)
{
    if (vars == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(vars[i].name);
        free(vars[i].value);
    }
    free(vars);
}

/* Adds or replaces name=value (both copied from [p, p+len)). */
static int put_var(struct atc_dotenv_var **vars, size_t *n, size_t *cap, const char *name,
                   size_t namelen, const char *value, size_t valuelen)
{
    char *nm = strndup(name, namelen);
    char *val = strndup(value, valuelen);
    if (nm == NULL || val == NULL)
        goto nomem;
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*vars)[i].name, nm) == 0) {
            free((*vars)[i].value);
            (*vars)[i].value = val;
            free(nm);
            return 0;
        }
    }
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct atc_dotenv_var *nv = realloc(*vars, ncap * sizeof(*nv));
        if (nv == NULL)
            goto nomem;
        *vars = nv;
        *cap = ncap;
    }
    (*vars)[*n].name = nm;
    (*vars)[*n].value = val;
    (*n)++;
    return 0;
nomem:
    free(nm);
    free(val);
    return ATC_ENOMEM;
}

/* A double-quoted value: \n and \r become newline and CR (nothing else is
 * unescaped, as in dotenv). In place; returns the new length. */
static size_t expand_newlines(char *s, size_t len)
{
    size_t w = 0;
    for (size_t r = 0; r < len; r++) {
        if (s[r] == '\\' && r + 1 < len && (s[r + 1] == 'n' || s[r + 1] == 'r')) {
            s[w++] = s[r + 1] == 'n' ? '\n' : '\r';
            r++;
        } else {
            s[w++] = s[r];
        }
    }
    return w;
}

int atc_dotenv_parse(const char *text, size_t len, struct atc_dotenv_var **vars, size_t *n)
{
    struct atc_dotenv_var *out = NULL;
    size_t nout = 0, cap = 0;
    char *src = NULL;
    size_t slen = 0;
    int rc = 0;

    *vars = NULL;
    *n = 0;
    /* dotenv first turns CRLF and lone CR into LF. */
    src = malloc(len + 1);
    if (src == NULL)
        return ATC_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\r') {
            src[slen++] = '\n';
            if (i + 1 < len && text[i + 1] == '\n')
                i++;
        } else {
            src[slen++] = text[i];
        }
    }
    src[slen] = '\0';

    size_t p = 0;
    while (p < slen) {
        size_t eol = p;
        while (eol < slen && src[eol] != '\n')
            eol++;
        size_t q = p;
        while (q < eol && is_blank(src[q]))
            q++;
        if (eol - q > 7 && strncmp(src + q, "export", 6) == 0 && is_blank(src[q + 6])) {
            q += 6;
            while (q < eol && is_blank(src[q]))
                q++;
        }
        size_t name = q;
        while (q < eol && is_name_char(src[q]))
            q++;
        size_t namelen = q - name;
        /* The separator: optional blanks then '=', or ':' then a blank. */
        size_t s = q;
        while (s < eol && is_blank(src[s]))
            s++;
        int ok = namelen > 0;
        if (ok && s < eol && src[s] == '=')
            s++;
        else if (ok && q < eol && src[q] == ':' && q + 1 < eol && is_blank(src[q + 1]))
            s = q + 1;
        else
            ok = 0;
        if (!ok) {
            p = eol + 1;
            continue;
        }
        while (s < slen && is_blank(src[s]))
            s++;
        size_t vstart = s, vlen = 0, next = eol + 1;
        char quote = s < slen ? src[s] : '\0';
        int quoted = 0;
        if (quote == '\'' || quote == '"' || quote == '`') {
            /* A quoted value runs to the next unescaped same quote, across lines. */
            size_t e = s + 1;
            while (e < slen && src[e] != quote)
                e += (src[e] == '\\' && e + 1 < slen && src[e + 1] == quote) ? 2 : 1;
            if (e < slen) {
                /* The rest of that line may only be blanks and a comment. */
                size_t t = e + 1;
                while (t < slen && is_blank(src[t]))
                    t++;
                if (t >= slen || src[t] == '\n' || src[t] == '#') {
                    vstart = s + 1;
                    vlen = e - s - 1;
                    quoted = 1;
                    while (t < slen && src[t] != '\n')
                        t++;
                    next = t + 1;
                }
            }
        }
        if (!quoted) {
            size_t e = s;
            while (e < eol && src[e] != '#')
                e++;
            while (e > s && is_space(src[e - 1]))
                e--;
            vstart = s;
            vlen = e - s;
        }
        if (quoted && quote == '"')
            vlen = expand_newlines(src + vstart, vlen);
        if ((rc = put_var(&out, &nout, &cap, src + name, namelen, src + vstart, vlen)) != 0)
            goto out;
        p = next;
    }
    *vars = out;
    *n = nout;
    out = NULL;
out:
    atc_dotenv_vars_free(out, nout);
    free(src);
    return rc;
}

static int is_endpoint(const char *name)
{
    for (size_t i = 0; i < sizeof(endpoint_names) / sizeof(endpoint_names[0]); i++)
        if (strcmp(name, endpoint_names[i]) == 0)
            return 1;
    return 0;
}

int atc_dotenv_name_taken(const char *name)
{
    if (strncmp(name, "DAYTONA_", 8) != 0 && strncmp(name, "ATC_", 4) != 0)
        return 0;
    return !is_endpoint(name);
}

int atc_dotenv_is_secret(const char *name, const char *value)
{
    static const char *const marks[] = {"KEY", "TOKEN", "PASSWORD", "SECRET"};
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
        if (strstr(name, marks[i]) != NULL && strstr(name, "_FILE") == NULL)
            return value[0] != '\0';
    /* redis://:password@host: a URL with credentials in it. */
    const char *scheme = strstr(value, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    return at != NULL && strchr(scheme + 3, ':') != NULL && strchr(scheme + 3, ':') < at;
}

static void warn(struct atc_dotenv_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void warn(struct atc_dotenv_report *r, const char *fmt, ...)
{
    va_list ap;
    if (r->nwarnings == ATC_DOTENV_MAX_WARNINGS)
        return;
    va_start(ap, fmt);
    vsnprintf(r->warnings[r->nwarnings++], sizeof(r->warnings[0]), fmt, ap);
    va_end(ap);
}

/* Reads path whole into *text (malloc'd); 0 and *text NULL when it does not exist. */
static int read_file(const char *path, struct stat *st, char **text, size_t *len, char *err,
                     size_t errlen)
{
    FILE *f = NULL;
    char *buf = NULL;
    int rc = ATC_EIO;

    *text = NULL;
    *len = 0;
    f = fopen(path, "r");
    if (f == NULL) {
        if (errno == ENOENT || errno == ENOTDIR) {
            rc = 0;
        } else {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        }
        goto out;
    }
    if (fstat(fileno(f), st) != 0 || !S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "cannot read %s: not a regular file", path);
        goto out;
    }
    if (st->st_size > DOTENV_MAX_BYTES) {
        snprintf(err, errlen, "cannot read %s: larger than %d bytes", path, DOTENV_MAX_BYTES);
        goto out;
    }
    buf = malloc((size_t)st->st_size + 1);
    if (buf == NULL) {
        rc = ATC_ENOMEM;
        snprintf(err, errlen, "out of memory reading %s", path);
        goto out;
    }
    *len = fread(buf, 1, (size_t)st->st_size, f);
    if (ferror(f)) {
        snprintf(err, errlen, "cannot read %s", path);
        goto out;
    }
    buf[*len] = '\0';
    *text = buf;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (f != NULL)
        fclose(f);
    return rc;
}

int atc_dotenv_load(const char *dir, struct atc_dotenv_report *report, char *err, size_t errlen)
{
    char path[4096];
    char *text = NULL;
    struct atc_dotenv_var *vars = NULL;
    size_t nvars = 0, len = 0;
    int rc = 0;

    memset(report, 0, sizeof(*report));
    for (size_t f = 0; f < sizeof(dotenv_files) / sizeof(dotenv_files[0]); f++) {
        struct stat st;
        snprintf(path, sizeof(path), "%s%s%s", dir ? dir : "", dir ? "/" : "", dotenv_files[f]);
        if ((rc = read_file(path, &st, &text, &len, err, errlen)) != 0)
            goto out;
        if (text == NULL)
            continue;
        snprintf(report->files[report->nfiles++], sizeof(report->files[0]), "%s",
                 dotenv_files[f]);
        if ((rc = atc_dotenv_parse(text, len, &vars, &nvars)) != 0) {
            snprintf(err, errlen, "out of memory reading %s", path);
            goto out;
        }
        int secret_warned = 0;
        for (size_t i = 0; i < nvars; i++) {
            const char *name = vars[i].name, *value = vars[i].value;
            if (strncmp(name, "DAYTONA_", 8) != 0 && strncmp(name, "ATC_", 4) != 0)
                continue;
            if (!secret_warned && (st.st_mode & S_IROTH) && atc_dotenv_is_secret(name, value)) {
                warn(report, "%s holds %s and every user of this machine may read it "
                     "(chmod 600 it)", path, name);
                secret_warned = 1;
            }
            if (is_endpoint(name)) {
                const char *used = getenv("DAYTONA_API_URL");
                if (used == NULL || used[0] == '\0')
                    used = DAYTONA_DEFAULT_API_URL;
                if (strcmp(value, used) != 0)
                    warn(report, "%s set in %s was ignored: the Daytona API endpoint is never "
                         "read from a .env file (set it in the environment or with "
                         "--daytona-api-url)", name, path);
                continue;
            }
            /* The environment wins, and an earlier (.env.local) file too. */
            if (getenv(name) != NULL)
                continue;
            if (setenv(name, value, 0) != 0) {
                rc = ATC_ENOMEM;
                snprintf(err, errlen, "cannot set %s from %s", name, path);
                goto out;
            }
            report->nset++;
        }
        atc_dotenv_vars_free(vars, nvars);
        vars = NULL;
        nvars = 0;
        free(text);
        text = NULL;
    }
out:
    atc_dotenv_vars_free(vars, nvars);
    free(text);
    return rc;
}
