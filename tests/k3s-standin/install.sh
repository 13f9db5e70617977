#!/bin/sh
# TEST STAND-IN for K3s's installer (get.k3s.io). Used ONLY by the k3s-vagrant test
# suite on machines without internet; never by users, who get the real installer.
# It honours the real installer's contract for an air-gapped install
# (INSTALL_K3S_SKIP_DOWNLOAD=true, binary already at /usr/local/bin/k3s): same env vars,
# same `sh -s - [server|agent] [flags]` arguments, same files (symlinks, systemd unit
# and mode-600 env file, k3s-killall.sh, k3s[-agent]-uninstall.sh), same
# `systemctl daemon-reload / enable / restart`. See README.md next to it.
#
# POSIX sh like the real one (it is run as `sh install.sh` or `... | sh -s -`); dash has
# no pipefail, so it is switched on only where the shell has it.
set -eu
# shellcheck disable=SC3040  # pipefail is not POSIX: enabled only where supported
(set -o pipefail 2>/dev/null) && set -o pipefail
set -o noglob

# K3S_STANDIN_ROOT: prefix for every path (tests of the stand-in itself on a dev host);
# empty on a real (virtual) machine.
R="${K3S_STANDIN_ROOT:-}"
SYSTEMCTL="${K3S_STANDIN_SYSTEMCTL:-systemctl}"
RC_UPDATE="${K3S_STANDIN_RC_UPDATE:-rc-update}"

info()  { echo '[INFO] ' "$@"; }
warn()  { echo '[WARN] ' "$@" >&2; }
fatal() { echo '[ERROR] ' "$@" >&2; exit 1; }

# quote ARG...: single-quote each argument for sh / systemd
quote() {
    for arg in "$@"; do
        printf '%s\n' "$arg" | sed "s/'/'\\\\''/g;1s/^/'/;\$s/\$/'/"
    done
}

quote_indent() {
    printf ' \\\n'
    for arg in "$@"; do
        printf '\t%s \\\n' "$(quote "$arg")"
    done
}

# --- INSTALL_K3S_EXEC words come first, then the script's own arguments ---
# shellcheck disable=SC2046  # word splitting of INSTALL_K3S_EXEC is the contract
eval set -- $(printf '%s' "${INSTALL_K3S_EXEC:-}" | sed -e 's/\([][!#$%&()*;<=>?\_`{|}]\)/\\\1/g;') $(quote "$@")

# --- verify_system: openrc first, as K3s's installer looks ---
HAS_OPENRC=false
HAS_SYSTEMD=false
if [ -x "$R/sbin/openrc-run" ]; then
    HAS_OPENRC=true
elif [ -n "$R" ] || command -v "$SYSTEMCTL" >/dev/null 2>&1; then
    HAS_SYSTEMD=true
else
    fatal 'Can not find systemd or openrc to use as a process supervisor for k3s'
fi

# --- setup_env ---
K3S_URL="${K3S_URL:-}"
K3S_TOKEN="${K3S_TOKEN:-}"
K3S_TOKEN_FILE="${K3S_TOKEN_FILE:-}"
case "${1:-}" in
    (-*|"")
        if [ -z "$K3S_URL" ]; then
            CMD_K3S=server
        else
            if [ -z "$K3S_TOKEN" ] && [ -z "$K3S_TOKEN_FILE" ]; then
                fatal "Defaulted k3s exec command to 'agent' because K3S_URL is defined," \
                    "but K3S_TOKEN or K3S_TOKEN_FILE is not defined."
            fi
            CMD_K3S=agent
        fi
        ;;
    (*)
        CMD_K3S=$1
        shift
        ;;
esac
case "$CMD_K3S" in
    server|agent) ;;
    *) fatal "stand-in: unsupported k3s command '$CMD_K3S' (server or agent)" ;;
esac
case "$K3S_URL" in
    ""|https://*) ;;
    *) fatal "Only https:// URLs are supported for K3S_URL (have ${K3S_URL})" ;;
esac
if [ -n "$K3S_TOKEN_FILE" ] && [ ! -r "$R$K3S_TOKEN_FILE" ]; then
    warn "K3S_TOKEN_FILE $K3S_TOKEN_FILE is not readable yet; k3s will fail to start without it"
fi

CMD_K3S_EXEC="${CMD_K3S}$(quote_indent "$@")"

if [ -n "${INSTALL_K3S_NAME:-}" ]; then
    SYSTEM_NAME="k3s-${INSTALL_K3S_NAME}"
elif [ "$CMD_K3S" = server ]; then
    SYSTEM_NAME=k3s
else
    SYSTEM_NAME="k3s-${CMD_K3S}"
fi
case "$SYSTEM_NAME" in
    *[!A-Za-z0-9._-]*) fatal "Invalid characters for system name: ${SYSTEM_NAME}" ;;
esac

[ "$(id -u)" -eq 0 ] || [ -n "$R" ] || fatal "stand-in: run the installer as root (sudo)"

SYSTEMD_TYPE="${INSTALL_K3S_TYPE:-notify}"
BIN_DIR="${INSTALL_K3S_BIN_DIR:-/usr/local/bin}"
SYSTEMD_DIR="${INSTALL_K3S_SYSTEMD_DIR:-/etc/systemd/system}"
SERVICE_K3S="${SYSTEM_NAME}.service"
UNINSTALL_K3S_SH="${BIN_DIR}/${SYSTEM_NAME}-uninstall.sh"
KILLALL_K3S_SH="${BIN_DIR}/k3s-killall.sh"
if [ "$HAS_OPENRC" = true ]; then
    mkdir -p "$R/etc/rancher/k3s"
    FILE_K3S_SERVICE="/etc/init.d/${SYSTEM_NAME}"
    FILE_K3S_ENV="/etc/rancher/k3s/${SYSTEM_NAME}.env"
else
    FILE_K3S_SERVICE="${SYSTEMD_DIR}/${SERVICE_K3S}"
    FILE_K3S_ENV="${SYSTEMD_DIR}/${SERVICE_K3S}.env"
fi
INSTALL_K3S_CHANNEL="${INSTALL_K3S_CHANNEL:-stable}"

installed_hashes() {
    sha256sum "$R$BIN_DIR/k3s" "$R$FILE_K3S_SERVICE" "$R$FILE_K3S_ENV" 2>&1 || true
}
PRE_INSTALL_HASHES="$(installed_hashes)"

# --- download_and_verify: impossible here, so only the air-gap path exists ---
case "${INSTALL_K3S_SKIP_DOWNLOAD:-}" in
    true|binary)
        info 'Skipping k3s download and verify'
        [ -x "$R$BIN_DIR/k3s" ] || fatal "Executable k3s binary not found at ${BIN_DIR}/k3s"
        ;;
    *)
        fatal "k3s STAND-IN installer: it cannot download k3s (no internet on test machines)." \
            "Set INSTALL_K3S_SKIP_DOWNLOAD=true and put the k3s binary (the stand-in) at ${BIN_DIR}/k3s first."
        ;;
esac
if [ -n "${INSTALL_K3S_VERSION:-}" ]; then
    info "Using ${INSTALL_K3S_VERSION} as release (recorded only: the stand-in binary is used as is)"
else
    info "Using channel ${INSTALL_K3S_CHANNEL} (recorded only: the stand-in binary is used as is)"
fi
mkdir -p "$R/var/lib/rancher/k3s/standin"
{
    echo "INSTALL_K3S_VERSION=${INSTALL_K3S_VERSION:-}"
    echo "INSTALL_K3S_CHANNEL=${INSTALL_K3S_CHANNEL}"
    echo "CMD_K3S=${CMD_K3S}"
} > "$R/var/lib/rancher/k3s/standin/install-info"

# --- create_symlinks ---
if [ "${INSTALL_K3S_SYMLINK:-}" != skip ]; then
    for cmd in kubectl crictl ctr; do
        if [ ! -e "$R$BIN_DIR/$cmd" ] || [ "${INSTALL_K3S_SYMLINK:-}" = force ]; then
            which_cmd=""
            [ -n "$R" ] || which_cmd="$(command -v "$cmd" 2>/dev/null || true)"
            if [ -z "$which_cmd" ] || [ "${INSTALL_K3S_SYMLINK:-}" = force ]; then
                info "Creating ${BIN_DIR}/${cmd} symlink to k3s"
                ln -sf k3s "$R$BIN_DIR/$cmd"
            else
                info "Skipping ${BIN_DIR}/${cmd} symlink to k3s, command exists in PATH at ${which_cmd}"
            fi
        else
            info "Skipping ${BIN_DIR}/${cmd} symlink to k3s, already exists"
        fi
    done
fi

# --- create_killall ---
PKILL=pkill
[ -z "$R" ] || PKILL=": pkill"   # tests of the stand-in on a dev host kill nothing
info "Creating killall script ${KILLALL_K3S_SH}"
cat > "$R$KILLALL_K3S_SH" <<EOF
#!/bin/sh
# k3s-killall.sh written by the k3s TEST STAND-IN installer: stops every k3s service
# and kills leftover stand-in processes.
[ \$(id -u) -eq 0 ] || exec sudo \$0 "\$@"
set -x
for service in ${SYSTEMD_DIR}/k3s*.service; do
    [ -s "\$service" ] && ${SYSTEMCTL} stop "\$(basename "\$service")"
done
for service in /etc/init.d/k3s*; do
    [ -x "\$service" ] && "\$service" stop
done
# the stand-in's processes name themselves k3s-server / k3s-agent, like real k3s
${PKILL} -9 -x k3s-server || true
${PKILL} -9 -x k3s-agent || true
exit 0
EOF
chmod 755 "$R$KILLALL_K3S_SH"

# --- create_uninstall ---
info "Creating uninstall script ${UNINSTALL_K3S_SH}"
cat > "$R$UNINSTALL_K3S_SH" <<EOF
#!/bin/sh
# ${SYSTEM_NAME}-uninstall.sh written by the k3s TEST STAND-IN installer: removes
# what the installer and the stand-in k3s put on this machine.
set -x
[ \$(id -u) -eq 0 ] || exec sudo \$0 "\$@"

${KILLALL_K3S_SH}

if command -v ${SYSTEMCTL}; then
    ${SYSTEMCTL} disable ${SYSTEM_NAME}
    ${SYSTEMCTL} reset-failed ${SYSTEM_NAME}
    ${SYSTEMCTL} daemon-reload
fi
if command -v ${RC_UPDATE}; then
    ${RC_UPDATE} delete ${SYSTEM_NAME} default
fi

rm -f ${FILE_K3S_SERVICE}
rm -f ${FILE_K3S_ENV}

remove_uninstall() {
    rm -f ${UNINSTALL_K3S_SH}
}
trap remove_uninstall EXIT

if (ls ${SYSTEMD_DIR}/k3s*.service || ls /etc/init.d/k3s*) >/dev/null 2>&1; then
    set +x; echo 'Additional k3s services installed, skipping uninstall of k3s'; set -x
    exit
fi

for cmd in kubectl crictl ctr; do
    if [ -L ${BIN_DIR}/\$cmd ]; then
        rm -f ${BIN_DIR}/\$cmd
    fi
done

rm -rf /etc/rancher/k3s
rm -rf /run/k3s
rm -rf /var/lib/rancher/k3s
rm -rf /var/lib/kubelet
rm -f ${BIN_DIR}/k3s
rm -f ${KILLALL_K3S_SH}
EOF
chmod 755 "$R$UNINSTALL_K3S_SH"
if [ -n "$R" ]; then
    # tests of the stand-in: point the scripts at the temporary root
    sed -i -e "s# \(/etc/\)# $R\1#g; s# \(/run/\)# $R\1#g; s# \(/var/\)# $R\1#g;" \
        -e "s# \(${BIN_DIR}\)# $R\1#g; s# \(${SYSTEMD_DIR}\)# $R\1#g" \
        "$R$UNINSTALL_K3S_SH" "$R$KILLALL_K3S_SH"
    sed -i "s#in /etc/init.d/#in $R/etc/init.d/#; s#ls /etc/init.d/#ls $R/etc/init.d/#" \
        "$R$UNINSTALL_K3S_SH" "$R$KILLALL_K3S_SH"
fi

# --- systemd_disable: drop a previous unit of that name (K3s's installer does it on openrc too) ---
"$SYSTEMCTL" disable "$SYSTEM_NAME" >/dev/null 2>&1 || true
rm -f "$R/etc/systemd/system/${SERVICE_K3S}" "$R/etc/systemd/system/${SERVICE_K3S}.env"

# --- create_env_file: every K3S_* / CONTAINERD_* and proxy variable, mode 600 ---
info "env: Creating environment file ${FILE_K3S_ENV}"
mkdir -p "$R$(dirname "$FILE_K3S_ENV")"
(umask 077; : > "$R$FILE_K3S_ENV")
chmod 0600 "$R$FILE_K3S_ENV"
env | grep -E '^(K3S|CONTAINERD)_[A-Za-z0-9_]*=' | grep -v '^K3S_STANDIN_ROOT=' | sort \
    | while IFS='=' read -r name value; do
    printf "%s=%s\n" "$name" "$(quote "$value")"
done >> "$R$FILE_K3S_ENV" || true
env | grep -Ei '^(NO|HTTP|HTTPS)_PROXY=' | sort >> "$R$FILE_K3S_ENV" || true

# --- create_systemd_service_file ---
if [ "$HAS_SYSTEMD" = true ]; then
    info "systemd: Creating service file ${FILE_K3S_SERVICE}"
    cat > "$R$FILE_K3S_SERVICE" <<EOF
# Written by the k3s TEST STAND-IN installer (tests/k3s-standin of k3s-vagrant).
[Unit]
Description=Lightweight Kubernetes (k3s TEST STAND-IN)
Documentation=https://k3s.io
Wants=network-online.target
After=network-online.target

[Install]
WantedBy=multi-user.target

[Service]
Type=${SYSTEMD_TYPE}
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
EnvironmentFile=-${FILE_K3S_ENV}
KillMode=process
Delegate=yes
User=root
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStart=${BIN_DIR}/k3s \\
    ${CMD_K3S_EXEC}

EOF
fi

# --- create_openrc_service_file: as K3s's installer writes it ---
if [ "$HAS_OPENRC" = true ]; then
    LOG_FILE="/var/log/${SYSTEM_NAME}.log"
    info "openrc: Creating service file ${FILE_K3S_SERVICE}"
    mkdir -p "$R/etc/init.d"
    cat > "$R$FILE_K3S_SERVICE" <<EOF
#!/sbin/openrc-run
# Written by the k3s TEST STAND-IN installer (tests/k3s-standin of k3s-vagrant).

depend() {
    after network-online
    want cgroups
}

start_pre() {
    rm -f /tmp/k3s.*
}

supervisor=supervise-daemon
name=${SYSTEM_NAME}
command="${BIN_DIR}/k3s"
command_args="$(printf '%s' "${CMD_K3S_EXEC}" | sed -e 's/"/\\"/g')
    >>${LOG_FILE} 2>&1"

output_log=${LOG_FILE}
error_log=${LOG_FILE}

pidfile="/var/run/${SYSTEM_NAME}.pid"
respawn_delay=5
respawn_max=0

set -o allexport
if [ -f /etc/environment ]; then . /etc/environment; fi
if [ -f ${FILE_K3S_ENV} ]; then . ${FILE_K3S_ENV}; fi
set +o allexport
EOF
    chmod 0755 "$R$FILE_K3S_SERVICE"
fi

# --- service_enable_and_start ---
[ "${INSTALL_K3S_SKIP_ENABLE:-}" = true ] && exit 0
if [ "$HAS_OPENRC" = true ]; then
    info "openrc: Enabling ${SYSTEM_NAME} service for default runlevel"
    [ -n "$R" ] || "$RC_UPDATE" add "$SYSTEM_NAME" default >/dev/null
else
    info "systemd: Enabling ${SYSTEM_NAME} unit"
    "$SYSTEMCTL" enable "$R$FILE_K3S_SERVICE" >/dev/null
    "$SYSTEMCTL" daemon-reload >/dev/null
fi
[ "${INSTALL_K3S_SKIP_START:-}" = true ] && exit 0
POST_INSTALL_HASHES="$(installed_hashes)"
if [ "$PRE_INSTALL_HASHES" = "$POST_INSTALL_HASHES" ] && [ "${INSTALL_K3S_FORCE_RESTART:-}" != true ]; then
    info 'No change detected so skipping service start'
    exit 0
fi
if [ "$HAS_OPENRC" = true ]; then
    info "openrc: Starting ${SYSTEM_NAME}"
    [ -n "$R" ] || "$FILE_K3S_SERVICE" restart
else
    info "systemd: Starting ${SYSTEM_NAME}"
    "$SYSTEMCTL" restart "$SYSTEM_NAME"
fi
