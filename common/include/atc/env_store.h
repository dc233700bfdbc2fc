/* env_store.h: the fleet-wide state of dependency environments in Redis
 * (docs/results.md, "Redis layout"): per environment a hash atc:env:<name>
 * (state active or failed, snapshot id, pip's output of a failed build, the
 * environment's pip freeze, build time), a build claim atc:env:<name>:claim
 * with a lifetime its builder renews, a set of leases atc:env:<name>:users
 * (jobs running on it), and the LRU set atc:envs (name -> last use, ms).
 * Every call uses a result store's connection (atc/results.h); one thread at
 * a time per store, as the store's own calls. */
#ifndef ATC_ENV_STORE_H
#define ATC_ENV_STORE_H

#include <stddef.h>
#include "atc/results.h"

struct atc_env_state {
    char state[16];             /* "active", "failed", or "" (unknown) */
    char snapshot_id[128];
    char *error;                /* a failed build's message (malloc'd) or NULL */
    char *freeze;               /* pip freeze of the environment (malloc'd) or NULL */
    long long build_ms;         /* how long its build took; -1 if unknown */
};

/* Reads the state of name into *st (zeroed first; release with
 * atc_env_state_cleanup). 0 or an ATC_* code with err. */
int atc_env_store_get(struct atc_results *r, const char *name, struct atc_env_state *st,
                      char *err, size_t errlen);
void atc_env_state_cleanup(struct atc_env_state *st); /* accepts NULL */

/* Takes the build claim of name for token, or renews it when token holds it:
 * *claimed 1; 0 when another claimant holds it; 2 when nobody does but the
 * build has ended (the state is set: read it again). It lapses after ttl_ms. */
int atc_env_store_claim(struct atc_results *r, const char *name, const char *token, long ttl_ms,
                        int *claimed, char *err, size_t errlen);

/* Records the end of a build by token: state "active" (snapshot_id, build_ms;
 * the env joins the LRU set) or "failed" (error, kept fail_ttl_s seconds),
 * and releases token's claim. error may be NULL. */
int atc_env_store_finish(struct atc_results *r, const char *name, const char *token,
                         const char *state, const char *snapshot_id, const char *error,
                         long long build_ms, long fail_ttl_s, char *err, size_t errlen);

/* Stores the pip freeze of an active environment (first writer wins). */
int atc_env_store_set_freeze(struct atc_results *r, const char *name, const char *freeze,
                             char *err, size_t errlen);

/* A job's lease on name until until_ms (its use also bumps the env in the
 * LRU set); until_ms 0 ends the lease. */
int atc_env_store_use(struct atc_results *r, const char *name, const char *job_id,
                      long long until_ms, char *err, size_t errlen);

/* Picks the environments to drop so that at most max stay: least recently
 * used first, none with a live lease or a build claim. Each picked one is
 * forgotten in Redis at once; the caller deletes its snapshot. *names is a
 * malloc'd array of malloc'd names (free with atc_env_names_free). max
 * ATC_ENV_GC_ONE picks one, however many there are (room for a build that the
 * service refused for its snapshot quota, which may be below ATC_ENV_MAX). */
#define ATC_ENV_GC_ONE (-1L)
int atc_env_store_gc(struct atc_results *r, long max, char ***names, size_t *n, char *err,
                     size_t errlen);

/* Forgets name entirely (state, claim, leases, LRU entry). */
int atc_env_store_forget(struct atc_results *r, const char *name, char *err, size_t errlen);

/* Every environment of the LRU set with its last use (ms), most recent first. */
int atc_env_store_list(struct atc_results *r, char ***names, long long **last_used, size_t *n,
                       char *err, size_t errlen);

void atc_env_names_free(char **names, size_t n);

#endif
