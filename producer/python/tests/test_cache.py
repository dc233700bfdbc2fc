"""test_cache.py: the same job twice with the cache on: the second result is
the first's, marked cached, and only one sandbox is created."""

import uuid

import pytest

TESTS = "def test_ok():\n    assert 1 + 1 == 2\n"


def test_cache__same_job_twice__second_is_the_cached_first(stack, client):
    marker = "# %s\n" % uuid.uuid4().hex  # unlike any job an earlier test sent
    created = stack.daytona_stats()["created"]
    first = client.submit(code="x = 1\n" + marker, tests=TESTS, cache=True)
    r1 = client.wait(first, 180)
    assert r1.status == "passed" and r1.cached is False
    second = client.submit(code="x = 1\n" + marker, tests=TESTS, cache=True)
    r2 = client.wait(second, 60)
    if not r2.cached and stack.daytona_stats()["created"] == created + 2:
        pytest.xfail("the worker has no result cache yet")
    assert r2.cached is True and r2.cached_from == first
    assert (r2.status, r2.tests_passed) == (r1.status, r1.tests_passed)
    assert stack.daytona_stats()["created"] == created + 1


def test_cache__off__runs_again(stack, client):
    marker = "# %s\n" % uuid.uuid4().hex
    first = client.submit(code="x = 1\n" + marker, tests=TESTS)
    client.wait(first, 180)
    r2 = client.wait(client.submit(code="x = 1\n" + marker, tests=TESTS), 180)
    assert r2.cached is False and r2.cached_from is None
