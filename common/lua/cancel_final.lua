-- cancel_final.lua: a worker acts on a cancel a producer asked for
-- (atc_results_cancel_finalise; the producer set atc:cancel:<id> and added a
-- nudge to atc:cancels). KEYS[1] hash, KEYS[2] done list, KEYS[3] stream,
-- KEYS[4] cancel mark, KEYS[5] the producer's queued mark; ARGV[1] id, ARGV[2]
-- ttl, ARGV[3] finished_ms. Every worker runs it for every nudge: the first
-- changes what there is to change, the others find nothing to do.
-- 4: no cancel mark (nothing asked, or it expired): nothing changed.
-- 0: already final: nothing changed.
-- 2: running: cancel_requested=1; the worker running it stops it (it watches
--    the mark) and writes the final result.
-- 1 (3 when there was neither a hash nor a queued mark): queued, or not
--    known yet: the final result
--    cancelled with the notifications of the final write, keeping submitted_ms
--    and group of the queued mark; a worker consuming the job later skips it.
if redis.call('EXISTS', KEYS[4]) == 0 then return 4 end
local final = {passed=true, failed=true, error=true, timeout=true,
               rejected=true, cancelled=true}
local st = redis.call('HGET', KEYS[1], 'status')
if st and final[st] then return 0 end
if st == 'running' then
  redis.call('HSET', KEYS[1], 'cancel_requested', '1')
  return 2
end
local existed = redis.call('EXISTS', KEYS[1], KEYS[5])
local q = redis.call('HMGET', KEYS[5], 'submitted_ms', 'group')
for i, name in ipairs({'submitted_ms', 'group'}) do
  if q[i] then redis.call('HSETNX', KEYS[1], name, q[i]) end
end
redis.call('DEL', KEYS[5])
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'reason', 'cancelled',
           'error', 'cancelled before it ran', 'finished_ms', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', '100000', '*',
           'id', ARGV[1], 'status', 'cancelled')
redis.call('RPUSH', KEYS[2], 'cancelled')
redis.call('EXPIRE', KEYS[2], ARGV[2])
if existed > 0 then return 1 end
return 3
