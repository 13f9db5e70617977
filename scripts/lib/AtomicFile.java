//SOURCES Cli.java
//SOURCES OwnerOnly.java

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Every file the steps write: whole or not at all (a temp file renamed over it), mode 600 in an owner-only
 * folder. A failure says that nothing was changed and what the caller says to do.
 */
final class AtomicFile {
    private AtomicFile() {}

    /** The advice of a caller that has none of its own. */
    static final String CHECK_FOLDER = "check that folder's permissions and free space";

    static void write(Path file, String text) {
        write(file, text, CHECK_FOLDER);
    }

    /** Writes text to file atomically; whatToDo ends a failure's message (e.g. "pass --output FILE"). */
    static void write(Path file, String text, String whatToDo) {
        write(file, text.getBytes(StandardCharsets.UTF_8), whatToDo);
    }

    /** As write, for bytes (a snapshot): the file is its owner's alone from the start, then renamed into place. */
    static void write(Path file, byte[] content, String whatToDo) {
        // a symlinked ~/.kube/config (dotfile managers) stays a symlink: write its target
        if (Files.isSymbolicLink(file)) {
            try {
                file = file.toRealPath();
            } catch (IOException e) {
                throw Cli.fail(Cli.FAILED, file + " is a symlink to a missing file: nothing was changed; "
                    + "fix the link, or " + whatToDo);
            }
        }
        Path dir = file.toAbsolutePath().getParent();
        Path temp = null;
        try {
            if (!Files.isDirectory(dir)) {
                OwnerOnly.createDirectories(dir);
            }
            temp = OwnerOnly.createTempFile(dir, "." + file.getFileName() + ".", ".tmp");
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                // write() may write only part: loop until all is written (a full disk then throws)
                ByteBuffer bytes = ByteBuffer.wrap(content);
                while (bytes.hasRemaining()) channel.write(bytes);
                channel.force(true);
            }
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            temp = null;
        } catch (AccessDeniedException e) {
            throw Cli.fail(Cli.FAILED, "cannot write " + file + " (permission denied on " + e.getFile()
                + "): nothing was changed; " + whatToDo);
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot write " + file + ": " + e.getMessage() + "; nothing was changed; "
                + whatToDo);
        } finally {
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException ignored) {
                    // the write already failed; that failure is the one to report
                }
            }
        }
    }
}
