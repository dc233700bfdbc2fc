-- running.lua: a worker starts an attempt (atc_results_mark_running).
-- KEYS[1] hash, KEYS[2] the producer's queued mark (atc:queued:<id>); ARGV[1]
-- ttl, then name, value pairs. -1 when final, else the new attempt number.
-- The caller's status and attempt fields are ignored. submitted_ms and group
-- of the queued mark are kept where the hash has none; the mark is deleted.
local final = {passed=true, failed=true, error=true, timeout=true,
               rejected=true, cancelled=true}
local st = redis.call('HGET', KEYS[1], 'status')
if st and final[st] then return -1 end
local q = redis.call('HMGET', KEYS[2], 'submitted_ms', 'group')
for i, name in ipairs({'submitted_ms', 'group'}) do
  if q[i] then redis.call('HSETNX', KEYS[1], name, q[i]) end
end
redis.call('DEL', KEYS[2])
local attempt = redis.call('HINCRBY', KEYS[1], 'attempt', 1)
local args = {'status', 'running'}
for i = 2, #ARGV - 1, 2 do
  if ARGV[i] ~= 'status' and ARGV[i] ~= 'attempt' then
    args[#args + 1] = ARGV[i]
    args[#args + 1] = ARGV[i + 1]
  end
end
redis.call('HSET', KEYS[1], unpack(args))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return attempt
