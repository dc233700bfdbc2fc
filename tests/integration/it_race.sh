#!/usr/bin/env bash
# it_race.sh: `atc race` with five candidates of one tool, one correct. Four
# wrong ones take their time (each would run 40 s or more). The race returns
# the correct one as soon as it passed, and the other four end `cancelled`
# (or final) within seconds, their sandboxes deleted; every result names the
# group. A race nobody can win exits 1 once every candidate is final.
source "$(dirname "$0")/lib.sh"

it_start_redis
it_start_kafka --partitions 2
it_start_daytona --confine
ATC_CONCURRENCY=8 it_start_worker worker
it_wait_for 60 "the worker in the group" curl -fsS "$WORKER_HTTP/readyz"

cd "$IT_TMP"
printf 'from tool import add\n\ndef test_add():\n    assert add(2, 3) == 5\n' >test_tool.py
for i in 1 2 3 4; do
    printf 'import time\n\ndef add(a, b):\n    time.sleep(%d)\n    return a - b\n' $((40 + i)) >"cand$i.py"
done
printf 'def add(a, b):\n    return a + b\n' >right.py

t0=$(date +%s%N)
it_run it_atc race --tests test_tool.py --group race-it --need 1 --wait-timeout 120 --json \
    --candidate tool.py=cand1.py --candidate tool.py=cand2.py --candidate tool.py=right.py \
    --candidate tool.py=cand3.py --candidate tool.py=cand4.py
took_ms=$((($(date +%s%N) - t0) / 1000000))
it_log "atc race: exit $IT_RC in $took_ms ms: $IT_OUT $IT_ERR"
it_assert_eq "$IT_RC" 0 "atc race exit status"
[[ $took_ms -lt 40000 ]] || it_fail "the race took $took_ms ms: it waited for the slow candidates"
q() { /usr/bin/python3 -c "import json, sys; r = json.loads(sys.argv[1]); print($1)" "$IT_OUT"; }
it_assert_eq "$(q 'r["group"]')" race-it "group"
it_assert_eq "$(q 'r["won"]')" True "won"
winner=$(q 'r["winners"][0]')
it_assert_eq "$(q '[c["file"] for c in r["candidates"] if c["id"] == r["winners"][0]][0]')" right.py \
    "the winner is the right candidate"
q '"\n".join(c["id"] for c in r["candidates"] if c["id"] != r["winners"][0])' >losers.ids
it_assert_eq "$(wc -l <losers.ids)" 4 "four losers"

field() { it_redis HGET "atc:result:$1" "$2"; }
it_assert_eq "$(field "$winner" status)" passed "winner status"
it_assert_eq "$(field "$winner" group)" race-it "winner's group"
# (lib.sh's final-result helpers do not count cancelled as final.)
all_final() {
    [[ $(it_job_states losers.ids | awk '$2 ~ /^(passed|failed|error|timeout|rejected|cancelled)$/ && $3 == 1 && $4 == 1' |
        wc -l) == 4 ]]
}
it_wait_for 30 "each loser's one final result" all_final
cancelled=0
for id in $(cat losers.ids); do
    st=$(field "$id" status)
    it_log "loser $id: $st/$(field "$id" reason)"
    [[ $st != passed ]] || it_fail "loser $id passed"
    [[ $st == cancelled ]] && cancelled=$((cancelled + 1))
    it_assert_eq "$(field "$id" group)" race-it "loser's group"
done
[[ $cancelled -ge 1 ]] || it_fail "no loser was cancelled"
it_wait_eq 30 "no live sandbox in daytona-local" 0 it_daytona_live

# A race nobody wins: every candidate final, exit 1.
printf 'def add(a, b):\n    return 0\n' >zero.py
it_run it_atc race --tests test_tool.py --candidate tool.py=zero.py --candidate tool.py=zero.py \
    --wait-timeout 60
it_log "lost race: exit $IT_RC: $IT_OUT"
it_assert_eq "$IT_RC" 1 "a race nobody wins"
it_assert_contains "$IT_OUT" "not won" "the lost race says so"
it_log "ok"
