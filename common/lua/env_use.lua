-- env_use.lua: a job starts or stops using an environment (worker/envs.c).
-- KEYS[1] the env's users set, KEYS[2] the LRU set; ARGV[1] the job id,
-- ARGV[2] the lease's end (ms; 0: the job is done), ARGV[3] now (ms),
-- ARGV[4] the env's name. A lease that ends keeps GC away until then even
-- when its worker dies without saying so.
if ARGV[2] == '0' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
if redis.call('ZSCORE', KEYS[2], ARGV[4]) then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
end
return 1
