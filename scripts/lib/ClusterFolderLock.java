//SOURCES Cli.java
//SOURCES Interruption.java
//SOURCES ClusterFolder.java
//SOURCES OwnerOnly.java
//SOURCES ClusterFolderMarker.java

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;

/** One step at a time in a cluster folder: its lock file, held while a step changes the folder. */
final class ClusterFolderLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;

    private ClusterFolderLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Creates the folder (mode 700) if needed and takes its lock, or refuses when another step holds it. */
    static ClusterFolderLock take(Path dir) {
        try {
            for (int attempt = 1; ; attempt++) {
                if (!Files.isDirectory(dir)) {
                    OwnerOnly.createDirectories(dir);
                }
                Path lockFile = dir.resolve(ClusterFolder.LOCK_FILE);
                FileChannel channel;
                try {
                    channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                } catch (NoSuchFileException e) {
                    if (attempt == 3) throw e;
                    continue; // k3s-down moved the folder away just then: make it anew
                }
                Object opened = fileKey(lockFile);
                FileLock lock;
                try {
                    lock = channel.tryLock();
                } catch (OverlappingFileLockException e) {
                    lock = null; // held by this very process
                }
                // the file locked must still be the one at its path: k3s-down may have removed it meanwhile
                if (lock != null && opened != null && opened.equals(fileKey(lockFile))) {
                    return new ClusterFolderLock(channel, lock);
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
     * Waits up to wait for the lock of a folder k3s-up made; null when the folder is gone or no
     * longer ours (k3s-down removed it meanwhile): no lock file is made again there, or k3s-down
     * could not remove the folder. A folder still ours without one (made before it existed) gets it.
     */
    static ClusterFolderLock await(Path dir, Duration wait) {
        Path lockFile = dir.resolve(ClusterFolder.LOCK_FILE);
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            FileChannel channel;
            Object opened;
            try {
                boolean ours = Files.exists(lockFile) || ClusterFolderMarker.ownEntries(dir) != null;
                if (!ours) return null;
                channel = FileChannel.open(lockFile, StandardOpenOption.WRITE, StandardOpenOption.CREATE);
                opened = fileKey(lockFile);
            } catch (NoSuchFileException e) {
                continue; // the folder went meanwhile: the next look returns null
            } catch (IOException e) {
                throw Cli.fail(Cli.FAILED, "cannot open " + lockFile + ": " + e.getMessage());
            }
            try {
                FileLock lock;
                try {
                    lock = channel.tryLock();
                } catch (OverlappingFileLockException e) {
                    lock = null; // another thread of this process holds it
                }
                // the file locked must still be the one at its path, not one k3s-down deleted meanwhile
                if (lock != null && opened != null && opened.equals(fileKey(lockFile))) {
                    return new ClusterFolderLock(channel, lock);
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
                    + ClusterFolder.CLUSTER_FILE + "; the JSON printed would have it. Run the same step again once "
                    + "the other has finished (a host that already belongs is left as it is)");
            }
            Interruption.pause(100, "for the cluster folder's lock");
        }
    }

    private static Object fileKey(Path file) {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class).fileKey();
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


    @Override
    public void close() {
        try {
            lock.release();
            channel.close();
        } catch (IOException ignored) {
            // the lock goes with the process anyway
        }
    }
}
