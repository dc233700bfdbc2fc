#!/usr/bin/python3
"""render_panels.py PROM_URL START END DASHBOARD.json OUT_DIR: each panel's
queries evaluated by Prometheus over [START, END] (query_range, 5 s steps) and
drawn as OUT_DIR/<nn>-<slug>.png with gnuplot. Used by render-panels.sh."""
import json, os, re, subprocess, sys, urllib.parse, urllib.request

prom, start, end, dash_path, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
dash = json.load(open(dash_path))
units = {"reqps": "per second", "s": "seconds", "short": ""}


def query_range(expr):
    expr = expr.replace("$__rate_interval", "30s").replace("$job", ".+").replace("$instance", ".+")
    q = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": 5})
    with urllib.request.urlopen(f"{prom}/api/v1/query_range?{q}", timeout=30) as r:
        d = json.load(r)
    if d.get("status") != "success":
        raise SystemExit(f"query failed: {expr}: {d}")
    return d["data"]["result"]


def legend(fmt, labels):
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt) or "value"


made = []
for p in dash["panels"]:
    slug = re.sub(r"[^a-z0-9]+", "-", p["title"].lower()).strip("-")
    name = f"{p['id']:02d}-{slug}"
    series = []
    for t in p["targets"]:
        for s in query_range(t["expr"]):
            pts = [(float(ts) - start, float(v)) for ts, v in s["values"] if v not in ("NaN", "+Inf", "-Inf")]
            if pts:
                series.append((legend(t.get("legendFormat", ""), s["metric"]), pts))
    data = os.path.join(out, f".{name}.dat")
    with open(data, "w") as f:
        for _, pts in series:
            for x, y in pts:
                f.write(f"{x:.0f}\t{y:.6g}\n")
            f.write("\n\n")
    unit = units.get(p.get("fieldConfig", {}).get("defaults", {}).get("unit", ""), "")
    plots = ", ".join(f"'{data}' index {i} using 1:2 with lines lw 2 title '{lbl.replace(chr(39), '')}'"
                      for i, (lbl, _) in enumerate(series)) or "NaN title 'no data'"
    script = (f"set terminal pngcairo size 800,360 font 'sans,9'; set output '{os.path.join(out, name + '.png')}';"
              f"set title '{p['title']}'; set grid; set key outside right top; set xlabel 'seconds into the run';"
              f"set ylabel '{unit}'; set yrange [0:*]; plot {plots}")
    subprocess.run(["gnuplot", "-e", script], check=True)
    os.unlink(data)
    made.append((name, p["title"], len(series)))
for name, title, n in made:
    print(f"{name}.png\t{title}\t{n} series")
