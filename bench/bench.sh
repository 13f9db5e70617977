#!/usr/bin/env bash
# The project's benchmark: time to a Ready cluster with k3s-up against three baselines on the same machines,
# run interleaved N times (median and spread): (f) the floor, bench/floor/ (the machines booted, nothing
# else); (a) a plain `vagrant up` of provision/ (each VM installing K3s itself); (c) bench/part1/, the
# hand-written Part 1 setup (one machine after the other, inline shell installing K3s). k3s-up's phases
# (bench/phases.awk, from its -v log) as seconds and shares; the other steps' time and memory; what the
# JVM and JBang add to each step (bench/start.sh). Runs on the VM tier's machinery (libvirt in a network
# namespace, the test box, the K3s STAND-IN through the offline mode), so it needs root.
#
# Usage: bench/bench.sh [--runs N] [--scale] [--out FILE]   (default: 3 runs, bench/results/<date>.tsv)
#   --scale: the scale curve instead: k3s-up and the floor at 1+1, 1+3 and 3+3 machines, time per added machine
# A later run compares itself with the newest earlier results file of the same kind.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

runs=3
scale=
out=
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift ;;
    --scale) scale=-scale ;;
    --out) out=$2; shift ;;
    *) echo "usage: bench/bench.sh [--runs N] [--scale] [--out FILE]" >&2; exit 2 ;;
  esac
  shift
done
case "$runs" in ''|*[!0-9]*|0) echo "bench: --runs $runs is not a whole number above 0" >&2; exit 2 ;; esac
out=${out:-bench/results/$(date -u +%Y%m%d-%H%M%S)$scale.tsv}
mkdir -p "$(dirname "$out")"
if [ -n "$scale" ]; then kind='*-scale.tsv'; else kind='[0-9]*[0-9].tsv'; fi
previous=$(find bench/results -name "$kind" 2>/dev/null | sort | tail -n 1 || true)

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
ns() { ip netns exec k3sv-test "$@"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
# max RSS (MB) and wall time of a command: GNU time's report, parsed
measure() {
  local report=$1; shift
  # ns is a shell function, which time cannot run: its command instead
  if [ "$1" = ns ]; then shift; set -- ip netns exec k3sv-test "$@"; fi
  /usr/bin/time -f '%e %M' -o "$report" "$@"
}
# each line read, prefixed with the seconds since $1 (Vagrant prints no time of its own)
stamp() { while IFS= read -r line; do printf '%s %s\n' "$(elapsed "$1" "$EPOCHREALTIME")" "$line"; done; }

command -v /usr/bin/time >/dev/null || { echo "bench: GNU time is missing (apt-get install time)" >&2; exit 1; }
work=$(mktemp -d /tmp/k3sv-bench.XXXXXX)
export K3S_VAGRANT_HOME="$work/home" VAGRANT_DEFAULT_PROVIDER=libvirt
airgap="$repo/tests/k3s-standin"
settings=(K3S_VAGRANT_LOGIN=bench K3S_VAGRANT_BOX=k3s-vagrant/debian12-test K3S_VAGRANT_LIBVIRT_DRIVER=qemu
          K3S_VAGRANT_LIBVIRT_CPU_MODEL=qemu64 K3S_VAGRANT_AIRGAP_DIR="$airgap")
# the Part 1 stand-in's join token: a mode-600 file, uploaded by its Vagrantfile
(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$work/token")
# bench/floor and bench/part1 keep Vagrant's state in $work, not in the repository
floor=(env "${settings[@]}" VAGRANT_DOTFILE_PATH="$work/floor.vagrant")
part1=(env "${settings[@]}" VAGRANT_DOTFILE_PATH="$work/part1.vagrant" BENCH_TOKEN_FILE="$work/token"
       VAGRANT_NO_PARALLEL=1)
destroy() { [ -d "$1" ] || return 0; (cd "$1" && ns "${@:2}" vagrant destroy -f >/dev/null 2>&1) || true; }
cleanup() {
  destroy "$work/k3sv-test-plain" env "${settings[@]}"
  destroy bench/floor "${floor[@]}"
  destroy bench/part1 "${part1[@]}"
  if [ -d "$K3S_VAGRANT_HOME/clusters/k3sv-test-bench" ]; then
    ns bin/jbang k3s-down --name k3sv-test-bench >/dev/null 2>&1 || true
  fi
  bash tests/vm/netns.sh down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

log "box and libvirt"
bash tests/vm/build-box.sh
bash tests/vm/netns.sh up
bin/jbang build scripts/up.java >/dev/null 2>&1

rows="$work/runs.tsv" # every run's rows
run_rows="$work/run.tsv" # this run's
: > "$rows"
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$run_rows"; }
# fails naming the baseline and showing its log's end
failed() { echo "bench: $1 failed; its log:" >&2; tail -n 40 "$2" >&2; exit 1; }
# until `kubectl get nodes` on machine $2 of folder $1 shows $3 Ready nodes (the rest: the env to run in)
wait_ready() {
  local dir=$1 machine=$2 count=$3; shift 3
  until [ "$(cd "$dir" && ns "$@" vagrant ssh "$machine" -c 'sudo kubectl get nodes --no-headers' 2>/dev/null \
      | awk '$2 == "Ready"' | wc -l)" -ge "$count" ]; do sleep 1; done
}

# (b) k3s-up with SERVERS+WORKERS machines, to Ready; its total as $1.total, its phases as $1.phase.*
k3s_up() {
  local prefix=$1 servers=$2 workers=$3 start ready
  start=$(now)
  if ! measure "$work/up.time" ns bin/jbang k3s-up -v --provider libvirt --login bench --name k3sv-test-bench \
      --servers "$servers" --workers "$workers" --box k3s-vagrant/debian12-test --libvirt-driver qemu \
      --libvirt-cpu-model qemu64 --airgap-dir "$airgap" >"$work/cluster.json" 2>"$work/up.log"; then
    failed k3s-up "$work/up.log"
  fi
  ready=$(elapsed "$start" "$(now)")
  record "$prefix.ready_total" "$ready" s
  record "$prefix.max_rss" "$(awk '{ printf "%.0f", $2 / 1024 }' "$work/up.time")" MB
  awk -v total="$ready" -f bench/phases.awk "$work/up.log" | while IFS=$'\t' read -r phase seconds share; do
    record "$prefix.phase.$phase" "$seconds" s
    record "$prefix.phase.$phase.share" "$share" %
  done
}

# (f) the floor: bench/floor's `vagrant up`, timed, and when its last machine was booted (Vagrant's own line);
# as many machines as K3S_VAGRANT_SERVERS and K3S_VAGRANT_WORKERS say (1+1 unset)
floor_up() {
  local prefix=$1 start
  start=$(now)
  if ! (cd bench/floor && ns "${floor[@]}" vagrant up --provider libvirt 2>&1 | stamp "$start" > "$work/floor.log"
      exit "${PIPESTATUS[0]}"); then
    failed "the floor's vagrant up" "$work/floor.log"
  fi
  record "$prefix.ready_total" "$(elapsed "$start" "$(now)")" s
  record "$prefix.booted" "$(awk '/Machine booted and ready/ { t = $1 } END { print t }' "$work/floor.log")" s
  destroy bench/floor "${floor[@]}"
}

# k3s-up's kubeconfig, status and down steps (time, memory)
other_steps() {
  rm -f "$work/kubeconfig" # k3s-kubeconfig --output refuses to overwrite a file (the run before's)
  measure "$work/kc.time" ns bin/jbang k3s-kubeconfig --output "$work/kubeconfig" \
    --cluster "$work/cluster.json" >/dev/null 2>&1
  record "b.k3s_kubeconfig.wall" "$(awk '{ print $1 }' "$work/kc.time")" s
  record "b.k3s_kubeconfig.max_rss" "$(awk '{ printf "%.0f", $2 / 1024 }' "$work/kc.time")" MB
  measure "$work/st.time" ns bin/jbang k3s-status --name k3sv-test-bench --json >/dev/null 2>&1
  record "b.k3s_status.wall" "$(awk '{ print $1 }' "$work/st.time")" s
  record "b.k3s_status.max_rss" "$(awk '{ printf "%.0f", $2 / 1024 }' "$work/st.time")" MB
}
down() {
  measure "$work/down.time" ns bin/jbang k3s-down --name k3sv-test-bench >/dev/null 2>&1
  record "b.k3s_down.wall" "$(awk '{ print $1 }' "$work/down.time")" s
}

# (a) plain vagrant up of provision/, then until both nodes are Ready
plain_up() {
  local start
  cp -r provision "$work/k3sv-test-plain"
  start=$(now)
  (cd "$work/k3sv-test-plain" && ns env "${settings[@]}" vagrant up --provider libvirt >"$work/plain.log" 2>&1) ||
    failed "plain vagrant up" "$work/plain.log"
  record "a.plain_vagrant_up.wall" "$(elapsed "$start" "$(now)")" s
  wait_ready "$work/k3sv-test-plain" benchS 2 env "${settings[@]}"
  record "a.plain.ready_total" "$(elapsed "$start" "$(now)")" s
  destroy "$work/k3sv-test-plain" env "${settings[@]}"
  rm -rf "$work/k3sv-test-plain"
}

# (c) the Part 1 stand-in, one machine after the other, then until both nodes are Ready
part1_up() {
  local start
  start=$(now)
  (cd bench/part1 && ns "${part1[@]}" vagrant up --provider libvirt >"$work/part1.log" 2>&1) ||
    failed "the Part 1 stand-in's vagrant up" "$work/part1.log"
  wait_ready bench/part1 benchS 2 "${part1[@]}"
  record "c.part1.ready_total" "$(elapsed "$start" "$(now)")" s
  destroy bench/part1 "${part1[@]}"
}

# a ratio of two metrics of this run, as a row of its own (the median of ratios, not a ratio of medians)
ratio() { awk -F'\t' -v a="$2" -v b="$3" -v name="$1" '$1 == a { x = $2 } $1 == b { y = $2 }
  END { printf "%s\t%.2f\tx\n", name, x / y }' "$run_rows"; }

for run in $(seq 1 "$runs"); do
  : > "$run_rows"
  if [ -n "$scale" ]; then
    for size in "1 1" "1 3" "3 3"; do
      read -r servers workers <<< "$size"
      # the floor's Vagrantfile (and the cleanup's destroy) read them; k3s-up's flags say the same
      export K3S_VAGRANT_SERVERS=$servers K3S_VAGRANT_WORKERS=$workers
      log "run $run/$runs, $servers+$workers machines: k3s-up, then the floor"
      k3s_up "scale.$servers+$workers.k3s_up" "$servers" "$workers"
      down
      floor_up "scale.$servers+$workers.floor"
    done
    cat "$run_rows" >> "$rows"
    continue
  fi
  log "run $run/$runs: (b) k3s-up, which returns when every node is Ready"
  k3s_up b.k3s_up 1 1
  other_steps
  down
  log "run $run/$runs: (f) the floor: the same machines booted, nothing else"
  floor_up f.floor
  log "run $run/$runs: (a) plain vagrant up of provision/, then until both nodes are Ready"
  plain_up
  log "run $run/$runs: (c) the Part 1 stand-in: one machine after the other, each installing K3s"
  part1_up
  {
    ratio ratio.b_over_f b.k3s_up.ready_total f.floor.ready_total
    ratio ratio.b_over_a b.k3s_up.ready_total a.plain.ready_total
    ratio ratio.b_over_c b.k3s_up.ready_total c.part1.ready_total
    # what k3s-up spends beyond the floor, K3s's own provisioning (server start, agents joined) aside
    awk -F'\t' '{ v[$1] = $2 } END { k3s = v["b.k3s_up.phase.server"] + v["b.k3s_up.phase.agents"]
      extra = v["b.k3s_up.ready_total"] - k3s - v["f.floor.ready_total"]
      printf "b.k3s_up.k3s_provisioning\t%d\ts\nb.beyond_floor\t%.1f\ts\n", k3s, extra
      printf "b.beyond_floor.share\t%.0f\t%%\n", 100 * extra / v["f.floor.ready_total"] }' "$run_rows"
    cat "$run_rows"
  } >> "$rows"
done

summary="$work/summary.tsv"
awk -f bench/stats.awk "$rows" > "$summary"
if [ -n "$scale" ]; then
  # time per added machine: 1+1 -> 1+3 adds two agents, 1+3 -> 3+3 two servers
  awk -F'\t' '{ v[$1] = $2 } END { split("k3s_up floor", what, " "); for (i = 1; i <= 2; i++) { w = what[i]
    t11 = v["scale.1+1." w ".ready_total"]; t13 = v["scale.1+3." w ".ready_total"]
    t33 = v["scale.3+3." w ".ready_total"]
    printf "scale.%s.per_added_agent\t%.1f\ts\n", w, (t13 - t11) / 2
    printf "scale.%s.per_added_server\t%.1f\ts\n", w, (t33 - t13) / 2
  } }' "$summary" > "$work/added.tsv"
  cat "$work/added.tsv" >> "$summary"
else
  log "start-up cost of a step (JBang + JVM, --help): today's path against the launch cache, cold and warm"
  bench/start.sh --tsv "$summary" >&2
  for step in up join kubeconfig; do
    measure "$work/warm.rss" bin/jbang "scripts/$step.java" --help >/dev/null 2>&1
    printf 'startup.%s.warm_max_rss\t%s\tMB\n' "$step" "$(awk '{ printf "%.0f", $2 / 1024 }' "$work/warm.rss")" \
      >> "$summary"
  done
fi
{ printf 'metric\tvalue\tunit\n'; cat "$summary"; } > "$out"
cp "$rows" "${out%.tsv}.runs.tsv" # each run's own numbers

echo
echo "results ($runs runs: medians, and min-max as .spread): $out"
column -t -s $'\t' "$out"
if [ -n "$previous" ] && [ "$previous" != "$out" ]; then
  echo
  echo "compared with $previous:"
  join -t $'\t' <(tail -n +2 "$previous" | sort) <(tail -n +2 "$out" | sort) \
    | awk -F'\t' '{ printf "%-36s %10s -> %-10s %s\n", $1, $2, $4, $3 }'
fi
