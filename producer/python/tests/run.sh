#!/usr/bin/env bash
# run.sh: runs the Python client's tests (pytest) with an interpreter that has
# confluent_kafka, msgpack, redis and pytest: $ATC_PYTHON, else Debian's
# /usr/bin/python3 (python3-confluent-kafka, python3-msgpack, python3-redis,
# python3-pytest), else python3 on the PATH. Exit 77 (skipped) when none has them.
cd "$(dirname "$0")" || exit 1
for py in ${ATC_PYTHON:-} /usr/bin/python3 python3; do
    if "$py" -c 'import confluent_kafka, msgpack, redis, pytest' 2>/dev/null; then
        exec "$py" -m pytest -q -p no:cacheprovider "$@" .
    fi
done
echo "skipped: no Python with confluent_kafka, msgpack, redis and pytest" >&2
echo "(apt-get install python3-confluent-kafka python3-msgpack python3-redis python3-pytest)" >&2
exit 77
