#!/usr/bin/env bash
# The VM tier's flow against REAL K3s, for a machine that has what this project's CI
# lacks: internet in the VMs (K3s's installer downloads K3s) and Vagrant with VirtualBox
# or libvirt. It brings the cluster up with k3s-up, joins --join-host to it with k3s-join
# when one is given (through --jump), merges its kubeconfig into a private KUBECONFIG,
# checks with kubectl that every node is Ready with its address, then that workloads run
# across the nodes (Ready alone does not show it: a wrong flannel interface still leaves
# every node Ready): a probe pod on each node, HTTP from each pod to every other node's pod
# over the pod network, and a cluster DNS lookup from each pod. It destroys everything it
# made (unless --keep). With --upgrade FROM TO, the cluster is made at K3s FROM, then
# upgraded in place to TO (k3s-up --k3s-version TO --yes): every node must be Ready at TO,
# the servers upgraded before the agents, before the workload checks run on it.
#
# Usage: tests/vm/real-k3s-check.sh [--provider virtualbox|libvirt] [--keep]
#          [--join-host [USER@]HOST [--jump USER@BASTION[:PORT]] [--ssh-key FILE] [--ssh-config FILE]
#           [--node-ip ADDR]] [--image IMAGE] [--upgrade FROM TO] [k3s-up flags...]
#   e.g. tests/vm/real-k3s-check.sh --servers 3 --workers 3 --server-memory 2048
#        tests/vm/real-k3s-check.sh --join-host pi@10.0.0.7 --jump me@bastion --ssh-key ~/.ssh/id_ed25519
#        tests/vm/real-k3s-check.sh --upgrade v1.31.4+k3s1 v1.32.1+k3s1 --workers 2
set -euo pipefail
caller_dir=$PWD  # relative --ssh-key / --ssh-config are the caller's, not the repository's
cd "$(dirname "$0")/../.."
# shellcheck source=../host/node-ready.sh
source tests/host/node-ready.sh

usage() { echo "real-k3s-check: $1 (see the usage at the top of $0)" >&2; exit 2; }
keep=0
join_host='' jump='' ssh_key='' ssh_config='' node_ip='' upgrade_from='' upgrade_to=''
# busybox (httpd, wget, nslookup) as K3s's own air-gap image list names it, on Docker Hub
image=rancher/mirrored-library-busybox:1.36.1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1 ;;
    --upgrade)
      if [ $# -lt 3 ] || [ -z "$2" ] || [ -z "$3" ]; then usage "--upgrade needs two versions: FROM TO"; fi
      upgrade_from=$2 upgrade_to=$3
      shift 2 ;;
    --join-host|--jump|--ssh-key|--ssh-config|--node-ip|--image)
      if [ $# -lt 2 ] || [ -z "$2" ]; then usage "$1 needs a value"; fi
      case "$1" in
        --join-host) join_host=$2 ;;
        --jump) jump=$2 ;;
        --ssh-key) ssh_key=$2 ;;
        --ssh-config) ssh_config=$2 ;;
        --node-ip) node_ip=$2 ;;
        --image) image=$2 ;;
      esac
      shift ;;
    *) args+=("$1") ;;
  esac
  shift
done
if [ -z "$join_host" ] && [ -n "$jump$ssh_key$ssh_config$node_ip" ]; then
  usage "--jump, --ssh-key, --ssh-config and --node-ip are for --join-host: give the host to join"
fi
case $ssh_key in /* | '') ;; *) ssh_key=$caller_dir/$ssh_key ;; esac
if [ -n "$upgrade_from" ]; then args+=(--k3s-version "$upgrade_from"); fi
case $ssh_config in /* | '') ;; *) ssh_config=$caller_dir/$ssh_config ;; esac

work=$(mktemp -d)
export K3S_VAGRANT_HOME="$work/home" KUBECONFIG="$work/kubeconfig"
login=realk3s
ns=real-k3s-check  # everything the workload check makes is in this namespace
ns_made=0 joined=''
cleanup() {
  if [ "$keep" = 1 ]; then
    echo "kept: cluster folder $K3S_VAGRANT_HOME/clusters/$login, KUBECONFIG=$KUBECONFIG" >&2
    if [ "$ns_made" = 1 ]; then echo "kept: namespace $ns (kubectl delete namespace $ns)" >&2; fi
    if [ -n "$joined" ]; then
      echo "kept: $join_host joined as node $joined" \
        "(bin/jbang k3s-leave --cluster $work/cluster.json --node $joined)" >&2
    fi
    return
  fi
  if [ "$ns_made" = 1 ]; then
    kubectl delete namespace "$ns" --timeout=120s >/dev/null || echo "deleting namespace $ns failed" >&2
  fi
  # the joined host outlives the VMs: take K3s off it while its server is still there
  if [ -n "$joined" ]; then
    bin/jbang k3s-leave --cluster "$work/cluster.json" --node "$joined" >/dev/null \
      || echo "k3s-leave failed: on $join_host run 'sudo /usr/local/bin/k3s-agent-uninstall.sh'" >&2
  elif [ -n "$join_host" ]; then
    echo "if k3s-join got as far as installing on $join_host," \
      "run 'sudo /usr/local/bin/k3s-agent-uninstall.sh' there" >&2
  fi
  if [ -d "$K3S_VAGRANT_HOME/clusters/$login" ]; then
    if ! (cd "$K3S_VAGRANT_HOME/clusters/$login" && vagrant destroy -f); then
      echo "vagrant destroy failed: clean up $K3S_VAGRANT_HOME/clusters/$login by hand" >&2
      return
    fi
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== warming JBang's cache" >&2
for step in up join kubeconfig leave; do bin/jbang build "scripts/$step.java" >/dev/null; done

# ${args[@]+...}: bash 3.2 (macOS) calls an empty array unbound under set -u
if [ -z "$join_host" ]; then
  echo "== k3s-up | k3s-kubeconfig --merge (real K3s from the internet)" >&2
  start=$SECONDS
  bin/jbang k3s-up --login "$login" ${args[@]+"${args[@]}"} | tee "$work/up.json" \
    | bin/jbang k3s-kubeconfig --merge > "$work/cluster.json"
else
  join=(--host "$join_host")
  if [ -n "$jump" ]; then join+=(--jump "$jump"); fi
  if [ -n "$ssh_key" ]; then join+=(--ssh-key "$ssh_key"); fi
  if [ -n "$ssh_config" ]; then join+=(--ssh-config "$ssh_config"); fi
  if [ -n "$node_ip" ]; then join+=(--node-ip "$node_ip"); fi
  echo "== k3s-up | k3s-join ${join[*]} | k3s-kubeconfig --merge (real K3s from the internet)" >&2
  start=$SECONDS
  bin/jbang k3s-up --login "$login" ${args[@]+"${args[@]}"} | tee "$work/up.json" \
    | bin/jbang k3s-join "${join[@]}" | bin/jbang k3s-kubeconfig --merge > "$work/cluster.json"
  # the joined node: the one k3s-join added to k3s-up's cluster JSON
  joined=$(python3 -c 'import json, sys
up = {n["name"] for n in json.load(open(sys.argv[1]))["nodes"]}
print(" ".join(n["name"] for n in json.load(open(sys.argv[2]))["nodes"] if n["name"] not in up))' \
    "$work/up.json" "$work/cluster.json")
  echo "== $join_host joined as node $joined" >&2
fi
echo "== Ready after $((SECONDS - start)) s; kubectl get nodes -o wide:" >&2
kubectl get nodes -o wide

fail=0
# every node k3s-up made (e.g. with --servers 3 --workers 3) and k3s-join added, by name and address
pairs=$(python3 -c 'import json, sys
[print(n["name"].lower() + "=" + n["ip"]) for n in json.load(open(sys.argv[1]))["nodes"]]' "$work/cluster.json")
for pair in $pairs; do
  node_ready_at "${pair%%=*}" "${pair#*=}" || fail=1
done
if [ "$fail" != 0 ]; then
  echo "real K3s check FAILED"
  exit 1
fi

if [ -n "$upgrade_to" ]; then
  echo "== k3s-up --k3s-version $upgrade_to --yes: rolling upgrade from $upgrade_from" >&2
  start=$SECONDS
  if ! bin/jbang k3s-up --login "$login" --k3s-version "$upgrade_to" --yes 2>"$work/upgrade.log" >/dev/null; then
    cat "$work/upgrade.log" >&2
    echo "real K3s check FAILED: the upgrade to $upgrade_to stopped (k3s-up's log above)"
    exit 1
  fi
  grep 'upgraded ' "$work/upgrade.log" >&2 || true
  echo "== upgraded after $((SECONDS - start)) s" >&2
  for pair in $pairs; do
    got=$(kubectl get node "${pair%%=*}" -o jsonpath='{.status.nodeInfo.kubeletVersion}')
    if [ "$got" = "$upgrade_to" ]; then
      echo "ok   ${pair%%=*} runs $got"
    else
      echo "FAIL ${pair%%=*} runs ${got:-nothing} after the upgrade, not $upgrade_to"
      fail=1
    fi
    node_ready_at "${pair%%=*}" "${pair#*=}" || fail=1
  done
  # the order k3s-up upgraded them in ("upgraded NODE to K3s VERSION at TIME" lines): servers first
  servers=$(kubectl get nodes -l node-role.kubernetes.io/control-plane -o jsonpath='{.items[*].metadata.name}')
  order=$(grep -o 'upgraded [^ ]* to K3s' "$work/upgrade.log" | awk '{ print $2 }' | tr '\n' ' ')
  seen_agent=0
  for node in $order; do
    case " $servers " in
      *" $node "*)
        if [ "$seen_agent" = 1 ]; then echo "FAIL server $node upgraded after an agent ($order)"; fail=1; fi ;;
      *) seen_agent=1 ;;
    esac
  done
  if [ "$(echo "$order" | wc -w)" != "$(echo "$pairs" | wc -w)" ]; then
    echo "FAIL k3s-up upgraded $order, not every node of the cluster"
    fail=1
  else
    echo "ok   upgraded one at a time, servers first: $order"
  fi
  if [ "$fail" != 0 ]; then
    echo "real K3s check FAILED"
    exit 1
  fi
fi

echo "== workloads across the nodes: a $image pod on each node (namespace $ns)" >&2
ns_made=1
# an httpd on 8080 in each pod answering with its node's name; tolerating every taint so that
# tainted servers get one too
kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: $ns
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: probe
  namespace: $ns
spec:
  selector:
    matchLabels: {app: probe}
  template:
    metadata:
      labels: {app: probe}
    spec:
      tolerations: [{operator: Exists}]
      terminationGracePeriodSeconds: 1
      containers:
      - name: probe
        image: $image
        env:
        - name: NODE_NAME
          valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
        command: [sh, -c, 'mkdir -p /www && echo "\$NODE_NAME" > /www/index.html && exec httpd -f -p 8080 -h /www']
        ports: [{containerPort: 8080}]
        readinessProbe:
          tcpSocket: {port: 8080}
          periodSeconds: 2
YAML

# "POD IP" of the Ready probe pod on node $1, or nothing
probe_on() {
  local row='{.metadata.name} {.status.podIP} {.status.conditions[?(@.type=="Ready")].status}{"\n"}'
  kubectl -n "$ns" get pods -l app=probe --field-selector "spec.nodeName=$1" -o jsonpath="{range .items[*]}$row{end}" \
    2>/dev/null | awk '$3 == "True" { print $1, $2; exit }'
}
read -r -a nodes <<< "$(kubectl get nodes -o jsonpath='{.items[*].metadata.name}')"
pods=() ips=()
wait_s=300
deadline=$((SECONDS + wait_s))
while :; do
  missing=()
  for i in "${!nodes[@]}"; do
    line=$(probe_on "${nodes[$i]}" || true)  # kubectl may fail a moment: the deadline decides
    if [ -n "$line" ]; then pods[i]=${line%% *} ips[i]=${line#* }; else missing+=("${nodes[$i]}"); fi
  done
  if [ ${#missing[@]} = 0 ]; then break; fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    for node in "${missing[@]}"; do
      state='{.items[*].status.phase} {.items[*].status.containerStatuses[*].state.waiting.reason}'
      why=$(kubectl -n "$ns" get pods -l app=probe --field-selector "spec.nodeName=$node" -o jsonpath="$state" \
        2>/dev/null || true)
      echo "FAIL node $node: no Ready probe pod after $wait_s s" \
        "(pod: ${why:-none scheduled}; could the node pull $image?)"
    done
    echo "real K3s check FAILED"
    exit 1
  fi
  sleep 5
done
for i in "${!nodes[@]}"; do echo "ok   pod ${pods[$i]} Ready on ${nodes[$i]} at ${ips[$i]}"; done

echo "== pod network: every pod fetches every other node's pod by pod IP" >&2
for i in "${!nodes[@]}"; do
  for j in "${!nodes[@]}"; do
    if [ "$i" = "$j" ]; then continue; fi
    url_host=${ips[$j]}
    case $url_host in *:*) url_host="[$url_host]" ;; esac
    got=''
    # a few tries: a node's flannel routes may reach the others a moment after its pod is Ready
    for _ in 1 2 3 4 5 6; do
      if got=$(kubectl --request-timeout=30s -n "$ns" exec "${pods[$i]}" -- \
          wget -q -O - -T 5 "http://$url_host:8080/" 2>&1) && [ "$got" = "${nodes[$j]}" ]; then
        break
      fi
      sleep 5
    done
    if [ "$got" = "${nodes[$j]}" ]; then
      echo "ok   ${nodes[$i]} -> ${nodes[$j]}: pod ${ips[$i]} reached pod ${ips[$j]}"
    else
      echo "FAIL ${nodes[$i]} -> ${nodes[$j]}: pod ${pods[$i]} (${ips[$i]}) got no answer from pod" \
        "${pods[$j]} (http://$url_host:8080/) in 6 tries: ${got:-nothing}" \
        "(a wrong --flannel-iface, or UDP 8472 blocked between them?)"
      fail=1
    fi
  done
done

echo "== cluster DNS: nslookup kubernetes.default.svc.cluster.local from each node's pod" >&2
dns_ok=1
kubectl -n kube-system rollout status deployment/coredns --timeout=180s >/dev/null || dns_ok=0
dns_nodes=$(kubectl -n kube-system get pods -l k8s-app=kube-dns -o jsonpath='{.items[*].spec.nodeName}' \
  2>/dev/null || true)
if [ "$dns_ok" = 0 ]; then
  echo "FAIL CoreDNS (on ${dns_nodes:-no node}) not available after 180 s"
  fail=1
else
  want=$(kubectl -n default get service kubernetes -o jsonpath='{.spec.clusterIP}' || true)
  if [ -z "$want" ]; then
    echo "FAIL the kubernetes Service has no ClusterIP to look up"
    echo "real K3s check FAILED"
    exit 1
  fi
  # is $1 (nslookup's output) an answer of $want? busybox prints "Address: IP" (1.36) or "Address 1: IP NAME"
  # (older); the "Address: IP:53" of the server it asked is not one
  answers() { printf '%s\n' "$1" | awk -v ip="$want" '/^Address/ { for (i = 2; i <= NF; i++) if ($i == ip) found = 1 }
    END { exit !found }'; }
  for i in "${!nodes[@]}"; do
    got=''
    for _ in 1 2 3 4 5 6; do
      got=$(kubectl --request-timeout=30s -n "$ns" exec "${pods[$i]}" -- \
        nslookup kubernetes.default.svc.cluster.local 2>&1 || true)
      # busybox's nslookup may exit non-zero for the missing AAAA: the A answer is what counts
      if answers "$got"; then break; fi
      sleep 5
    done
    if answers "$got"; then
      echo "ok   ${nodes[$i]} -> CoreDNS on $dns_nodes: kubernetes.default.svc.cluster.local is $want"
    else
      echo "FAIL ${nodes[$i]} -> CoreDNS on $dns_nodes: pod ${pods[$i]} did not resolve" \
        "kubernetes.default.svc.cluster.local to $want in 6 tries: $(printf '%s' "$got" | tr '\n' ' ')"
      fail=1
    fi
  done
fi

# issue 13: the host name and private address are set by provision/machine.sh, not by Vagrant: they must
# come back after a reboot, on whichever provider this runs
echo "== vagrant reload: k3s-up's machines keep their host names and eth1 addresses" >&2
machines=$(python3 -c 'import json, sys
[print(n["name"] + "=" + n["ip"]) for n in json.load(open(sys.argv[1]))["nodes"]]' "$work/up.json")
cluster_dir="$K3S_VAGRANT_HOME/clusters/$login"
(cd "$cluster_dir" && vagrant reload >&2) || { echo "FAIL vagrant reload"; fail=1; }
for pair in $machines; do
  name=${pair%%=*} ip=${pair#*=}
  got=$(cd "$cluster_dir" && vagrant ssh "$name" -c 'hostname; ip -4 -o addr show dev eth1' 2>/dev/null | tr -d '\r')
  if [ "$(printf '%s\n' "$got" | head -n 1)" = "$name" ] && printf '%s\n' "$got" | grep -q " $ip/"; then
    echo "ok   $name after reload: host name $name, $ip on eth1"
  else
    echo "FAIL $name after reload: expected host name $name and $ip on eth1, got: $(printf '%s' "$got" | tr '\n' ' ')"
    fail=1
  fi
done

if [ "$fail" != 0 ]; then
  echo "real K3s check FAILED"
  exit 1
fi
echo "real K3s check passed"
