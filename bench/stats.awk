# Median and spread of each metric over the runs: reads "metric<TAB>value<TAB>unit" rows (one per run, in
# any order), prints "metric<TAB>median<TAB>unit" and "metric.spread<TAB>min-max<TAB>unit", sorted by metric.
#   awk -f bench/stats.awk runs.tsv
BEGIN { FS = OFS = "\t" }
{ n[$1]++; v[$1, n[$1]] = $2 + 0; unit[$1] = $3 }
END {
  for (m in n) {
    k = n[m]
    for (i = 1; i <= k; i++) s[i] = v[m, i]
    for (i = 2; i <= k; i++) for (j = i; j > 1 && s[j - 1] > s[j]; j--) { x = s[j]; s[j] = s[j - 1]; s[j - 1] = x }
    median = k % 2 ? s[(k + 1) / 2] : (s[k / 2] + s[k / 2 + 1]) / 2
    print m, sprintf("%.2f", median), unit[m] | "sort"
    if (k > 1) print m ".spread", sprintf("%.2f-%.2f", s[1], s[k]), unit[m] | "sort"
  }
}
