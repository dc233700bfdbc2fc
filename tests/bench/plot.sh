#!/usr/bin/env bash
# plot.sh: draws the PNG plots of docs/benchmarks.md from the .tsv figures in
# $BENCH_OUT (default /tmp/atc-bench) into $BENCH_PLOTS (default docs/bench), with
# gnuplot (Debian's gnuplot-nox). A figure file that is missing is skipped.
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${BENCH_OUT:-/tmp/atc-bench}
PLOTS=${BENCH_PLOTS:-$HERE/../../docs/bench}
mkdir -p "$PLOTS"
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
term='set terminal pngcairo size 800,480 font "sans,10"; set grid; set key top left; set datafile separator "\t"; set datafile commentschars "#"'

if [[ -s $OUT/overhead.tsv ]]; then
    grep -v callgrind "$OUT/overhead.tsv" >"$OUT/overhead-native.tsv"
    grep -e '^#' -e callgrind "$OUT/overhead.tsv" >"$OUT/overhead-cg.tsv"
    gnuplot -e "$term; set output '$PLOTS/overhead.png';
        set title 'Worker overhead (daytona-local, no latency, cmd true)';
        set logscale x 2; set xlabel 'concurrency'; set ylabel 'worker CPU ms per job';
        set y2label 'instructions per job (callgrind, M)'; set y2tics; set ytics nomirror; set yrange [0:*]; set y2range [0:*];
        plot '$OUT/overhead-native.tsv' using 1:4 with linespoints lw 2 title 'CPU ms/job (utime+stime)',
             '$OUT/overhead-cg.tsv' using 1:(\$6/1e6) axes x1y2 with linespoints lw 2 title 'M instructions/job (callgrind)',
             0.5 with lines dt 2 title 'target 0.5 ms'"
fi
if [[ -s $OUT/busy.tsv ]]; then
    gnuplot -e "$term; set output '$PLOTS/busy-throughput.png';
        set title 'Throughput vs ideal (create 300 ms, exec 500 ms)';
        set logscale xy 2; set xlabel 'concurrency (jobs in flight)'; set ylabel 'jobs/s';
        plot '$OUT/busy.tsv' using 1:4 with linespoints lw 2 title 'ideal = concurrency / L(c=1)',
             '$OUT/busy.tsv' using 1:3 with linespoints lw 2 title 'measured (whole burst)',
             '$OUT/busy.tsv' using 1:18 with linespoints lw 2 title 'measured (steady state)',
             '$OUT/busy.tsv' using 1:(\$1*1000/\$6) with linespoints dt 3 title 'concurrency / L measured at that load'"
    gnuplot -e "$term; set output '$PLOTS/busy-latency.png';
        set title 'End-to-end latency minus sandbox time (paced at half the ideal rate)';
        set logscale x 2; set logscale y; set xlabel 'concurrency'; set ylabel 'ms';
        plot '$OUT/busy.tsv' using 1:11 with linespoints lw 2 title 'p50',
             '$OUT/busy.tsv' using 1:12 with linespoints lw 2 title 'p99'"
fi
if [[ -s $OUT/scale.tsv ]]; then
    gnuplot -e "$term; set output '$PLOTS/scale.png';
        set title 'Scale-out: workers on 8 partitions (16 in flight each)';
        set xlabel 'worker processes'; set ylabel 'jobs/s'; set y2label 'drain time, s'; set y2tics; set ytics nomirror;
        set xtics (1, 2, 4); set xrange [0.5:4.5];
        plot '$OUT/scale.tsv' using 1:5 with linespoints lw 2 title 'throughput',
             '$OUT/scale.tsv' using 1:4 axes x1y2 with linespoints lw 2 title 'drain time'"
fi
if [[ -s $OUT/ratelimit-series.tsv && -s $OUT/ratelimit.tsv ]]; then
    limit=$(awk '!/^#/ { print $1; exit }' "$OUT/ratelimit.tsv")
    first=$(awk '$2 > 0 { print $1 - 1; exit }' "$OUT/ratelimit-series.tsv")
    gnuplot -e "$term; set output '$PLOTS/ratelimit.png';
        set title 'Creates under a limit of $limit per minute (sliding window)';
        set xlabel 's since the worker started'; set ylabel 'sandboxes created';
        plot '$OUT/ratelimit-series.tsv' using 1:2 with lines lw 2 title 'created',
             $limit * (floor((x - $first) / 60) + 1) with lines dt 2 title 'most the limit allows'"
fi
if [[ -s $OUT/alternatives.tsv ]]; then
    gnuplot -e "$term; set output '$PLOTS/alternatives.png';
        set title 'Against the alternatives (create 300 ms, exec 500 ms)';
        set style data histograms; set style histogram clustered; set style fill solid 0.8;
        set logscale y; set ylabel 'value (log)'; set key top right;
        plot '$OUT/alternatives.tsv' using 4:xtic(1) title 'jobs/s',
             '' using 5 title 'CPU ms/job', '' using 7 title 'peak RSS MiB'"
fi
ls "$PLOTS"
