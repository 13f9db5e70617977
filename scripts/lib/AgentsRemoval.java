//SOURCES Cli.java
//SOURCES Log.java
//SOURCES Cluster.java
//SOURCES ClusterChange.java
//SOURCES NodeSsh.java
//SOURCES Nodes.java
//SOURCES K3sAgent.java
//SOURCES K3sServer.java
//SOURCES Shell.java
//SOURCES Ssh.java

import java.time.Duration;
import java.util.Optional;

/**
 * Fewer --workers: the highest-numbered agents leave one at a time, each cordoned and drained (bounded, so
 * a pod that cannot move stops the change with the node still in the cluster), K3s uninstalled (a running
 * kubelet registers its node again right after a delete), the node deleted, the machine destroyed. Each part
 * finds what an interrupted run left, so the same k3s-up carries on from there.
 */
final class AgentsRemoval {
    /** kubectl drain's own bound: a pod that will not leave fails the drain rather than hanging k3s-up. */
    static final String DRAIN_TIMEOUT = "120s";

    private AgentsRemoval() {}

    static void apply(ClusterChange.Step step, ChangeRun.Context context) {
        Cluster cluster = context.cluster();
        for (var machine : step.machines()) {
            String node = Nodes.nodeName(machine.name());
            context.log().phase(machine.name(), "leaving the cluster");
            try (Ssh server = NodeSsh.connect(cluster, cluster.server(), Ssh.HostKeyCheck.OFF, null,
                    Duration.ofMinutes(2), context.log())) {
                if (Nodes.list(server).stream().anyMatch(n -> n.name().equals(node))) drain(server, node, context);
                uninstall(cluster, machine.name(), context);
                Ssh.Result deleted = K3sServer.deleteNode(server, machine.name());
                if (!deleted.ok()) {
                    throw Cli.fail(Cli.FAILED, "deleting node " + node + " failed: " + deleted.stderr().strip()
                        + "; run the same k3s-up again to carry on");
                }
            }
            context.vagrant().destroy(machine.name(), context.remaining().get());
            context.log().phaseEnd(machine.name(), "removed");
            context.log().info(machine.name() + " removed: node " + node + " deleted, the machine destroyed");
        }
    }

    private static void drain(Ssh server, String node, ChangeRun.Context context) {
        String kubectl = server.sudo() + "k3s kubectl ";
        server.run(kubectl + "cordon " + Shell.quote(node), "cordoning " + node);
        Ssh.Result drained = server.exec(kubectl + "drain " + Shell.quote(node) + " --ignore-daemonsets"
            + " --delete-emptydir-data --timeout=" + DRAIN_TIMEOUT, null, Duration.ofMinutes(3),
            context.log()::detail);
        if (!drained.ok()) {
            throw Cli.fail(Cli.FAILED, "draining " + node + " failed (exit " + drained.exitStatus() + "): "
                + Cli.lastLines(drained.stdout() + drained.stderr(), 5) + ". The node is cordoned and still in the"
                + " cluster; move or delete what holds it ('sudo k3s kubectl get pods -A -o wide' on the server),"
                + " then run the same k3s-up again (or 'sudo k3s kubectl uncordon " + node + "' to keep it)");
        }
        context.log().info(node + " cordoned and drained");
    }

    /** K3s off the agent while its machine runs; a halted or half-removed machine is destroyed all the same. */
    private static void uninstall(Cluster cluster, String machine, ChangeRun.Context context) {
        Optional<Cluster.Node> node = cluster.nodes().stream().filter(n -> machine.equals(n.ssh().vagrantMachine()))
            .findFirst();
        Cluster.Node target = node.orElse(new Cluster.Node(machine, "agent", null, Cluster.Access.vagrant(machine),
            null));
        try (Ssh agent = NodeSsh.connect(cluster, target, Ssh.HostKeyCheck.OFF, null, Duration.ofSeconds(30),
                context.log())) {
            K3sAgent.uninstall(agent, context.log());
        } catch (Cli.Failure e) {
            if (e.exitCode != Cli.SSH_FAILED && e.exitCode != Cli.FAILED) throw e;
            context.log().warn("K3s not uninstalled from " + machine + " (" + e.getMessage() + "): its machine is"
                + " destroyed all the same");
        }
    }
}
