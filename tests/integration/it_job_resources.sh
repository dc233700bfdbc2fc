#!/usr/bin/env bash
# it_job_resources.sh: per-job resources (cpu, memory_gib, disk_gib). Daytona
# takes resources only with a snapshot, so a job asking for them gets an
# environment of its own size (no deps: a Dockerfile with no pip line), and
# daytona-local gives a snapshot's memory and CPUs to its sandboxes. A test
# touching 1.5 GiB ends failed/oom with memory_gib=1 and passes with
# memory_gib=2 (daytona-local's default is 4 GiB here, so the job's own size
# is what decides); cpu=1 leaves its commands one CPU; a job over a cap
# (ATC_MAX_MEMORY_GIB=2) is rejected naming the cap. One job at a time, so
# the machine holds at most one 1.5 GiB test.
# kafka-mock only: its subject is the sandbox side (Daytona, the runner, Redis);
# the Kafka path it takes is the one the integration.real.* tests cover.
source "$(dirname "$0")/lib.sh"

it_start_redis
it_start_kafka --partitions 1
it_start_daytona --confine --sandbox-memory-gib 4
ATC_CONCURRENCY=1 ATC_MAX_MEMORY_GIB=2 it_start_worker worker
it_wait_for 60 "the worker in the group" curl -fsS "$WORKER_HTTP/readyz"
cd "$IT_TMP"
cat >test_hog.py <<'PY'
import time

def test_touch_1_5_gib():
    chunks = []
    for _ in range(24):                      # 24 x 64 MiB, each page written
        chunks.append(b"x" * (64 << 20))
    time.sleep(3)                            # and held, as real work would
    assert len(chunks) == 24
PY
cat >test_cpus.py <<'PY'
import os

def test_one_cpu():
    assert len(os.sched_getaffinity(0)) == 1
PY
it_expect_exit 0 it_atc submit --id small --tests test_hog.py --timeout 60 --memory 1
it_expect_exit 0 it_atc submit --id big --tests test_hog.py --timeout 60 --memory 2
it_expect_exit 0 it_atc submit --id over --tests test_hog.py --timeout 60 --memory 3
ncpu=$(nproc)
if ((ncpu > 1)); then
    it_expect_exit 0 it_atc submit --id cpus --tests test_cpus.py --timeout 60 --cpu 1
    printf '%s\n' small big over cpus >all.ids
else
    printf '%s\n' small big over >all.ids
fi
it_wait_all_final all.ids 240
field() { it_redis HGET "atc:result:$1" "$2"; }
while read -r id; do
    it_log "$id: $(field "$id" status)/$(field "$id" reason) env $(field "$id" env)" \
        "($(field "$id" env_status)) resources $(field "$id" resources)," \
        "peak $(field "$id" peak_memory_bytes) B: $(field "$id" error)"
done <all.ids
it_assert_eq "$(field small status)/$(field small reason)" failed/oom "memory_gib=1"
it_assert_eq "$(field small resources)" "memory=1" "small: resources applied"
it_assert_eq "$(field big status)" passed "memory_gib=2"
it_assert_eq "$(field big resources)" "memory=2" "big: resources applied"
big_rss=$(field big peak_memory_bytes)
((big_rss > (1 << 30))) || it_fail "big: peak_memory_bytes $big_rss, expected over 1 GiB"
[[ "$(field small env)" != "$(field big env)" ]] || it_fail "one environment for two sizes"
it_assert_eq "$(field over status)" rejected "memory_gib=3 over the cap"
it_assert_contains "$(field over error)" "ATC_MAX_MEMORY_GIB" "over: error names the cap"
[[ -z "$(field over sandbox)" ]] || it_fail "over: a sandbox was made"
if ((ncpu > 1)); then
    it_assert_eq "$(field cpus status)" passed "cpu=1: its commands see one CPU"
    it_assert_eq "$(field cpus resources)" "cpu=1" "cpus: resources applied"
fi
kill -0 "$WORKER_PID" || it_fail "the worker died"
it_wait_eq 15 "no live sandbox in daytona-local" 0 it_daytona_live
it_log "ok"
