//SOURCES Cli.java
//SOURCES ClusterFolder.java
//SOURCES KubeconfigFile.java
//SOURCES ClusterSettingsFile.java
//SOURCES AtomicFile.java

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.stream.Stream;

/**
 * Which cluster folders are k3s-up's: a marker file says k3s-up made the folder and lists what it
 * wrote there; only such a folder gets our files, runs its Vagrantfile, and loses those files
 * (never others) to k3s-down.
 */
final class ClusterFolderMarker {
    static final String MARKER = ".k3s-vagrant-cluster";
    static final String MARKER_HEADER =
        "# k3s-vagrant cluster folder: k3s-up made it; k3s-down removes the entries below, then the folder if empty";

    private ClusterFolderMarker() {
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
        // empty, or left by a k3s-up stopped at once
        if (there.isEmpty() || there.equals(List.of(ClusterFolder.LOCK_FILE))) return;
        throw Cli.fail(Cli.USAGE, what + " is not a folder k3s-up made: it holds " + names(there) + " and no " + MARKER
            + ", so nothing was written. " + byHand(dir)
            + (named ? "Name a new or empty folder (e.g. --dir " + dir.resolve("k3s") + ")"
                : "Move those files away, or pick another --name"));
    }

    /** Makes the folder (mode 700) if needed and marks it as k3s-up's (adopting an unmarked one) before writing. */
    static void claim(Path dir, boolean named) {
        requireFreeOrOurs(dir, named);
        LinkedHashSet<String> entries = new LinkedHashSet<>(ClusterFolder.WRITTEN);
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
     * marker existed (our cluster.env, nothing but our files), ClusterFolder.WRITTEN. Null when not ours.
     */
    static List<String> ownEntries(Path dir) {
        Path marker = dir.resolve(MARKER);
        try {
            if (Files.isRegularFile(marker, LinkOption.NOFOLLOW_LINKS)) {
                List<String> lines = Files.readAllLines(marker);
                if (lines.isEmpty() || !lines.get(0).equals(MARKER_HEADER)) return null;
                List<String> entries = lines.subList(1, lines.size()).stream().filter(line -> !line.isBlank()).toList();
                return entries.stream().allMatch(ClusterFolderMarker::isEntry) ? entries : null;
            }
            if (Files.exists(marker, LinkOption.NOFOLLOW_LINKS)) return null;
            Path settings = dir.resolve(ClusterFolder.SETTINGS_FILE);
            if (!Files.isRegularFile(settings, LinkOption.NOFOLLOW_LINKS)) return null;
            List<String> ours = ClusterFolder.WRITTEN.stream().map(ClusterFolderMarker::nameOf).toList();
            boolean onlyOurs = entriesIn(dir).stream().allMatch(ours::contains);
            boolean written = Files.readString(settings).startsWith(ClusterSettingsFile.HEADER);
            return onlyOurs && written ? ClusterFolder.WRITTEN : null;
        } catch (IOException | UncheckedIOException e) {
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
        AtomicFile.write(dir.resolve(MARKER), MARKER_HEADER + "\n" + String.join("\n", entries) + "\n",
            ClusterFolder.FIX_WRITE);
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
            String settings = Files.readString(dir.resolve(ClusterFolder.SETTINGS_FILE));
            if (!settings.startsWith(ClusterSettingsFile.HEADER)) return "";
        } catch (IOException e) {
            return "";
        }
        return "Its cluster.env says an earlier k3s-up made a cluster there among other files: "
            + "remove that cluster by hand (cd " + dir
            + " && vagrant destroy -f, then delete " + String.join(", ", ClusterFolder.WRITTEN)
            + " and nothing else). ";
    }

    /**
     * k3s-down, holding the lock: removes the entries k3s-up wrote here, then the marker; then
     * the folder, lock file and all, when nothing else is left, or else the lock file last.
     * Returns what is left (not ours).
     */
    static List<String> removeOwn(Path dir, List<String> entries) {
        try {
            for (String entry : entries) {
                Path path = dir.resolve(nameOf(entry));
                if (entry.endsWith("/")) {
                    if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) continue;
                    try (Stream<Path> tree = Files.walk(path)) {
                        for (Path each : tree.sorted(Comparator.reverseOrder()).toList()) Files.delete(each);
                    }
                } else if (!entry.equals(ClusterFolder.LOCK_FILE)
                        && !Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
                    Files.deleteIfExists(path); // a folder where k3s-up wrote a file is not what it wrote: kept
                }
            }
            Files.deleteIfExists(dir.resolve(MARKER));
            List<String> left = entriesIn(dir).stream().filter(name -> !name.equals(ClusterFolder.LOCK_FILE)).toList();
            if (!left.isEmpty()) {
                // the folder stays for the user's files: done with it
                Files.deleteIfExists(dir.resolve(ClusterFolder.LOCK_FILE));
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
            Files.deleteIfExists(aside.resolve(ClusterFolder.LOCK_FILE));
            try {
                Files.delete(aside);
            } catch (DirectoryNotEmptyException e) {
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
}
