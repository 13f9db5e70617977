import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full disk: a real 64 KiB tmpfs (mounting one needs root; elsewhere the test says so
 * and counts as skipped). Writes fail with a message, the old file stays whole, and no
 * temporary file is left behind.
 */
class DiskFullTest {
    @TempDir Path temp;
    Path disk;

    @BeforeEach
    void mountATinyDisk() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
            "mounting a tiny tmpfs needs root: the full-disk case was NOT checked");
        disk = Files.createDirectories(temp.resolve("disk"));
        Repo.Run mount = Repo.exec(List.of("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", disk.toString()), temp,
            Map.of(), null, 30);
        assertEquals(0, mount.exit(), "mount: " + mount.stderr());
    }

    @AfterEach
    void unmount() {
        if (disk != null) Repo.exec(List.of("umount", disk.toString()), temp, Map.of(), null, 30);
    }

    @Test
    void aKubeconfigThatDoesNotFitLeavesTheOldOneWholeAndNoTempFile() throws Exception {
        Path config = disk.resolve("config");
        String old = "apiVersion: v1\nkind: Config\n";
        Files.writeString(config, old);
        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> AtomicFile.write(config, "x".repeat(200_000)));
        assertTrue(failure.getMessage().contains("nothing was changed"), failure.getMessage());
        assertEquals(old, Files.readString(config));
        try (var files = Files.list(disk)) {
            assertEquals(List.of(config), files.toList(), "no temporary file left on the full disk");
        }
    }
}
