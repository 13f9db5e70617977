#!/usr/bin/env bash
# Shared by server.sh and agent.sh (sourced, never run alone): install K3s through its
# own installer, online or from an air-gap folder, and do nothing when it is already
# installed as wanted, so that `vagrant provision` twice changes nothing.
#
# Inputs (environment; none is named K3S_*, since K3s's installer copies every K3S_*
# variable into the service's env file): K3S_TOKEN or TOKEN_FILE (the secret, never on a
# command line), INSTALL_K3S_VERSION or INSTALL_K3S_CHANNEL (K3s's own), AIRGAP_DIR (a
# folder holding install.sh, k3s and optional k3s-airgap-images-*), NODE_IP, EXTRA_FLAGS,
# API_WAIT (seconds), FLANNEL_IFACE (default: the interface holding NODE_IP), PROXY_FILE and
# NO_PROXY_ADDRESSES (load_proxy).

log() { printf '[k3s-vagrant %s] %s\n' "$(hostname)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The service manager K3s's installer chose: openrc where /sbin/openrc-run exists (it looks there
# first: Alpine, Gentoo, Devuan), else systemd. $1: the service, k3s or k3s-agent.
uses_openrc() { [ -x /sbin/openrc-run ]; }
service_active() {
  if uses_openrc; then rc-service "$1" status >/dev/null 2>&1; else systemctl is-active --quiet "$1"; fi
}
# (Re)starts a service as K3s's installer does when its files changed: openrc's init script, else systemctl.
service_restart() {
  if uses_openrc; then "/etc/init.d/$1" restart; else systemctl restart "$1"; fi
}
# Where the service's log is read on this machine, for messages.
service_log() {
  if uses_openrc; then printf '%s' "/var/log/$1.log"; else printf '%s' "'sudo journalctl -u $1'"; fi
}

# The interface that carries an address: on Vagrant's machines eth0 is the NAT
# interface with the same address everywhere, so K3s must be told which one to use.
interface_of() {
  local ip=$1 iface
  iface=$(ip -o -4 addr show | awk -v ip="$ip" '{ split($4, a, "/"); if (a[1] == ip) { print $2; exit } }')
  [ -n "$iface" ] || die "no interface holds $ip; check the machine's private network (ip -4 addr)"
  printf '%s\n' "$iface"
}

# True when the K3s API at a URL (https://HOST:PORT) answers: K3s's /ping with curl,
# else a bare TCP connect (minimal images may lack curl).
api_answers() {
  local url=$1 hostport
  if command -v curl >/dev/null; then
    curl -ksf --max-time 5 "$url/ping" >/dev/null 2>&1
  else
    hostport=${url#https://}
    # the address and port go in as arguments, never as code
    # shellcheck disable=SC2016 # $1 and $2 are the inner bash's
    timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2"' bash "${hostport%:*}" "${hostport##*:}" 2>/dev/null
  fi
}

# Waits (bounded, API_WAIT seconds) for the server at a URL to answer, then checks that
# this machine's clock agrees with the server's (its HTTP Date): K3s's certificates and
# tokens are checked against the clock, and a skewed node fails later with TLS errors
# that do not say why. The join fails here instead, naming the cause.
wait_for_server() {
  local url=$1 wait=${API_WAIT:?API_WAIT (seconds) must be set: its default is in settings.yaml} deadline
  log "waiting up to ${wait} s for the K3s server at $url"
  deadline=$((SECONDS + wait))
  until api_answers "$url"; do
    [ "$SECONDS" -lt "$deadline" ] || die "the K3s server at $url did not answer within ${wait} s: is it up" \
      "(vagrant status; 'sudo systemctl status k3s' there), and is ${url##*:}/tcp open between the machines?"
    sleep 1 # the agents' start waits on it: at most a second more than the server's own
  done
  check_clock_against "$url"
}

# Fails when this machine's clock and the server's differ by more than MAX_CLOCK_SKEW
# seconds (default 60). Without curl the check is skipped, saying so.
check_clock_against() {
  local url=$1 max=${MAX_CLOCK_SKEW:-60} header server_time skew
  if ! command -v curl >/dev/null; then
    log "no curl here: not comparing this machine's clock with the server's"
    return 0
  fi
  header=$(curl -ks --max-time 5 -o /dev/null -D - "$url/ping" | tr -d '\r' | sed -n 's/^[Dd]ate: //p' \
    | head -n 1)
  server_time=$(date -u -d "$header" +%s 2>/dev/null) \
    || { log "the server sent no usable Date header: clock not compared"; return 0; }
  skew=$(($(date -u +%s) - server_time))
  if [ "${skew#-}" -gt "$max" ]; then
    local fix="K3s's certificates would fail. Set the clocks right on both (timedatectl set-ntp true,\
 or date -s) and run again"
    if [ "$skew" -lt 0 ]; then
      die "this machine's clock ($(date -u '+%Y-%m-%d %H:%M:%S') UTC) is" \
        "$((-skew)) s behind the server's at $url ($header): $fix"
    fi
    die "this machine's clock ($(date -u '+%Y-%m-%d %H:%M:%S') UTC) is" \
      "$skew s ahead of the server's at $url ($header): $fix"
  fi
}

# The join token, from K3S_TOKEN or the file TOKEN_FILE names; fails when there is none.
# TOKEN_FILE_REMOVE=1 (the Vagrantfile's and k3s-join's uploads): the file goes as soon as it
# is read, so no copy of the secret outlives this script even if the step that uploaded it is killed.
load_token() {
  if [ -z "${K3S_TOKEN:-}" ] && [ -n "${TOKEN_FILE:-}" ]; then
    K3S_TOKEN=$(cat "$TOKEN_FILE")
    if [ "${TOKEN_FILE_REMOVE:-}" = 1 ]; then rm -f "$TOKEN_FILE"; fi
  fi
  [ -n "${K3S_TOKEN:-}" ] || die "no join token (K3S_TOKEN or TOKEN_FILE): the Vagrantfile or k3s-join hands it over"
}

# The host's proxy, from the file PROXY_FILE names (lines HTTPS_PROXY=, HTTP_PROXY=, NO_PROXY=;
# mode 600, since a proxy URL may hold a password; removed like TOKEN_FILE), for curl here and
# for K3s: its installer copies these variables, in either case, into K3s's env file, and K3s
# hands them to containerd. NO_PROXY gains what must never go through the proxy: this machine,
# the server, NO_PROXY_ADDRESSES (the cluster's addresses and network), K3s's pod and service
# networks and its service names. The values are never logged.
load_proxy() {
  local line name server
  [ -n "${PROXY_FILE:-}" ] || return 0
  [ -f "$PROXY_FILE" ] || die "PROXY_FILE $PROXY_FILE is missing: run the step again"
  while IFS= read -r line || [ -n "$line" ]; do
    name=${line%%=*}
    case $name in
      HTTPS_PROXY | HTTP_PROXY | NO_PROXY) export "$name=${line#*=}" ;;
      "") ;;
      *) die "$PROXY_FILE holds a line that is not HTTPS_PROXY=, HTTP_PROXY= or NO_PROXY=" ;;
    esac
  done < "$PROXY_FILE"
  if [ "${TOKEN_FILE_REMOVE:-}" = 1 ]; then rm -f "$PROXY_FILE"; fi
  server=${SERVER_URL:-}
  server=${server#https://}
  server=${server%:*}
  NO_PROXY=$({ printf '%s\n' "${NO_PROXY:-}" "${SERVER_IPS:-}" "${NO_PROXY_ADDRESSES:-}" | tr ',' '\n'
    printf '%s\n' 127.0.0.1 localhost "${NODE_IP:-}" "$server" 10.42.0.0/16 10.43.0.0/16 .svc .cluster.local
  } | awk 'NF && !seen[$0]++ { printf "%s%s", (n++ ? "," : ""), $0 }')
  # curl reads http_proxy in lower case only; Go (K3s, containerd) reads either
  export NO_PROXY no_proxy=$NO_PROXY
  if [ -n "${HTTPS_PROXY:-}" ]; then export https_proxy=$HTTPS_PROXY; fi
  if [ -n "${HTTP_PROXY:-}" ]; then export http_proxy=$HTTP_PROXY; fi
  log "using the host's proxy ($(env | sed -n 's/^\(HTTPS*_PROXY\)=.*/\1/p' | sort | tr '\n' ' ')and NO_PROXY)"
}

# Servers only: the agent token (K3s's --agent-token, which agents join with) from the file
# AGENT_TOKEN_FILE names, removed like TOKEN_FILE. None: agents join with the server token.
load_agent_token() {
  if [ -z "${K3S_AGENT_TOKEN:-}" ] && [ -n "${AGENT_TOKEN_FILE:-}" ] && [ -f "$AGENT_TOKEN_FILE" ]; then
    K3S_AGENT_TOKEN=$(cat "$AGENT_TOKEN_FILE")
    if [ "${TOKEN_FILE_REMOVE:-}" = 1 ]; then rm -f "$AGENT_TOKEN_FILE"; fi
  fi
}

# The CA hash K3s puts in its full token, of a /cacerts bundle in a file (pkg/clientaccess/token.go,
# hashCA): the sha256 of the file when it holds one certificate; when it holds more (a custom or
# rotated CA), the sha256 of the DER of the root the first certificate chains to. As there, the
# roots are the later certificates without an authority key id or with one equal to their subject
# key id, the others intermediates, and with no chain the file is hashed. Fails, printing nothing,
# when a bundle needs openssl and the machine has none.
ca_hash() {
  local file=$1 count dir i text akid skid
  local -a roots=() untrusted=()
  count=$(grep -c -- '-----BEGIN CERTIFICATE-----' "$file" || true)
  if [ "$count" -gt 1 ]; then
    command -v openssl >/dev/null || return 1
    dir=$(mktemp -d) || return 1
    awk -v dir="$dir" '/-----BEGIN CERTIFICATE-----/ { f = dir "/" ++n ".pem" } f { print > f }
      /-----END CERTIFICATE-----/ { close(f); f = "" }' "$file"
    : >"$dir/intermediates"
    for ((i = 2; i <= count; i++)); do
      text=$(openssl x509 -noout -text -in "$dir/$i.pem" 2>/dev/null) || continue
      # the id on the line after the extension's name (OpenSSL 1.1 writes "keyid:" before it)
      akid=$(printf '%s\n' "$text" |
        sed -n '/Authority Key Identifier/{n;s/^ *\(keyid:\)\{0,1\}\([0-9A-F:]*\)$/\2/p;}')
      skid=$(printf '%s\n' "$text" | sed -n '/Subject Key Identifier/{n;s/^ *\([0-9A-F:]*\)$/\1/p;}')
      if [ -z "$akid" ] || [ "$akid" = "$skid" ]; then roots+=("$i"); else cat "$dir/$i.pem" >>"$dir/intermediates"; fi
    done
    if [ -s "$dir/intermediates" ]; then untrusted=(-untrusted "$dir/intermediates"); fi
    for i in ${roots[@]+"${roots[@]}"}; do
      # -partial_chain: like Go's, a root here need not be self-signed
      if openssl verify -partial_chain -trusted "$dir/$i.pem" ${untrusted[@]+"${untrusted[@]}"} "$dir/1.pem" \
        >/dev/null 2>&1; then
        openssl x509 -in "$dir/$i.pem" -outform DER | sha256sum | cut -d' ' -f1
        rm -rf "$dir"
        return 0
      fi
    done
    rm -rf "$dir"
  fi
  sha256sum <"$file" | cut -d' ' -f1
}

# A string as a double-quoted value of curl's config format (curl -K), where \ escapes.
curl_config_quoted() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  printf '"%s"' "$s"
}

# Fails, naming it, when the server would refuse this machine's join token, instead of
# installing an agent that then retries in the background: a full token
# (K10<CA hash>::<credentials>) must name the server's CA (/cacerts, hashed as ca_hash), and
# K3s's supervisor must take the credentials (/v1-k3s/readyz answers 401 to a wrong one). The
# token is read as K3s's parseToken reads it (pkg/clientaccess/token.go): the credentials are a
# bootstrap token (<id>.<secret>, k3s token create; sent as Bearer) or <user>:<password>, split at
# the first ':' after the '::'; a short token is the password whole (colons and all), or a bootstrap
# token. The user is not the token's: K3s's agent authenticates as node, a joining server as server.
# The credentials reach curl on stdin (-K -), never on its command line. Without curl: skipped.
# The secret goes only to a server whose certificate that CA signed (--cacert, never -k):
# with a full token (k3s-join's) the CA is the one the token names; a short token (the
# Vagrantfile's, made before the server exists) names none, so the CA is taken as the
# server sends it, as K3s's own agent does: that trusts the private network (README, Secrets).
# $2: the user: node (an agent, the default) or server (a joining server); K3s checks each
# user's own token once the agents have one of their own.
check_token_against() {
  local url=$1 user=${2:-node} hash='' full='' creds actual password='' bearer='' code dir status=0 credentials
  local rerun="Run the step again so it reads the server's current token (k3s-join does), or fix K3S_VAGRANT_TOKEN_FILE"
  command -v curl >/dev/null || return 0
  load_token
  local bootstrap='^[a-z0-9]{6}\.[a-z0-9]{16}$'
  case "$K3S_TOKEN" in
    K10*)
      full=1
      creds=${K3S_TOKEN#K10}
      case "$creds" in *::*) hash=${creds%%::*} creds=${creds#*::} ;; esac
      if [ -n "$hash" ] && [ "${#hash}" -ne 64 ]; then
        die "the join token's CA hash (between K10 and ::) is ${#hash} characters long, not 64: K3s would refuse" \
          "it (invalid token CA hash length). Use the token as the server wrote it ($rerun)"
      fi
      ;;
    *)
      creds=$K3S_TOKEN
      ;;
  esac
  if [[ $creds =~ $bootstrap ]]; then
    bearer=$creds
  elif [ -z "$full" ]; then
    password=$creds
  elif [[ $creds == *:?* ]]; then
    password=${creds#*:}
  else
    die "the join token K10...::<credentials> names no <user>:<password> nor bootstrap token <id>.<secret>:" \
      "K3s would refuse it (invalid token format). Use the token as the server wrote it ($rerun)"
  fi
  if [ -n "$bearer" ] && [ "$user" = server ]; then
    die "the join token is a bootstrap token (<id>.<secret>, from k3s token create): K3s joins only agents" \
      "with those. A server joins with the server token (/var/lib/rancher/k3s/server/token on a server)"
  fi
  dir=$(mktemp -d) || die "cannot make a temporary folder for the server's CA (mktemp -d)"
  # /cacerts is public: fetching it unverified sends nothing secret
  if ! curl -ksf --max-time 10 -o "$dir/cacerts" "$url/cacerts" || [ ! -s "$dir/cacerts" ]; then
    rm -rf "$dir"
    die "the K3s server at $url sent no CA (/cacerts): is it K3s's server, and is SERVER_URL its address?"
  fi
  if [ -n "$hash" ]; then
    if ! actual=$(ca_hash "$dir/cacerts"); then
      rm -rf "$dir"
      # no secret is sent to a server whose CA is unchecked: K3s's agent checks it before it sends one
      log "the server's CA is a bundle of several certificates and this machine has no openssl to find" \
        "its root: not checking the join token here (K3s's agent checks the CA hash itself)"
      return 0
    fi
    if [ "$hash" != "$actual" ]; then
      rm -rf "$dir"
      die "the join token belongs to another cluster: its CA hash is not the one of the server at $url. $rerun"
    fi
  fi
  if [ -n "$bearer" ]; then
    credentials="header = $(curl_config_quoted "Authorization: Bearer $bearer")"
  else
    credentials="user = $(curl_config_quoted "$user:$password")"
  fi
  code=$(printf '%s\n' "$credentials" | curl -sS --cacert "$dir/cacerts" --max-time 10 -o /dev/null \
    -w '%{http_code}' -K - "$url/v1-k3s/readyz" 2>"$dir/error") || status=$?
  # 35, 51, 60: the TLS handshake failed or the certificate is not the CA's for this address
  case $status in
    35 | 51 | 60)
      local error
      error=$(head -n 1 "$dir/error")
      rm -rf "$dir"
      die "the K3s server at $url showed a certificate that the cluster's CA does not vouch for ($error)," \
        "so the join token was not sent: something between this machine and the server answers in its place," \
        "or the server's certificate lacks the address in $url (K3s's --tls-san)"
      ;;
  esac
  rm -rf "$dir"
  if [ "$code" = 401 ]; then
    die "the K3s server at $url refused the join token (HTTP 401): the token was changed there" \
      "(k3s token rotate, k3s token delete, a reinstall) or belongs to another cluster. $rerun"
  fi
}

# True when a `k3s --version` line names a K3s that has --write-kubeconfig-group: it first
# shipped in v1.30.2, v1.29.6, v1.28.11 and v1.27.15 (K3s's own release notes), every v1.31 has it.
has_kubeconfig_group() {
  local minor patch
  minor=$(printf '%s\n' "$1" | sed -n 's/.*v1\.\([0-9]*\)\.\([0-9]*\).*/\1/p' | head -1)
  patch=$(printf '%s\n' "$1" | sed -n 's/.*v1\.\([0-9]*\)\.\([0-9]*\).*/\2/p' | head -1)
  [ -n "$minor" ] || return 1
  case "$minor" in
    30) [ "$patch" -ge 2 ] ;;
    29) [ "$patch" -ge 6 ] ;;
    28) [ "$patch" -ge 11 ] ;;
    27) [ "$patch" -ge 15 ] ;;
    *) [ "$minor" -ge 31 ] ;;
  esac
}

# The flags that let group $1 (empty: nobody) read the admin kubeconfig, chosen by the version
# of the K3s binary $2 itself: a requested version string says nothing of an --airgap-dir binary.
kubeconfig_access() {
  local group=$1 binary=$2 version
  if [ -z "$group" ]; then echo "--write-kubeconfig-mode 600"; return; fi
  version=$("$binary" --version 2>/dev/null | head -1) || version=""
  if has_kubeconfig_group "$version"; then
    echo "--write-kubeconfig-mode 640 --write-kubeconfig-group $group"
  else
    log "K3s ${version:-of unknown version} has no --write-kubeconfig-group: the kubeconfig is mode 644"
    echo "--write-kubeconfig-mode 644"
  fi
}

# K3s's install.sh in its repository at a release's tag ({tag}), as the host fetches it (K3sRelease.INSTALLER)
INSTALLER_URL='https://raw.githubusercontent.com/k3s-io/k3s/{tag}/install.sh'
# What to do instead when the machine cannot fetch, or check, K3s itself
ON_THE_HOST="set K3S_VAGRANT_AIRGAP_DIR to a folder holding install.sh and k3s,"
ON_THE_HOST+=" or let k3s-up/k3s-join fetch K3s on the host (without --no-host-cache)"

# Retries a download (curl's arguments after $1, what it is) up to 5 times, each bounded.
fetch() {
  local what=$1 attempt
  shift
  for attempt in 1 2 3 4 5; do
    curl -sfL --connect-timeout 10 --max-time 120 "$@" && return 0
    [ "$attempt" = 5 ] && die "cannot download $what (no internet?): $ON_THE_HOST"
    log "download of $what failed (attempt $attempt/5), retrying in $((attempt * 2)) s"
    sleep $((attempt * 2))
  done
}

# The K3s version a channel (INSTALL_K3S_CHANNEL, default stable) names now: where its URL leads,
# as K3s's installer asks it (INSTALL_K3S_CHANNEL_URL is the installer's setting too).
channel_version() {
  local channel=${INSTALL_K3S_CHANNEL:-stable} url version
  url=${INSTALL_K3S_CHANNEL_URL:-https://update.k3s.io/v1-release/channels}/$channel
  version=$(fetch "the K3s channel $url" -o /dev/null -w '%{url_effective}' "$url") || exit 1
  version=${version##*/}
  version=${version//%2[Bb]/+}
  [[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-rc[0-9]+)?\+k3s[0-9]+$ ]] \
    || die "$url led to no K3s version: set K3S_VAGRANT_K3S_VERSION (k3s-up/k3s-join --k3s-version)"
  log "channel $channel is $version"
  printf '%s\n' "$version"
}

# install.sh of release $1 (not whatever get.k3s.io serves today) into file $2, checked against the
# install.sh.sha256sum beside it, as the host checks it (K3sRelease): a mismatch installs nothing.
fetch_installer() {
  local version=$1 file=$2 url sums expected actual
  url=${INSTALLER_URL/\{tag\}/${version//+/%2B}}
  log "downloading K3s's installer of $version from $url"
  sums=$(fetch "$url.sha256sum" "$url.sha256sum") || exit 1
  expected=$(printf '%s\n' "$sums" | awk '$2 == "install.sh" { print $1; exit }')
  [ -n "$expected" ] || die "$url.sha256sum lists no install.sh: K3s was not installed; check the K3s version"
  fetch "$url" -o "$file" "$url"
  actual=$(sha256sum "$file" | cut -d' ' -f1)
  if [ "$actual" != "$expected" ]; then
    rm -f "$file"
    die "install.sh from $url does not match its checksum (sha256 $actual, expected $expected from" \
      "$url.sha256sum): K3s was not installed. Run again (a download broken on the way), or $ON_THE_HOST"
  fi
}

# What an install is made of (role, flags, version, token, proxy, the air-gap binary's bytes) as one
# sha256: the same sum on a running service is nothing to do; a new air-gap binary (an upgrade whose
# version is in no setting) or another INSTALL_K3S_VERSION is an install. $1 unit, $2 exec line, $3 group.
install_sum() {
  # a changed proxy changes K3s's env file: install again
  local proxies="${HTTPS_PROXY:-} ${HTTP_PROXY:-} ${NO_PROXY:-}" binary=""
  if [ -n "${AIRGAP_DIR:-}" ] && [ -f "$AIRGAP_DIR/k3s" ]; then binary=$(sha256sum <"$AIRGAP_DIR/k3s"); fi
  # without an air-gap binary (no word for it), the sum an older k3s-vagrant wrote: re-provisioning changes nothing
  printf '%s\n' "$1" "$2" "$3" "${INSTALL_K3S_VERSION:-}" "${INSTALL_K3S_CHANNEL:-}" \
    "${K3S_URL:-}" "$proxies" "$K3S_TOKEN" "${K3S_AGENT_TOKEN:-}" ${binary:+"$binary"} | sha256sum | cut -d' ' -f1
}

# True when the binary $1 differs from the installed $2 (or none is installed).
binary_changed() {
  ! cmp -s "$1" "$2"
}

# Runs K3s's installer unless the same install (role, flags, version, token) is already in place and its
# service is running (K3S_INSTALL_RAN=1 when it ran). $1: unit name (k3s.service; the service is k3s under
# openrc), $2: INSTALL_K3S_EXEC, $3: a group to read the admin kubeconfig (servers; the flags for it follow
# the binary's version).
install_k3s() {
  local unit=$1 exec_line=$2 group=${3:-} wanted service=${1%.service}
  local etc=${MACHINE_ROOT:-}/etc/rancher/k3s # a test runs this under a folder of its own
  local marker=$etc/k3s-vagrant.sum
  local bin_dir=${INSTALL_K3S_BIN_DIR:-/usr/local/bin} # K3s's installer's own setting
  load_token
  # Vagrant's file provisioner nests a folder inside a destination left by an interrupted run
  if [ -n "${AIRGAP_DIR:-}" ] && [ ! -f "$AIRGAP_DIR/install.sh" ] \
    && [ -f "$AIRGAP_DIR/$(basename "$AIRGAP_DIR")/install.sh" ]; then
    AIRGAP_DIR="$AIRGAP_DIR/$(basename "$AIRGAP_DIR")"
  fi
  wanted=$(install_sum "$unit" "$exec_line" "$group")
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$wanted" ] && service_active "$service"; then
    log "K3s is already installed as wanted ($unit is running): nothing to do"
    return 0
  fi
  # shellcheck disable=SC2034 # for a caller that installs with INSTALL_K3S_SKIP_START and starts the service itself
  K3S_INSTALL_RAN=1

  local installer
  if [ -n "${AIRGAP_DIR:-}" ]; then
    if [ ! -f "$AIRGAP_DIR/install.sh" ] || [ ! -f "$AIRGAP_DIR/k3s" ]; then
      die "$AIRGAP_DIR must hold install.sh and k3s (K3S_VAGRANT_AIRGAP_DIR or --airgap-dir on the host)"
    fi
    # K3s's installer hashes the binary before and after: one copied in first looks unchanged to it, and
    # it would not restart the running service on the old binary (an upgrade from an air-gap folder)
    if binary_changed "$AIRGAP_DIR/k3s" "$bin_dir/k3s"; then export INSTALL_K3S_FORCE_RESTART=true; fi
    log "installing K3s from the air-gap folder (no download)"
    install -m 755 "$AIRGAP_DIR/k3s" "$bin_dir/k3s"
    if compgen -G "$AIRGAP_DIR/k3s-airgap-images-*" >/dev/null; then
      install -d -m 755 /var/lib/rancher/k3s/agent/images
      cp "$AIRGAP_DIR"/k3s-airgap-images-* /var/lib/rancher/k3s/agent/images/
    fi
    installer="$AIRGAP_DIR/install.sh"
    export INSTALL_K3S_SKIP_DOWNLOAD=true
  else
    if ! command -v curl >/dev/null; then
      log "installing curl (K3s's installer needs it)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q curl ca-certificates >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 \
          && DEBIAN_FRONTEND=noninteractive apt-get install -y -q curl ca-certificates >/dev/null; } \
        || die "cannot install curl (no internet?): set K3S_VAGRANT_AIRGAP_DIR to a folder holding install.sh and k3s"
    fi
    # a channel is resolved here, as K3s's installer would, so that its install.sh is that tag's, checked
    if [ -z "${INSTALL_K3S_VERSION:-}" ]; then INSTALL_K3S_VERSION=$(channel_version) || exit 1; fi
    export INSTALL_K3S_VERSION
    installer=$(mktemp)
    fetch_installer "$INSTALL_K3S_VERSION" "$installer"
  fi

  # an empty setting means "the installer's default"
  if [ -z "${INSTALL_K3S_VERSION:-}" ]; then unset INSTALL_K3S_VERSION; fi
  if [ -z "${INSTALL_K3S_CHANNEL:-}" ]; then unset INSTALL_K3S_CHANNEL; fi
  export INSTALL_K3S_EXEC=$exec_line K3S_TOKEN
  # K3s's installer keeps every K3S_* variable in the service's env file (mode 600)
  if [ -n "${K3S_AGENT_TOKEN:-}" ]; then export K3S_AGENT_TOKEN; fi
  # K3s's installer starts the service only when its files changed ("No change detected so
  # skipping service start"): a unit stopped by hand, by k3s-killall.sh or by a crash stayed down
  if ! service_active "$service"; then export INSTALL_K3S_FORCE_RESTART=true; fi
  if [ -n "$group" ] && [ -z "${AIRGAP_DIR:-}" ]; then
    # the installer downloads the binary: install it without starting, read its version, then start
    log "running K3s's installer to download K3s (not started yet)"
    INSTALL_K3S_SKIP_START=true sh "$installer" \
      || die "K3s's installer failed (see above); $(service_log "$service") on $(hostname) tells more"
    export INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_FORCE_RESTART=true
  fi
  if [ -n "$group" ]; then
    exec_line="$exec_line $(kubeconfig_access "$group" "$bin_dir/k3s")"
    export INSTALL_K3S_EXEC=$exec_line
  fi
  log "running K3s's installer: $exec_line"
  sh "$installer" || die "K3s's installer failed (see above); $(service_log "$service") on $(hostname) tells more"
  install -d -m 755 "$etc"
  printf '%s\n' "$wanted" > "$marker"
  chmod 600 "$marker"
}

# The air-gap folder is uploaded anew by each `vagrant provision`: remove it once used, and
# the uploaded token files too should the script stop before reading them.
cleanup_airgap() {
  if [ -n "${AIRGAP_DIR:-}" ] && [ -d "$AIRGAP_DIR" ]; then rm -rf "$AIRGAP_DIR"; fi
  if [ "${TOKEN_FILE_REMOVE:-}" = 1 ]; then rm -f "${TOKEN_FILE:-}" "${AGENT_TOKEN_FILE:-}" "${PROXY_FILE:-}"; fi
}
