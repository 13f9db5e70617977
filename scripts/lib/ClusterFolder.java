//SOURCES Cli.java
//SOURCES OwnerOnly.java
//SOURCES Vagrant.java
//SOURCES KubeconfigFile.java
//SOURCES Cluster.java
//SOURCES Addresses.java
//SOURCES ClusterFolderLock.java
//SOURCES ClusterFolderMarker.java
//SOURCES ClusterSettingsFile.java
//SOURCES ClusterRecord.java
//SOURCES AtomicFile.java
//SOURCES Log.java

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * A cluster's own folder: the Vagrantfile and provisioning scripts (shipped inside the
 * step, so it runs from a catalog anywhere), cluster.env with the settings it was made
 * with, Vagrant's state and the join token (.vagrant/k3s-token, mode 600). One step at
 * a time may change it: a lock file guards it. A marker file says k3s-up made it and
 * lists what k3s-up wrote there: only such a folder gets our files, runs its Vagrantfile
 * for a cluster JSON, and loses those files (never others) to k3s-down. The lock is
 * ClusterFolderLock's, the marker ClusterFolderMarker's, cluster.env ClusterSettingsFile's
 * and cluster.json ClusterRecord's: this class is the folder the steps hold.
 */
final class ClusterFolder implements AutoCloseable {
    static final List<String> PROVISIONING = List.of("Vagrantfile", "settings.yaml", "plan.rb", "upload.rb",
        "unpack-and-run.sh", "machine.sh", "server.sh", "agent.sh", "k3s-common.sh");
    /** What to do when a file of the cluster's folder cannot be written. */
    static final String FIX_WRITE = "fix the permissions of the cluster's folder, or free space on its disk";
    static final String SETTINGS_FILE = "cluster.env";
    static final String LOCK_FILE = ".k3s-vagrant.lock";
    /** What k3s-up writes in its folder (a trailing '/': a folder, Vagrant's state); the marker lists them. */
    static final List<String> WRITTEN = Stream.of(List.of(LOCK_FILE), PROVISIONING,
        List.of(SETTINGS_FILE, "cluster.json", ".vagrant/", "snapshots/")).flatMap(List::stream).toList();

    final Path dir;
    private final ClusterFolderLock lock;

    private ClusterFolder(Path dir, ClusterFolderLock lock) {
        this.dir = dir;
        this.lock = lock;
    }

    /** Set by tests; null: $K3S_VAGRANT_HOME/clusters, else ~/.k3s-vagrant/clusters. */
    static Path clustersRoot;

    static Path defaultPath(String name) {
        if (clustersRoot != null) return clustersRoot.resolve(name).toAbsolutePath();
        String home = System.getenv("K3S_VAGRANT_HOME");
        Path base = home != null && !home.isBlank() ? Path.of(home)
            : Path.of(System.getProperty("user.home"), ".k3s-vagrant");
        return base.resolve("clusters").resolve(name).toAbsolutePath();
    }

    static void requireName(String name, String option) {
        if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
            throw Cli.fail(Cli.USAGE,
                option + " '" + name + "' is not a usable cluster name: letters, digits, '.', '_' and '-'");
        }
    }

    /** Creates the folder (mode 700) if needed and takes its lock, or refuses when another step holds it. */
    static ClusterFolder open(Path dir, Log log) {
        return new ClusterFolder(dir, ClusterFolderLock.take(dir));
    }

    /** Waits up to wait for the lock of a folder k3s-up made; null when it is gone or no longer ours. */
    static ClusterFolder await(Path dir, Duration wait) {
        ClusterFolderLock lock = ClusterFolderLock.await(dir, wait);
        return lock == null ? null : new ClusterFolder(dir, lock);
    }

    /** Refuses, before anything is written, a folder that is neither missing, empty nor k3s-up's. */
    static void requireFreeOrOurs(Path dir, boolean named) {
        ClusterFolderMarker.requireFreeOrOurs(dir, named);
    }

    /** Makes the folder (mode 700) if needed and marks it as k3s-up's (adopting an unmarked one) before writing. */
    static void claim(Path dir, boolean named) {
        ClusterFolderMarker.claim(dir, named);
    }

    /** The entries k3s-up wrote in a folder a cluster JSON or --vagrant-dir names; refuses one not ours. */
    static List<String> requireOurs(Path dir, String source, int exitCode, String fix) {
        return ClusterFolderMarker.requireOurs(dir, source, exitCode, fix);
    }

    /** k3s-down, holding the lock: removes what k3s-up wrote here; returns what is left (not ours). */
    List<String> removeOwn(List<String> entries) {
        return ClusterFolderMarker.removeOwn(dir, entries);
    }

    /** Writes the shipped Vagrantfile and scripts, replacing older copies. */
    void writeProvisioning(Class<?> anchor) {
        writeProvisioning(file -> anchor.getResourceAsStream("/provision/" + file));
    }

    /** The provisioning files from source (null: missing), with LF line ends whatever they had. */
    void writeProvisioning(Function<String, InputStream> source) {
        for (String file : PROVISIONING) {
            try (InputStream in = source.apply(file)) {
                if (in == null) {
                    throw Cli.fail(Cli.FAILED, "provision/" + file
                        + " is missing from this build of the step: rebuild it (jbang build --fresh)");
                }
                // a Windows checkout (core.autocrlf) gives CRLF, which the machines' bash refuses ("bad interpreter")
                String text = new String(in.readAllBytes(), StandardCharsets.UTF_8).replace("\r\n", "\n");
                Path target = dir.resolve(file);
                if (!Files.exists(target) || !Files.readString(target).equals(text)) {
                    AtomicFile.write(target, text, FIX_WRITE);
                }
                if (file.endsWith(".sh")) OwnerOnly.restrictProgram(target); else OwnerOnly.restrict(target);
            } catch (IOException e) {
                throw Cli.fail(Cli.FAILED, "cannot write " + dir.resolve(file) + ": " + e.getMessage());
            }
        }
    }

    /** Records the settings in cluster.env; for machines that exist, refuses other ones than changing names. */
    void writeSettings(Map<String, String> settings, String provider, Set<String> changing) {
        ClusterSettingsFile.write(this, settings, provider, changing);
    }

    Map<String, String> readSettings() {
        return ClusterSettingsFile.read(dir.resolve(SETTINGS_FILE));
    }

    /**
     * Refuses (exit 7) what the other clusters under the clusters folder share with ours (machine names,
     * addresses): two clusters on one break each other once both are up.
     */
    static void refuseClashes(Path ours, Map<String, String> machines) {
        List<String> clashes = ClusterSettingsFile.clashes(ours, machines);
        if (!clashes.isEmpty()) {
            throw Cli.fail(Cli.REFUSED, "another cluster of this host would share with this one: "
                + String.join("; ", clashes) + ". Choose another --login, --server-ip or --worker-ip, or remove that"
                + " cluster first (k3s-down --name NAME)");
        }
    }

    static final String CLUSTER_FILE = "cluster.json";

    /** Keeps the cluster document in the folder, this step holding its lock, so later steps find it by name. */
    void save(Cluster cluster) {
        ClusterRecord.save(this, cluster);
    }

    /** A later step's change recorded in the folder's cluster.json under its lock; read with the change. */
    static Cluster updateCluster(Cluster read, UnaryOperator<Cluster> change, Log log) {
        return ClusterRecord.updateCluster(read, change, log);
    }

    static Cluster updateCluster(Cluster read, UnaryOperator<Cluster> change, Duration wait, Log log) {
        return ClusterRecord.updateCluster(read, change, wait, log);
    }

    /** A cluster made again here keeps the hosts k3s-join added and the kubeconfig k3s-kubeconfig wrote. */
    Cluster keepJoinedHosts(Cluster made) {
        return ClusterRecord.keepJoinedHosts(this, made);
    }

    /** The cluster k3s-up made under this name. */
    static Cluster loadCluster(String name) {
        return ClusterRecord.loadCluster(name);
    }

    /** Vagrant keeps a machine's id in .vagrant/machines/NAME/PROVIDER/id while the machine exists. */
    boolean machinesExist() {
        return machinesExist(dir);
    }

    static boolean machinesExist(Path dir) {
        Path machines = dir.resolve(".vagrant").resolve("machines");
        if (!Files.isDirectory(machines)) return false;
        try (Stream<Path> files = Files.walk(machines, 3)) {
            return files.anyMatch(p -> p.getFileName().toString().equals("id"));
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public void close() {
        lock.close();
    }
}
