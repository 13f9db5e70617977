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

export K3S_URL=$SERVER_URL
exec_line="agent --node-ip $NODE_IP --flannel-iface $iface ${EXTRA_FLAGS:-}" # K3s's installer splits it
uninstall=${INSTALL_K3S_BIN_DIR:-/usr/local/bin}/k3s-agent-uninstall.sh
if [ -e "$uninstall" ] || [ "${INSTALL_WHILE_SERVER_STARTS:-}" != 1 ]; then
  # an agent is here already (provisioning again, an upgrade), or a host joins a running server (k3s-join): nothing
  # changes before the server is checked
  wait_for_server "$SERVER_URL"
  check_token_against "$SERVER_URL"
  install_k3s k3s-agent.service "$exec_line"
else
  # A new agent of a Vagrant machine (INSTALL_WHILE_SERVER_STARTS=1 from the Vagrantfile): installed but not
  # started while the server may still be starting (machines boot in parallel):
  # the binary, the service's files and systemd's reload take seconds under QEMU. Started once the server answers
  # (a bounded wait) and its CA matches the token: K3s's agent would retry until the server is up, but would send
  # the token to a server not checked yet. Should that fail, the agent that never started is removed again.
  INSTALL_K3S_SKIP_START=true install_k3s k3s-agent.service "$exec_line"
  trap 'log "removing the agent installed above: it never started"; "$uninstall" >/dev/null 2>&1 || true
        cleanup_airgap' EXIT
  wait_for_server "$SERVER_URL"
  check_token_against "$SERVER_URL"
  trap cleanup_airgap EXIT
  log "starting K3s's agent"
  service_restart k3s-agent || die "K3s's agent did not start; $(service_log k3s-agent) on $(hostname) tells why"
fi
log "K3s agent installed; it joins $SERVER_URL"
