//SOURCES Cli.java
//SOURCES ClusterFolder.java
//SOURCES Vagrant.java
//SOURCES AtomicFile.java
//SOURCES Plan.java
//SOURCES Addresses.java
//SOURCES Settings.java

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** cluster.env: the settings a cluster was made with, which its Vagrantfile reads; and what they claim. */
final class ClusterSettingsFile {
    /** cluster.env's first line since the first k3s-up: a folder holding it and only our files is adopted. */
    static final String HEADER = "# Written by k3s-up: the settings this cluster was made with";

    private ClusterSettingsFile() {
    }

    /**
     * Records the settings in cluster.env. A cluster whose machines exist keeps its settings but those
     * changing (a confirmed ClusterChange's): other ones are refused rather than half-applied to running machines.
     */
    static void write(ClusterFolder folder, Map<String, String> settings, String provider, Set<String> changing) {
        Path dir = folder.dir;
        Map<String, String> wanted = new LinkedHashMap<>();
        wanted.put("PROVIDER", provider);
        wanted.putAll(settings);
        Map<String, String> recorded = read(dir.resolve(ClusterFolder.SETTINGS_FILE));
        if (!recorded.isEmpty()) recorded.putIfAbsent("SERVERS", "1"); // clusters recorded before --servers existed
        Map<String, String> kept = new LinkedHashMap<>(wanted);
        for (String key : changing) {
            if (recorded.containsKey(key)) kept.put(key, recorded.get(key)); else kept.remove(key);
        }
        if (!recorded.isEmpty() && !recorded.equals(kept) && folder.machinesExist()) {
            StringBuilder diff = new StringBuilder();
            for (String key : union(recorded, kept)) {
                String before = recorded.get(key);
                String after = kept.get(key);
                if (before == null ? after != null : !before.equals(after)) {
                    diff.append(" ").append(key).append(": ").append(before).append(" -> ").append(after).append(";");
                }
            }
            throw Cli.fail(Cli.REFUSED, "the cluster in " + dir + " already exists with other settings ("
                + diff.toString().strip() + "): nothing was changed. Run with the same flags, destroy it first (cd "
                + dir + " && vagrant destroy -f), or pick another --name");
        }
        StringBuilder text = new StringBuilder(HEADER + " (no secrets here).\n"
            + "# The Vagrantfile reads them; K3S_VAGRANT_* variables in the environment override them.\n");
        wanted.forEach((key, value) ->
            text.append(Vagrant.SETTINGS_PREFIX).append(key).append('=').append(value).append('\n'));
        AtomicFile.write(dir.resolve(ClusterFolder.SETTINGS_FILE), text.toString(), ClusterFolder.FIX_WRITE);
    }

    /**
     * What the other clusters under the clusters folder share with ours (machine names, compared as
     * host names without case, and addresses), one line each; ours is the folder itself, and machines
     * its names with their addresses. Machines a provider runs outside these folders are not seen.
     */
    static List<String> clashes(Path ours, Map<String, String> machines) {
        Path root = ClusterFolder.defaultPath("x").getParent();
        if (!Files.isDirectory(root)) return List.of();
        List<String> clashes = new ArrayList<>();
        try (var folders = Files.list(root)) {
            for (Path other : folders.filter(Files::isDirectory).sorted().toList()) {
                if (other.toAbsolutePath().normalize().equals(ours.toAbsolutePath().normalize())) continue;
                Path file = other.resolve(ClusterFolder.SETTINGS_FILE);
                if (!Files.isRegularFile(file)) continue;
                readMachines(read(file)).forEach((name, ip) -> machines.forEach((ourName, ourIp) -> {
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


    /** A cluster.env's settings, without the K3S_VAGRANT_ prefix; none when there is no file. */
    static Map<String, String> read(Path file) {
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

    private static Set<String> union(Map<String, String> a, Map<String, String> b) {
        Set<String> keys = new TreeSet<>(a.keySet());
        keys.addAll(b.keySet());
        return keys;
    }
}
