/* results_priv.h: one command on a result store's connection, for libatc's
 * other Redis users (env_store.c). Private to libatc. */
#ifndef ATC_RESULTS_PRIV_H
#define ATC_RESULTS_PRIV_H

#include <stddef.h>
#include <hiredis/hiredis.h>

#include "atc/results.h"

/* Runs argv (a script of common/lua goes as EVALSHA), connecting first where
 * needed. On success *out is the reply (caller frees with freeReplyObject);
 * otherwise ATC_ECONN (the connection is dropped, the next call reconnects),
 * ATC_EIO or ATC_EAUTH for an error reply, with err set. what names the call
 * in messages. */
int atc_results_run_(struct atc_results *r, const char *what, int argc, const char **argv,
                     const size_t *lens, redisReply **out, char *err, size_t errlen);

#endif
