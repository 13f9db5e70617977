///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//SOURCES lib/ClusterStep.java
//SOURCES lib/K3sAgent.java
//SOURCES lib/K3sServer.java
//SOURCES lib/ClusterFolder.java
//SOURCES lib/ServerLeave.java
//SOURCES lib/Nodes.java

import java.time.Duration;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "k3s-leave",
    description = {
        "Removes an agent from its cluster: uninstalls K3s from the host (K3s's k3s-agent-uninstall.sh), then "
            + "deletes",
        "its node on the server. Prints the cluster JSON without that node. The opposite of k3s-join.",
        "A server of an HA cluster leaves the same way (k3s-uninstall.sh; deleting its node removes its etcd member),",
        "unless it is the first server, or the servers left would not keep etcd's majority Ready."},
    footerHeading = "%nExamples:%n",
    footer = {"  k3s-leave --name wil --node edge1", "  k3s-up | k3s-leave --node wilSW2",
        "  k3s-leave --name wil --node wilS3             # a server of a --servers 3 cluster"})
class leave extends ClusterStep {

    @Option(names = "--node", paramLabel = "NAME", required = true,
        description = "The node to remove, as the cluster JSON names it.")
    String node;

    public static void main(String... args) {
        System.exit(Cli.run(new leave(), args));
    }

    @Override
    int[] exitCodes() {
        return new int[] {Cli.OK, Cli.FAILED, Cli.USAGE, Cli.BAD_INPUT, Cli.SSH_FAILED, Cli.REFUSED};
    }

    @Override
    Map<Integer, String> exitCodeDetails() {
        return Map.of(Cli.OK, "the node left (or was not there)", Cli.USAGE, "no such node, or it is the first server",
            Cli.REFUSED, "a server whose leaving would break etcd's majority (nothing changed), or left but not yet "
            + "recorded in the cluster's folder");
    }

    @Override
    List<String> stages() {
        return List.of("uninstall", "delete");
    }

    @Override
    int run() {
        Cluster cluster = server.cluster();
        Cluster.Node leaving = cluster.nodes().stream().filter(n -> n.name().equalsIgnoreCase(node)).findFirst()
            .orElseThrow(() -> Cli.fail(Cli.USAGE, "cluster " + cluster.name() + " has no node '" + node
                + "': its nodes are " + String.join(", ", cluster.nodes().stream().map(Cluster.Node::name).toList())));
        if (leaving.isServer()) {
            ServerLeave.requireNotFirst(cluster, leaving);
            try (Ssh serverSsh = connect(cluster, cluster.server(), Duration.ofSeconds(30))) {
                ServerLeave.requireSafe(cluster, leaving, Nodes.list(serverSsh));
            }
        }

        // K3s first: a running kubelet registers its node again right after a delete
        stage("uninstall", "uninstalling K3s from " + leaving.name());
        try (Ssh host = connect(cluster, leaving, Duration.ofSeconds(30))) {
            K3sAgent.uninstall(host, leaving.isServer() ? "k3s-uninstall.sh" : "k3s-agent-uninstall.sh", log);
        }
        stage("delete", "deleting node " + leaving.name() + " on the server");
        try (Ssh serverSsh = connect(cluster, cluster.server(), Duration.ofSeconds(30))) {
            Ssh.Result deleted = K3sServer.deleteNode(serverSsh, leaving.name());
            if (!deleted.ok()) {
                throw Cli.fail(Cli.FAILED, "deleting node " + leaving.name() + " failed: " + deleted.stderr().strip());
            }
        }
        Cluster left = ClusterFolder.updateCluster(cluster, recorded -> recorded.withoutNode(leaving.name()), log);
        log.step(leaving.name() + " left " + cluster.name());
        print(left.toJson());
        return Cli.OK;
    }
}
