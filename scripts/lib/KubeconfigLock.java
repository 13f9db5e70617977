//SOURCES Cli.java
//SOURCES Interruption.java
//SOURCES OwnerOnly.java
//SOURCES Log.java

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * kubectl's own lock on a kubeconfig: FILE.lock, created exclusively (O_CREAT|O_EXCL, as
 * client-go's clientcmd does before it writes FILE) and deleted once FILE is written. While it
 * exists, kubectl's config commands fail and every step waits, so no read-modify-write of FILE
 * overwrites another's.
 *
 * Ours holds "pid PID host HOST". Stale rule: a lock naming a process of this host that no
 * longer runs (or a pid reused by a process started after the lock was made) was left by a
 * crashed step and is removed. Any other lock (kubectl's are empty; a live pid; another host)
 * is waited for, then refused, naming its owner and age and how to remove it: only a person
 * can tell that no kubectl is running.
 */
final class KubeconfigLock implements AutoCloseable {
    /** kubectl and the steps hold it for milliseconds: this much waiting covers a queue of them. */
    static final Duration WAIT = Duration.ofSeconds(30);

    final Path path;
    private final String owner;

    private KubeconfigLock(Path path, String owner) {
        this.path = path;
        this.owner = owner;
    }

    /** client-go's name for the lock of file (the name given, symlink or not, as kubectl locks it). */
    static Path pathOf(Path file) {
        return file.resolveSibling(file.getFileName() + ".lock");
    }

    /** Takes the lock of file, waiting up to wait for its holder; log (may be null) hears of a stale lock removed. */
    static KubeconfigLock acquire(Path file, Duration wait, Log log) {
        Path lock = pathOf(file);
        String owner = "pid " + ProcessHandle.current().pid() + " host " + hostName() + "\n";
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            try {
                Path dir = lock.toAbsolutePath().getParent();
                if (!Files.isDirectory(dir)) {
                    OwnerOnly.createDirectories(dir);
                }
                // CREATE_NEW is O_CREAT|O_EXCL: exactly one process makes it
                Files.write(lock, owner.getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE);
                return new KubeconfigLock(lock, owner);
            } catch (FileAlreadyExistsException e) {
                Holder holder = Holder.read(lock);
                if (holder == null) continue; // released meanwhile
                if (holder.crashed()) {
                    if (removeStale(lock, holder) && log != null) {
                        log.warn("removed " + lock + ", left by " + holder.owner() + ", which no longer runs");
                    }
                    continue;
                }
                if (System.nanoTime() > deadline) {
                    throw Cli.fail(Cli.REFUSED, file + " is locked: " + lock + " exists (" + holder.describe()
                        + ", made " + holder.age().toSeconds() + " s ago) and was not released within "
                        + wait.toSeconds() + " s; nothing was changed. Another kubectl or k3s-vagrant step is writing "
                        + file + ", or one crashed "
                        + "and left the lock: if none is running (pgrep -af 'kubectl|k3s-'), remove it (rm '" + lock
                        + "') and run the step again");
                }
                Interruption.pause(50, "for a kubeconfig lock");
            } catch (IOException e) {
                throw Cli.fail(Cli.FAILED, "cannot create " + lock + " to lock " + file + ": " + e.getMessage()
                    + "; nothing was changed; fix the folder's permissions or write elsewhere with --output");
            }
        }
    }

    /**
     * Renames the stale lock aside first, so a lock another step made meanwhile is never deleted
     * by mistake: if the renamed file is not the stale one, it is put back.
     */
    private static boolean removeStale(Path lock, Holder stale) {
        Path aside = lock.resolveSibling(lock.getFileName() + ".stale-" + ProcessHandle.current().pid());
        try {
            Files.move(lock, aside, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            return false; // gone already, or renamed aside by another step
        }
        try {
            if (Files.readString(aside).equals(stale.text)) {
                Files.delete(aside);
                return true;
            }
            Files.move(aside, lock, StandardCopyOption.ATOMIC_MOVE); // not the stale one: put back
        } catch (IOException e) {
            // it stays aside, harmless: the lock itself is gone and the next try makes a fresh one
        }
        return false;
    }

    @Override
    public void close() {
        try {
            // only our own: a lock removed by hand and made again by another step stays
            if (Files.readString(path).equals(owner)) Files.delete(path);
        } catch (IOException e) {
            // already gone: nothing to release
        }
    }

    /** What a lock says of its owner. */
    private record Holder(String text, Instant made, long pid, String host) {
        static Holder read(Path lock) {
            try {
                FileTime time = Files.getLastModifiedTime(lock);
                String text = Files.readString(lock);
                String[] words = text.strip().split(" ");
                boolean ours = words.length == 4 && words[0].equals("pid") && words[1].matches("[0-9]{1,10}")
                    && words[2].equals("host");
                if (ours) {
                    return new Holder(text, time.toInstant(), Long.parseLong(words[1]), words[3]);
                }
                return new Holder(text, time.toInstant(), -1, null);
            } catch (NoSuchFileException e) {
                return null;
            } catch (IOException e) {
                return new Holder("", Instant.now(), -1, null);
            }
        }

        /** Our format, this host, and its process gone (or its pid now another, younger process's). */
        boolean crashed() {
            if (pid < 0 || !hostName().equals(host)) return false;
            Optional<ProcessHandle> process = ProcessHandle.of(pid);
            if (process.isEmpty() || !process.get().isAlive()) return true;
            Optional<Instant> started = process.get().info().startInstant();
            return started.isPresent() && started.get().isAfter(made.plusSeconds(1));
        }

        Duration age() {
            return Duration.between(made, Instant.now()).abs();
        }

        String owner() {
            return "pid " + pid + " on " + host;
        }

        String describe() {
            if (pid < 0) return text.isBlank() ? "empty, as kubectl makes it" : "not made by k3s-vagrant";
            return "by " + owner() + (hostName().equals(host) ? ", which still runs" : "");
        }
    }

    private static String hostName() {
        try {
            Path kernel = Path.of("/proc/sys/kernel/hostname");
            if (Files.isReadable(kernel)) return Files.readString(kernel).strip();
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }

}
