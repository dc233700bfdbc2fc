-- env_finish.lua: record the end of an environment's build (worker/envs.c).
-- KEYS[1] the env hash, KEYS[2] its claim, KEYS[3] the LRU set (atc:envs);
-- ARGV[1] state (active or failed), ARGV[2] a failure's lifetime in s,
-- ARGV[3] now (ms), ARGV[4] the env's name, ARGV[5] the builder's token, then
-- field/value pairs. An active env stays until GC drops it and joins the LRU
-- set; a failed one is forgotten after ARGV[2] s. The claim is released when
-- it is still the builder's.
local n = #ARGV
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'updated_ms', ARGV[3])
for i = 6, n - 1, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
if ARGV[1] == 'failed' then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
else
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
end
if redis.call('GET', KEYS[2]) == ARGV[5] then
  redis.call('DEL', KEYS[2])
end
return 1
