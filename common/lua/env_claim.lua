-- env_claim.lua: claim (or keep) the build of a dependency environment
-- (worker/envs.c). KEYS[1] the claim key; ARGV[1] the claimant's token,
-- ARGV[2] the claim's lifetime in ms. 1: the claim is the token's (taken now,
-- or its lifetime renewed); 0: another claimant holds it.
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
