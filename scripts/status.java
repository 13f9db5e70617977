///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//SOURCES lib/K3s.java

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "k3s-status", mixinStandardHelpOptions = true, version = "k3s-vagrant 0.1",
    description = {
        "Shows a cluster's nodes as its server sees them: name, role, Ready, internal IP, K3s version.",
        "A table on a terminal; in a pipe (or with --json), the cluster JSON, each node's k3sVersion as read now,",
        "with a 'status' list of the nodes."},
    footerHeading = "%nExamples:%n",
    footer = {"  k3s-status --name wil", "  k3s-up | k3s-status", "  k3s-status --name wil --json | jq '.nodes[].status.ready'"},
    exitCodeListHeading = "%nExit codes:%n", exitCodeList = {
        "0:every node is Ready", "1:a node is not Ready, or the server cannot be read", "4:no cluster given, or its JSON is malformed",
        "5:the server cannot be reached over SSH"})
class status implements Callable<Integer> {

    @Spec CommandSpec spec;
    @Mixin Cli.LogOptions logOptions;
    @Mixin K3s.ServerOptions server = new K3s.ServerOptions();
    @Mixin Ssh.HostKeyOptions hostKeys;

    @Option(names = "--json", description = "Print JSON even on a terminal.")
    boolean json;

    public static void main(String... args) {
        System.exit(Cli.run(new status(), args));
    }

    @Override
    public Integer call() {
        Cli.Log log = new Cli.Log(spec.commandLine().getErr(), "k3s-status", logOptions);
        Cluster cluster = server.cluster();
        List<K3s.NodeStatus> nodes;
        try (Ssh ssh = K3s.connect(cluster, cluster.server(), hostKeys.chosen(), hostKeys.knownHosts, Duration.ofSeconds(20), log)) {
            nodes = K3s.nodes(ssh);
            cluster = server.withApiPortOf(cluster, ssh);
        }
        // the JSON this step prints carries the versions the nodes report now (after an upgrade too)
        cluster = K3s.withVersions(cluster, nodes);
        if (nodes.isEmpty()) {
            throw Cli.fail(Cli.FAILED, "the server " + cluster.server().name() + " lists no node: is K3s running there? ('sudo journalctl -u k3s')");
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json || !Cli.stdoutIsTerminal()) {
            ObjectNode root = cluster.toTree();
            ArrayNode list = root.putArray("status");
            for (K3s.NodeStatus node : nodes) {
                ObjectNode n = list.addObject();
                n.put("node", node.name());
                n.put("role", node.controlPlane() ? "server" : "agent");
                n.put("ready", node.ready());
                n.put("internalIp", node.internalIp());
                n.put("version", node.version());
            }
            out.print(root.toPrettyString() + "\n");
        } else {
            out.printf("%-24s %-7s %-9s %-16s %s%n", "NODE", "ROLE", "STATUS", "INTERNAL-IP", "VERSION");
            for (K3s.NodeStatus node : nodes) {
                out.printf("%-24s %-7s %-9s %-16s %s%n", node.name(), node.controlPlane() ? "server" : "agent",
                    node.ready() ? "Ready" : "NotReady", node.internalIp(), node.version());
            }
        }
        out.flush();
        return nodes.stream().allMatch(K3s.NodeStatus::ready) ? Cli.OK : Cli.FAILED;
    }
}
