#!/bin/sh
# Vagrant's one shell provisioner of a machine ("k3s" in the Vagrantfile), run as root: unpacks the machine's upload
# (one archive, provision/upload.rb), gives the machine its host name and address (machine.sh), then runs its role's
# script (server.sh or agent.sh), all from the unpacked folder. One provisioner, not three: each costs Vagrant's own
# guest commands and an upload (about a second under QEMU). ROLE, and the settings of those scripts, in its env.
set -eu
dir=$(dirname "$0")
case "${ROLE:-}" in
  server | agent) ;;
  *) echo "unpack-and-run.sh: ROLE=${ROLE:-} must be server or agent" >&2; exit 1 ;;
esac
if [ -f "$dir/upload.tar" ]; then
  # root's files whoever uploaded it (-o); the tokens in it stay 600 and are removed by the scripts once read
  (umask 077 && tar -xof "$dir/upload.tar" -C "$dir")
  rm -f "$dir/upload.tar"
fi
sh "$dir/machine.sh"
exec bash "$dir/$ROLE.sh"
