/* dotenv.h: `.env` files read as the official Daytona SDKs read them (SDK
 * 0.218, utils/Runtime.js): `.env.local`, then `.env`, in the working
 * directory; the process environment wins over both, `.env.local` over
 * `.env`. Only DAYTONA_* and the fleet's ATC_* names are taken. The Daytona
 * endpoint (DAYTONA_API_URL, DAYTONA_SERVER_URL) is never taken from a file,
 * as in the SDK: it decides where the key is sent (docs/configuration.md). */
#ifndef ATC_DOTENV_H
#define ATC_DOTENV_H

#include <stddef.h>

#define ATC_DOTENV_MAX_WARNINGS 8

/* What a load did, for the caller to log once its logger is set up. */
struct atc_dotenv_report {
    char files[2][64];          /* the files read, in order of precedence */
    size_t nfiles;
    size_t nset;                /* variables set from the files */
    char warnings[ATC_DOTENV_MAX_WARNINGS][320];
    size_t nwarnings;
};

/* One assignment of a file. */
struct atc_dotenv_var {
    char *name;
    char *value;
};

/* Parses text as the dotenv package's parse() does: lines `[export] NAME=value`
 * or `NAME: value`; values unquoted (up to a `#`, trimmed), or in '', "" or ``
 * (which may span lines; "" turns \n and \r into newline and CR); a later
 * assignment of a name replaces an earlier one. *vars is malloc'd (free with
 * atc_dotenv_vars_free), *n its count. Returns 0 or ATC_ENOMEM. */
int atc_dotenv_parse(const char *text, size_t len, struct atc_dotenv_var **vars, size_t *n);
void atc_dotenv_vars_free(struct atc_dotenv_var *vars, size_t n); /* accepts NULL */

/* 1 when name is one the loader takes from a file: DAYTONA_* or ATC_*,
 * but not DAYTONA_API_URL or DAYTONA_SERVER_URL. */
int atc_dotenv_name_taken(const char *name);

/* 1 when the variable holds a secret (a key, token or password, or a URL with
 * a password in it), for the permission warning. */
int atc_dotenv_is_secret(const char *name, const char *value);

/* Reads dir/.env.local and dir/.env (dir NULL: the working directory) and
 * setenv()s each taken name not already in the environment. Warns (in
 * *report) about a file others may read that holds a secret, and about an
 * endpoint in a file that differs from the one in use. Call it before any
 * thread starts. Returns 0, or ATC_EIO with err set when a file exists but
 * cannot be read (a missing file is no error). */
int atc_dotenv_load(const char *dir, struct atc_dotenv_report *report, char *err, size_t errlen);

#endif
