#!/usr/bin/env bash
# it_broker_outage.sh: the brokers go down for ~15 s mid-run and come back
# (it_kafka_down/it_kafka_up: kafka-mock's fault injection, or a real broker
# stopped and started). Jobs in flight still end; `atc submit` fails (exit 2)
# while the brokers are down; /readyz turns 503 once the worker's group session
# has timed out (it is out of the group) and 200 again after the brokers are
# back; the same worker process, not restarted, runs the jobs submitted after
# the brokers are back.
source "$(dirname "$0")/lib.sh"

it_start_redis
it_start_kafka --partitions 2
it_start_daytona
ATC_CONCURRENCY=8 ATC_LOG_LEVEL=info ATC_KAFKA_SESSION_TIMEOUT_MS=6000 \
    ATC_KAFKA_HEARTBEAT_INTERVAL_MS=500 it_start_worker worker
worker_pid=$WORKER_PID
it_wait_for 90 "the worker in the group" curl -fsS "$WORKER_HTTP/readyz"

cd "$IT_TMP"
echo 'x' >job.txt
it_produce_jobs before 16 'sleep 3' 30
running_at_least() { (($(it_job_states before.ids | awk '$2 == "running"' | wc -l) >= $1)); }
it_wait_for 60 "4 jobs running" running_at_least 4
it_kafka_down
it_job_states before.ids | awk '$2 == "running" {print $1}' >inflight.ids
it_log "brokers down with $(it_count_final before.ids) of 16 jobs final, $(wc -l <inflight.ids) running"
[[ -s inflight.ids ]] || it_fail "no job running when the brokers went down"
down_at=$SECONDS
it_expect_exit 2 it_atc -X message.timeout.ms=3000 submit --file job.txt=job.txt --cmd true \
    --id during-1
it_log "atc submit while the brokers are down: exit 2: $IT_ERR"
# The session (6 s) times out without a coordinator: the assignment is lost and
# the worker is no longer a member of the group, whatever it had before.
it_wait_eq 30 "/readyz 503 while the brokers are down" 503 it_http_code "$WORKER_HTTP/readyz"
it_assert_contains "$(curl -s "$WORKER_HTTP/readyz")" "not in the consumer group" "/readyz body"
it_log "/readyz 503 after $((SECONDS - down_at)) s of outage"
# The jobs running still end: results go to Redis, which is up.
it_wait_all_final inflight.ids 60
while ((SECONDS - down_at < 15)); do sleep 1; done
kill -0 "$worker_pid" || it_fail "the worker died while the brokers were down"
it_kafka_up
it_log "brokers up after $((SECONDS - down_at)) s"

# Submitted with the CLI after the outage: each must be acknowledged and run
# by the same worker process.
it_submit_many after 10 4 --file job.txt=job.txt --cmd 'sleep 1' --timeout 30
it_wait_all_final after.ids 120
it_wait_all_final before.ids 60
cat before.ids after.ids >all.ids
it_assert_one_final_result all.ids
notpassed=$(awk '$2 != "passed"' states.txt)
[[ -z "$notpassed" ]] || it_fail "jobs not passed: $(head -n 5 <<<"$notpassed")"
kill -0 "$worker_pid" || it_fail "the worker is gone"
it_assert_eq "$(grep -c 'starting atc-worker' worker.log)" 1 "worker starts"
it_assert_eq "$(it_redis EXISTS atc:result:during-1)" 0 "a result for the job refused during the outage"
it_wait_eq 30 "/readyz 200 after the outage" 200 it_http_code "$WORKER_HTTP/readyz"
it_wait_eq 15 "no live sandbox in daytona-local" 0 it_daytona_live
it_log "ok"
