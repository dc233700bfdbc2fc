-- env_gc.lua: pick the environments to drop so that at most ARGV[1] stay
-- (worker/envs.c), or one (ARGV[1] -1: room for a build refused for the
-- snapshot quota). KEYS[1] the LRU set (atc:envs); ARGV[2] now (ms),
-- ARGV[3] the key prefix ("atc:env:"). Least recently used first, skipping
-- any with a live lease (a running job) or a build claim. Each one picked
-- leaves the LRU set and its state is forgotten at once, so no new job
-- starts on it; the caller deletes its snapshot. Returns the names.
local max = tonumber(ARGV[1])
local names = redis.call('ZRANGE', KEYS[1], 0, -1)
local over = #names - max
if max < 0 then over = 1 end
local picked = {}
if over <= 0 then return picked end
for _, name in ipairs(names) do
  if #picked >= over then break end
  local users = ARGV[3] .. name .. ':users'
  redis.call('ZREMRANGEBYSCORE', users, '-inf', ARGV[2])
  if redis.call('ZCARD', users) == 0 and redis.call('EXISTS', ARGV[3] .. name .. ':claim') == 0 then
    redis.call('ZREM', KEYS[1], name)
    redis.call('DEL', ARGV[3] .. name)
    picked[#picked + 1] = name
  end
end
return picked
