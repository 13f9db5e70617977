///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//SOURCES lib/ClusterStep.java
//SOURCES lib/Nodes.java

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "k3s-status",
    description = {
        "Shows a cluster's nodes as its server sees them: name, role, Ready, internal IP, K3s version.",
        "A table on a terminal; in a pipe (or with --json), the cluster JSON, each node's k3sVersion as read now,",
        "with a 'status' list of the nodes."},
    footerHeading = "%nExamples:%n",
    footer = {"  k3s-status --name wil", "  k3s-up | k3s-status",
        "  k3s-status --name wil --json | jq '.nodes[].status.ready'"})
class status extends ClusterStep {

    @Option(names = "--json", description = "Print JSON even on a terminal.")
    boolean json;

    public static void main(String... args) {
        System.exit(Cli.run(new status(), args));
    }

    @Override
    int[] exitCodes() {
        return new int[] {Cli.OK, Cli.FAILED, Cli.BAD_INPUT, Cli.SSH_FAILED};
    }

    @Override
    Map<Integer, String> exitCodeDetails() {
        return Map.of(Cli.OK, "every node is Ready", Cli.FAILED, "a node is not Ready, or the server cannot be read");
    }

    @Override
    int run() {
        Cluster cluster = server.cluster();
        List<Nodes.Status> nodes;
        try (Ssh ssh = connect(cluster, cluster.server(), Duration.ofSeconds(20))) {
            nodes = Nodes.list(ssh);
            cluster = server.withApiPortOf(cluster, ssh);
        }
        // the JSON this step prints carries the versions the nodes report now (after an upgrade too)
        cluster = Nodes.withVersions(cluster, nodes);
        if (nodes.isEmpty()) {
            throw Cli.fail(Cli.FAILED, "the server " + cluster.server().name()
                + " lists no node: is K3s running there? ('sudo journalctl -u k3s')");
        }
        if (json || !Terminal.stdoutIsTerminal()) {
            ObjectNode root = cluster.toTree();
            ArrayNode list = root.putArray("status");
            for (Nodes.Status node : nodes) {
                ObjectNode n = list.addObject();
                n.put("node", node.name());
                n.put("role", node.controlPlane() ? "server" : "agent");
                n.put("ready", node.ready());
                n.put("internalIp", node.internalIp());
                n.put("version", node.version());
            }
            print(root.toPrettyString() + "\n");
        } else {
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%-24s %-7s %-9s %-16s %s%n", "NODE", "ROLE", "STATUS", "INTERNAL-IP", "VERSION");
            for (Nodes.Status node : nodes) {
                out.printf("%-24s %-7s %-9s %-16s %s%n", node.name(), node.controlPlane() ? "server" : "agent",
                    node.ready() ? "Ready" : "NotReady", node.internalIp(), node.version());
            }
            out.flush();
        }
        return nodes.stream().allMatch(Nodes.Status::ready) ? Cli.OK : Cli.FAILED;
    }
}
