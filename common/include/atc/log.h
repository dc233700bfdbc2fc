/* log.h: the one logger: JSON lines or text on stderr, a level check before the
 * arguments are evaluated, the job id on every line about a job. Thread-safe. */
#ifndef ATC_LOG_H
#define ATC_LOG_H

enum atc_log_level { ATC_LOG_DEBUG, ATC_LOG_INFO, ATC_LOG_WARN, ATC_LOG_ERROR };
enum atc_log_format { ATC_LOG_JSON, ATC_LOG_TEXT };

extern enum atc_log_level atc_log_min_level;

/* Sets the level, format and the component named on every line (e.g. the
 * worker id). component is copied. */
void atc_log_init(enum atc_log_level level, enum atc_log_format format,
                  const char *component);

/* Parses "debug", "info", "warn", "error"; -1 when unknown. */
int atc_log_level_parse(const char *s);
/* Parses "json", "text"; -1 when unknown. */
int atc_log_format_parse(const char *s);

/* Writes one line. job may be NULL. Use the ATC_LOG* macros instead. */
void atc_log_write(enum atc_log_level level, const char *job, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ATC_LOGJ(level, job, ...)                                              \
    do {                                                                       \
        if ((level) >= atc_log_min_level)                                      \
            atc_log_write((level), (job), __VA_ARGS__);                        \
    } while (0)
#define ATC_DEBUG(job, ...) ATC_LOGJ(ATC_LOG_DEBUG, job, __VA_ARGS__)
#define ATC_INFO(job, ...) ATC_LOGJ(ATC_LOG_INFO, job, __VA_ARGS__)
#define ATC_WARN(job, ...) ATC_LOGJ(ATC_LOG_WARN, job, __VA_ARGS__)
#define ATC_ERROR(job, ...) ATC_LOGJ(ATC_LOG_ERROR, job, __VA_ARGS__)

#endif
