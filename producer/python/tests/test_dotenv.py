"""The .env files, read as the Daytona SDK and `atc` read them (atc_fleet._dotenv)."""
import os
import warnings

import pytest

from atc_fleet import _dotenv

TRICKY = (
    "# a comment\n"
    "export ATC_JOBS_TOPIC=jobs.from.file   # trailing comment\n"
    "ATC_GROUP: colon-group\n"
    "DAYTONA_API_KEY='single # not a comment'\n"
    'DAYTONA_TARGET="line1\\nline2"\n'
    "ATC_MULTI=\"a\nb\"\n"
    "ATC_EMPTY=\n"
    "OTHER_APP=ignored\n"
    "ATC_GROUP=later-wins\r\n"
)


def test_parse__follows_dotenv_rules():
    v = _dotenv.parse(TRICKY)
    assert v["ATC_JOBS_TOPIC"] == "jobs.from.file"
    assert v["DAYTONA_API_KEY"] == "single # not a comment"
    assert v["DAYTONA_TARGET"] == "line1\nline2"
    assert v["ATC_MULTI"] == "a\nb"
    assert v["ATC_EMPTY"] == ""
    assert v["ATC_GROUP"] == "later-wins"


def test_load__environment_wins_and_env_local_over_env(tmp_path):
    (tmp_path / ".env").write_text("ATC_JOBS_TOPIC=from-env\nATC_GROUP=g-env\nATC_DLQ_TOPIC=d-env\n")
    (tmp_path / ".env.local").write_text("ATC_JOBS_TOPIC=from-local\n")
    os.chmod(tmp_path / ".env", 0o600)
    values, notes = _dotenv.load(str(tmp_path), environ={"ATC_GROUP": "g-process"})
    assert values == {"ATC_JOBS_TOPIC": "from-local", "ATC_DLQ_TOPIC": "d-env"}
    assert notes == []


def test_load__endpoint_never_from_a_file(tmp_path):
    (tmp_path / ".env").write_text("DAYTONA_API_URL=http://evil.invalid/api\n")
    os.chmod(tmp_path / ".env", 0o600)
    values, notes = _dotenv.load(str(tmp_path), environ={})
    assert "DAYTONA_API_URL" not in values
    assert any("DAYTONA_API_URL set in" in n and "ignored" in n for n in notes)


def test_load__world_readable_file_with_a_key_warns(tmp_path):
    (tmp_path / ".env").write_text("DAYTONA_API_KEY=k\n")
    os.chmod(tmp_path / ".env", 0o644)
    _, notes = _dotenv.load(str(tmp_path), environ={})
    assert any("chmod 600" in n for n in notes)
    os.chmod(tmp_path / ".env", 0o600)
    _, notes = _dotenv.load(str(tmp_path), environ={})
    assert notes == []


def test_client__reads_the_topic_from_env_file(tmp_path, monkeypatch):
    from atc_fleet import Client
    (tmp_path / ".env").write_text("ATC_JOBS_TOPIC=topic.from.dotenv\nATC_KAFKA_CLIENT_ID=from-dotenv\n")
    os.chmod(tmp_path / ".env", 0o600)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ATC_JOBS_TOPIC", raising=False)
    monkeypatch.delenv("ATC_KAFKA_CLIENT_ID", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = Client(brokers="127.0.0.1:1", redis_url="redis://127.0.0.1:1/0")
    try:
        assert c.topic == "topic.from.dotenv"
    finally:
        c.close()
    monkeypatch.setenv("ATC_JOBS_TOPIC", "topic.from.environment")
    c = Client(brokers="127.0.0.1:1", redis_url="redis://127.0.0.1:1/0")
    try:
        assert c.topic == "topic.from.environment"
    finally:
        c.close()
