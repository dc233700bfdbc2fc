#!/usr/bin/python3
"""lint-dashboard.py: a structural lint of the Grafana dashboards in
deploy/monitoring/dashboards/, after the rules of Grafana's dashboard-linter
(which the Go module proxy does not serve, so it cannot be installed here):

  template-datasource-rule   a `datasource` variable of type datasource, query prometheus
  template-job-rule          a `job` variable (query, multi, includeAll) on that data source
  template-instance-rule     an `instance` variable likewise
  panel-datasource-rule      every panel and target uses ${datasource}
  target-job-rule            every selector of a target matches job=~"$job"
  target-instance-rule       every selector matches instance=~"$instance"
  target-rate-interval-rule  rate()/increase() ranges are [$__rate_interval]
  panel-title-description    every panel has a title and a description
  uniqueness                 panel ids, refIds within a panel, titles
  layout                     panels on the 24-column grid, no two overlapping
  promql-parses              every expr, with the variables substituted, parses
                             (written as recording rules for `promtool check rules`)

Usage: lint-dashboard.py DASHBOARD.json... ; exit 0 clean, 1 with one line per problem.
"""
import json, os, re, subprocess, sys, tempfile

SELECTOR = re.compile(r"\b(atc_[a-z0-9_]+)\s*(\{[^}]*\})?")
RANGE_FN = re.compile(r"\b(rate|irate|increase|deriv|delta)\(([^()]*(?:\([^()]*\))?[^()]*)\[([^\]]+)\]")


def lint(path, problems):
    def bad(msg):
        problems.append(f"{os.path.basename(path)}: {msg}")

    d = json.load(open(path))
    for key in ("title", "uid", "panels", "templating", "schemaVersion"):
        if key not in d:
            bad(f"no {key}")
    tvars = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
    ds = tvars.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        bad("template-datasource-rule: no `datasource` variable of type datasource for prometheus")
    for name in ("job", "instance"):
        v = tvars.get(name)
        if not v or v.get("type") != "query":
            bad(f"template-{name}-rule: no `{name}` query variable")
            continue
        if v.get("datasource", {}).get("uid") != "${datasource}":
            bad(f"template-{name}-rule: `{name}` does not use ${{datasource}}")
        if not v.get("multi") or not v.get("includeAll"):
            bad(f"template-{name}-rule: `{name}` must allow multi and All")
    ids, titles, boxes, exprs = set(), set(), [], []
    for p in d.get("panels", []):
        title = p.get("title", "")
        if not title or not p.get("description"):
            bad(f"panel {p.get('id')}: panel-title-description: a title and a description")
        if p.get("id") in ids:
            bad(f"panel {title}: duplicate id {p.get('id')}")
        ids.add(p.get("id"))
        if title in titles:
            bad(f"panel {title}: duplicate title")
        titles.add(title)
        if p.get("datasource", {}).get("uid") != "${datasource}":
            bad(f"panel {title}: panel-datasource-rule: not ${{datasource}}")
        g = p.get("gridPos", {})
        x, y, w, h = (g.get(k, -1) for k in "xywh")
        if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > 24:
            bad(f"panel {title}: gridPos {g} is off the 24-column grid")
        for (ox, oy, ow, oh, ot) in boxes:
            if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                bad(f"panel {title}: overlaps panel {ot}")
        boxes.append((x, y, w, h, title))
        targets = p.get("targets", [])
        if not targets:
            bad(f"panel {title}: no targets")
        refs = set()
        for t in targets:
            expr = t.get("expr", "")
            if t.get("refId") in refs or not t.get("refId"):
                bad(f"panel {title}: missing or duplicate refId")
            refs.add(t.get("refId"))
            if t.get("datasource", {}).get("uid") != "${datasource}":
                bad(f"panel {title} {t.get('refId')}: panel-datasource-rule: target not ${{datasource}}")
            if not expr:
                bad(f"panel {title} {t.get('refId')}: no expr")
                continue
            for m in SELECTOR.finditer(expr):
                sel = m.group(2) or ""
                if 'job=~"$job"' not in sel:
                    bad(f"panel {title}: target-job-rule: {m.group(1)} without job=~\"$job\"")
                if 'instance=~"$instance"' not in sel:
                    bad(f"panel {title}: target-instance-rule: {m.group(1)} without instance=~\"$instance\"")
            for m in RANGE_FN.finditer(expr):
                if m.group(3) != "$__rate_interval":
                    bad(f"panel {title}: target-rate-interval-rule: {m.group(1)}(...[{m.group(3)}])")
            exprs.append((title, t.get("refId"), expr))
    return exprs


def promql_parses(exprs, problems):
    subst = lambda e: (e.replace("$__rate_interval", "5m").replace("$job", ".+")
                       .replace("$instance", ".+"))
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:panel{i}", "expr": subst(e)} for i, (_, _, e) in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        json.dump(rules, f)  # JSON is YAML
        name = f.name
    try:
        r = subprocess.run(["promtool", "check", "rules", name], capture_output=True, text=True)
        if r.returncode != 0:
            problems.append("promql-parses: promtool check rules failed:\n" + r.stdout + r.stderr)
    finally:
        os.unlink(name)


def main():
    problems, exprs = [], []
    for path in sys.argv[1:]:
        exprs += lint(path, problems)
    if exprs:
        promql_parses(exprs, problems)
    for p in problems:
        print("lint-dashboard:", p, file=sys.stderr)
    if not problems:
        print(f"lint-dashboard: {len(sys.argv) - 1} dashboard(s), {len(exprs)} queries: OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
