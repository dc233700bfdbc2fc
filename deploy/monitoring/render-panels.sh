#!/usr/bin/env bash
# render-panels.sh: draws each panel of dashboards/atc-fleet.json as a PNG
# (docs/monitoring/) from real metrics of a run: redis-server, kafka-mock and
# daytona-local (with injected 429s and slow commands), two atc-workers, a real
# Prometheus server (Debian's prometheus) scraping them every 2 s, and a mixed
# load of jobs submitted with `atc` for RENDER_SECONDS (default 240). Each
# panel's queries are the dashboard's own, evaluated by that Prometheus
# (query_range; $__rate_interval = 30s, $job and $instance = all), and drawn
# with gnuplot (Debian's gnuplot-nox). Everything runs on 127.0.0.1 and is
# stopped at the end.
#   ATC_BIN_DIR=build/bin deploy/monitoring/render-panels.sh [OUT_DIR]
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(cd "$root" && mkdir -p "${1:-docs/monitoring}" && cd "${1:-docs/monitoring}" && pwd)
IT_LIB_DIR=$root/tests/integration
source "$IT_LIB_DIR/lib.sh"
command -v prometheus >/dev/null || it_fail "prometheus is not installed (apt-get install prometheus)"
command -v gnuplot >/dev/null || it_fail "gnuplot is not installed (apt-get install gnuplot-nox)"
secs=${RENDER_SECONDS:-240}

it_start_redis
it_start_kafka --partitions 8
# Slow commands, so that jobs overlap; a create limit, so that 429s and the
# breaker show.
it_start_daytona --latency-exec-ms 1500 --create-rate-per-min 150
it_start_worker w1 --concurrency 8 --retry-max 3
w1=$WORKER_HTTP
it_start_worker w2 --concurrency 8 --retry-max 3
w2=$WORKER_HTTP
it_wait_for 30 "worker w1 ready" curl -fsS "$w1/readyz"
it_wait_for 30 "worker w2 ready" curl -fsS "$w2/readyz"

pport=$(it_free_port)
cat >"$IT_TMP/prometheus.yml" <<YML
global: {scrape_interval: 2s, evaluation_interval: 2s}
scrape_configs:
  - job_name: atc-worker
    static_configs:
      - targets: ['${w1#http://}', '${w2#http://}']
YML
it_start prometheus prometheus --config.file="$IT_TMP/prometheus.yml" \
    --storage.tsdb.path="$IT_TMP/prom-data" --web.listen-address="127.0.0.1:$pport"
prom=http://127.0.0.1:$pport
it_wait_for 30 "prometheus ready" curl -fsS "$prom/-/ready"

# The load: passing and failing tests, timeouts, a few malformed messages
# (rejected, dead-lettered), and bursts of queued 429s on creates.
printf 'def test_ok():\n    assert 1 + 1 == 2\n' >"$IT_TMP/test_ok.py"
printf 'def test_bad():\n    assert 1 + 1 == 3\n' >"$IT_TMP/test_bad.py"
atc=$(it_bin atc)
start=$(date +%s)
end=$((start + secs))
i=0
while (($(date +%s) < end)); do
    i=$((i + 1))
    phase=$((($(date +%s) - start) * 4 / secs)) # 0..3: rising load, then a 429 storm, then calm
    n=$((2 + phase * 3))
    ((phase == 3)) && n=2
    for ((k = 0; k < n; k++)); do
        case $((RANDOM % 10)) in
        0 | 1) "$atc" submit --tests "$IT_TMP/test_bad.py" >/dev/null ;;
        2) "$atc" submit --tests "$IT_TMP/test_ok.py" --cmd 'sleep 30' --timeout 2 >/dev/null ;;
        *) "$atc" submit --tests "$IT_TMP/test_ok.py" >/dev/null ;;
        esac
    done
    ((i % 10 == 0)) && printf 'not msgpack %d' "$i" | kcat -P -b "$ATC_BROKERS" -t atc.jobs -k "bad-$i" 2>/dev/null
    if ((phase == 2 && i % 3 == 0)); then
        curl -fsS -X POST "$DAYTONA_BASE/_local/faults" -d '{"next":[
          {"path_prefix":"/api/sandbox","method":"POST","status":429,"retry_after":1},
          {"path_prefix":"/api/sandbox","method":"POST","status":429,"retry_after":1},
          {"path_prefix":"/api/sandbox","method":"POST","status":503}]}' >/dev/null
    fi
    sleep 2
done
it_log "load done ($i rounds); letting the queue drain"
it_wait_for 180 "the lag to reach 0" bash -c "[[ \$(curl -fsS '$prom/api/v1/query' --data-urlencode 'query=sum(max by (topic, partition) (atc_consumer_lag)) or vector(0)' | jq -r '.data.result[0].value[1]') == 0 ]]"
sleep 10
/usr/bin/python3 "$root/deploy/monitoring/render_panels.py" "$prom" "$start" "$(date +%s)" \
    "$root/deploy/monitoring/dashboards/atc-fleet.json" "$out" || it_fail "rendering failed"
[[ $(it_daytona_live) == 0 ]] || it_log "note: $(it_daytona_live) sandboxes live at the end"
it_log "PNGs in $out"
