//SOURCES Cli.java
//SOURCES OwnerOnly.java
//SOURCES Vagrant.java
//SOURCES AtomicFile.java
//SOURCES Cluster.java
//SOURCES Addresses.java
//SOURCES Plan.java

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * A cluster's own folder: the Vagrantfile and provisioning scripts (shipped inside the
 * step, so it runs from a catalog anywhere), cluster.env with the settings it was made
 * with, Vagrant's state and the join token (.vagrant/k3s-token, mode 600). One step at
 * a time may change it: a lock file guards it. A marker file says k3s-up made it and
 * lists what k3s-up wrote there: only such a folder gets our files, runs its Vagrantfile
 * for a cluster JSON, and loses those files (never others) to k3s-down.
 */
final class ClusterFolder implements AutoCloseable {
    static final List<String> PROVISIONING = List.of("Vagrantfile", "settings.yaml", "plan.rb", "server.sh", "agent.sh",
        "k3s-common.sh");
    static final String SETTINGS_FILE = "cluster.env";
    static final String LOCK_FILE = ".k3s-vagrant.lock";
    static final String MARKER = ".k3s-vagrant-cluster";
    static final String MARKER_HEADER =
        "# k3s-vagrant cluster folder: k3s-up made it; k3s-down removes the entries below, then the folder if empty";
    /** What k3s-up writes in its folder (a trailing '/': a folder, Vagrant's state); the marker lists them. */
    static final List<String> WRITTEN = List.of(LOCK_FILE, "Vagrantfile", "server.sh", "agent.sh", "k3s-common.sh",
        SETTINGS_FILE, "cluster.json", ".vagrant/");
    /** cluster.env's first line since the first k3s-up: a folder holding it and only our files is adopted. */
    private static final String SETTINGS_HEADER = "# Written by k3s-up: the settings this cluster was made with";

    final Path dir;
    private final FileChannel lockChannel;
    private final FileLock lock;

    private ClusterFolder(Path dir, FileChannel lockChannel, FileLock lock) {
        this.dir = dir;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /** Set by tests; null: $K3S_VAGRANT_HOME/clusters, else ~/.k3s-vagrant/clusters. */
    static Path clustersRoot;

    static Path defaultPath(String name) {
        if (clustersRoot != null) return clustersRoot.resolve(name).toAbsolutePath();
        String home = System.getenv("K3S_VAGRANT_HOME");
        Path base = home != null && !home.isBlank() ? Path.of(home) : Path.of(System.getProperty("user.home"), ".k3s-vagrant");
        return base.resolve("clusters").resolve(name).toAbsolutePath();
    }

    static void requireName(String name, String option) {
        if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
            throw Cli.fail(Cli.USAGE, option + " '" + name + "' is not a usable cluster name: letters, digits, '.', '_' and '-'");
        }
    }

    /** Creates the folder (mode 700) if needed and takes its lock, or refuses when another step holds it. */
    static ClusterFolder open(Path dir, Log log) {
        try {
            for (int attempt = 1; ; attempt++) {
                if (!Files.isDirectory(dir)) {
                    OwnerOnly.createDirectories(dir);
                }
                Path lockFile = dir.resolve(LOCK_FILE);
                FileChannel channel;
                try {
                    channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                } catch (java.nio.file.NoSuchFileException e) {
                    if (attempt == 3) throw e;
                    continue; // k3s-down moved the folder away just then: make it anew
                }
                Object opened = fileKey(lockFile);
                FileLock lock;
                try {
                    lock = channel.tryLock();
                } catch (java.nio.channels.OverlappingFileLockException e) {
                    lock = null; // held by this very process
                }
                // the file locked must still be the one at its path: k3s-down may have removed it meanwhile
                if (lock != null && opened != null && opened.equals(fileKey(lockFile))) {
                    return new ClusterFolder(dir, channel, lock);
                }
                if (lock != null) lock.release();
                channel.close();
                if (lock == null || attempt == 3) {
                    throw Cli.fail(Cli.REFUSED, "another k3s-vagrant step is working on " + dir
                        + " right now: wait for it to finish (if none is running, the lock is stale only if a "
                        + "process still holds " + lockFile + ")");
                }
            }
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot prepare the cluster folder " + dir + ": " + e.getMessage());
        }
    }

    /**
     * k3s-up writes only into a missing or empty folder, or one it made: a folder of the user's
     * (a project, a git clone) is refused before anything is done. named: the folder is --dir's.
     */
    static void requireFreeOrOurs(Path dir, boolean named) {
        String what = named ? "--dir " + dir : "the cluster folder " + dir;
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw Cli.fail(Cli.USAGE, what + " is a file, not a folder: nothing was written; "
                + "name a new or empty folder");
        }
        if (!Files.isDirectory(dir) || ownEntries(dir) != null) return;
        List<String> there = entriesIn(dir);
        if (there.isEmpty() || there.equals(List.of(LOCK_FILE))) return; // empty, or left by a k3s-up stopped at once
        throw Cli.fail(Cli.USAGE, what + " is not a folder k3s-up made: it holds " + names(there) + " and no " + MARKER
            + ", so nothing was written. " + byHand(dir)
            + (named ? "Name a new or empty folder (e.g. --dir " + dir.resolve("k3s") + ")"
                : "Move those files away, or pick another --name"));
    }

    /** Makes the folder (mode 700) if needed and marks it as k3s-up's (adopting an unmarked one) before writing. */
    static void claim(Path dir, boolean named) {
        requireFreeOrOurs(dir, named);
        java.util.LinkedHashSet<String> entries = new java.util.LinkedHashSet<>(WRITTEN);
        List<String> listed = Files.isDirectory(dir) ? ownEntries(dir) : null;
        if (listed != null) entries.addAll(listed); // a later k3s-up's files stay listed
        writeMarker(dir, List.copyOf(entries));
    }

    /**
     * A folder a cluster JSON (or --vagrant-dir, for k3s-down) names: vagrant runs its Vagrantfile,
     * which is Ruby code, and k3s-down removes files there, so only a folder k3s-up made is used;
     * one made before the marker existed gets it now. Returns the entries k3s-up wrote there;
     * refuses with exitCode, the message ending with fix.
     */
    static List<String> requireOurs(Path dir, String source, int exitCode, String fix) {
        List<String> entries = Files.isDirectory(dir) ? ownEntries(dir) : null;
        if (entries == null) {
            throw Cli.fail(exitCode, source + " names the folder " + dir + ", which k3s-up did not make (no " + MARKER
                + " there, or not one k3s-up writes): no vagrant command runs there, "
                + "and nothing there is changed or removed. "
                + byHand(dir) + fix);
        }
        if (!Files.exists(dir.resolve(MARKER), LinkOption.NOFOLLOW_LINKS)) writeMarker(dir, entries);
        return entries;
    }

    /**
     * What k3s-up wrote in dir: its marker's list; for a folder today's k3s-up made before the
     * marker existed (our cluster.env, nothing but our files), WRITTEN. Null when not ours.
     */
    static List<String> ownEntries(Path dir) {
        Path marker = dir.resolve(MARKER);
        try {
            if (Files.isRegularFile(marker, LinkOption.NOFOLLOW_LINKS)) {
                List<String> lines = Files.readAllLines(marker);
                if (lines.isEmpty() || !lines.get(0).equals(MARKER_HEADER)) return null;
                List<String> entries = lines.subList(1, lines.size()).stream().filter(line -> !line.isBlank()).toList();
                return entries.stream().allMatch(ClusterFolder::isEntry) ? entries : null;
            }
            if (Files.exists(marker, LinkOption.NOFOLLOW_LINKS)) return null;
            Path settings = dir.resolve(SETTINGS_FILE);
            if (!Files.isRegularFile(settings, LinkOption.NOFOLLOW_LINKS)) return null;
            List<String> ours = WRITTEN.stream().map(ClusterFolder::nameOf).toList();
            boolean onlyOurs = entriesIn(dir).stream().allMatch(ours::contains);
            return onlyOurs && Files.readString(settings).startsWith(SETTINGS_HEADER) ? WRITTEN : null;
        } catch (IOException | java.io.UncheckedIOException e) {
            return null; // unreadable: not known to be ours
        }
    }

    /** A plain name in the folder ("NAME", or "NAME/" for a folder): a marker cannot reach outside its folder. */
    private static boolean isEntry(String entry) {
        return entry.matches("[A-Za-z0-9._-]+/?") && !entry.matches("\\.{1,2}/?") && !nameOf(entry).equals(MARKER);
    }

    private static String nameOf(String entry) {
        return entry.endsWith("/") ? entry.substring(0, entry.length() - 1) : entry;
    }

    private static void writeMarker(Path dir, List<String> entries) {
        AtomicFile.write(dir.resolve(MARKER), MARKER_HEADER + "\n" + String.join("\n", entries) + "\n", FIX_WRITE);
    }

    /** The names in dir but the marker, sorted. */
    private static List<String> entriesIn(Path dir) {
        try (Stream<Path> list = Files.list(dir)) {
            return list.map(path -> path.getFileName().toString()).filter(name -> !name.equals(MARKER))
                .sorted().toList();
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot read the folder " + dir + ": " + e.getMessage());
        }
    }

    private static String names(List<String> names) {
        if (names.size() <= 6) return String.join(", ", names);
        return String.join(", ", names.subList(0, 6)) + " and " + (names.size() - 6) + " more";
    }

    /** How to remove a cluster today's k3s-up made in a folder of the user's, before folders were marked. */
    private static String byHand(Path dir) {
        try {
            if (!Files.readString(dir.resolve(SETTINGS_FILE)).startsWith(SETTINGS_HEADER)) return "";
        } catch (IOException e) {
            return "";
        }
        return "Its cluster.env says an earlier k3s-up made a cluster there among other files: "
            + "remove that cluster by hand (cd " + dir
            + " && vagrant destroy -f, then delete " + String.join(", ", WRITTEN) + " and nothing else). ";
    }

    /**
     * k3s-down, holding the lock: removes the entries k3s-up wrote here, then the marker; then
     * the folder, lock file and all, when nothing else is left, or else the lock file last.
     * Returns what is left (not ours).
     */
    List<String> removeOwn(List<String> entries) {
        try {
            for (String entry : entries) {
                Path path = dir.resolve(nameOf(entry));
                if (entry.endsWith("/")) {
                    if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) continue;
                    try (Stream<Path> tree = Files.walk(path)) {
                        for (Path each : tree.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(each);
                    }
                } else if (!entry.equals(LOCK_FILE) && !Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
                    Files.deleteIfExists(path); // a folder where k3s-up wrote a file is not what it wrote: kept
                }
            }
            Files.deleteIfExists(dir.resolve(MARKER));
            List<String> left = entriesIn(dir).stream().filter(name -> !name.equals(LOCK_FILE)).toList();
            if (!left.isEmpty()) {
                Files.deleteIfExists(dir.resolve(LOCK_FILE)); // the folder stays for the user's files: done with it
                return left;
            }
            // the folder leaves its path in one rename, its lock file still held inside: a step opening the
            // lock meanwhile finds the folder locked, or gone; deleting the lock file first let one make a new
            // lock there, which then kept the folder
            Path aside = dir.resolveSibling("." + dir.getFileName() + ".k3s-vagrant-removed-"
                + ProcessHandle.current().pid());
            try {
                Files.move(dir, aside, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                aside = dir; // cannot rename here: removed in place
            }
            Files.deleteIfExists(aside.resolve(LOCK_FILE));
            try {
                Files.delete(aside);
            } catch (java.nio.file.DirectoryNotEmptyException e) {
                // something was made there meanwhile: kept, back at its path
                if (!aside.equals(dir) && !Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) Files.move(aside, dir);
                return entriesIn(Files.exists(aside) ? aside : dir);
            }
            return left;
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot remove what k3s-up wrote in " + dir + ": " + e.getMessage()
                + "; the machines are destroyed: remove " + String.join(", ", entries) + " there by hand");
        }
    }

    /** Writes the shipped Vagrantfile and scripts, replacing older copies. */
    void writeProvisioning(Class<?> anchor) {
        writeProvisioning(file -> anchor.getResourceAsStream("/provision/" + file));
    }

    /** The provisioning files from source (null: missing), with LF line ends whatever they had. */
    void writeProvisioning(java.util.function.Function<String, InputStream> source) {
        for (String file : PROVISIONING) {
            try (InputStream in = source.apply(file)) {
                if (in == null) {
                    throw Cli.fail(Cli.FAILED, "provision/" + file + " is missing from this build of the step: rebuild it (jbang build --fresh)");
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
        AtomicFile.write(dir.resolve(SETTINGS_FILE), text.toString(), FIX_WRITE);
    }

    Map<String, String> readSettings() {
        return readSettings(dir.resolve(SETTINGS_FILE));
    }

    /**
     * What the other clusters under the clusters folder share with ours (machine names, compared as
     * host names without case, and addresses), one line each; ours is the folder itself, and machines
     * its names with their addresses. Machines a provider runs outside these folders are not seen.
     */
    static List<String> clashes(Path ours, Map<String, String> machines) {
        Path root = defaultPath("x").getParent();
        if (!Files.isDirectory(root)) return List.of();
        List<String> clashes = new java.util.ArrayList<>();
        try (var folders = Files.list(root)) {
            for (Path other : folders.filter(Files::isDirectory).sorted().toList()) {
                if (other.toAbsolutePath().normalize().equals(ours.toAbsolutePath().normalize())) continue;
                Path file = other.resolve(SETTINGS_FILE);
                if (!Files.isRegularFile(file)) continue;
                readMachines(readSettings(file)).forEach((name, ip) -> machines.forEach((ourName, ourIp) -> {
                    if (ourName.equalsIgnoreCase(name)) {
                        clashes.add("machine name " + ourName + " (" + other + " has " + name + ")");
                    }
                    if (ourIp.equals(ip)) clashes.add("address " + ourIp + " (" + other + "'s " + name + ")");
                }));
            }
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot list " + root + ": " + e.getMessage());
        }
        return clashes;
    }

    /** A cluster.env's machines, name to address, counted as k3s-up and the Vagrantfile count them. */
    static Map<String, String> readMachines(Map<String, String> settings) {
        Map<String, String> machines = new LinkedHashMap<>();
        Map<String, String> plan = new LinkedHashMap<>(settings);
        // a cluster.env of an older k3s-up may lack a count: the table's default then
        for (String count : List.of("SERVERS", "WORKERS")) plan.putIfAbsent(count, Settings.defaultOf(count));
        try {
            for (Plan.Machine machine : Plan.machines(plan)) machines.put(machine.name(), machine.ip());
        } catch (RuntimeException e) {
            return Map.of(); // not a cluster.env k3s-up wrote: nothing known to clash with
        }
        return machines;
    }

    static Map<String, String> readSettings(Path file) {
        Map<String, String> settings = new LinkedHashMap<>();
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

    /** What to do when a file of the cluster's folder cannot be written. */
    static final String FIX_WRITE = "fix the permissions of the cluster's folder, or free space on its disk";

    /** Keeps the cluster document in the folder, this step holding its lock, so later steps find it by name. */
    void save(Cluster cluster) {
        // a folder k3s-up did not make (a Vagrant project named by --vagrant-dir) keeps its own files
        if (ownEntries(dir) != null) AtomicFile.write(dir.resolve(CLUSTER_FILE), cluster.toJson(), FIX_WRITE);
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
        if (!Files.isDirectory(dir) || ownEntries(dir) == null) return changed;
        try (ClusterFolder locked = await(dir, wait)) {
            // k3s-down removed the folder while this step waited: nothing to record in
            if (locked == null || ownEntries(dir) == null) return changed;
            locked.save(change.apply(locked.recorded(read)));
        }
        return changed;
    }

    /** The folder's cluster.json; read when there is none of this server (missing, unreadable, another cluster). */
    private Cluster recorded(Cluster read) {
        Path file = dir.resolve(CLUSTER_FILE);
        try {
            Cluster saved = Cluster.parse(Files.readString(file), file.toString());
            return saved.serverUrl().equals(read.serverUrl()) ? saved : read;
        } catch (IOException | Cli.Failure e) {
            return read;
        }
    }

    /**
     * Waits up to wait for the lock of a folder k3s-up made; null when the folder is gone or no
     * longer ours (k3s-down removed it meanwhile): no lock file is made again there, or k3s-down
     * could not remove the folder. A folder still ours without one (made before it existed) gets it.
     */
    private static ClusterFolder await(Path dir, Duration wait) {
        Path lockFile = dir.resolve(LOCK_FILE);
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            FileChannel channel;
            Object opened;
            try {
                boolean ours = Files.exists(lockFile) || ownEntries(dir) != null;
                if (!ours) return null;
                channel = FileChannel.open(lockFile, StandardOpenOption.WRITE, StandardOpenOption.CREATE);
                opened = fileKey(lockFile);
            } catch (java.nio.file.NoSuchFileException e) {
                continue; // the folder went meanwhile: the next look returns null
            } catch (IOException e) {
                throw Cli.fail(Cli.FAILED, "cannot open " + lockFile + ": " + e.getMessage());
            }
            try {
                FileLock lock;
                try {
                    lock = channel.tryLock();
                } catch (java.nio.channels.OverlappingFileLockException e) {
                    lock = null; // another thread of this process holds it
                }
                // the file locked must still be the one at its path, not one k3s-down deleted meanwhile
                if (lock != null && opened != null && opened.equals(fileKey(lockFile))) {
                    return new ClusterFolder(dir, channel, lock);
                }
                if (lock != null) lock.release();
                channel.close();
            } catch (IOException e) {
                closeQuietly(channel);
                throw Cli.fail(Cli.FAILED, "cannot lock " + lockFile + ": " + e.getMessage());
            }
            if (System.nanoTime() > deadline) {
                throw Cli.fail(Cli.REFUSED, "another k3s-vagrant step has held " + dir + " for " + wait.toSeconds()
                    + " s (k3s-up holds it until its nodes are Ready), so this step's change is not recorded in its "
                    + CLUSTER_FILE + "; the JSON printed would have it. Run the same step again once the other has "
                    + "finished (a host that already belongs is left as it is)");
            }
            sleepMillis(100);
        }
    }

    private static Object fileKey(Path file) {
        try {
            return Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // failing already
        }
    }

    private static void sleepMillis(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Cli.fail(Cli.FAILED, "interrupted while waiting for the cluster folder's lock");
        }
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
