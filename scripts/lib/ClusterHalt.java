//SOURCES Cli.java
//SOURCES Cluster.java
//SOURCES AtomicFile.java

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

/**
 * A cluster stopped by `k3s-down --halt`: its machines are shut off and everything else kept. A marker
 * in Vagrant's state folder says so, until `k3s-up` has booted the machines and seen every node Ready.
 */
final class ClusterHalt {
    private ClusterHalt() {}

    static Path marker(Path folder) {
        return folder.resolve(".vagrant").resolve("k3s-halted");
    }

    static void mark(Path folder) {
        AtomicFile.write(marker(folder), "halted by k3s-down --halt; k3s-up resumes the cluster\n",
            "the machines are halted all the same: k3s-up boots them");
    }

    static boolean isHalted(Path folder) {
        return Files.isRegularFile(marker(folder));
    }

    static void clear(Path folder) {
        try {
            Files.deleteIfExists(marker(folder));
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot remove " + marker(folder) + ": " + e.getMessage());
        }
    }

    /**
     * The nodes k3s-up waits for: its own machines; after a halt every node, since the hosts k3s-join
     * added lost their server and must reconnect (one that does not is named by the wait).
     */
    static Set<String> nodesToWaitFor(Cluster cluster, boolean resuming) {
        Set<String> nodes = new TreeSet<>();
        cluster.nodes().stream().filter(node -> resuming || node.ssh().vagrantMachine() != null)
            .forEach(node -> nodes.add(node.name()));
        return nodes;
    }
}
