#!/usr/bin/env bash
# acl.sh: prints the Redis ACL users of atc-fleet (an aclfile for redis-server
# >= 7.0, `aclfile` in redis.conf: it uses key selectors), from the passwords
# in the environment:
#   ATC_REDIS_WORKER_PASSWORD    the workers' user, atc-worker
#   ATC_REDIS_PRODUCER_PASSWORD  the producers' user, atc-producer (atc, the
#                                Python client)
# Passwords are written as SHA-256 (#...), never in clear.
#
# atc-worker reads and writes the keys atc:* and runs scripts; no admin or
# dangerous command (FLUSHALL, CONFIG, KEYS, ...).
#
# atc-producer may submit, read, wait and cancel, and write nothing a verdict
# is made of. It reads atc:*, and writes only keys of its own, each with only
# the commands it needs (a selector per key pattern):
#   atc:queued:<id>  HSET, EXPIRE  the queued mark (in MULTI/EXEC, under a WATCH
#                                  of the result: only while no worker wrote it)
#   atc:cancel:<id>  SET           the cancel mark
#   atc:cancels      XADD          the cancel nudge the workers read
#   atc:done:<id>    BLMOVE        waiting for a result (moves the element
#                                  onto the same list)
# It runs no script (no EVAL, EVALSHA, FUNCTION), so it cannot write a result
# hash (atc:result:*), the results stream (atc:results), a done list (no
# RPUSH, LPUSH, LMOVE), a cache entry (atc:cache:*), an environment or a
# worker's liveness key, nor delete anything or use an admin command. A
# cancel's final result is written by a worker (common/lua/cancel_final.lua).
# What it still can (docs/operations.md, "Security model"): cancel any job not
# final; remove a cancel mark before a worker acted on it (SET with a short
# TTL); write a queued mark for any id no worker has started (its
# submitted_ms and group end up in the result); BLMOVE an element from one
# done list to another (a waiter on the second wakes to a result not final
# and reports it); read every result.
# The default user is left to the caller: add `user default off` in production.
# Usage: ATC_REDIS_WORKER_PASSWORD=... ATC_REDIS_PRODUCER_PASSWORD=... deploy/redis/acl.sh >users.acl
set -euo pipefail
: "${ATC_REDIS_WORKER_PASSWORD:?set ATC_REDIS_WORKER_PASSWORD}"
: "${ATC_REDIS_PRODUCER_PASSWORD:?set ATC_REDIS_PRODUCER_PASSWORD}"
sha256() { printf '%s' "$1" | sha256sum | cut -c1-64; }
echo "user atc-worker on #$(sha256 "$ATC_REDIS_WORKER_PASSWORD") resetkeys ~atc:* resetchannels" \
    "-@all +@read +@write +@scripting +@connection -@dangerous"
echo "user atc-producer on #$(sha256 "$ATC_REDIS_PRODUCER_PASSWORD") resetkeys %R~atc:*" \
    "resetchannels -@all +@connection" \
    "+hgetall +hget +hmget +get +mget +exists +xread +xrange +xrevrange +multi +exec" \
    "+watch +unwatch" \
    "(~atc:queued:* +hset +expire) (~atc:cancel:* +set) (~atc:cancels +xadd)" \
    "(~atc:done:* +blmove)"
