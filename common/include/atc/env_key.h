/* env_key.h: the dependency environment of a job, as values: its
 * requirements normalised as pip compares them, the canonical text that says
 * which jobs can share it, the name derived from that text
 * (atc-env-<16 hex of SHA-256>), and the Dockerfile that builds it as a
 * Daytona snapshot. No I/O: the worker's envs module does the talking. */
#ifndef ATC_ENV_KEY_H
#define ATC_ENV_KEY_H

#include <stddef.h>

#define ATC_ENV_NAME_PREFIX "atc-env-"
#define ATC_ENV_NAME_MAX 32     /* "atc-env-" + 16 hex + NUL fits */
#define ATC_ENV_DEP_MAX 512     /* a normalised requirement, NUL included */

/* What decides an environment besides its requirements. */
struct atc_env_base {
    const char *image;          /* the base image (FROM) */
    const char *index_url;      /* pip's --index-url, or NULL/"": pip's default */
    const char *resources;      /* e.g. "cpu=1,memory=1,disk=3"; NULL/"": the
                                 * snapshot defaults (jobs carry no resources yet) */
};

/* Normalises one requirement as the job decoder accepts it (name, optional
 * [extras], optional op-version clauses joined by ','): the name and extras
 * lower-cased with every run of '-', '_' and '.' made one '-' (PEP 503, as pip
 * compares names), extras sorted and deduplicated, the clauses lower-cased
 * (PEP 440 versions are case-insensitive) and sorted. Writes into out.
 * Returns 0, ATC_EINVAL for a requirement the decoder would refuse, or
 * ATC_ETOOBIG when out is too small. */
int atc_env_normalize_dep(const char *dep, char *out, size_t outlen);

/* An environment key, computed from a job's deps. */
struct atc_env_key {
    char name[ATC_ENV_NAME_MAX];    /* atc-env-<16 hex> */
    char hex[65];                   /* the whole SHA-256 of text */
    char **deps;                    /* normalised, sorted, deduplicated (owned) */
    size_t ndeps;
    char *text;                     /* the canonical text hashed (owned) */
};

/* Computes the key of deps[0..ndeps) on base. Two dependency lists that pip
 * would install the same way (case, '_'/'.', order, duplicates aside) on the
 * same base give the same name; any other difference gives another. key is
 * the caller's, released with atc_env_key_cleanup. Returns 0, ATC_EINVAL
 * (no deps, a bad requirement, no base image; err says which), ATC_ENOMEM or
 * ATC_EIO. */
int atc_env_key_compute(const char *const *deps, size_t ndeps, const struct atc_env_base *base,
                        struct atc_env_key *key, char *err, size_t errlen);

void atc_env_key_cleanup(struct atc_env_key *key); /* accepts NULL; leaves it zeroed */

/* 1 when name has the form atc-env-<16 lower-case hex>. */
int atc_env_name_valid(const char *name);

/* The Dockerfile that builds key on base: "FROM <image>", then one
 * "RUN python -m pip install --no-cache-dir [--index-url '<url>'] '<dep>'..."
 * with each requirement its own single-quoted argument (the decoder lets no
 * quote into a requirement; an index URL holding a quote, space or control
 * character is refused). Returns a malloc'd string (caller frees), or NULL
 * with err set. */
char *atc_env_dockerfile(const struct atc_env_key *key, const struct atc_env_base *base,
                         char *err, size_t errlen);

#endif
