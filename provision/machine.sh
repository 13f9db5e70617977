#!/bin/sh
# Gives a Vagrant machine its host name, before K3s starts (K3s names its node after the host). Run by Vagrant as
# root, with MACHINE_NAME in its environment; changes nothing when the name is already set. Instead of Vagrant's
# node.vm.hostname, whose Debian capability then restarts every interface (11-19 s under QEMU): the same files
# written (/etc/hostname, /etc/hosts' 127.0.X.1 line), and nothing restarted.
set -eu
etc=${MACHINE_ROOT:-}/etc # a test runs this under a folder of its own
name=${MACHINE_NAME:?MACHINE_NAME must be set: the host name of this machine}
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
# the running name: hostnamectl where systemd runs (it also tells systemd's services), else hostname
if [ "$(hostname)" != "$name" ]; then
  if command -v hostnamectl >/dev/null 2>&1 && hostnamectl >/dev/null 2>&1; then
    hostnamectl set-hostname "$name"
  else
    hostname "$name"
  fi
  echo "machine.sh: host name set to $name"
fi
