import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One writer for every file the steps write: its failures say what the caller says to do, nothing else. */
class AtomicFileTest {
    @TempDir Path tmp;

    @Test
    void aFailureEndsWithTheCallersAdvice() throws IOException {
        Path link = Files.createSymbolicLink(tmp.resolve("settings"), tmp.resolve("gone"));
        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> AtomicFile.write(link, "x\n", "do the caller's thing"));
        assertEquals(Cli.FAILED, failure.exitCode);
        assertTrue(failure.getMessage().contains("nothing was changed"), failure.getMessage());
        assertTrue(failure.getMessage().endsWith("do the caller's thing"), failure.getMessage());
    }

    @Test
    void aClusterFolderFileThatCannotBeWrittenDoesNotSendTheUserToKubeconfigFlags() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("wil"));
        Files.writeString(dir.resolve(".k3s-vagrant-cluster"), ClusterFolderTest.MARKER);
        // a dangling link where cluster.json goes: the write cannot happen, for root too
        Files.createSymbolicLink(dir.resolve(ClusterFolder.CLUSTER_FILE), dir.resolve("gone"));
        Cluster cluster = new Cluster("wil", "libvirt", dir.toString(), "https://192.168.56.110:6443",
            List.of(new Cluster.Node("wilS", "server", "192.168.56.110", Cluster.Access.vagrant("wilS"))), null);
        Log log = new Log(new PrintWriter(new StringWriter()), "test", null);
        Cli.Failure failure = assertThrows(Cli.Failure.class, () -> {
            try (ClusterFolder folder = ClusterFolder.open(dir, log)) {
                folder.save(cluster);
            }
        });
        assertFalse(failure.getMessage().contains("--output"), "k3s-up has no --output: " + failure.getMessage());
        assertTrue(failure.getMessage().endsWith(ClusterFolder.FIX_WRITE), failure.getMessage());
    }
}
