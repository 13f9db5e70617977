#!/usr/bin/env bash
# The project's benchmark: time to a Ready cluster with k3s-up, against a plain
# `vagrant up` of the same Vagrantfile (each VM installing K3s itself), per phase; the
# time the JVM and JBang add to each step (cold and warm); the host memory (max RSS) of
# each step. Runs on the VM tier's machinery (libvirt in a network namespace, the test
# box, the K3s STAND-IN through the offline mode), so it needs root and takes ~10 min.
#
# Usage: bench/bench.sh [--runs N] [--out FILE]   (default: 1 run, bench/results/<date>.tsv)
# A later run compares itself with the newest earlier results file.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

runs=1
out="bench/results/$(date -u +%Y%m%d-%H%M%S).tsv"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift ;;
    --out) out=$2; shift ;;
    *) echo "usage: bench/bench.sh [--runs N] [--out FILE]" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$(dirname "$out")"
previous=$(find bench/results -name '*.tsv' 2>/dev/null | sort | tail -n 1 || true)

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
ns() { ip netns exec k3sv-test "$@"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
# max RSS (MB) and wall time of a command: GNU time's report, parsed
measure() {
  local report=$1; shift
  /usr/bin/time -f '%e %M' -o "$report" "$@"
}

command -v /usr/bin/time >/dev/null || { echo "bench: GNU time is missing (apt-get install time)" >&2; exit 1; }
work=$(mktemp -d /tmp/k3sv-bench.XXXXXX)
export K3S_VAGRANT_HOME="$work/home" VAGRANT_DEFAULT_PROVIDER=libvirt
airgap="$repo/tests/k3s-standin"
settings=(K3S_VAGRANT_LOGIN=bench K3S_VAGRANT_BOX=k3s-vagrant/debian12-test K3S_VAGRANT_LIBVIRT_DRIVER=qemu
          K3S_VAGRANT_LIBVIRT_CPU_MODEL=qemu64 K3S_VAGRANT_AIRGAP_DIR="$airgap")
cleanup() {
  for d in "$work/k3sv-test-plain" "$K3S_VAGRANT_HOME/clusters/k3sv-test-bench"; do
    if [ -d "$d/.vagrant" ]; then (cd "$d" && ns vagrant destroy -f >/dev/null 2>&1) || true; fi
  done
  bash tests/vm/netns.sh down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

log "box and libvirt"
bash tests/vm/build-box.sh
bash tests/vm/netns.sh up

printf 'metric\tvalue\tunit\n' > "$out"
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$out"; }

for run in $(seq 1 "$runs"); do
  log "run $run/$runs: (a) plain vagrant up of provision/, then wait until both nodes are Ready"
  cp -r provision "$work/k3sv-test-plain"
  start=$(now)
  if ! (cd "$work/k3sv-test-plain" &&
      env "${settings[@]}" ip netns exec k3sv-test vagrant up --provider libvirt >"$work/plain.log" 2>&1); then
    echo "bench: plain vagrant up failed; its log:" >&2
    tail -n 40 "$work/plain.log" >&2
    exit 1
  fi
  up_done=$(now)
  until [ "$(cd "$work/k3sv-test-plain" &&
      env "${settings[@]}" ip netns exec k3sv-test vagrant ssh benchS -c 'kubectl get nodes --no-headers' 2>/dev/null \
      | awk '$2 == "Ready"' | wc -l)" -ge 2 ]; do sleep 2; done
  ready=$(now)
  record "a.plain_vagrant_up.wall" "$(elapsed "$start" "$up_done")" s
  record "a.plain.ready_total" "$(elapsed "$start" "$ready")" s
  (cd "$work/k3sv-test-plain" && env "${settings[@]}" ip netns exec k3sv-test vagrant destroy -f >/dev/null)
  rm -rf "$work/k3sv-test-plain"

  log "run $run/$runs: (b) k3s-up, which returns when every node is Ready"
  bin/jbang build scripts/up.java >/dev/null 2>&1
  start=$(now)
  if ! measure "$work/up.time" ip netns exec k3sv-test bin/jbang k3s-up --provider libvirt --login bench \
      --name k3sv-test-bench \
      --box k3s-vagrant/debian12-test --libvirt-driver qemu --libvirt-cpu-model qemu64 --airgap-dir "$airgap" \
      >"$work/cluster.json" 2>"$work/up.log"; then
    echo "bench: k3s-up failed; its log:" >&2
    tail -n 40 "$work/up.log" >&2
    exit 1
  fi
  ready=$(now)
  record "b.k3s_up.ready_total" "$(elapsed "$start" "$ready")" s
  record "b.k3s_up.max_rss" "$(awk '{ printf "%.0f", $2 / 1024 }' "$work/up.time")" MB
  # per phase, from k3s-up's own "[  Ns] ==> n/4" lines
  sed -n 's|.*\[ *\([0-9]*\)s\] ==> \([0-9]\)/4.*|b.phase\2_started_at\t\1\ts|p' "$work/up.log" >> "$out"

  log "run $run/$runs: kubeconfig and status steps (memory and time)"
  measure "$work/kc.time" ip netns exec k3sv-test bin/jbang k3s-kubeconfig --output "$work/kubeconfig" \
    --cluster "$work/cluster.json" >/dev/null 2>&1
  record "b.k3s_kubeconfig.wall" "$(awk '{ print $1 }' "$work/kc.time")" s
  record "b.k3s_kubeconfig.max_rss" "$(awk '{ printf "%.0f", $2 / 1024 }' "$work/kc.time")" MB
  measure "$work/st.time" ip netns exec k3sv-test bin/jbang k3s-status --name k3sv-test-bench --json >/dev/null 2>&1
  record "b.k3s_status.wall" "$(awk '{ print $1 }' "$work/st.time")" s
  record "b.k3s_status.max_rss" "$(awk '{ printf "%.0f", $2 / 1024 }' "$work/st.time")" MB
  measure "$work/down.time" ip netns exec k3sv-test bin/jbang k3s-down --name k3sv-test-bench >/dev/null 2>&1
  record "b.k3s_down.wall" "$(awk '{ print $1 }' "$work/down.time")" s
done

log "start-up cost of a step (JBang + JVM, --help): today's path against the launch cache, cold and warm"
bench/start.sh --tsv "$out" >&2
for step in up join kubeconfig; do
  measure "$work/warm.rss" bin/jbang "scripts/$step.java" --help >/dev/null 2>&1
  record "startup.$step.warm_max_rss" "$(awk '{ printf "%.0f", $2 / 1024 }' "$work/warm.rss")" MB
done

a=$(awk -F'\t' '$1 == "a.plain.ready_total" { s += $2; n++ } END { printf "%.1f", s / n }' "$out")
b=$(awk -F'\t' '$1 == "b.k3s_up.ready_total" { s += $2; n++ } END { printf "%.1f", s / n }' "$out")
record "ratio.b_over_a" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')" x

echo
echo "results: $out"
column -t -s $'\t' "$out"
if [ -n "$previous" ] && [ "$previous" != "$out" ]; then
  echo
  echo "compared with $previous:"
  join -t $'\t' <(tail -n +2 "$previous" | sort) <(tail -n +2 "$out" | sort) \
    | awk -F'\t' '{ printf "%-36s %10s -> %-10s %s\n", $1, $2, $4, $3 }'
fi
