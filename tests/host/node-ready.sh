# shellcheck shell=bash
# Sourced by tests/host/check-host.sh and tests/vm/real-k3s-check.sh (both run from the repository's root):
# the one check of a node that both make, so their ok/FAIL lines read alike.

# node_ready_at NODE IP: prints "ok ..." when kubectl sees NODE Ready with INTERNAL-IP IP, else a FAIL line
# naming what it saw, and returns 1.
node_ready_at() {
  local node=$1 ip=$2 ready internal
  ready=$(kubectl get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null \
    || true)
  internal=$(kubectl get node "$node" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}' \
    2>/dev/null || true)
  if [ "$ready" = True ] && [ "$internal" = "$ip" ]; then
    echo "ok   $node Ready with INTERNAL-IP $internal"
  else
    echo "FAIL $node: Ready=$ready INTERNAL-IP=$internal (want True, $ip)"
    return 1
  fi
}
