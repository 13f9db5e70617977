#!/usr/bin/env bash
# Shared by server.sh and agent.sh (sourced, never run alone): install K3s through its
# own installer, online or from an air-gap folder, and do nothing when it is already
# installed as wanted, so that `vagrant provision` twice changes nothing.
#
# Inputs (environment): K3S_TOKEN (secret, never put on a command line), K3S_VERSION or
# K3S_CHANNEL, K3S_AIRGAP_DIR (a folder holding install.sh, k3s and optional images),
# NODE_IP, K3S_EXTRA_FLAGS.

log() { printf '[k3s-vagrant %s] %s\n' "$(hostname)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The interface that carries an address: on Vagrant's machines eth0 is the NAT
# interface with the same address everywhere, so K3s must be told which one to use.
interface_of() {
  local ip=$1 iface
  iface=$(ip -o -4 addr show | awk -v ip="$ip" '{ split($4, a, "/"); if (a[1] == ip) { print $2; exit } }')
  [ -n "$iface" ] || die "no interface holds $ip; check the machine's private network (ip -4 addr)"
  printf '%s\n' "$iface"
}

# Runs K3s's installer unless the same install (role, flags, version, token) is
# already in place and its service is running. $1: unit name, $2: INSTALL_K3S_EXEC.
install_k3s() {
  local unit=$1 exec_line=$2 wanted marker=/etc/rancher/k3s/k3s-vagrant.sum
  [ -n "${K3S_TOKEN:-}" ] || die "K3S_TOKEN is empty: the Vagrantfile hands it over; run 'vagrant provision' from the cluster's folder"
  wanted=$(printf '%s\n' "$unit" "$exec_line" "${K3S_VERSION:-}" "${K3S_CHANNEL:-}" "${K3S_URL:-}" "$K3S_TOKEN" | sha256sum | cut -d' ' -f1)
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$wanted" ] && systemctl is-active --quiet "$unit"; then
    log "K3s is already installed as wanted ($unit is running): nothing to do"
    return 0
  fi

  local installer
  if [ -n "${K3S_AIRGAP_DIR:-}" ]; then
    if [ ! -f "$K3S_AIRGAP_DIR/install.sh" ] || [ ! -f "$K3S_AIRGAP_DIR/k3s" ]; then
      die "$K3S_AIRGAP_DIR must hold install.sh and k3s (K3S_VAGRANT_AIRGAP_DIR on the host)"
    fi
    log "installing K3s from the air-gap folder (no download)"
    install -m 755 "$K3S_AIRGAP_DIR/k3s" /usr/local/bin/k3s
    if compgen -G "$K3S_AIRGAP_DIR/k3s-airgap-images-*" >/dev/null; then
      install -d -m 755 /var/lib/rancher/k3s/agent/images
      cp "$K3S_AIRGAP_DIR"/k3s-airgap-images-* /var/lib/rancher/k3s/agent/images/
    fi
    installer="$K3S_AIRGAP_DIR/install.sh"
    export INSTALL_K3S_SKIP_DOWNLOAD=true
  else
    log "downloading K3s's installer from https://get.k3s.io"
    installer=$(mktemp)
    local attempt
    for attempt in 1 2 3 4 5; do
      curl -sfL --connect-timeout 10 https://get.k3s.io -o "$installer" && break
      [ "$attempt" = 5 ] && die "cannot download https://get.k3s.io (no internet?): set K3S_VAGRANT_AIRGAP_DIR to a folder holding install.sh and k3s"
      log "download failed (attempt $attempt/5), retrying in $((attempt * 2)) s"
      sleep $((attempt * 2))
    done
  fi

  if [ -n "${K3S_VERSION:-}" ]; then export INSTALL_K3S_VERSION=$K3S_VERSION; fi
  if [ -n "${K3S_CHANNEL:-}" ]; then export INSTALL_K3S_CHANNEL=$K3S_CHANNEL; fi
  export INSTALL_K3S_EXEC=$exec_line K3S_TOKEN
  log "running K3s's installer: $exec_line"
  sh "$installer" || die "K3s's installer failed (see above); 'sudo journalctl -u $unit' on $(hostname) tells more"
  install -d -m 755 /etc/rancher/k3s
  printf '%s\n' "$wanted" > "$marker"
  chmod 600 "$marker"
}

# The air-gap folder is uploaded anew by each `vagrant provision`: remove it once used.
cleanup_airgap() {
  if [ -n "${K3S_AIRGAP_DIR:-}" ] && [ -d "$K3S_AIRGAP_DIR" ]; then rm -rf "$K3S_AIRGAP_DIR"; fi
}
