//SOURCES Cli.java
//SOURCES ClusterFolder.java
//SOURCES Cluster.java
//SOURCES KubeconfigFile.java
//SOURCES ClusterFolderMarker.java
//SOURCES AtomicFile.java
//SOURCES Log.java
//SOURCES Vagrant.java

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.UnaryOperator;

/** cluster.json in a cluster folder: the cluster document later steps find by name and record their changes in. */
final class ClusterRecord {
    private ClusterRecord() {
    }

    /** Keeps the cluster document in the folder, this step holding its lock, so later steps find it by name. */
    static void save(ClusterFolder folder, Cluster cluster) {
        Path dir = folder.dir;
        // a folder k3s-up did not make (a Vagrant project named by --vagrant-dir) keeps its own files
        if (ClusterFolderMarker.ownEntries(dir) != null) {
            AtomicFile.write(dir.resolve(ClusterFolder.CLUSTER_FILE), cluster.toJson(), ClusterFolder.FIX_WRITE);
        }
    }

    /** How long a step waits to record its change while another holds the folder (k3s-up holds it for minutes). */
    static final Duration RECORD_WAIT = Duration.ofSeconds(60);

    /**
     * A later step's change (a node joined or left, a kubeconfig written) recorded in the folder's
     * cluster.json under the folder's lock, applied to the record as it is then: another step may
     * have recorded its own change since this one read the cluster JSON. Returns read with the
     * change, which is what the step prints. Nothing is recorded where k3s-up made no folder.
     */
    static Cluster updateCluster(Cluster read, UnaryOperator<Cluster> change, Log log) {
        return updateCluster(read, change, RECORD_WAIT, log);
    }

    static Cluster updateCluster(Cluster read, UnaryOperator<Cluster> change, Duration wait, Log log) {
        Cluster changed = change.apply(read);
        if (read.vagrantDir() == null) return changed;
        Path dir = Path.of(read.vagrantDir());
        if (!Files.isDirectory(dir) || ClusterFolderMarker.ownEntries(dir) == null) return changed;
        try (ClusterFolder locked = ClusterFolder.await(dir, wait)) {
            // k3s-down removed the folder while this step waited: nothing to record in
            if (locked == null || ClusterFolderMarker.ownEntries(dir) == null) return changed;
            save(locked, change.apply(recorded(locked, read)));
        }
        return changed;
    }

    /** The folder's cluster.json; read when there is none of this server (missing, unreadable, another cluster). */
    private static Cluster recorded(ClusterFolder folder, Cluster read) {
        Path file = folder.dir.resolve(ClusterFolder.CLUSTER_FILE);
        try {
            Cluster saved = Cluster.parse(Files.readString(file), file.toString());
            return saved.serverUrl().equals(read.serverUrl()) ? saved : read;
        } catch (IOException | Cli.Failure e) {
            return read;
        }
    }

    /**
     * A cluster made again in this folder keeps what later steps recorded in its saved
     * cluster.json: the hosts k3s-join added and the kubeconfig k3s-kubeconfig wrote.
     */
    static Cluster keepJoinedHosts(ClusterFolder folder, Cluster made) {
        Path file = folder.dir.resolve(ClusterFolder.CLUSTER_FILE);
        if (!Files.isRegularFile(file)) return made;
        Cluster saved;
        try {
            saved = Cluster.parse(Files.readString(file), file.toString());
        } catch (IOException | Cli.Failure e) {
            return made; // an unreadable record is replaced by the fresh one
        }
        if (!saved.serverUrl().equals(made.serverUrl())) return made;
        Cluster result = made;
        for (Cluster.Node node : saved.nodes()) {
            if (node.ssh().vagrantMachine() == null) result = result.withNode(node);
        }
        return saved.kubeconfig() == null ? result : result.withKubeconfig(saved.kubeconfig());
    }

    /** The cluster k3s-up made under this name. */
    static Cluster loadCluster(String name) {
        ClusterFolder.requireName(name, "--name");
        Path file = ClusterFolder.defaultPath(name).resolve(ClusterFolder.CLUSTER_FILE);
        if (!Files.isRegularFile(file)) {
            throw Cli.fail(Cli.BAD_INPUT, "no cluster named '" + name + "': " + file
                + " does not exist (k3s-up --name " + name
                + " makes it; with --dir elsewhere, pass its cluster.json with --cluster FILE)");
        }
        try {
            return Cluster.parse(Files.readString(file), file.toString());
        } catch (IOException e) {
            throw Cli.fail(Cli.BAD_INPUT, "cannot read " + file + ": " + e.getMessage());
        }
    }
}
