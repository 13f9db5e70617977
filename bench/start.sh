#!/usr/bin/env bash
# A step's start-up through bin/jbang (`--help`), today's launcher path (the launch cache off:
# JBang's JVM, then the step's) against the launch cache, in the same run: cold (after a fresh
# build) once each, then warm in pairs, old and new alternating so that the load of the
# machine hits both alike. Prints the medians, the spread (min-max) and the saving. No VMs.
#
# Usage: bench/start.sh [--pairs N] [--steps "up join kubeconfig"] [--tsv FILE]
#   --tsv appends "metric<TAB>value<TAB>unit" rows (bench/bench.sh's results file)
set -euo pipefail
cd "$(dirname "$0")/.."

pairs=7
steps="up join kubeconfig"
tsv=/dev/null
while [ $# -gt 0 ]; do
  case "$1" in
    --pairs) pairs=$2; shift ;;
    --steps) steps=$2; shift ;;
    --tsv) tsv=$2; shift ;;
    *) echo "usage: bench/start.sh [--pairs N] [--steps \"up join kubeconfig\"] [--tsv FILE]" >&2; exit 2 ;;
  esac
  shift
done
work=$(mktemp -d /tmp/k3sv-start.XXXXXX)
trap 'rm -rf "$work"' EXIT

ms() { date +%s%N | cut -c1-13; }
# wall time (ms) of one --help of step $2 with the launch cache $1 (on/off)
run() {
  local start
  start=$(ms)
  K3S_VAGRANT_LAUNCH_CACHE=$1 bin/jbang "scripts/$2.java" --help >/dev/null 2>&1
  echo $(($(ms) - start))
}
# median, min and max of the numbers in file $1, in seconds
stats() {
  sort -n "$1" | awk '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.3f %.3f %.3f\n", m / 1000, v[1] / 1000, v[NR] / 1000 }'
}
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$tsv"; }

sec() { awk -v v="$1" 'BEGIN { printf "%.2f", v / 1000 }'; }
printf '%-11s %-17s %-20s %-20s %s\n' step "cold old / new" "warm old (min-max)" "warm new (min-max)" saved
for step in $steps; do
  # cold: JBang builds the step anew before each path's first run
  bin/jbang build --fresh "scripts/$step.java" >/dev/null 2>&1
  cold_old=$(sec "$(run off "$step")")
  bin/jbang build --fresh "scripts/$step.java" >/dev/null 2>&1
  # a miss (an empty cache): JBang resolves, the entry is written
  cold_new=$(sec "$(K3S_VAGRANT_LAUNCH_DIR="$work/cold-$step" run on "$step")")
  run on "$step" >/dev/null # the warm runs find their entry
  : > "$work/old"; : > "$work/new"
  for _ in $(seq 1 "$pairs"); do
    run off "$step" >> "$work/old"
    run on "$step" >> "$work/new"
  done
  read -r old old_min old_max < <(stats "$work/old")
  read -r new new_min new_max < <(stats "$work/new")
  saved=$(awk -v o="$old" -v n="$new" 'BEGIN { printf "%.0f", 100 * (o - n) / o }')
  printf '%-11s %-17s %-20s %-20s %s\n' "$step" "${cold_old}s / ${cold_new}s" "${old}s (${old_min}-${old_max})" \
    "${new}s (${new_min}-${new_max})" "${saved}%"
  record "startup.$step.cold_old" "$cold_old" s
  record "startup.$step.cold_new" "$cold_new" s
  record "startup.$step.warm_old_median" "$old" s
  record "startup.$step.warm_old_spread" "$old_min-$old_max" s
  record "startup.$step.warm_new_median" "$new" s
  record "startup.$step.warm_new_spread" "$new_min-$new_max" s
  record "startup.$step.warm_saved" "$saved" %
done
echo "($pairs pairs per step, old = K3S_VAGRANT_LAUNCH_CACHE=off: JBang's JVM then the step's; new = launch cache)"
