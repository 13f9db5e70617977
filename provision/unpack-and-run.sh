#!/bin/sh
# Vagrant's one provisioner of a machine ("k3s" in the Vagrantfile), run as root. provision/upload.rb appends the
# machine's archive (its scripts, tokens, proxy file, air-gap files) below this script's last line, so that a single
# upload brings it all: each provisioner and each upload costs Vagrant's own guest commands (a second or two under
# QEMU). This unpacks the archive into UNPACK_DIR (made anew, mode 700), removes itself (it holds the tokens), gives
# the machine its host name and address (machine.sh), then runs the role's script (server.sh or agent.sh) from there.
set -eu
dir=${UNPACK_DIR:?UNPACK_DIR must be set: the folder to unpack into}
case "${ROLE:-}" in
  server | agent) ;;
  *) echo "unpack-and-run.sh: ROLE=${ROLE:-} must be server or agent" >&2; exit 1 ;;
esac
case "$dir" in
  /tmp/?* | /var/tmp/?*) ;;
  *) echo "unpack-and-run.sh: UNPACK_DIR=$dir must be a folder under /tmp or /var/tmp" >&2; exit 1 ;;
esac
# the line after the marker: awk stops there, before the archive's bytes; tail copies the rest as it is
start=$(awk '/^__ARCHIVE_BELOW__$/ { print NR + 1; exit }' "$0")
if [ -n "$start" ]; then
  rm -rf "$dir"
  (umask 077 && mkdir "$dir" && tail -n "+$start" "$0" | tar -xof - -C "$dir")
  rm -f "$0"
fi
sh "$dir/machine.sh"
# shellcheck disable=SC2093 # nothing after it runs: the marker line, then the archive
exec bash "$dir/$ROLE.sh"
__ARCHIVE_BELOW__
