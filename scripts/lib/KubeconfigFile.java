//SOURCES Cli.java
//SOURCES HostFacts.java
//SOURCES AtomicFile.java
//SOURCES Kubeconfig.java
//SOURCES KubeconfigLock.java
//SOURCES Log.java

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The user's kubeconfig files: which one kubectl uses, merging into it and removing from it under kubectl's
 * lock, written atomically with mode 600, and its backups.
 */
final class KubeconfigFile {
    private KubeconfigFile() {}

    /** What to do when a kubeconfig (or its backup) cannot be written. */
    static final String FIX_WRITE = "fix the permissions of that file and its folder, or name another kubeconfig "
        + "first in $KUBECONFIG";

    /**
     * Merges ours into file: read, merged, the old file backed up, written, all under kubectl's
     * lock, so merges (and kubectl config commands) at the same moment each keep the others' change.
     */
    static void mergeInto(Path file, ObjectNode ours, boolean replace, Log log) {
        try (KubeconfigLock lock = KubeconfigLock.acquire(file, KubeconfigLock.WAIT, log)) {
            ObjectNode existing = Kubeconfig.parse(read(file), file.toString());
            ObjectNode merged = Kubeconfig.merge(existing, ours, replace, file.toString());
            if (Files.exists(file)) log.info("backed up " + file + " to " + backup(file));
            AtomicFile.write(file, Kubeconfig.toYaml(merged), FIX_WRITE);
        }
    }

    /** Removes context name (its cluster, user) of serverUrl from file, under its lock; whether there was one. */
    static boolean removeFrom(Path file, String name, String serverUrl, Log log) {
        if (!Files.exists(file)) return false;
        try (KubeconfigLock lock = KubeconfigLock.acquire(file, KubeconfigLock.WAIT, log)) {
            ObjectNode config = Kubeconfig.parse(read(file), file.toString());
            if (!Kubeconfig.remove(config, name, serverUrl)) return false;
            // no backup: one more copy of a destroyed cluster's credentials
            AtomicFile.write(file, Kubeconfig.toYaml(config), FIX_WRITE);
            return true;
        }
    }

    /** The file `kubectl` uses: the first entry of $KUBECONFIG, else ~/.kube/config. */
    static Path defaultPath(Map<String, String> environment) {
        HostFacts here = HostFacts.current();
        return defaultPath(new HostFacts(here.osName(), environment, here.home()));
    }

    /** The same on a given host: KUBECONFIG split by ';' on Windows, and %USERPROFILE%\.kube\config there. */
    static Path defaultPath(HostFacts host) {
        List<String> entries = host.list("KUBECONFIG");
        if (!entries.isEmpty()) return host.path(entries.get(0));
        String profile = host.get("USERPROFILE");
        Path home = host.windows() && !profile.isBlank() ? host.path(profile) : host.home();
        return home.resolve(".kube").resolve("config");
    }

    static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        } catch (AccessDeniedException e) {
            throw Cli.fail(Cli.FAILED, "cannot read " + file + " (permission denied): nothing was changed");
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot read " + file + ": " + e.getMessage() + "; nothing was changed");
        }
    }

    /** Backups kept of one kubeconfig: each holds every cluster's credentials, so not without end. */
    static final int KEPT_BACKUPS = 5;

    /** Copies file to file.k3s-vagrant-backup-TIME (mode 600) and returns the copy's path. */
    static Path backup(Path file) {
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        String base = file.getFileName() + ".k3s-vagrant-backup-" + stamp;
        // two merges within a second must not overwrite the first backup; numbered after the newest of that
        // second, not into a gap pruning left (that copy would sort as the oldest and go at once)
        int newest = 0;
        for (Path other : backups(file)) {
            String name = other.getFileName().toString();
            if (name.equals(base)) newest = Math.max(newest, 1);
            if (name.startsWith(base + "-") && name.substring(base.length() + 1).matches("\\d{1,9}")) {
                newest = Math.max(newest, Integer.parseInt(name.substring(base.length() + 1)));
            }
        }
        Path copy = file.resolveSibling(newest == 0 ? base : base + "-" + (newest + 1));
        AtomicFile.write(copy, read(file), FIX_WRITE);
        List<Path> all = backups(file);
        for (Path old : all.subList(0, Math.max(0, all.size() - KEPT_BACKUPS))) {
            try {
                Files.deleteIfExists(old);
            } catch (IOException e) {
                throw Cli.fail(Cli.FAILED, "cannot remove the old backup " + old + ": " + e.getMessage());
            }
        }
        return copy;
    }

    /** file's backups, oldest first (by the time in their names, then the number of one made in the same second). */
    static List<Path> backups(Path file) {
        String prefix = file.getFileName() + ".k3s-vagrant-backup-";
        Path dir = file.toAbsolutePath().getParent();
        try (var files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().startsWith(prefix) && Files.isRegularFile(f))
                .sorted(Comparator.comparing(
                    f -> backupOrder(f.getFileName().toString().substring(prefix.length()))))
                .toList();
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot list " + dir + ": " + e.getMessage());
        }
    }

    private static String backupOrder(String suffix) {
        Matcher m = Pattern.compile("(\\d{8}-\\d{6})(?:-(\\d+))?").matcher(suffix);
        if (!m.matches()) return suffix; // not one of ours: named otherwise, sorted before them
        return m.group(1) + String.format("-%09d", m.group(2) == null ? 1 : Integer.parseInt(m.group(2)));
    }

    /**
     * Removes a destroyed cluster's entries (as remove does) from file's backups too, so no
     * copy of its credentials is left. Returns the backups it could not read, left as they are.
     */
    static List<Path> removeFromBackups(Path file, String name, String serverUrl) {
        List<Path> unreadable = new ArrayList<>();
        for (Path copy : backups(file)) {
            try {
                ObjectNode config = Kubeconfig.parse(read(copy), copy.toString());
                if (Kubeconfig.remove(config, name, serverUrl)) {
                    AtomicFile.write(copy, Kubeconfig.toYaml(config), FIX_WRITE);
                }
            } catch (Cli.Failure e) {
                unreadable.add(copy);
            }
        }
        return unreadable;
    }
}
