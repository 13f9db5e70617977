#!/usr/bin/env bash
# boot-test.sh - the VM test tier's end-to-end check: boots the two-machine cluster of
# provision/Vagrantfile for real (vagrant-libvirt, software emulation) with the test box
# and the K3s TEST STAND-IN as air-gap folder, checks that `kubectl get nodes -o wide`
# on the server lists both nodes Ready with 192.168.56.110/.111, then destroys it.
# Everything talking to the VMs runs inside the test netns (see netns.sh).
#
# Usage (as root): tests/vm/boot-test.sh
# Env: K3S_VAGRANT_LOGIN (default wil), K3SV_KEEP=1 keeps the machines (and the netns)
#      for inspection (then: cd DIR && tests/vm/netns.sh exec vagrant destroy -f;
#      tests/vm/netns.sh down), K3SV_KEEP_NETNS=1 keeps only the netns and libvirtd.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
NETNS="$HERE/netns.sh"
LOGIN="${K3S_VAGRANT_LOGIN:-wil}"
SERVER_IP=192.168.56.110
WORKER_IP=192.168.56.111

log() { printf '[boot-test %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[boot-test] FAIL: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root"
[ -f "$REPO/provision/Vagrantfile" ] || die "no provision/Vagrantfile in $REPO"

t0=$SECONDS
"$HERE/build-box.sh" >/dev/null
t_box=$((SECONDS - t0))
"$NETNS" up

PROJECT="$(mktemp -d /tmp/k3sv-test-XXXXXX)"   # libvirt names carry the k3sv-test- prefix
cp -r "$REPO/provision/." "$PROJECT/"
rm -rf "$PROJECT/.vagrant" "$PROJECT/cluster.env"
export K3S_VAGRANT_BOX=k3s-vagrant/debian12-test
export K3S_VAGRANT_AIRGAP_DIR="$REPO/tests/k3s-standin"
export K3S_VAGRANT_LIBVIRT_DRIVER=qemu
export K3S_VAGRANT_LIBVIRT_CPU_MODEL=qemu64
export K3S_VAGRANT_LOGIN="$LOGIN"

vg() { (cd "$PROJECT" && "$NETNS" exec vagrant "$@"); }

cleanup() {
  local rc=$?
  if [ "${K3SV_KEEP:-0}" = 1 ]; then
    log "kept: $PROJECT (machines ${LOGIN}S, ${LOGIN}SW) and netns"
    exit "$rc"
  fi
  local t=$SECONDS
  vg destroy -f >/dev/null 2>&1 || log "vagrant destroy failed; netns.sh down cleans up"
  log "destroyed in $((SECONDS - t)) s"
  rm -rf "$PROJECT"
  [ "$rc" != 0 ] || rm -f "$PROJECT.up.log"   # kept when the test failed
  [ "${K3SV_KEEP_NETNS:-0}" = 1 ] || "$NETNS" down
  exit "$rc"
}
trap cleanup EXIT

log "vagrant up in $PROJECT (log: $PROJECT.up.log)"
t1=$SECONDS
if ! vg up --provider libvirt > "$PROJECT.up.log" 2>&1; then
  tail -30 "$PROJECT.up.log" >&2
  die "vagrant up failed after $((SECONDS - t1)) s (full log $PROJECT.up.log)"
fi
t_up=$((SECONDS - t1))
log "vagrant up done in $t_up s"

out="$(vg ssh "${LOGIN}S" -c 'sudo kubectl get nodes -o wide' 2>/dev/null)" || die "kubectl on ${LOGIN}S failed: $out"
printf '%s\n' "$out" >&2
server_node="$(printf '%s' "${LOGIN}S" | tr '[:upper:]' '[:lower:]')"
for pair in "$server_node:$SERVER_IP" "${server_node}w:$WORKER_IP"; do
  name="${pair%%:*}" ip="${pair#*:}"
  printf '%s\n' "$out" | awk -v n="$name" -v ip="$ip" '$1 == n && $2 == "Ready" && $6 == ip { f = 1 } END { exit !f }' \
    || die "node $name is not Ready with INTERNAL-IP $ip"
done
log "PASS: both nodes Ready with $SERVER_IP and $WORKER_IP (box ${t_box} s, up ${t_up} s)"
