#!/usr/bin/env bash
# build-box.sh - builds (once, then cached) the small Debian 12 Vagrant box for the
# libvirt provider that the VM test tier boots, from Debian's packages with mmdebstrap,
# and adds it to Vagrant as k3s-vagrant/debian12-test. TEST INFRASTRUCTURE ONLY.
#
# Cache key: a hash of this script's own content (the recipe). The box lands in
#   ${K3S_VAGRANT_CACHE:-/var/cache/k3s-vagrant}/boxes/<hash>/debian12-test.box
# and `vagrant box add --force` runs only when the installed box is not this hash
# (the box carries a recipe-hash file, which is the marker).
# Usage: tests/vm/build-box.sh            (needs root: mmdebstrap, chroot)
# Env:   BOX_INIT            systemd (default) or openrc: a host without systemd, as on Alpine,
#                            Gentoo or Devuan (sysvinit-core and openrc, which gives /sbin/openrc-run,
#                            where K3s's installer looks for openrc); box k3s-vagrant/debian12-openrc-test
#        K3S_VAGRANT_CACHE   cache root (default /var/cache/k3s-vagrant)
#        K3S_VAGRANT_MIRROR  Debian mirror URL (default http://deb.debian.org/debian;
#                            security from the same host's debian-security)
#        BOX_NAME            box name (default k3s-vagrant/debian12-test)
#        FORCE_REBUILD=1     ignore the cache
set -euo pipefail

BOX_INIT="${BOX_INIT:-systemd}"
case "$BOX_INIT" in
  systemd) INIT_PACKAGES=(systemd-sysv); VARIANT=debian12-test ;;
  openrc) INIT_PACKAGES=(sysvinit-core openrc); VARIANT=debian12-openrc-test ;;
  *) printf '[build-box] ERROR: BOX_INIT=%s: use systemd or openrc\n' "$BOX_INIT" >&2; exit 2 ;;
esac
BOX_NAME="${BOX_NAME:-k3s-vagrant/$VARIANT}"
SELF="$(readlink -f "${BASH_SOURCE[0]}")"
CACHE_ROOT="${K3S_VAGRANT_CACHE:-/var/cache/k3s-vagrant}"
KERNEL_PKG="linux-image-cloud-amd64"
PACKAGES=(
  "$KERNEL_PKG" "${INIT_PACKAGES[@]}" udev kmod ifupdown isc-dhcp-client iproute2
  openssh-server sudo curl ca-certificates procps iputils-ping python3 openssl
)
IMAGE_SIZE=3G

log() { printf '[build-box %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[build-box] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (mmdebstrap and chroot need it)"
for tool in mmdebstrap mkfs.ext4 qemu-img vagrant tar sha256sum chroot; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "missing tool '$tool' (apt-get install mmdebstrap e2fsprogs qemu-utils vagrant)"
done

HASH="$( (cat "$SELF"; echo "$BOX_INIT") | sha256sum | cut -c1-16)"
CACHE_DIR="$CACHE_ROOT/boxes/$HASH"
BOX_FILE="$CACHE_DIR/$VARIANT.box"
VAGRANT_HOME_DIR="${VAGRANT_HOME:-$HOME/.vagrant.d}"
INSTALLED_MARKER="$VAGRANT_HOME_DIR/boxes/${BOX_NAME//\//-VAGRANTSLASH-}/0/libvirt/recipe-hash"

find_insecure_key() {
  local k
  for k in /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub \
           /opt/vagrant/embedded/gems/gems/vagrant-*/keys/vagrant.pub \
           /usr/share/vagrant/keys/vagrant.pub; do
    [ -f "$k" ] && { printf '%s\n' "$k"; return 0; }
  done
  return 1
}

build_box() {
  local t0 work rootfs kver pubkey
  t0=$SECONDS
  pubkey="$(find_insecure_key)" ||
    die "Vagrant's insecure public key (keys/vagrant.pub) not found;" "is the Debian vagrant package installed?"
  mkdir -p "$CACHE_ROOT/boxes"
  work="$(mktemp -d "$CACHE_ROOT/boxes/.build-$HASH.XXXXXX")"
  # shellcheck disable=SC2064  # expand $work now, on purpose
  trap "rm -rf '$work'" EXIT
  rootfs="$work/rootfs"

  local mirror="${K3S_VAGRANT_MIRROR:-http://deb.debian.org/debian}"
  local mirror_args=(
    "deb $mirror bookworm main"
    "deb $mirror bookworm-updates main"
    "deb ${mirror%/debian}/debian-security bookworm-security main"
  )
  log "mmdebstrap bookworm (${#PACKAGES[@]} packages) into $rootfs"
  local joined
  joined="$(IFS=,; printf '%s' "${PACKAGES[*]}")"
  mmdebstrap --variant=minbase --mode=root --format=directory \
    --include="$joined" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --aptopt='APT::Install-Recommends "false"' \
    --quiet \
    bookworm "$rootfs" "${mirror_args[@]}" </dev/null >&2 || die "mmdebstrap failed (is the Debian mirror reachable?)"
  log "mmdebstrap done after $((SECONDS - t0)) s"

  log "configuring the image (user vagrant, sudo, network, fstab, machine-id)"
  chroot "$rootfs" useradd -m -s /bin/bash -U vagrant
  chroot "$rootfs" usermod -p '*' vagrant
  install -d -m 700 -o 1000 -g 1000 "$rootfs/home/vagrant/.ssh"
  install -m 600 -o 1000 -g 1000 "$pubkey" "$rootfs/home/vagrant/.ssh/authorized_keys"
  [ "$(stat -c %u "$rootfs/home/vagrant")" = 1000 ] || die "user vagrant did not get uid 1000"
  printf 'vagrant ALL=(ALL) NOPASSWD:ALL\nDefaults:vagrant !requiretty\n' > "$rootfs/etc/sudoers.d/vagrant"
  chmod 440 "$rootfs/etc/sudoers.d/vagrant"

  printf '/dev/vda / ext4 defaults,errors=remount-ro 0 1\n' > "$rootfs/etc/fstab"
  : > "$rootfs/etc/machine-id"
  rm -f "$rootfs/var/lib/dbus/machine-id"
  printf 'debian12\n' > "$rootfs/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian12\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$rootfs/etc/hosts"
  rm -f "$rootfs/etc/resolv.conf"; : > "$rootfs/etc/resolv.conf"
  cat > "$rootfs/etc/network/interfaces" <<'EOF'
# written by k3s-vagrant tests/vm/build-box.sh
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback

auto eth0
iface eth0 inet dhcp
EOF
  printf 'UseDNS no\n' > "$rootfs/etc/ssh/sshd_config.d/vagrant.conf"
  if [ "$BOX_INIT" = systemd ]; then
    # Each clone gets its own SSH host keys, made on first boot.
    rm -f "$rootfs"/etc/ssh/ssh_host_*
    cat > "$rootfs/etc/systemd/system/ssh-hostkeys.service" <<'EOF'
[Unit]
Description=Generate SSH host keys on first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
EOF
    chroot "$rootfs" systemctl enable ssh-hostkeys.service >/dev/null 2>&1
    # Boot faster: no waiting for the network online target beyond eth0, no apt timers.
    chroot "$rootfs" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer >/dev/null 2>&1 || true
  else
    # openrc: the host keys made at install stay (the VM tier boots one machine of this box), and
    # the services Debian's packages register run in openrc's runlevels
    [ -x "$rootfs/sbin/openrc-run" ] || die "openrc gave no /sbin/openrc-run, where K3s's installer looks for it"
    [ ! -e "$rootfs/bin/systemctl" ] \
      || die "the openrc box has systemctl: it would not stand for a host without systemd"
    chroot "$rootfs" rc-update add networking boot >/dev/null 2>&1 || true
    chroot "$rootfs" rc-update add ssh default >/dev/null 2>&1 || true
    sed -i 's/^#\?rc_parallel=.*/rc_parallel="NO"/' "$rootfs/etc/rc.conf" 2>/dev/null || true
  fi
  rm -rf "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log "$rootfs"/tmp/*

  log "copying kernel and initrd out of the image"
  kver="$(basename "$(find "$rootfs/boot" -maxdepth 1 -name 'vmlinuz-*' | sort | tail -1)")"
  kver="${kver#vmlinuz-}"
  if [ -z "$kver" ] || [ ! -f "$rootfs/boot/initrd.img-$kver" ]; then
    die "no kernel/initrd found in $rootfs/boot"
  fi
  local out="$work/box"
  mkdir -p "$out"
  cp "$rootfs/boot/vmlinuz-$kver" "$out/vmlinuz"
  cp "$rootfs/boot/initrd.img-$kver" "$out/initrd.img"

  log "making the ext4 root image ($IMAGE_SIZE sparse) and the qcow2"
  local t1=$SECONDS
  mkfs.ext4 -q -F -L root -d "$rootfs" "$work/root.raw" "$IMAGE_SIZE" ||
    die "mkfs.ext4 -d failed (e2fsprogs >= 1.43 needed)"
  rm -rf "$rootfs"
  qemu-img convert -c -O qcow2 -o compression_type=zstd "$work/root.raw" "$out/box.img" \
    || die "qemu-img convert failed"
  rm -f "$work/root.raw"
  log "image done in $((SECONDS - t1)) s ($(du -h "$out/box.img" | cut -f1) qcow2)"

  printf '{"provider":"libvirt","format":"qcow2","virtual_size":3}\n' > "$out/metadata.json"
  printf '%s\n' "$HASH" > "$out/recipe-hash"
  cat > "$out/Vagrantfile" <<'EOF'
# Box Vagrantfile of a k3s-vagrant test box (built by tests/vm/build-box.sh):
# direct kernel boot, no boot loader in the image.
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |lv|
    dir = File.dirname(__FILE__)
    lv.kernel = File.join(dir, "vmlinuz")
    lv.initrd = File.join(dir, "initrd.img")
    lv.cmd_line = "root=/dev/vda rw console=ttyS0 net.ifnames=0 biosdevname=0"
    lv.disk_bus = "virtio"
  end
end
EOF
  # box.img is already compressed: a plain tar (Vagrant's bsdtar detects it) is quicker.
  tar -C "$out" -cf "$work/box.tar" metadata.json Vagrantfile box.img vmlinuz initrd.img recipe-hash
  mkdir -p "$CACHE_DIR"
  mv "$work/box.tar" "$BOX_FILE"
  rm -rf "$work"
  trap - EXIT
  log "box built in $((SECONDS - t0)) s: $BOX_FILE ($(du -h "$BOX_FILE" | cut -f1))"
}

if [ "${FORCE_REBUILD:-0}" = 1 ] || [ ! -s "$BOX_FILE" ]; then
  build_box
else
  log "cached box for recipe $HASH: $BOX_FILE"
fi

if [ -f "$INSTALLED_MARKER" ] && [ "$(cat "$INSTALLED_MARKER")" = "$HASH" ] && [ "${FORCE_REBUILD:-0}" != 1 ]; then
  log "Vagrant box $BOX_NAME is already recipe $HASH"
else
  t2=$SECONDS
  log "vagrant box add --force --name $BOX_NAME"
  vagrant box add --force --name "$BOX_NAME" --provider libvirt "$BOX_FILE" >&2 \
    || die "vagrant box add failed"
  [ -f "$INSTALLED_MARKER" ] || die "box added but marker $INSTALLED_MARKER missing (unexpected VAGRANT_HOME layout?)"
  log "box added in $((SECONDS - t2)) s"
fi
printf '%s\n' "$BOX_NAME"
