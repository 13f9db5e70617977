#!/usr/bin/env bash
# The README's flow on YOUR laptop (macOS, Linux, or Windows in Git Bash): what this
# project's CI cannot run. It prints what the host has (system, architecture, Vagrant and
# its providers, Java, JBang), brings a one-server one-agent cluster up with k3s-up,
# merges its kubeconfig into a private KUBECONFIG, checks with kubectl that both nodes are
# Ready at their 192.168.56.x addresses, runs k3s-status, then k3s-down; it ends with a
# summary to paste into an issue. Needs internet on the host (K3s is downloaded once).
# Nothing of yours is touched: the cluster folder and the kubeconfig are in a temporary
# folder, removed at the end (unless --keep). Written for macOS's bash 3.2.
#
# Usage: tests/host/check-host.sh [--keep] [k3s-up flags...]
#   e.g. tests/host/check-host.sh --provider virtualbox --box bento/debian-13
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=node-ready.sh
source tests/host/node-ready.sh

keep=0
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1 ;;
    *) args+=("$1") ;;
  esac
  shift
done

# JBang: installed (Windows: winget install jbangdev.jbang), else this repository's launcher
if command -v jbang >/dev/null 2>&1; then jbang=jbang; else jbang=bin/jbang; fi

facts() {
  echo "system:        $(uname -s) $(uname -r) ($(uname -m))"
  echo "vagrant:       $(vagrant --version 2>/dev/null || echo 'not found')"
  echo "virtualbox:    $(VBoxManage --version 2>/dev/null || echo 'not on PATH')"
  echo "libvirt:       $(virsh --version 2>/dev/null || echo 'not found')"
  echo "java:          $(java -version 2>&1 | head -n 1 || echo 'not found')"
  echo "jbang:         $jbang"
  echo "kubectl:       $(kubectl version --client 2>/dev/null | head -n 1 || echo 'not found')"
}

work=$(mktemp -d)
export K3S_VAGRANT_HOME="$work/home" KUBECONFIG="$work/kubeconfig"
login=hostcheck
result="FAILED (see above)"
cleanup() {
  if [ "$keep" = 1 ]; then
    echo "kept: cluster folder $K3S_VAGRANT_HOME/clusters/$login, KUBECONFIG=$KUBECONFIG" >&2
  elif [ -f "$work/cluster.json" ]; then
    "$jbang" k3s-down --cluster - < "$work/cluster.json" >/dev/null \
      || echo "k3s-down failed: remove the machines in $K3S_VAGRANT_HOME/clusters/$login by hand" >&2
    rm -rf "$work"
  elif [ -d "$K3S_VAGRANT_HOME/clusters/$login" ]; then
    "$jbang" k3s-down --name "$login" >/dev/null \
      || echo "k3s-down failed: remove the machines in $K3S_VAGRANT_HOME/clusters/$login by hand" >&2
    rm -rf "$work"
  fi
  echo
  echo "---- k3s-vagrant host check: paste from here ----"
  facts
  echo "k3s-up flags:  ${args[*]:-(none)}"
  echo "result:        $result"
  echo "---- to here ----"
}
trap cleanup EXIT

echo "== this host" >&2
facts >&2

echo "== warming JBang's cache" >&2
for step in up kubeconfig status down; do "$jbang" build "scripts/$step.java" >/dev/null; done

echo "== k3s-up | k3s-kubeconfig --merge" >&2
start=$SECONDS
# ${args[@]+...}: bash 3.2 calls an empty array unbound under set -u
"$jbang" k3s-up --login "$login" ${args[@]+"${args[@]}"} | "$jbang" k3s-kubeconfig --merge > "$work/cluster.json"
took=$((SECONDS - start))
echo "== Ready after $took s; kubectl get nodes -o wide:" >&2
kubectl get nodes -o wide

fail=0
for pair in "${login}s=192.168.56.110" "${login}sw=192.168.56.111"; do
  node_ready_at "${pair%%=*}" "${pair#*=}" || fail=1
done
"$jbang" k3s-status < "$work/cluster.json" >&2 || fail=1
if [ "$fail" = 0 ]; then result="passed: Ready after $took s"; fi
[ "$fail" = 0 ]
