//SOURCES Cli.java
//SOURCES Interruption.java
//SOURCES Log.java
//SOURCES Cluster.java
//SOURCES Ssh.java

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/** The nodes a K3s server lists (`k3s kubectl get nodes`): their state, their versions, the wait for Ready. */
final class Nodes {
    private Nodes() {}

    /** A node as `kubectl get nodes -o json` reports it. */
    record Status(String name, boolean ready, String internalIp, String version, boolean controlPlane) { }

    /** The nodes the server knows, from `k3s kubectl get nodes -o json`. */
    static List<Status> list(Ssh server) {
        Ssh.Result result = server.exec(server.sudo() + "k3s kubectl get nodes -o json", null, Duration.ofSeconds(60));
        if (!result.ok()) return List.of(); // API not up yet: no node is Ready
        JsonNode root;
        try {
            root = Cluster.JSON.readTree(result.stdout());
        } catch (IOException e) {
            return List.of();
        }
        List<Status> nodes = new ArrayList<>();
        for (JsonNode item : root.path("items")) {
            boolean ready = false;
            for (JsonNode condition : item.path("status").path("conditions")) {
                if (condition.path("type").asText().equals("Ready")) {
                    ready = condition.path("status").asText().equals("True");
                }
            }
            String ip = null;
            for (JsonNode address : item.path("status").path("addresses")) {
                if (address.path("type").asText().equals("InternalIP")) ip = address.path("address").asText();
            }
            boolean controlPlane = item.path("metadata").path("labels").has("node-role.kubernetes.io/control-plane");
            nodes.add(new Status(item.path("metadata").path("name").asText(), ready, ip,
                item.path("status").path("nodeInfo").path("kubeletVersion").asText(""), controlPlane));
        }
        return nodes;
    }

    /**
     * The cluster with each node's K3s version as the server lists it (its kubeletVersion, read in the
     * same `get nodes` that found it Ready); a node the server does not list keeps what was recorded.
     */
    static Cluster withVersions(Cluster cluster, List<Status> seen) {
        List<Cluster.Node> nodes = cluster.nodes().stream().map(node -> withVersion(node, seen)).toList();
        return new Cluster(cluster.name(), cluster.provider(), cluster.vagrantDir(), cluster.serverUrl(), nodes,
            cluster.kubeconfig());
    }

    static Cluster.Node withVersion(Cluster.Node node, List<Status> seen) {
        return node.withK3sVersion(seen.stream().filter(status -> status.name().equals(nodeName(node.name())))
            .map(Status::version).filter(Cluster::isK3sVersion).findFirst().orElse(node.k3sVersion()));
    }

    /** Kubernetes lowercases host names for node names. */
    static String nodeName(String hostname) {
        return hostname.toLowerCase(Locale.ROOT);
    }

    /** Polls until every named node is Ready, or fails with TIMED_OUT naming those that are not. */
    static List<Status> waitReady(Ssh server, Set<String> hostnames, Duration timeout, Log log) {
        Set<String> wanted = new TreeSet<>();
        hostnames.forEach(h -> wanted.add(nodeName(h)));
        long deadline = System.nanoTime() + timeout.toNanos();
        Set<String> lastMissing = Set.of();
        while (true) {
            List<Status> nodes = list(server);
            Set<String> missing = new TreeSet<>(wanted);
            nodes.stream().filter(Status::ready).forEach(n -> missing.remove(n.name()));
            if (missing.isEmpty()) return nodes;
            if (!missing.equals(lastMissing)) {
                log.info("waiting for node(s) " + String.join(", ", missing) + " to be Ready");
                lastMissing = missing;
            }
            if (System.nanoTime() > deadline) {
                throw Cli.fail(Cli.TIMED_OUT, "node(s) " + String.join(", ", missing) + " not Ready after "
                    + timeout.toSeconds() + " s; on the server, 'sudo k3s kubectl get nodes -o wide' and "
                    + "'sudo journalctl -u k3s' (agents: -u k3s-agent; /var/log/k3s-agent.log where openrc runs) "
                    + "tell why");
            }
            Interruption.pause(1000, "for nodes"); // each second: the wait adds at most that to the boot
        }
    }

    /** Each awaited node marked Ready on the log, then the table of every node seen. */
    static void report(List<Status> ready, Set<String> awaited, Log log) {
        List<List<String>> rows = new ArrayList<>();
        for (Status node : ready) {
            if (awaited.contains(node.name())) log.phaseEnd(node.name(), "Ready");
            rows.add(List.of(node.name(), "Ready", node.internalIp(), node.version()));
        }
        log.table(List.of("NAME", "STATUS", "ADDRESS", "VERSION"), rows);
    }
}
