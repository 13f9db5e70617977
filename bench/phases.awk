# k3s-up's phases, from its -v log (its stderr in a pipe: "k3s-up [ 87s]     benchS: Setting hostname...").
# Machines work in parallel, so a phase ends when the LAST machine leaves it (the critical path): the
# phases' seconds add up to the whole run. The log counts whole seconds, so each phase is +-1 s.
#   awk -v total=SECONDS -f bench/phases.awk k3s-up.log
# total: the wall time the caller measured (JBang and the JVM included); without it, the log's own end.
# Prints "phase<TAB>seconds<TAB>share in %" for: start (to vagrant up), boot, hostname, network, uploads
# (file provisioners), server (the servers' K3s provisioning), agents (the rest of vagrant up), ready.
# Vagrant's step lines name the phases (a provisioner by its name: k3s, *host*, *net*; any other one is an
# upload); a machine's name ending in SW or SWn is an agent (provision/settings.yaml's suffixes). The k3s
# provisioner's start (Vagrant's upload of its script, the unpacking, machine.sh's host name and address) counts
# with the uploads: K3s's part begins at the provisioning's first own line ("[k3s-vagrant NAME] ...").
function later(phase, t) { if (!(phase in end) || t > end[phase]) end[phase] = t }
function row(name, seconds) { printf "%s\t%d\t%.0f\n", name, seconds, (total > 0 ? 100 * seconds / total : 0) }
{
  if (!match($0, /^[a-z0-9-]+ \[ *[0-9]+s\] /)) next
  t = substr($0, 1, RLENGTH); text = substr($0, RLENGTH + 1)
  sub(/^[^[]*\[ */, "", t); t += 0
  if (text ~ /^==> [0-9]+\/[0-9]+ vagrant up/) { upStart = t; next }
  if (text ~ /^==> [0-9]+\/[0-9]+ waiting for the nodes to be Ready/) { upEnd = t; next }
  if (text ~ /^==> cluster .* is Ready/) { ready = t; next }
  if (upStart == "" || upEnd != "") next
  line = text; sub(/^ *(\| +)?(==> )?/, "", line)
  if (!match(line, /^[A-Za-z0-9.-]+: /)) next
  m = substr(line, 1, RLENGTH - 2); what = substr(line, RLENGTH + 1)
  p = ""
  if (what ~ /^Machine booted and ready/) p = "booted"
  else if (what ~ /^Setting hostname/) p = "hostname"
  else if (what ~ /^Configuring and enabling network interfaces/) p = "network"
  else if (what ~ /^Running provisioner: k3s /) p = "k3s"
  else if (what ~ /^Running provisioner: [^ ]*host/) p = "hostname"
  else if (what ~ /^Running provisioner: [^ ]*net/) p = "network"
  else if (what ~ /^Running provisioner: /) p = "uploads"
  if (p != "") known[m] = 1
  if (!(m in known)) next
  if (p == "k3s") p = "unpack"
  if (p == "" && cur[m] == "unpack" && what ~ /^\[k3s-vagrant /) p = "k3s"
  if (p == "booted") { later("boot", t); cur[m] = ""; next }
  if (p != "" && p != cur[m] && cur[m] != "" && cur[m] != "k3s") later(cur[m] == "unpack" ? "uploads" : cur[m], t)
  if (p != "") cur[m] = p
  if (cur[m] == "k3s") later(m ~ /SW[0-9]*$/ ? "agents" : "server", t)
}
END {
  if (upStart == "" || upEnd == "" || ready == "") {
    print "phases.awk: no '==> n/m vagrant up', 'waiting for the nodes' or 'is Ready' line: not k3s-up's log" \
      > "/dev/stderr"
    exit 1
  }
  if (total == "") total = ready
  row("start", total - (ready - upStart))
  split("boot hostname network uploads server", order, " ")
  bound = upStart
  for (i = 1; i <= 5; i++) {
    from = bound
    if ((order[i] in end) && end[order[i]] > bound) bound = end[order[i]]
    row(order[i], bound - from)
  }
  row("agents", upEnd > bound ? upEnd - bound : 0)
  row("ready", ready - (upEnd > bound ? upEnd : bound))
}
