# stats.sh -- sourced by the benchmarks that report percentiles.
# bench_stats: reads numbers, one per line, on stdin; prints
# "P50 P99 MEAN COUNT" (nearest rank; MEAN an integer), or "- - - 0" when
# there are none.
bench_stats() {
    sort -n | awk '{ v[NR] = $1; s += $1 } END { if (NR == 0) { print "- - - 0"; exit }
        printf "%s %s %d %d\n", v[int((NR - 1) * 0.5) + 1], v[int((NR - 1) * 0.99) + 1], s / NR, NR }'
}
