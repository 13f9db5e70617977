#!/usr/bin/env bash
# netns.sh - the network namespace the VM test tier runs in. Traffic to private
# addresses (libvirt's 192.168.x networks, the VMs) is allowed only inside a namespace
# the tests create, so virtlogd, libvirtd, vagrant, virsh and every client of the VMs
# run under `ip netns exec k3sv-test`. TEST INFRASTRUCTURE ONLY.
#
# Usage (as root):
#   tests/vm/netns.sh up          create the netns, start virtlogd + libvirtd inside it
#   tests/vm/netns.sh exec CMD... run CMD inside the netns (e.g. vagrant up, virsh list)
#   tests/vm/netns.sh status      say what is running
#   tests/vm/netns.sh down        remove the tests' libvirt domains, volumes, networks,
#                                 stop the daemons started by `up`, delete the netns
# Env: K3SV_NETNS (default k3sv-test); K3SV_TEST_PREFIX (default k3sv-test-): Vagrant
#      project folders of the tests are named with it, so libvirt domains, volumes and
#      private networks carry it; `down` removes those, the management network
#      vagrant-libvirt, the networks k3s-up makes (k3s-vagrant-*) and the test box's volumes.
set -euo pipefail

NS="${K3SV_NETNS:-k3sv-test}"
PREFIX="${K3SV_TEST_PREFIX:-k3sv-test-}"
BOX_VOLUME_PREFIX="k3s-vagrant-VAGRANTSLASH-debian12-test_vagrant_box_image_"
MGMT_NET="vagrant-libvirt"
STEP_NET_PREFIX="k3s-vagrant-" # networks k3s-up makes (k3s-down removes them; a killed test may not)
STATE="/run/k3sv-netns/$NS"
QEMU_CONF="/etc/libvirt/qemu.conf"
URI="qemu:///system"

log() { printf '[netns %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[netns] ERROR: %s\n' "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (ip netns, libvirtd)"; }

ns_exists() { [ -e "/run/netns/$NS" ]; }

ns_inode() { stat -L -c %i "/run/netns/$NS" 2>/dev/null; }

# pids whose network namespace is ours; optional comm filter
pids_in_ns() {
  local want ino pid comm
  want="$(ns_inode)" || return 0
  for pid in /proc/[0-9]*; do
    pid="${pid#/proc/}"
    ino="$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null)" || continue
    [ "$ino" = "$want" ] || continue
    if [ $# -gt 0 ]; then
      comm="$(cat "/proc/$pid/comm" 2>/dev/null)" || continue
      [ "$comm" = "$1" ] || continue
    fi
    printf '%s\n' "$pid"
  done
}

nsx() { ip netns exec "$NS" "$@"; }

virsh_ok() { nsx virsh -q -c "$URI" list --all >/dev/null 2>&1; }

check_machine() {
  local missing=()
  command -v ip >/dev/null 2>&1 || missing+=("ip (iproute2)")
  command -v virsh >/dev/null 2>&1 || missing+=("virsh (libvirt-clients)")
  command -v libvirtd >/dev/null 2>&1 || [ -x /usr/sbin/libvirtd ] || missing+=("libvirtd (libvirt-daemon-system)")
  command -v virtlogd >/dev/null 2>&1 || [ -x /usr/sbin/virtlogd ] || missing+=("virtlogd (libvirt-daemon-system)")
  command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=("qemu-system-x86_64 (qemu-system-x86)")
  command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || missing+=("dnsmasq (dnsmasq-base)")
  if [ ${#missing[@]} -gt 0 ]; then
    die "this machine cannot run the VM tests: missing ${missing[*]}"
  fi
}

ensure_qemu_conf() {
  local changed=0
  [ -f "$QEMU_CONF" ] || die "$QEMU_CONF not found (is libvirt-daemon-driver-qemu installed?)"
  if ! grep -Eq '^[[:space:]]*user[[:space:]]*=[[:space:]]*"root"' "$QEMU_CONF"; then
    printf '%s\nuser = "root"\n' \
      '# added by k3s-vagrant tests/vm/netns.sh: qemu runs as root (root-only /dev/kvm, images under /root)' \
      >> "$QEMU_CONF"
    changed=1
  fi
  if ! grep -Eq '^[[:space:]]*group[[:space:]]*=[[:space:]]*"root"' "$QEMU_CONF"; then
    printf 'group = "root"\n' >> "$QEMU_CONF"
    changed=1
  fi
  [ "$changed" = 0 ] || log "set user/group = \"root\" in $QEMU_CONF"
  return "$changed"
}

# a daemon of that name running outside our namespace holds libvirt's sockets and pid files
foreign_daemon() {
  local name="$1" pid mine
  mine=" $(pids_in_ns "$name" | tr '\n' ' ') "
  for pid in $(pgrep -x "$name" || true); do
    case "$mine" in *" $pid "*) ;; *) printf '%s\n' "$pid"; return 0 ;; esac
  done
  return 1
}

start_daemon() {
  local name="$1" pid foreign
  if [ -n "$(pids_in_ns "$name")" ]; then
    log "$name already runs in netns $NS"
    return 0
  fi
  if foreign="$(foreign_daemon "$name")"; then
    die "$name already runs outside netns $NS (pid $foreign): it holds /run/libvirt; stop it first (not ours to kill)"
  fi
  nsx "$name" -d || die "starting $name -d in netns $NS failed"
  for _ in $(seq 1 50); do
    pid="$(pids_in_ns "$name" | head -1)"
    [ -n "$pid" ] && break
    sleep 0.1
  done
  [ -n "$pid" ] || die "$name did not stay up in netns $NS (see /var/log/libvirt/)"
  mkdir -p "$STATE"
  printf '%s\n' "$pid" > "$STATE/$name.pid"
  log "started $name (pid $pid) in netns $NS"
}

stop_daemon() {
  local name="$1" pid
  [ -f "$STATE/$name.pid" ] || { log "$name was not started by us; leaving it"; return 0; }
  pid="$(cat "$STATE/$name.pid")"
  if [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    [ ! -d "/proc/$pid" ] || kill -9 "$pid" 2>/dev/null || true
    log "stopped $name (pid $pid)"
  fi
  rm -f "$STATE/$name.pid"
}

cmd_up() {
  local t0=$SECONDS conf_changed=0
  need_root
  check_machine
  if ! ns_exists; then
    local err
    err="$(ip netns add "$NS" 2>&1)" ||
      die "ip netns add $NS failed: $err" "(needs CAP_SYS_ADMIN and a writable /run/netns;" \
        "in a container, run it privileged)"
    log "created netns $NS"
  fi
  nsx ip link set lo up || die "cannot bring lo up in netns $NS"
  ensure_qemu_conf || conf_changed=1
  if [ "$conf_changed" = 1 ] && [ -n "$(pids_in_ns libvirtd)" ]; then
    log "qemu.conf changed: restarting our libvirtd"
    stop_daemon libvirtd
  fi
  start_daemon virtlogd
  start_daemon libvirtd
  for _ in $(seq 1 60); do
    if virsh_ok; then
      # vagrant-libvirt defines the storage pool "default" when it is missing: note
      # that, so that `down` removes it again
      mkdir -p "$STATE"
      if ! nsx virsh -q -c "$URI" pool-info default >/dev/null 2>&1 && [ ! -e "$STATE/pool-default.ours" ]; then
        : > "$STATE/pool-default.ours"
      fi
      log "libvirt answers in netns $NS (up in $((SECONDS - t0)) s)"
      return 0
    fi
    sleep 0.5
  done
  die "virsh -c $URI list does not answer in netns $NS after 30 s (see /var/log/libvirt/libvirtd.log)"
}

ours() {
  case "$1" in
    "$PREFIX"*|"$BOX_VOLUME_PREFIX"*|"$MGMT_NET"|"$STEP_NET_PREFIX"*) return 0 ;;
  esac
  return 1
}

cmd_down() {
  local name pool vol
  need_root
  if ns_exists && virsh_ok; then
    for name in $(nsx virsh -q -c "$URI" list --all --name); do
      ours "$name" || continue
      nsx virsh -q -c "$URI" destroy "$name" >/dev/null 2>&1 || true
      nsx virsh -q -c "$URI" undefine "$name" --remove-all-storage --nvram >/dev/null 2>&1 \
        || nsx virsh -q -c "$URI" undefine "$name" --remove-all-storage >/dev/null 2>&1 \
        || log "could not undefine domain $name"
      log "removed domain $name"
    done
    for pool in $(nsx virsh -q -c "$URI" pool-list --all --name); do
      nsx virsh -q -c "$URI" pool-refresh "$pool" >/dev/null 2>&1 || true
      for vol in $(nsx virsh -q -c "$URI" vol-list "$pool" 2>/dev/null | awk '{print $1}'); do
        ours "$vol" || continue
        nsx virsh -q -c "$URI" vol-delete "$vol" --pool "$pool" >/dev/null 2>&1 && log "removed volume $pool/$vol"
      done
    done
    if [ -e "$STATE/pool-default.ours" ] && nsx virsh -q -c "$URI" pool-info default >/dev/null 2>&1 \
       && [ -z "$(nsx virsh -q -c "$URI" vol-list default 2>/dev/null)" ]; then
      nsx virsh -q -c "$URI" pool-destroy default >/dev/null 2>&1 || true
      nsx virsh -q -c "$URI" pool-undefine default >/dev/null 2>&1 &&
        log "removed storage pool default (made by vagrant-libvirt)"
    fi
    for name in $(nsx virsh -q -c "$URI" net-list --all --name); do
      ours "$name" || continue
      nsx virsh -q -c "$URI" net-destroy "$name" >/dev/null 2>&1 || true
      nsx virsh -q -c "$URI" net-undefine "$name" >/dev/null 2>&1 && log "removed network $name"
    done
  elif ns_exists; then
    log "libvirt does not answer in netns $NS: no libvirt objects removed"
  fi
  stop_daemon libvirtd
  stop_daemon virtlogd
  if ns_exists; then
    local left
    left="$(pids_in_ns | tr '\n' ' ')"
    if [ -n "${left// /}" ]; then
      log "killing processes left in netns $NS (qemu/dnsmasq of our libvirtd): $left"
      # shellcheck disable=SC2086  # a list of pids
      kill $left 2>/dev/null || true
      sleep 1
      left="$(pids_in_ns | tr '\n' ' ')"
      # shellcheck disable=SC2086
      [ -z "${left// /}" ] || kill -9 $left 2>/dev/null || true
    fi
    ip netns delete "$NS" && log "deleted netns $NS"
  fi
  rm -rf "$STATE"
}

cmd_status() {
  if ! ns_exists; then echo "netns $NS: absent"; return 0; fi
  echo "netns $NS: present"
  echo "virtlogd: $(pids_in_ns virtlogd | tr '\n' ' ')"
  echo "libvirtd: $(pids_in_ns libvirtd | tr '\n' ' ')"
  if virsh_ok; then
    nsx virsh -c "$URI" list --all
    nsx virsh -c "$URI" net-list --all
  else
    echo "libvirt: not answering"
  fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  exec)
    shift
    [ $# -gt 0 ] || die "usage: $0 exec CMD [ARG...]"
    ns_exists || die "netns $NS does not exist: run '$0 up' first"
    exec ip netns exec "$NS" "$@"
    ;;
  *) die "usage: $0 up | exec CMD... | status | down" ;;
esac
