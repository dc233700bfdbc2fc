"""test_race.py: Client.race runs candidate implementations as one group,
returns once `need` passed and cancels the rest (issue 13, item 5)."""

import time

import pytest

from atc_fleet import Client

from conftest import wait_for

TESTS = "from tool import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"
RIGHT = "def add(a, b):\n    return a + b\n"
# Wrong candidates that take their time: each runs until cancelled (or its
# per-test limit), so the race must stop them.
SLOW_WRONG = "import time\n\ndef add(a, b):\n    time.sleep(%d)\n    return a - b\n"


def test_race__five_candidates_one_right__returns_it_and_stops_the_rest(stack, client):
    cands = [{"code": SLOW_WRONG % (40 + i), "tests": TESTS, "labels": {"cand": str(i)}}
             for i in range(4)]
    cands.insert(2, {"code": RIGHT, "tests": TESTS, "labels": {"cand": "right"}})
    t0 = time.monotonic()
    race = client.race(cands, need=1, timeout=120)
    took = time.monotonic() - t0
    assert race.won
    assert [w.labels["cand"] for w in race.winners] == ["right"]
    assert race.winners[0].status == "passed"
    assert race.winners[0].group == race.group
    assert len(race.ids) == 5 and race.ids[2] == race.winners[0].id
    assert took < 40, "the race waited for the slow candidates (%.1f s)" % took
    losers = [i for i in race.ids if i != race.winners[0].id]
    assert set(race.cancelled) <= set(losers)
    # Every loser ends cancelled (or was final already) within seconds of the race.
    finals = client.wait_all(losers, timeout=30)
    for i, r in finals.items():
        assert r.status in ("cancelled", "failed", "error", "timeout"), (i, r.status)
        assert r.group == race.group
    assert sum(1 for r in finals.values() if r.status == "cancelled") >= 1
    wait_for("every sandbox deleted", lambda: stack.daytona_stats()["live"] == 0, 30, 0.5)


def test_race__that_nobody_can_win__cancels_everything_queued(stack):
    """On a topic no worker reads: nothing passes within the timeout, so the
    race cancels all candidates while they are queued; none ever runs."""
    idle = Client(brokers=stack.brokers, redis_url=stack.redis_url, topic="atc.idle")
    try:
        created = stack.daytona_stats()["created"]
        race = idle.race([{"code": RIGHT, "tests": TESTS}] * 3, need=2, timeout=2,
                         group="race-idle")
        assert not race.won and race.winners == []
        assert sorted(race.cancelled) == sorted(race.ids)
        for i in race.ids:
            r = idle.get(i)
            assert (r.status, r.reason) == ("cancelled", "cancelled")
            assert r.group == "race-idle"  # kept from the queued mark
        assert stack.daytona_stats()["created"] == created
    finally:
        idle.close()


def test_race__bad_arguments__are_refused_before_anything_is_sent(client):
    with pytest.raises(ValueError, match="need"):
        client.race([{"code": RIGHT, "tests": TESTS}], need=0)
    with pytest.raises(ValueError, match="candidates"):
        client.race([])
    with pytest.raises(ValueError, match="group"):
        client.race([{"code": RIGHT, "tests": TESTS, "group": "x"}])
    with pytest.raises(ValueError, match="group"):
        client.race([{"code": RIGHT, "tests": TESTS}], group="bad group")
    with pytest.raises(ValueError, match="reruns"):
        client.submit(code=RIGHT, tests=TESTS, reruns=9)
