/* log.c: one line per event on stderr, as JSON or text, safe across threads. */
#include "atc/log.h"

#include "atc/clock.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum atc_log_level atc_log_min_level = ATC_LOG_INFO;
static enum atc_log_format log_format = ATC_LOG_JSON;
static char log_component[128] = "atc";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void atc_log_init(enum atc_log_level level, enum atc_log_format format,
                  const char *component)
{
    atc_log_min_level = level;
    log_format = format;
    if (component)
        snprintf(log_component, sizeof(log_component), "%s", component);
}

int atc_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    if (strcmp(s, "warning") == 0)
        return ATC_LOG_WARN;
    return -1;
}

int atc_log_format_parse(const char *s)
{
    if (strcmp(s, "json") == 0)
        return ATC_LOG_JSON;
    if (strcmp(s, "text") == 0)
        return ATC_LOG_TEXT;
    return -1;
}

/* Appends s to buf as the inside of a JSON string; returns the new length. */
static size_t json_escape(char *buf, size_t pos, size_t cap, const char *s)
{
    for (; *s && pos + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[pos++] = '\\';
            buf[pos++] = (char)c;
        } else if (c == '\n') {
            buf[pos++] = '\\';
            buf[pos++] = 'n';
        } else if (c < 0x20) {
            pos += (size_t)snprintf(buf + pos, cap - pos, "\\u%04x", c);
        } else {
            buf[pos++] = (char)c;
        }
    }
    return pos;
}

void atc_log_write(enum atc_log_level level, const char *job, const char *fmt, ...)
{
    char msg[2048];
    char line[4096];
    char ts[40];
    struct tm tm;
    size_t pos = 0;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    int64_t now_ms = atc_clock_wall_ms();
    time_t now_s = (time_t)(now_ms / 1000);
    gmtime_r(&now_s, &tm);
    size_t tl = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + tl, sizeof(ts) - tl, ".%03dZ", (int)(now_ms % 1000));

    if (log_format == ATC_LOG_JSON) {
        pos = (size_t)snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"",
                               ts, level_names[level]);
        pos = json_escape(line, pos, sizeof(line) - 64, log_component);
        if (job) {
            pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "\",\"job\":\"");
            pos = json_escape(line, pos, sizeof(line) - 64, job);
        }
        pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "\",\"msg\":\"");
        pos = json_escape(line, pos, sizeof(line) - 4, msg);
        line[pos++] = '"';
        line[pos++] = '}';
    } else {
        int n = snprintf(line, sizeof(line), "%s %-5s %s%s%s%s", ts, level_names[level],
                         log_component, job ? " job=" : "", job ? job : "", "");
        pos = n < 0 ? 0 : (size_t)n;
        if (pos > sizeof(line) - 2)
            pos = sizeof(line) - 2;
        n = snprintf(line + pos, sizeof(line) - pos, " %s", msg);
        if (n > 0)
            pos += (size_t)n;
        if (pos > sizeof(line) - 2)
            pos = sizeof(line) - 2;
    }
    line[pos++] = '\n';

    pthread_mutex_lock(&log_lock);
    fwrite(line, 1, pos, stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
}
