//SOURCES Step.java
//SOURCES ClusterSource.java
//SOURCES NodeSsh.java
//SOURCES Cluster.java
//SOURCES Ssh.java

import java.time.Duration;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;

/** A step on a cluster that exists: the options that choose it and how its nodes are reached over SSH. */
abstract class ClusterStep extends Step {
    @Mixin ClusterSource server = new ClusterSource();
    @Mixin Ssh.HostKeyOptions hostKeys;

    @Override
    void addOptions(CommandSpec command) {
        server.serverSsh.addTo(command);
    }

    /** Opens SSH to a node of the cluster with the host-key options given, retrying for retryFor. */
    final Ssh connect(Cluster cluster, Cluster.Node node, Duration retryFor) {
        return NodeSsh.connect(cluster, node, hostKeys.chosen(), hostKeys.knownHosts, retryFor, log);
    }
}
