-- final.lua: the one final result of a job (atc_results_write_final).
-- KEYS[1] hash, KEYS[2] done list, KEYS[3] stream, KEYS[4] the producer's
-- queued mark; ARGV[1] id, ARGV[2] status, ARGV[3] ttl, then name, value
-- pairs. 0 when a final status was already there (nothing changed), 1 when
-- written and notified. submitted_ms and group of the queued mark are kept
-- where neither the hash nor the fields have them; the mark is deleted.
local final = {passed=true, failed=true, error=true, timeout=true,
               rejected=true, cancelled=true}
local st = redis.call('HGET', KEYS[1], 'status')
if st and final[st] then return 0 end
local q = redis.call('HMGET', KEYS[4], 'submitted_ms', 'group')
for i, name in ipairs({'submitted_ms', 'group'}) do
  if q[i] then redis.call('HSETNX', KEYS[1], name, q[i]) end
end
redis.call('DEL', KEYS[4])
local args = {'status', ARGV[2]}
for i = 4, #ARGV - 1, 2 do
  if ARGV[i] ~= 'status' then
    args[#args + 1] = ARGV[i]
    args[#args + 1] = ARGV[i + 1]
  end
end
redis.call('HSET', KEYS[1], unpack(args))
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', '100000', '*',
           'id', ARGV[1], 'status', ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
