//SOURCES Cli.java
//SOURCES AtomicFile.java
//SOURCES OwnerOnly.java
//SOURCES Cluster.java

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A cluster's snapshots on the host: <cluster folder>/snapshots (700), one file each (600: a datastore holds
 * the cluster's secrets), NAME.etcd (K3s's etcd snapshot) or NAME.sqlite.tar (state.db and its -wal, -shm).
 */
final class Snapshots {
    private Snapshots() {}

    static final String FOLDER = "snapshots";

    /** What a snapshot holds, by the suffix of its file. */
    enum Kind {
        ETCD("etcd", ".etcd"), SQLITE("sqlite", ".sqlite.tar");

        final String label;
        final String suffix;

        Kind(String label, String suffix) {
            this.label = label;
            this.suffix = suffix;
        }
    }

    record Entry(String name, Kind kind, long size, Instant date, Path file) { }

    /** Names end up in file names on the host and, for etcd, in K3s's --name: kept to one safe form. */
    private static final Pattern NAME = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
    static final String NAME_RULE = "lowercase letters, digits and '-' (not first or last), at most 63";

    static void requireName(String name) {
        if (!NAME.matcher(name).matches()) {
            throw Cli.fail(Cli.USAGE, "the snapshot name " + Cluster.shown(name) + " is not " + NAME_RULE
                + ": e.g. before-upgrade");
        }
    }

    /** The name a save without one gets: its time (UTC), so that names sort by age. */
    static String defaultName(Instant now) {
        return "snapshot-" + DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC).format(now);
    }

    /** The cluster's snapshot folder; only a cluster k3s-up made has a folder to keep them in. */
    static Path folder(Cluster cluster) {
        if (cluster.vagrantDir() == null) {
            throw Cli.fail(Cli.USAGE, "cluster " + cluster.name() + " has no folder on this host to keep snapshots"
                + " in: name a cluster k3s-up made (--name NAME, or pipe its JSON)");
        }
        return Path.of(cluster.vagrantDir()).resolve(FOLDER);
    }

    /** The snapshots in folder, oldest first; none when it does not exist. */
    static List<Entry> list(Path folder) {
        List<Entry> entries = new ArrayList<>();
        if (!Files.isDirectory(folder)) return entries;
        try (Stream<Path> files = Files.list(folder)) {
            for (Path file : files.toList()) {
                String fileName = file.getFileName().toString();
                for (Kind kind : Kind.values()) {
                    String name = fileName.endsWith(kind.suffix)
                        ? fileName.substring(0, fileName.length() - kind.suffix.length()) : null;
                    if (name == null || !NAME.matcher(name).matches() || !Files.isRegularFile(file)) continue;
                    entries.add(new Entry(name, kind, Files.size(file), Files.getLastModifiedTime(file).toInstant(),
                        file));
                }
            }
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot read " + folder + ": " + e.getMessage());
        }
        entries.sort(Comparator.comparing(Entry::date).thenComparing(Entry::name));
        return entries;
    }

    static Optional<Entry> find(Path folder, String name) {
        return list(folder).stream().filter(e -> e.name().equals(name)).findFirst();
    }

    /** Refuses a name already taken, before anything is done: a save never overwrites a snapshot. */
    static void requireFree(Path folder, String name) {
        if (find(folder, name).isPresent()) {
            throw Cli.fail(Cli.REFUSED, "a snapshot named " + name + " exists in " + folder + ": give another name,"
                + " or delete that file first; nothing was done");
        }
    }

    /** Writes a snapshot whole or not at all, the folder and file their owner's alone. */
    static Entry write(Path folder, String name, Kind kind, byte[] content) {
        try {
            OwnerOnly.createDirectories(folder);
            OwnerOnly.restrict(folder);
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot make " + folder + ": " + e.getMessage() + "; "
                + AtomicFile.CHECK_FOLDER);
        }
        AtomicFile.write(folder.resolve(name + kind.suffix), content, AtomicFile.CHECK_FOLDER);
        return find(folder, name).orElseThrow();
    }

    static byte[] read(Entry entry) {
        try {
            return Files.readAllBytes(entry.file());
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot read " + entry.file() + ": " + e.getMessage());
        }
    }
}
