#!/bin/sh
# Gives a Vagrant machine its host name and private address before K3s starts (K3s names its node after the host,
# and --node-ip/--flannel-iface need the address). Run by Vagrant as root, with MACHINE_NAME and MACHINE_IP in its
# environment; changes nothing when both are already there. Instead of Vagrant's node.vm.hostname, whose Debian
# capability restarts every interface (11-19 s under QEMU), and of its network configuration, which brings the
# interfaces down and up (5-12 s): the same files written, and only the private interface brought up.
set -eu
etc=${MACHINE_ROOT:-}/etc # a test runs this under a folder of its own
name=${MACHINE_NAME:?MACHINE_NAME must be set: the host name of this machine}
ip=${MACHINE_IP:?MACHINE_IP must be set: the private address of this machine, in the /24 of the cluster}
case "$name" in
  *[!A-Za-z0-9-]* | -* | "") echo "machine.sh: MACHINE_NAME=$name is not a host name (letters, digits, -)" >&2
                             exit 1 ;;
esac

# As Vagrant's Debian capability: the name on the first free 127.0.X.1 line unless /etc/hosts has it already,
# so that `hostname -f` and sudo resolve it without DNS.
if ! grep -qw -- "$name" "$etc/hosts" 2>/dev/null; then
  for i in 1 2 3 4 5; do
    if ! grep -qw "127\.0\.$i\.1" "$etc/hosts" 2>/dev/null; then
      printf '127.0.%s.1 %s %s\n' "$i" "$name" "$name" >>"$etc/hosts"
      break
    fi
  done
fi
[ "$(cat "$etc/hostname" 2>/dev/null)" = "$name" ] || printf '%s\n' "$name" >"$etc/hostname"
# the running name: hostnamectl where systemd runs (it also tells systemd's services), else hostname; in the
# background while the address is brought up (each takes a second or more under QEMU), waited for at the end
naming=
if [ "$(hostname)" != "$name" ]; then
  if command -v hostnamectl >/dev/null 2>&1 && hostnamectl >/dev/null 2>&1; then
    hostnamectl set-hostname "$name" &
  else
    hostname "$name" &
  fi
  naming=$!
fi

# The private network is the machine's second network card (the first is Vagrant's NAT), found by its order
# and not by its MAC: the providers choose the MAC and Vagrant does not tell the guest.
iface=$(ip -o link show | awk -F': ' '$2 != "lo" { n++; if (n == 2) { sub(/@.*/, "", $2); print $2; exit } }')
[ -n "$iface" ] || { echo "machine.sh: no second network card for $ip: is the private_network missing?" >&2; exit 1; }
# Written where the guest's own network service reads it at boot (the order of Vagrant's Debian capability:
# netplan, systemd-networkd, ifupdown), so the address survives a reboot or `vagrant reload`.
if command -v netplan >/dev/null 2>&1 && [ -d "$etc/netplan" ]; then
  file=$etc/netplan/50-k3s-vagrant.yaml
  want=$(printf 'network:\n  version: 2\n  ethernets:\n    %s:\n      addresses: [%s/24]\n' "$iface" "$ip")
  up="netplan apply"
elif systemctl is-active --quiet systemd-networkd 2>/dev/null; then
  file=$etc/systemd/network/50-k3s-vagrant.network
  want=$(printf '[Match]\nName=%s\n\n[Network]\nAddress=%s/24\n' "$iface" "$ip")
  up="networkctl reload"
elif grep -qs "^iface $iface " "$etc/network/interfaces"; then
  file=$etc/network/interfaces # a machine Vagrant configured before (its #VAGRANT-BEGIN block): two would clash
  want=$(cat "$file")
  up="ifup $iface"
else
  file=$etc/network/interfaces.d/k3s-vagrant
  want=$(printf 'auto %s\niface %s inet static\n    address %s/24\n' "$iface" "$iface" "$ip")
  up="ifup $iface"
  grep -qs '^source.*interfaces\.d' "$etc/network/interfaces" \
    || printf 'source /etc/network/interfaces.d/*\n' >>"$etc/network/interfaces"
fi
if [ "$(cat "$file" 2>/dev/null)" != "$want" ]; then
  mkdir -p "$(dirname "$file")"
  printf '%s\n' "$want" >"$file"
  chmod 600 "$file" # netplan warns about files others may read
fi
if ! ip -4 -o addr show dev "$iface" | grep -q " $ip/"; then
  $up
  echo "machine.sh: $ip/24 on $iface"
fi
if [ -n "$naming" ]; then
  wait "$naming" || { echo "machine.sh: the host name $name could not be set" >&2; exit 1; }
  echo "machine.sh: host name set to $name"
fi
