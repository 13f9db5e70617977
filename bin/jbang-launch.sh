# shellcheck shell=bash
# shellcheck disable=SC2154 # here, lib, status and output come from bin/jbang
# Sourced by bin/jbang (bash 3.2 on macOS too): the launch cache. A warm run of a script or
# catalog alias executes the command JBang resolved for it last time instead of starting
# JBang's JVM first. The cache entry is named by a hash of everything that can change that
# command: the script and every file it pulls in (//SOURCES, //FILES, recursively), the
# catalogs and JBang settings JBang reads, the launcher, its pom, the java it finds, JBANG_*.
# When anything is unclear (globs, URLs, a missing file or jar), it falls back to JBang.
# K3S_VAGRANT_LAUNCH_CACHE=off turns it off (the benchmark's "before" path);
# K3S_VAGRANT_LAUNCH_DIR moves it (default: launch/ next to JBang's jars).

launch_sum() { if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi; }

# The script file that $1 names: an existing .java file, or an alias of the nearest
# jbang-catalog.json (JBang lets nearer catalogs win). Names needing quotes are not cached.
launch_script() {
  local d catalog ref
  case $1 in
    '' | -* | *[!A-Za-z0-9._/-]*) return 1 ;;
    *.java) [ -f "$1" ] && printf '%s\n' "$1"; return ;;
  esac
  [ ! -e "$1" ] || return 1 # JBang would run that file
  d=$PWD
  while [ -z "${catalog:-}" ]; do
    for ref in "$d/jbang-catalog.json" "$d/.jbang/jbang-catalog.json"; do
      [ -f "$ref" ] && catalog=$ref && break
    done
    [ "$d" = / ] && break
    d=${d%/*}; d=${d:-/}
  done
  [ -n "${catalog:-}" ] || return 1
  ref=$(awk -v a="\"$1\"" '
    index($0, a ":") || index($0, a " :") { inside = 1; next }
    inside && /"script-ref"/ { sub(/.*"script-ref"[ \t]*:[ \t]*"/, ""); sub(/".*/, ""); print; exit }
    inside && /}/ { exit }' "$catalog")
  case $ref in *.java) ;; *) return 1 ;; esac
  case $ref in /*) ;; *) ref=${catalog%/*}/$ref ;; esac
  [ -f "$ref" ] && printf '%s\n' "$ref"
}

# The script and every file it pulls in, one a line; "!" for what only JBang can follow.
launch_files() {
  awk '
    function norm(p,    part, n, i, out, k) {
      n = split(p, part, "/"); k = 0
      for (i = 1; i <= n; i++) {
        if (part[i] == "." || (part[i] == "" && i > 1)) continue
        if (part[i] == ".." && k > 0 && out[k] != ".." && out[k] != "") { k--; continue }
        out[++k] = part[i]
      }
      p = out[1]; for (i = 2; i <= k; i++) p = p "/" out[i]
      return p
    }
    function visit(f,    line, d, tok, n, i, t) {
      f = norm(f)
      if (f in seen) return
      seen[f] = 1; print f
      d = f; if (!sub(/\/[^\/]*$/, "", d)) d = "."
      while ((getline line < f) > 0) {
        if (line !~ /^\/\/(SOURCES|FILES)[ \t]/) continue
        n = split(line, tok, /[ \t]+/)
        for (i = 2; i <= n; i++) {
          t = tok[i]
          if (tok[1] == "//FILES") sub(/^[^=]*=/, "", t)
          if (t == "") continue
          if (t ~ /[*?[{]|:\/\//) { print "!"; continue }
          if (t !~ /^\//) t = d "/" t
          if (tok[1] == "//SOURCES") visit(t); else if (!(norm(t) in seen)) { seen[norm(t)] = 1; print norm(t) }
        }
      }
      close(f)
    }
    BEGIN { visit(ARGV[1]); exit }' "$1"
}

# The cache entry's name for $1 (as typed) running script $2; fails when it cannot tell.
launch_key() {
  local java link d f files=() extra=()
  java=${JAVA_HOME:+$JAVA_HOME/bin/java}
  [ -n "$java" ] || java=$(command -v java) || return 1
  while [ -L "$java" ]; do
    link=$(readlink "$java")
    case $link in /*) java=$link ;; *) java=${java%/*}/$link ;; esac
  done
  d=$PWD
  while :; do
    for f in "$d/jbang-catalog.json" "$d/.jbang/jbang-catalog.json" "$d/jbang.properties" \
        "$d/.jbang/jbang.properties"; do
      [ -f "$f" ] && extra+=("$f")
    done
    [ "$d" = / ] && break
    d=${d%/*}; d=${d:-/}
  done
  for f in "${JBANG_DIR:-$HOME/.jbang}/jbang-catalog.json" "${JBANG_DIR:-$HOME/.jbang}/jbang.properties"; do
    [ -f "$f" ] && extra+=("$f")
  done
  while IFS= read -r f; do
    [ "$f" != '!' ] || return 1
    files+=("$f")
  done < <(launch_files "$2")
  [ ${#files[@]} -gt 0 ] || return 1
  {
    printf '%s\n' "k3sv-launch 1" "$PWD" "$1" "$java" "${JAVA_HOME:-}"
    cat "${java%/bin/java}/release" 2>/dev/null || true
    env | grep '^JBANG_' | sort || true
    launch_sum "$here/jbang" "$here/jbang-launch.sh" "$here/jbang-pom.xml" ${extra[@]+"${extra[@]}"} \
      "${files[@]}" 2>/dev/null
  } | launch_sum | cut -c1-32
}

# The cached command of entry $1 into cmd; fails unless the entry is whole.
launch_read() {
  local a
  cmd=()
  [ -f "$1" ] || return 1
  while IFS= read -r -d '' a; do cmd+=("$a"); done < "$1"
  [ ${#cmd[@]} -ge 4 ] && [ "${cmd[0]}" = k3sv-launch-1 ] && [ "${cmd[${#cmd[@]}-1]}" = end ] || return 1
  cmd=("${cmd[@]:1:${#cmd[@]}-2}")
}

# Whether cmd still runs script $1: its java is there, every class path entry exists, and
# the first is JBang's jar of that script (jars/<name>.java.<hash>/).
launch_valid() {
  local i cp entry name=${1##*/}
  [ -x "${cmd[0]}" ] || return 1
  for ((i = 1; i < ${#cmd[@]} - 1; i++)); do
    case ${cmd[i]} in -classpath | -cp | --class-path) cp=${cmd[i + 1]}; break ;; esac
  done
  case ${cp:-} in */"$name".*/*) ;; *) return 1 ;; esac
  while [ -n "$cp" ]; do
    entry=${cp%%:*}
    [ -e "$entry" ] || return 1
    [ "$entry" = "$cp" ] && break
    cp=${cp#*:}
  done
}

launch_cached() {
  local script key dir entry tmp
  script=$(launch_script "$1") || return 0
  key=$(launch_key "$1" "$script") || return 0
  [ ${#key} -eq 32 ] || return 0
  dir=${K3S_VAGRANT_LAUNCH_DIR:-$lib/launch}
  entry="$dir/$key"
  if launch_read "$entry" && launch_valid "$script"; then
    shift
    exec "${cmd[@]}" "$@"
  fi
  # a miss: ask JBang for the command without the user's arguments, so that what is parsed
  # (eval: JBang quotes it for a shell) holds no user text; those follow it as they are
  jbang_main "$1"
  if [ "$status" -ne 255 ]; then
    [ -n "$output" ] && printf '%s\n' "$output"
    exit "$status"
  fi
  case $output in /*) ;; *) return 0 ;; esac
  case $output in *$'\n'*) return 0 ;; esac
  eval "cmd=($output)" 2>/dev/null || return 0
  # a file edited while JBang built would leave the new jar under the old content's name
  launch_valid "$script" && [ "$(launch_key "$1" "$script")" = "$key" ] || return 0
  tmp="$entry.$$"
  # written under a private name, then renamed: pipeline stages start at once
  if mkdir -p "$dir" 2>/dev/null && printf '%s\0' k3sv-launch-1 "${cmd[@]}" end 2>/dev/null >"$tmp"; then
    mv -f "$tmp" "$entry" 2>/dev/null || rm -f "$tmp"
  else
    rm -f "$tmp" 2>/dev/null
  fi
  find "$dir" -type f -mtime +30 -exec rm -f {} + 2>/dev/null || true
  shift
  exec "${cmd[@]}" "$@"
}
