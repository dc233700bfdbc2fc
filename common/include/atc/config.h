/* config.h: one table of typed options (name, env var, type, default, bounds,
 * secret or not), loaded as defaults, then environment, then command-line
 * options; checked, printed as --help, and logged once with secrets as ***. */
#ifndef ATC_CONFIG_H
#define ATC_CONFIG_H

#include <stddef.h>
#include <stdio.h>

enum atc_opt_type { ATC_OPT_STRING, ATC_OPT_INT, ATC_OPT_BOOL };

#define ATC_SECRET_URL_PASSWORD 2

struct atc_opt {
    const char *name;      /* long option, without "--" */
    const char *env;       /* environment variable, or NULL */
    enum atc_opt_type type;
    const char *def;       /* default, as text; NULL for an empty string */
    long long min, max;    /* bounds for ATC_OPT_INT */
    int secret;            /* 1: never printed; ATC_SECRET_URL_PASSWORD: a URL
                            * printed without its user:password part */
    size_t offset;         /* offsetof the field in the caller's struct:
                            * char * for STRING (malloc'd), long long for INT,
                            * int for BOOL */
    const char *help;
};

/* Loads every option of table[0..n) into base: defaults, then getenv, then
 * argv (--name=value or --name value; --help is left to the caller). Arguments
 * that are not options of the table are collected, in order, into rest (must
 * hold argc entries) and counted in *nrest; "-X k=v" pairs are among them.
 * Returns 0, or ATC_EINVAL with a message naming the option. */
int atc_config_load(const struct atc_opt *table, size_t n, void *base,
                    int argc, char **argv, char **rest, int *nrest,
                    char *err, size_t errlen);

/* Frees the strings loaded into base. */
void atc_config_cleanup(const struct atc_opt *table, size_t n, void *base);

/* Prints every option with its env var, default and help, for --help. */
void atc_config_usage(const struct atc_opt *table, size_t n, FILE *out);

/* Removes the options' secrets (a secret option; a URL option's value with a
 * password) from the environment, once loaded, and wipes their bytes, so
 * that neither a child process nor a reader of /proc/<pid>/environ sees
 * them. Only for the process's own start-up environment: call it before
 * anything setenv()s those names (glibc may reuse a string it allocated). */
void atc_config_scrub_secrets(const struct atc_opt *table, size_t n);

/* Renders the effective configuration as one line "name=value ..." with
 * secrets as ***, into buf. */
void atc_config_describe(const struct atc_opt *table, size_t n, const void *base,
                         char *buf, size_t buflen);

/* Reads a secret from a file (a Kubernetes secret mount), trimming trailing
 * whitespace. *out is malloc'd. Returns 0 or ATC_EIO with err set. */
int atc_config_read_secret_file(const char *path, char **out, char *err, size_t errlen);

#endif
