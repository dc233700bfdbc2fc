-- env_claim.lua: claim (or keep) the build of a dependency environment
-- (worker/envs.c). KEYS[1] the claim key, KEYS[2] the env hash; ARGV[1] the
-- claimant's token, ARGV[2] the claim's lifetime in ms. 1: the claim is the
-- token's (taken now, or its lifetime renewed); 0: another claimant holds it;
-- 2: the build has ended meanwhile (the hash has a state): read it again.
-- One script, so that a build that ends between a waiter's read and its
-- claim is not started a second time.
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if cur then return 0 end
if redis.call('HGET', KEYS[2], 'state') then return 2 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
