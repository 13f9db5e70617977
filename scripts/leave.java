///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//SOURCES lib/K3s.java

import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "k3s-leave", mixinStandardHelpOptions = true, version = "k3s-vagrant 0.1",
    description = {
        "Removes an agent from its cluster: uninstalls K3s from the host (K3s's k3s-agent-uninstall.sh), then deletes",
        "its node on the server. Prints the cluster JSON without that node. The opposite of k3s-join."},
    footerHeading = "%nExamples:%n",
    footer = {"  k3s-leave --name wil --node edge1", "  k3s-up | k3s-leave --node wilSW2"},
    exitCodeListHeading = "%nExit codes:%n", exitCodeList = {
        "0:the node left (or was not there)", "1:the step failed (the message says why)", "2:bad flags: no such node, or the server",
        "4:no cluster given, or its JSON is malformed",
        "5:SSH connection or authentication failed, or the user's sudo asks for a password",
        "7:left, but another step held the cluster's folder too long to record it there: run it again"})
class leave implements Callable<Integer> {

    @Spec CommandSpec spec;
    @Mixin Cli.LogOptions logOptions;
    @Mixin K3s.ServerOptions server = new K3s.ServerOptions();
    @Mixin Ssh.HostKeyOptions hostKeys;

    @Option(names = "--node", paramLabel = "NAME", required = true, description = "The node to remove, as the cluster JSON names it.")
    String node;

    public static void main(String... args) {
        System.exit(Cli.run(new leave(), args));
    }

    @Override
    public Integer call() {
        Cli.Log log = new Cli.Log(spec.commandLine().getErr(), "k3s-leave", logOptions);
        Cluster cluster = server.cluster();
        Cluster.Node leaving = cluster.nodes().stream().filter(n -> n.name().equalsIgnoreCase(node)).findFirst()
            .orElseThrow(() -> Cli.fail(Cli.USAGE, "cluster " + cluster.name() + " has no node '" + node + "': its nodes are "
                + String.join(", ", cluster.nodes().stream().map(Cluster.Node::name).toList())));
        if (leaving.isServer()) {
            throw Cli.fail(Cli.USAGE, node + " is a server of the cluster: k3s-leave removes agents only; k3s-down removes the whole cluster");
        }

        // the agent first: a running kubelet registers its node again right after a delete
        log.step("1/2 uninstalling the K3s agent from " + leaving.name());
        try (Ssh host = K3s.connect(cluster, leaving, hostKeys.chosen(), hostKeys.knownHosts, Duration.ofSeconds(30), log)) {
            K3s.uninstallAgent(host, log);
        }
        log.step("2/2 deleting node " + leaving.name() + " on the server");
        try (Ssh serverSsh = K3s.connect(cluster, cluster.server(), hostKeys.chosen(), hostKeys.knownHosts, Duration.ofSeconds(30), log)) {
            Ssh.Result deleted = K3s.deleteNode(serverSsh, leaving.name());
            if (!deleted.ok()) throw Cli.fail(Cli.FAILED, "deleting node " + leaving.name() + " failed: " + deleted.stderr().strip());
        }
        Cluster left = ClusterFolder.updateCluster(cluster, recorded -> recorded.withoutNode(leaving.name()), log);
        log.step(leaving.name() + " left " + cluster.name());
        spec.commandLine().getOut().print(left.toJson());
        spec.commandLine().getOut().flush();
        return Cli.OK;
    }
}
