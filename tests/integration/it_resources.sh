#!/usr/bin/env bash
# it_resources.sh: a test touching 3 GiB in a sandbox of 1 GiB (daytona-local's
# default, as Daytona's) is killed and ends failed/oom; the worker lives on.
# Every result that ran carries what it used: peak memory, CPU time and
# sandbox time; a job that spins a second shows about a second of CPU.
# kafka-mock only: its subject is the sandbox side (Daytona, the runner, Redis);
# the Kafka path it takes is the one the integration.real.* tests cover.
source "$(dirname "$0")/lib.sh"

it_start_redis
it_start_kafka --partitions 1
it_start_daytona --confine --sandbox-memory-gib 1
ATC_CONCURRENCY=2 it_start_worker worker
it_wait_for 60 "the worker in the group" curl -fsS "$WORKER_HTTP/readyz"
cd "$IT_TMP"
cat >test_hog.py <<'PY'
import time

def test_touch_3_gib():
    chunks = []
    for _ in range(48):                      # 48 x 64 MiB, each page written
        chunks.append(b"x" * (64 << 20))
    time.sleep(5)                            # and held, as real work would
    assert len(chunks) == 48
PY
cat >test_spin.py <<'PY'
import time

def test_spin_one_second():
    end = time.process_time() + 1.0
    while time.process_time() < end:
        pass
PY
it_expect_exit 0 it_atc submit --id hog --tests test_hog.py --timeout 60
it_expect_exit 0 it_atc submit --id spin --tests test_spin.py --timeout 60
printf '%s\n' hog spin >all.ids
it_wait_all_final all.ids 120
field() { it_redis HGET "atc:result:$1" "$2"; }
for id in hog spin; do
    it_log "$id: $(field $id status)/$(field $id reason) exit $(field $id exit_code)," \
        "peak $(field $id peak_memory_bytes) B, cpu $(field $id cpu_ms) ms," \
        "sandbox $(field $id sandbox_ms) ms: $(field $id error)"
done
it_assert_eq "$(field hog status)/$(field hog reason)" failed/oom "hog"
it_assert_contains "$(field hog error)" "memory" "hog error"
grep -q "over its memory" "$IT_TMP/daytona.log" || it_fail "daytona-local logged no memory kill"
it_assert_eq "$(field spin status)" passed "spin"
spin_cpu=$(field spin cpu_ms)
((spin_cpu >= 900 && spin_cpu < 10000)) || it_fail "spin: cpu_ms $spin_cpu, expected about 1000"
spin_rss=$(field spin peak_memory_bytes)
((spin_rss > (4 << 20) && spin_rss < (1 << 30))) || it_fail "spin: peak_memory_bytes $spin_rss"
((spin_sb=$(field spin sandbox_ms), spin_sb >= 1000)) || it_fail "spin: sandbox_ms $spin_sb"
((spin_sb <= $(field spin duration_ms) + 5)) || it_fail "spin: sandbox_ms beyond the job's duration"
kill -0 "$WORKER_PID" || it_fail "the worker died"
it_wait_eq 15 "no live sandbox in daytona-local" 0 it_daytona_live
it_log "ok"
