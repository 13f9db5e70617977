#!/usr/bin/env bash
# The VM tier's flow against REAL K3s, for a machine that has what this project's CI
# lacks: internet in the VMs (K3s's installer downloads K3s) and Vagrant with VirtualBox
# or libvirt. It brings the cluster up with k3s-up, merges its kubeconfig into a private
# KUBECONFIG, checks with kubectl that every node is Ready with its 192.168.56.x
# address, and destroys everything it made (unless --keep).
#
# Usage: tests/vm/real-k3s-check.sh [--provider virtualbox|libvirt] [--keep] [k3s-up flags...]
#   e.g. tests/vm/real-k3s-check.sh --servers 3 --workers 3 --server-memory 2048
set -euo pipefail
cd "$(dirname "$0")/../.."

keep=0
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1 ;;
    *) args+=("$1") ;;
  esac
  shift
done

work=$(mktemp -d)
export K3S_VAGRANT_HOME="$work/home" KUBECONFIG="$work/kubeconfig"
login=realk3s
cleanup() {
  if [ "$keep" = 1 ]; then
    echo "kept: cluster folder $K3S_VAGRANT_HOME/clusters/$login, KUBECONFIG=$KUBECONFIG" >&2
  elif [ -d "$K3S_VAGRANT_HOME/clusters/$login" ]; then
    (cd "$K3S_VAGRANT_HOME/clusters/$login" && vagrant destroy -f) || echo "vagrant destroy failed: clean up $K3S_VAGRANT_HOME/clusters/$login by hand" >&2
    rm -rf "$work"
  fi
}
trap cleanup EXIT

echo "== warming JBang's cache" >&2
for step in up join kubeconfig; do bin/jbang build "scripts/$step.java" >/dev/null; done

echo "== k3s-up | k3s-kubeconfig --merge (real K3s from the internet)" >&2
start=$SECONDS
bin/jbang k3s-up --login "$login" "${args[@]}" | bin/jbang k3s-kubeconfig --merge > "$work/cluster.json"
echo "== Ready after $((SECONDS - start)) s; kubectl get nodes -o wide:" >&2
kubectl get nodes -o wide

fail=0
# every node k3s-up made (e.g. with --servers 3 --workers 3), by name and address
pairs=$(python3 -c 'import json, sys; [print(n["name"].lower() + "=" + n["ip"]) for n in json.load(open(sys.argv[1]))["nodes"]]' "$work/cluster.json")
for pair in $pairs; do
  node=${pair%%=*} ip=${pair#*=}
  ready=$(kubectl get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)
  internal=$(kubectl get node "$node" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}' 2>/dev/null || true)
  if [ "$ready" = True ] && [ "$internal" = "$ip" ]; then
    echo "ok   $node Ready with INTERNAL-IP $internal"
  else
    echo "FAIL $node: Ready=$ready INTERNAL-IP=$internal (want True, $ip)"
    fail=1
  fi
done
if [ "$fail" != 0 ]; then
  echo "real K3s check FAILED"
  exit 1
fi
echo "real K3s check passed"
