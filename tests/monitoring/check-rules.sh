#!/usr/bin/env bash
# check-rules.sh: deploy/monitoring/prometheusrule.yaml checked by the real
# tools: the PrometheusRule's groups extracted into a plain rules file,
# `promtool check rules` on it, `promtool test rules` on alerts_test.yaml (the
# alerts' unit tests), and every alert given a summary and a runbook_url whose
# section exists in docs/operations.md. promtool: Debian's `prometheus` package.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
py=/usr/bin/python3
command -v promtool >/dev/null || { echo "promtool not found: install Debian's prometheus package (deploy/install-deps.sh)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/atc-rules.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$py" - "$root/deploy/monitoring/prometheusrule.yaml" "$work/rules.yaml" "$root/docs/operations.md" <<'PY'
import re, sys, yaml
src, out, doc = sys.argv[1:4]
d = yaml.safe_load(open(src))
assert d["kind"] == "PrometheusRule", "not a PrometheusRule"
groups = d["spec"]["groups"]
yaml.safe_dump({"groups": groups}, open(out, "w"), sort_keys=False)
# GitHub-style anchors of the headings in docs/operations.md.
anchors = set()
for line in open(doc):
    m = re.match(r"#+\s+(.*)", line)
    if m:
        a = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
        anchors.add(a)
bad = []
for g in groups:
    for r in g["rules"]:
        if "alert" not in r:
            continue
        ann = r.get("annotations", {})
        if not ann.get("summary"):
            bad.append(f"{r['alert']}: no summary")
        url = ann.get("runbook_url", "")
        if not url.startswith("docs/operations.md#"):
            bad.append(f"{r['alert']}: runbook_url is not docs/operations.md#...")
        elif url.split("#", 1)[1] not in anchors:
            bad.append(f"{r['alert']}: docs/operations.md has no section #{url.split('#', 1)[1]}")
        if "severity" not in r.get("labels", {}):
            bad.append(f"{r['alert']}: no severity label")
for b in bad:
    print("check-rules:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
cp "$root/tests/monitoring/alerts_test.yaml" "$work/"
promtool check rules "$work/rules.yaml"
promtool test rules "$work/alerts_test.yaml"
# The unit tests must be able to fail: a threshold changed under them.
sed 's/) > 10$/) > 1000/' "$work/rules.yaml" >"$work/rules.mut" && mv "$work/rules.mut" "$work/rules.yaml"
if promtool test rules "$work/alerts_test.yaml" >/dev/null 2>&1; then
    echo "check-rules: the alert tests still pass with AtcSandboxesLeaking's threshold changed" >&2
    exit 1
fi
echo "check-rules: OK"
