//SOURCES Cli.java
//SOURCES Log.java
//SOURCES Cluster.java
//SOURCES ClusterChange.java
//SOURCES ClusterFolder.java
//SOURCES NodeSsh.java
//SOURCES Nodes.java
//SOURCES K3sAgent.java
//SOURCES K3sServer.java
//SOURCES ServerLeave.java
//SOURCES Ssh.java

import java.time.Duration;
import java.util.List;

/**
 * Fewer --servers, as K3s documents taking a server out: one at a time, highest-numbered first, each only while
 * the servers left keep etcd's majority Ready (ServerLeave.requireSafe), K3s uninstalled there (a running server
 * registers its node again), its node deleted on the first server (which removes its etcd member), the machine
 * destroyed and cluster.json told, so that an interrupted run carries on from there.
 */
final class ServersRemoval {
    private ServersRemoval() {}

    static void apply(ClusterChange.Step step, ChangeRun.Context context) {
        Cluster cluster = context.cluster();
        for (var machine : step.machines()) {
            Cluster.Node leaving = cluster.nodes().stream()
                .filter(n -> machine.name().equals(n.ssh().vagrantMachine())).findFirst()
                .orElse(new Cluster.Node(machine.name(), "server", machine.ip(),
                    Cluster.Access.vagrant(machine.name()), null));
            String node = Nodes.nodeName(leaving.name());
            context.log().info(machine.name() + ": leaving the cluster");
            context.log().phase(machine.name(), "leaving the cluster");
            try (Ssh server = NodeSsh.connect(cluster, cluster.server(), Ssh.HostKeyCheck.OFF, null,
                    Duration.ofMinutes(2), context.log())) {
                List<Nodes.Status> seen = Nodes.list(server);
                // a server an interrupted run already took out of the node list is no longer etcd's concern
                if (seen.stream().anyMatch(n -> n.name().equals(node))) {
                    ServerLeave.requireSafe(cluster, leaving, seen);
                }
                uninstall(cluster, leaving, context);
                Ssh.Result deleted = K3sServer.deleteNode(server, leaving.name());
                if (!deleted.ok()) {
                    throw Cli.fail(Cli.FAILED, "deleting node " + node + " failed: " + deleted.stderr().strip()
                        + "; run the same k3s-up again to carry on");
                }
            }
            context.vagrant().destroy(machine.name(), context.remaining().get());
            cluster = ClusterFolder.updateCluster(cluster, c -> c.withoutNode(leaving.name()), context.log());
            context.log().phaseEnd(machine.name(), "removed");
        }
    }

    /** K3s off the server while its machine runs; a machine that no longer answers is destroyed all the same. */
    private static void uninstall(Cluster cluster, Cluster.Node leaving, ChangeRun.Context context) {
        try (Ssh host = NodeSsh.connect(cluster, leaving, Ssh.HostKeyCheck.OFF, null, Duration.ofSeconds(30),
                context.log())) {
            K3sAgent.uninstall(host, "k3s-uninstall.sh", context.log());
        } catch (Cli.Failure e) {
            if (e.exitCode != Cli.SSH_FAILED && e.exitCode != Cli.FAILED) throw e;
            context.log().warn("K3s not uninstalled from " + leaving.name() + " (" + e.getMessage() + "): its"
                + " machine is destroyed all the same");
        }
    }
}
