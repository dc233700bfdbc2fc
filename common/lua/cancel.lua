-- cancel.lua: cancel a job (atc_results_cancel; the Python client too).
-- KEYS[1] hash, KEYS[2] done list, KEYS[3] stream, KEYS[4] cancel mark;
-- ARGV[1] id, ARGV[2] ttl, ARGV[3] finished_ms. 0: already final, nothing
-- changed. Otherwise sets the cancel mark (a worker watches it for its running
-- jobs), then: a queued job (or none known yet) gets its final cancelled
-- result with the notifications of the final write, 1 (3 when there was no
-- hash); a running job gets cancel_requested=1 and the worker ends it, 2.
local final = {passed=true, failed=true, error=true, timeout=true,
               rejected=true, cancelled=true}
local st = redis.call('HGET', KEYS[1], 'status')
if st and final[st] then return 0 end
redis.call('SET', KEYS[4], '1', 'EX', ARGV[2])
if st == 'running' then
  redis.call('HSET', KEYS[1], 'cancel_requested', '1')
  return 2
end
local existed = redis.call('EXISTS', KEYS[1])
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'reason', 'cancelled',
           'error', 'cancelled before it ran', 'finished_ms', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', '100000', '*',
           'id', ARGV[1], 'status', 'cancelled')
redis.call('RPUSH', KEYS[2], 'cancelled')
redis.call('EXPIRE', KEYS[2], ARGV[2])
if existed == 1 then return 1 end
return 3
