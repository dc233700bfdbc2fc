#!/usr/bin/env bash
# metric-names.sh: every metric the Grafana dashboards and the PrometheusRule of
# deploy/monitoring/ name is one a running atc-worker exports: a worker is
# started against redis-server, kafka-mock and daytona-local, runs one job, and
# its /metrics is scraped. A name counts as exported when it has a sample or a
# TYPE line (histograms: NAME_bucket, _sum, _count).
IT_LIB_DIR=$(cd "$(dirname "$0")/../integration" && pwd)
source "$IT_LIB_DIR/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)

it_start_redis
it_start_kafka
it_start_daytona
it_start_worker
it_wait_for 30 "the worker to be ready" curl -fsS "$WORKER_HTTP/readyz"
printf 'def test_ok():\n    assert True\n' >"$IT_TMP/test_ok.py"
it_expect_exit 0 "$(it_bin atc)" submit --tests "$IT_TMP/test_ok.py" --wait --wait-timeout 120
curl -fsS "$WORKER_HTTP/metrics" >"$IT_TMP/metrics.txt" || it_fail "cannot scrape $WORKER_HTTP/metrics"

# The gauges the dashboard and the alerts lean on hold true values: one job ran
# and its sandbox is gone, the worker is ready, its breaker closed.
value() { awk -v n="$1" '$1 == n { print $2 }' "$IT_TMP/metrics.txt"; }
it_assert_eq "$(value atc_sandboxes_live)" 0 "atc_sandboxes_live after the job"
it_assert_eq "$(value atc_ready)" 1 "atc_ready of a ready worker"
it_assert_eq "$(value atc_breaker_open)" 0 "atc_breaker_open"
it_assert_eq "$(value atc_concurrency)" 32 "atc_concurrency (the default)"
grep -q '^atc_sandbox_api_calls_total{endpoint="create",code="200"} 1$' "$IT_TMP/metrics.txt" ||
    it_fail "no create counted: $(grep sandbox_api "$IT_TMP/metrics.txt")"

check() {
    /usr/bin/python3 - "$IT_TMP/metrics.txt" "$@" <<'PY'
import json, re, sys, yaml
metrics, sources = sys.argv[1], sys.argv[2:]
exported = set()
for line in open(metrics):
    m = re.match(r"# TYPE (\S+) (\S+)", line)
    if m:
        exported.add(m.group(1))
        if m.group(2) == "histogram":
            exported |= {m.group(1) + s for s in ("_bucket", "_sum", "_count")}
    elif line.strip() and not line.startswith("#"):
        exported.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))
exprs = []
for src in sources:
    if src.endswith(".json"):
        d = json.load(open(src))
        exprs += [(src, t["expr"]) for p in d["panels"] for t in p.get("targets", [])]
        exprs += [(src, v["query"]) for v in d["templating"]["list"] if v.get("type") == "query"]
    else:
        d = yaml.safe_load(open(src))
        groups = d["spec"]["groups"] if "spec" in d else d["groups"]
        exprs += [(src, r["expr"]) for g in groups for r in g["rules"]]
used = {(s, n) for s, e in exprs for n in re.findall(r"\batc_[a-z0-9_]+\b", e)}
missing = sorted({(s.split("/")[-1], n) for s, n in used if n not in exported})
for s, n in missing:
    print(f"metric-names: {s} uses {n}, which the worker does not export", file=sys.stderr)
print(f"metric-names: {len({n for _, n in used})} names used, {len(exported)} exported")
sys.exit(1 if missing else 0)
PY
}
dashboards=("$root"/deploy/monitoring/dashboards/*.json)
it_expect_exit 0 check "${dashboards[@]}" "$root/deploy/monitoring/prometheusrule.yaml"
it_log "$IT_OUT"
# The check can fail: a rule naming a metric no worker exports.
printf 'groups:\n- name: x\n  rules:\n  - alert: X\n    expr: atc_no_such_metric > 0\n' >"$IT_TMP/bogus.yaml"
it_expect_exit 1 check "$IT_TMP/bogus.yaml"
it_assert_contains "$IT_ERR" "uses atc_no_such_metric" "the negative control"
it_log "PASS"
