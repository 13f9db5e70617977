#!/usr/bin/env bash
# Provisions the K3s server (controller) of the cluster. Run by Vagrant as root, with
# the settings in its environment (see the Vagrantfile); safe to run again.
set -euo pipefail
# shellcheck source=k3s-common.sh
. "$(dirname "$0")/k3s-common.sh"
trap cleanup_airgap EXIT

[ -n "${NODE_IP:-}" ] || die "NODE_IP must be set (the private address of the server)"
log "provisioning the K3s server at $NODE_IP"
iface=${FLANNEL_IFACE:-$(interface_of "$NODE_IP")}
load_token # first: uploaded token files are removed at once (TOKEN_FILE_REMOVE)
load_agent_token
load_proxy # before any download, and so that the server is reached directly

# The kubeconfig stays unreadable to other users; the vagrant user reads it through
# its group so that `vagrant ssh -c kubectl` works without sudo (install_k3s picks the flags).
kubeconfig_group=""
if getent group vagrant >/dev/null; then kubeconfig_group=vagrant; fi

# Several servers (HA=init|join): the first starts embedded etcd, the others join it
# once its API answers. Every server's certificate names every server's address.
ha_flags=""
case "${HA:-}" in
  init) ha_flags="--cluster-init" ;;
  join)
    [ -n "${SERVER_URL:-}" ] || die "SERVER_URL must be set for a joining server (the first server's https://IP:PORT)"
    wait_for_server "$SERVER_URL"
    check_token_against "$SERVER_URL" server
    ha_flags="--server $SERVER_URL" ;;
  "") ;;
  *) die "HA=$HA: expected init, join or nothing" ;;
esac
tls_sans=""
for ip in $(printf '%s\n' "$NODE_IP" "${SERVER_IPS:-}" | tr ',' '\n' | sort -u); do
  tls_sans="$tls_sans --tls-san $ip"
done

# shellcheck disable=SC2086 # EXTRA_FLAGS is a list of flags
install_k3s k3s.service "server $ha_flags --node-ip $NODE_IP --advertise-address $NODE_IP$tls_sans\
 --flannel-iface $iface ${EXTRA_FLAGS:-}" "$kubeconfig_group"

# Ready for kubectl before Vagrant says the machine is up.
wait=${API_WAIT:-600}
log "waiting up to ${wait} s for the API and this node to be Ready"
deadline=$((SECONDS + wait))
# the node is known by its address: --node-name in K3S_VAGRANT_SERVER_FLAGS may rename it
until k3s kubectl get nodes -o wide --no-headers 2>/dev/null \
  | awk -v ip="$NODE_IP" '$2 == "Ready" && $6 == ip { found = 1 } END { exit !found }'; do
  [ "$SECONDS" -lt "$deadline" ] \
    || die "K3s did not become Ready within ${wait} s; 'sudo journalctl -u k3s' on $(hostname) tells why"
  sleep 1 # Ready at most a second before Vagrant hears it
done
# the port is in SERVER_URL, which the Vagrantfile takes from --https-listen-port in the server flags
port=${SERVER_URL:-:6443}
log "K3s server is Ready at https://$NODE_IP:${port##*:}"
