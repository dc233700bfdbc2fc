"""_lua.py: the Redis scripts the client runs, copies of those in
common/src/results.c (tests/test_cancel_parity.py checks they behave alike)."""

FINAL_STATUSES = frozenset(
    ("passed", "failed", "error", "timeout", "rejected", "cancelled"))

_FINAL_TABLE = (
    "local final = {passed=true, failed=true, error=true, timeout=true,\n"
    "               rejected=true, cancelled=true}\n")

# KEYS[1] hash; ARGV[1] submitted_ms, ARGV[2] ttl (results_lua_queued).
QUEUED = (
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'status', 'queued', 'submitted_ms', ARGV[1])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
    "return 1\n")

# KEYS[1] hash, KEYS[2] done list, KEYS[3] stream, KEYS[4] cancel mark;
# ARGV[1] id, ARGV[2] ttl, ARGV[3] finished_ms (results_lua_cancel).
# 0 already final, 1 cancelled (was queued), 2 cancel requested (running),
# 3 no result existed: marked cancelled so that it never runs.
CANCEL = (
    _FINAL_TABLE
    + "local st = redis.call('HGET', KEYS[1], 'status')\n"
    "if st and final[st] then return 0 end\n"
    "redis.call('SET', KEYS[4], '1', 'EX', ARGV[2])\n"
    "if st == 'running' then\n"
    "  redis.call('HSET', KEYS[1], 'cancel_requested', '1')\n"
    "  return 2\n"
    "end\n"
    "local existed = redis.call('EXISTS', KEYS[1])\n"
    "redis.call('HSET', KEYS[1], 'status', 'cancelled', 'reason', 'cancelled',\n"
    "           'error', 'cancelled before it ran', 'finished_ms', ARGV[3])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
    "redis.call('XADD', KEYS[3], 'MAXLEN', '~', '100000', '*',\n"
    "           'id', ARGV[1], 'status', 'cancelled')\n"
    "redis.call('RPUSH', KEYS[2], 'cancelled')\n"
    "redis.call('EXPIRE', KEYS[2], ARGV[2])\n"
    "if existed == 1 then return 1 end\n"
    "return 3\n")
