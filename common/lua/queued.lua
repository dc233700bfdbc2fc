-- queued.lua: the queued mark of a submitted job (atc_results_mark_queued; the Python client too).
-- KEYS[1] hash; ARGV[1] submitted_ms, ARGV[2] ttl, ARGV[3] the job's group
-- (optional; kept so that a race candidate cancelled while queued still names
-- it). Writes only where the key does not exist; the TTL makes a job that
-- never runs vanish eventually.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'queued', 'submitted_ms', ARGV[1])
if ARGV[3] and ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'group', ARGV[3]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
