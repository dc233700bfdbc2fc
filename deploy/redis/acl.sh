#!/usr/bin/env bash
# acl.sh: prints the Redis ACL users of atc-fleet (an aclfile for redis-server
# >= 7, `aclfile` in redis.conf), from the passwords in the environment:
#   ATC_REDIS_WORKER_PASSWORD    the workers' user, atc-worker
#   ATC_REDIS_PRODUCER_PASSWORD  the producers' user, atc-producer (atc, the
#                                Python client)
# Passwords are written as SHA-256 (#...), never in clear.
#
# atc-worker reads and writes the keys atc:* and runs scripts. atc-producer
# may submit (the queued mark), read, wait and cancel: it reads atc:*, writes
# only the keys of a job's result, its done list, its cancel mark and the
# results stream, runs only the two scripts it needs, allowed by their SHA-1
# (queued.lua, cancel.lua from common/lua: EVALSHA with that first argument),
# and no admin command. It cannot touch a cache entry (atc:cache:*) or a
# worker's liveness key, nor run a script of its own.
# NOT achieved: Redis checks the commands a script runs against the caller's
# user, so the commands the queued mark and the cancel run (HSET, SET, RPUSH,
# XADD, EXPIRE) are the producer's too, and it can HSET a result hash
# directly. Closing that needs the queued mark and the cancel request in keys
# of the producer's own, which the workers then read (docs/operations.md).
# The workers load the two scripts (SCRIPT LOAD) when they start, since a
# producer may not send EVAL; after a Redis restart, submit waits for a worker.
# The default user is left to the caller: add `user default off` in production.
# Usage: ATC_REDIS_WORKER_PASSWORD=... ATC_REDIS_PRODUCER_PASSWORD=... deploy/redis/acl.sh >users.acl
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lua="$here/../../common/lua"
: "${ATC_REDIS_WORKER_PASSWORD:?set ATC_REDIS_WORKER_PASSWORD}"
: "${ATC_REDIS_PRODUCER_PASSWORD:?set ATC_REDIS_PRODUCER_PASSWORD}"
sha1() { sha1sum "$1" | cut -c1-40; }
sha256() { printf '%s' "$1" | sha256sum | cut -c1-64; }
queued=$(sha1 "$lua/queued.lua")
cancel=$(sha1 "$lua/cancel.lua")
echo "user atc-worker on #$(sha256 "$ATC_REDIS_WORKER_PASSWORD") resetkeys ~atc:* resetchannels" \
    "-@all +@read +@write +@scripting +@connection -@dangerous +script|load"
echo "user atc-producer on #$(sha256 "$ATC_REDIS_PRODUCER_PASSWORD") resetkeys %R~atc:*" \
    "~atc:result:* ~atc:done:* ~atc:cancel:* ~atc:results resetchannels -@all" \
    "+@connection +hgetall +hget +hmget +get +mget +exists +xread +xrange +xrevrange +blmove" \
    "+hset +set +rpush +xadd +expire" \
    "+evalsha|$queued +evalsha|$cancel"
