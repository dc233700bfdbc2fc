-- replay.lua: reset an error result so a replayed job runs again (atc replay-dlq).
-- KEYS[1] hash, KEYS[2] done list, KEYS[3] cancel mark, KEYS[4] the producer's
-- queued mark (atc:queued:<id>); ARGV[1] 1 where a
-- rejected result may be reset, ARGV[2] 1 to change nothing, ARGV[3] now (ms),
-- ARGV[4] ttl. Returns {outcome, status found}: 0 kept (a final status that is
-- never reset), 1 reset (error, or rejected where allowed), 2 no hash (now
-- queued), 3 queued by an earlier replay, 4 running or queued by a submit, 5 a
-- cancel was asked. A reset keeps attempt, submitted_ms, labels, traceparent
-- and replayed, sets status queued, replayed + 1, replayed_ms and the TTL, and
-- deletes the done list (which would wake waiters at once).
local st = redis.call('HGET', KEYS[1], 'status')
local function requeue()
  if ARGV[2] == '1' then return end
  local keep = {attempt=true, submitted_ms=true, labels=true, traceparent=true,
                replayed=true}
  local drop = {}
  for _, k in ipairs(redis.call('HKEYS', KEYS[1])) do
    if not keep[k] then drop[#drop + 1] = k end
  end
  if #drop > 0 then redis.call('HDEL', KEYS[1], unpack(drop)) end
  redis.call('HINCRBY', KEYS[1], 'replayed', 1)
  redis.call('HSET', KEYS[1], 'status', 'queued', 'replayed_ms', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('DEL', KEYS[2])
end
if st == 'running' then return {4, st} end
if not st and redis.call('EXISTS', KEYS[4]) == 1 then return {4, 'queued'} end
if st == 'queued' then
  if redis.call('HEXISTS', KEYS[1], 'replayed') == 1 then return {3, st} end
  return {4, st}
end
if st and st ~= 'error' and not (st == 'rejected' and ARGV[1] == '1') then
  return {0, st}
end
if redis.call('EXISTS', KEYS[3]) == 1 then return {5, st or ''} end
requeue()
if st then return {1, st} end
return {2, ''}
