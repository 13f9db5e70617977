#!/usr/bin/env bash
# Provisions a K3s agent joined to the server at SERVER_URL. Run by Vagrant as root,
# and by k3s-join on any SSH host, with the settings in its environment; safe to run again.
set -euo pipefail
# shellcheck source=k3s-common.sh
. "$(dirname "$0")/k3s-common.sh"
trap cleanup_airgap EXIT

[ -n "${NODE_IP:-}" ] || die "NODE_IP must be set (the address of this machine that the server can reach)"
[ -n "${SERVER_URL:-}" ] || die "SERVER_URL must be set (e.g. https://192.168.56.110:6443)"
log "provisioning the K3s agent at $NODE_IP"
iface=${FLANNEL_IFACE:-$(interface_of "$NODE_IP")}
load_token # first: an uploaded token file is removed at once (TOKEN_FILE_REMOVE)
load_proxy # before any download, and so that the server is reached directly

# Machines boot in parallel: wait (bounded) for the server's API instead of failing.
wait_for_server "$SERVER_URL"
check_token_against "$SERVER_URL"

export K3S_URL=$SERVER_URL
# shellcheck disable=SC2086 # EXTRA_FLAGS is a list of flags
install_k3s k3s-agent.service "agent --node-ip $NODE_IP --flannel-iface $iface ${EXTRA_FLAGS:-}"
log "K3s agent installed; it joins $SERVER_URL"
