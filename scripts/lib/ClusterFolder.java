//SOURCES Cli.java
//SOURCES Vagrant.java
//SOURCES KubeconfigFile.java
//SOURCES Cluster.java

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A cluster's own folder: the Vagrantfile and provisioning scripts (shipped inside the
 * step, so it runs from a catalog anywhere), cluster.env with the settings it was made
 * with, Vagrant's state and the join token (.vagrant/k3s-token, mode 600). One step at
 * a time may change it: a lock file guards it.
 */
final class ClusterFolder implements AutoCloseable {
    static final List<String> PROVISIONING = List.of("Vagrantfile", "server.sh", "agent.sh", "k3s-common.sh");
    static final String SETTINGS_FILE = "cluster.env";

    final Path dir;
    private final FileChannel lockChannel;
    private final FileLock lock;

    private ClusterFolder(Path dir, FileChannel lockChannel, FileLock lock) {
        this.dir = dir;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    static Path defaultPath(String name) {
        String home = System.getenv("K3S_VAGRANT_HOME");
        Path base = home != null && !home.isBlank() ? Path.of(home) : Path.of(System.getProperty("user.home"), ".k3s-vagrant");
        return base.resolve("clusters").resolve(name).toAbsolutePath();
    }

    static String defaultLogin() {
        String login = System.getProperty("user.name", "").toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9-]", "");
        return login.isEmpty() || login.equals("root") || !Character.isLetter(login.charAt(0)) ? "k3s" : login;
    }

    static void requireName(String name, String option) {
        if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
            throw Cli.fail(Cli.USAGE, option + " '" + name + "' is not a usable cluster name: letters, digits, '.', '_' and '-'");
        }
    }

    /** Creates the folder (mode 700) if needed and takes its lock, or refuses when another step holds it. */
    static ClusterFolder open(Path dir, Cli.Log log) {
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            FileChannel channel = FileChannel.open(dir.resolve(".k3s-vagrant.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (java.nio.channels.OverlappingFileLockException e) {
                lock = null; // held by this very process
            }
            if (lock == null) {
                channel.close();
                throw Cli.fail(Cli.REFUSED, "another k3s-vagrant step is working on " + dir + " right now: wait for it to finish "
                    + "(if none is running, the lock is stale only if a process still holds " + dir.resolve(".k3s-vagrant.lock") + ")");
            }
            return new ClusterFolder(dir, channel, lock);
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot prepare the cluster folder " + dir + ": " + e.getMessage());
        }
    }

    /** Writes the shipped Vagrantfile and scripts, replacing older copies. */
    void writeProvisioning(Class<?> anchor) {
        for (String file : PROVISIONING) {
            try (InputStream in = anchor.getResourceAsStream("/provision/" + file)) {
                if (in == null) {
                    throw Cli.fail(Cli.FAILED, "provision/" + file + " is missing from this build of the step: rebuild it (jbang build --fresh)");
                }
                String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                Path target = dir.resolve(file);
                if (!Files.exists(target) || !Files.readString(target).equals(text)) {
                    KubeconfigFile.writeAtomically(target, text);
                }
                Files.setPosixFilePermissions(target, PosixFilePermissions.fromString(file.endsWith(".sh") ? "rwx------" : "rw-------"));
            } catch (IOException e) {
                throw Cli.fail(Cli.FAILED, "cannot write " + dir.resolve(file) + ": " + e.getMessage());
            }
        }
    }

    /**
     * Records the settings in cluster.env. A cluster whose machines exist keeps its
     * settings: other ones are refused rather than half-applied to running machines.
     */
    void writeSettings(Map<String, String> settings, String provider) {
        Map<String, String> wanted = new LinkedHashMap<>();
        wanted.put("PROVIDER", provider);
        wanted.putAll(settings);
        Map<String, String> recorded = readSettings();
        if (!recorded.isEmpty()) recorded.putIfAbsent("SERVERS", "1"); // clusters recorded before --servers existed
        if (!recorded.isEmpty() && !recorded.equals(wanted) && machinesExist()) {
            StringBuilder diff = new StringBuilder();
            for (String key : union(recorded, wanted)) {
                String before = recorded.get(key);
                String after = wanted.get(key);
                if (before == null ? after != null : !before.equals(after)) {
                    diff.append(" ").append(key).append(": ").append(before).append(" -> ").append(after).append(";");
                }
            }
            throw Cli.fail(Cli.REFUSED, "the cluster in " + dir + " already exists with other settings (" + diff.toString().strip()
                + "): nothing was changed. Run with the same flags, destroy it first (cd " + dir + " && vagrant destroy -f), or pick another --name");
        }
        StringBuilder text = new StringBuilder("# Written by k3s-up: the settings this cluster was made with (no secrets here).\n"
            + "# The Vagrantfile reads them; K3S_VAGRANT_* variables in the environment override them.\n");
        wanted.forEach((key, value) -> text.append(Vagrant.SETTINGS_PREFIX).append(key).append('=').append(value).append('\n'));
        KubeconfigFile.writeAtomically(dir.resolve(SETTINGS_FILE), text.toString());
    }

    Map<String, String> readSettings() {
        Map<String, String> settings = new LinkedHashMap<>();
        Path file = dir.resolve(SETTINGS_FILE);
        if (!Files.exists(file)) return settings;
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.isBlank() || line.startsWith("#") || !line.contains("=")) continue;
                String key = line.substring(0, line.indexOf('=')).strip();
                if (key.startsWith(Vagrant.SETTINGS_PREFIX)) key = key.substring(Vagrant.SETTINGS_PREFIX.length());
                settings.put(key, line.substring(line.indexOf('=') + 1).strip());
            }
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot read " + file + ": " + e.getMessage());
        }
        return settings;
    }

    static final String CLUSTER_FILE = "cluster.json";

    /** Keeps the cluster document in the folder, so later steps can find the cluster by name. */
    static void saveCluster(Cluster cluster) {
        if (cluster.vagrantDir() == null) return;
        Path dir = Path.of(cluster.vagrantDir());
        if (Files.isDirectory(dir)) KubeconfigFile.writeAtomically(dir.resolve(CLUSTER_FILE), cluster.toJson());
    }

    /**
     * A cluster made again in this folder keeps what later steps recorded in its saved
     * cluster.json: the hosts k3s-join added and the kubeconfig k3s-kubeconfig wrote.
     */
    Cluster keepJoinedHosts(Cluster made) {
        Path file = dir.resolve(CLUSTER_FILE);
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
        requireName(name, "--name");
        Path file = defaultPath(name).resolve(CLUSTER_FILE);
        if (!Files.isRegularFile(file)) {
            throw Cli.fail(Cli.BAD_INPUT, "no cluster named '" + name + "': " + file + " does not exist (k3s-up --name " + name
                + " makes it; with --dir elsewhere, pass its cluster.json with --cluster FILE)");
        }
        try {
            return Cluster.parse(Files.readString(file), file.toString());
        } catch (IOException e) {
            throw Cli.fail(Cli.BAD_INPUT, "cannot read " + file + ": " + e.getMessage());
        }
    }

    /** Vagrant keeps a machine's id in .vagrant/machines/NAME/PROVIDER/id while the machine exists. */
    boolean machinesExist() {
        Path machines = dir.resolve(".vagrant").resolve("machines");
        if (!Files.isDirectory(machines)) return false;
        try (Stream<Path> files = Files.walk(machines, 3)) {
            return files.anyMatch(p -> p.getFileName().toString().equals("id"));
        } catch (IOException e) {
            return true;
        }
    }

    private static java.util.Set<String> union(Map<String, String> a, Map<String, String> b) {
        java.util.Set<String> keys = new java.util.TreeSet<>(a.keySet());
        keys.addAll(b.keySet());
        return keys;
    }

    @Override
    public void close() {
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException ignored) {
            // the lock goes with the process anyway
        }
    }
}
