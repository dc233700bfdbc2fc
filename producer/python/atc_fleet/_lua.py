"""_lua.py: the Redis scripts the client runs. They are libatc's own files
(common/lua, linked into this package as lua/), so the C worker, `atc` and
this client change Redis with the very same code."""

from importlib import resources

FINAL_STATUSES = frozenset(
    ("passed", "failed", "error", "timeout", "rejected", "cancelled"))


def _script(name):
    return resources.files(__package__).joinpath("lua", name + ".lua").read_text("utf-8")


# KEYS[1] hash; ARGV[1] submitted_ms, ARGV[2] ttl.
QUEUED = _script("queued")

# KEYS[1] hash, KEYS[2] done list, KEYS[3] stream, KEYS[4] cancel mark;
# ARGV[1] id, ARGV[2] ttl, ARGV[3] finished_ms.
# 0 already final, 1 cancelled (was queued), 2 cancel requested (running),
# 3 no result existed: marked cancelled so that it never runs.
CANCEL = _script("cancel")
