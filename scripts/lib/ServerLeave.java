//SOURCES Cli.java
//SOURCES Cluster.java
//SOURCES Nodes.java

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A server taken out of an HA cluster, as K3s documents it: K3s stopped and uninstalled there, then its
 * node deleted, which removes its etcd member. Never the server the agents and kubeconfigs point at, and
 * never when the servers left would not hold etcd's majority (more than half of them Ready).
 */
final class ServerLeave {
    private ServerLeave() {}

    /** Refuses the first server, before anything is asked of the cluster. */
    static void requireNotFirst(Cluster cluster, Cluster.Node leaving) {
        if (cluster.server().name().equalsIgnoreCase(leaving.name())) {
            throw Cli.fail(Cli.USAGE, leaving.name() + " is the server the agents and the kubeconfig reach the"
                + " cluster at (" + cluster.serverUrl() + "): k3s-leave removes the other servers only; k3s-down"
                + " removes the whole cluster");
        }
    }

    /** Refuses to remove leaving when the servers left would not hold etcd's majority; seen: the node list. */
    static void requireSafe(Cluster cluster, Cluster.Node leaving, List<Nodes.Status> seen) {
        List<String> left = cluster.nodes().stream().filter(Cluster.Node::isServer).map(Cluster.Node::name)
            .filter(name -> !name.equalsIgnoreCase(leaving.name())).toList();
        Set<String> ready = seen.stream().filter(Nodes.Status::ready).map(Nodes.Status::name)
            .collect(Collectors.toSet());
        List<String> up = left.stream().filter(name -> ready.contains(Nodes.nodeName(name))).toList();
        int majority = left.size() / 2 + 1;
        if (up.size() < majority) {
            throw Cli.fail(Cli.REFUSED, "removing " + leaving.name() + " would leave " + left.size() + " servers ("
                + String.join(", ", left) + ") of which " + (up.isEmpty() ? "none is" : "only " + String.join(", ", up)
                + (up.size() == 1 ? " is" : " are")) + " Ready: etcd needs " + majority + " of them up to agree on"
                + " anything, so the cluster would stop. Nothing was changed: bring the others back first"
                + " (k3s-status shows them), then run k3s-leave again");
        }
    }
}
