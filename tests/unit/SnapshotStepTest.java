import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * k3s-snapshot's checks, made before any host is reached: the action and the name, a name already taken,
 * a restore nobody confirmed; and the host's copies: listed as JSON, written 600 in a 700 folder.
 */
class SnapshotStepTest {
    @TempDir Path tmp;
    Path folder;
    Path before;
    Path ttyBefore;

    @BeforeEach
    void cluster() throws IOException {
        Path root = Files.createDirectories(tmp.resolve("home/clusters"));
        folder = root.resolve("wil");
        ClusterFolderMarker.claim(folder, false);
        // a server no test reaches: every check below comes before SSH
        Files.writeString(folder.resolve(ClusterFolder.CLUSTER_FILE), "{\"format\": \"k3s-vagrant/cluster/v1\","
            + " \"name\": \"wil\", \"vagrantDir\": \"" + folder + "\", \"serverUrl\": \"https://192.0.2.10:6443\","
            + " \"nodes\": [{\"name\": \"wilS\", \"role\": \"server\", \"ip\": \"192.0.2.10\","
            + " \"ssh\": {\"vagrantMachine\": \"wilS\"}}]}");
        before = ClusterFolder.clustersRoot;
        ClusterFolder.clustersRoot = root;
        ttyBefore = TerminalQuestion.tty;
        TerminalQuestion.tty = tmp.resolve("no-tty");
    }

    @AfterEach
    void restore() {
        ClusterFolder.clustersRoot = before;
        TerminalQuestion.tty = ttyBefore;
    }

    @Test
    void anUnknownActionABadNameAndARestoreWithoutANameAreRefusedSayingWhatIsExpected() {
        Repo.Run unknown = Repo.step(new snapshot(), "--name", "wil", "take");
        assertEquals(Cli.USAGE, unknown.exit());
        assertTrue(unknown.stderr().contains("unknown action \"take\": save [NAME], list or restore NAME"),
            unknown.stderr());
        Repo.Run badName = Repo.step(new snapshot(), "--name", "wil", "save", "../x;rm");
        assertEquals(Cli.USAGE, badName.exit());
        assertTrue(badName.stderr().contains("lowercase letters, digits and '-'"), badName.stderr());
        Repo.Run noName = Repo.step(new snapshot(), "--name", "wil", "restore");
        assertEquals(Cli.USAGE, noName.exit());
        assertTrue(noName.stderr().contains("restore needs the NAME"), noName.stderr());
        Repo.Run missing = Repo.step(new snapshot(), "--name", "wil", "restore", "nosuch", "--yes");
        assertEquals(Cli.USAGE, missing.exit());
        assertTrue(missing.stderr().contains("there is no snapshot nosuch"), missing.stderr());
    }

    @Test
    void theHostsCopiesAreWritten600InA700FolderAndListedAsJson() throws IOException {
        Path snapshots = Snapshots.folder(ClusterFolder.loadCluster("wil"));
        Snapshots.write(snapshots, "before", Snapshots.Kind.SQLITE, new byte[] {0, 1, 2, (byte) 0xff});
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(snapshots)));
        Path file = snapshots.resolve("before.sqlite.tar");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals(4, Files.readAllBytes(file).length, "bytes kept as they are");

        Repo.Run list = Repo.step(new snapshot(), "--name", "wil", "list");
        assertEquals(0, list.exit(), list.stderr());
        assertTrue(list.stdout().contains("\"format\" : \"k3s-vagrant/snapshot/v1\"")
            && list.stdout().contains("\"name\" : \"before\"") && list.stdout().contains("\"kind\" : \"sqlite\"")
            && list.stdout().contains("\"size\" : 4"), list.stdout());
        assertTrue(ClusterFolder.WRITTEN.contains("snapshots/"), "k3s-down removes them with the cluster");
    }

    @Test
    void aTakenNameAndAnUnconfirmedRestoreChangeNothing() throws IOException {
        Path snapshots = Snapshots.folder(ClusterFolder.loadCluster("wil"));
        Snapshots.write(snapshots, "before", Snapshots.Kind.ETCD, new byte[] {1});
        Repo.Run taken = Repo.step(new snapshot(), "--name", "wil", "save", "before");
        assertEquals(Cli.REFUSED, taken.exit());
        assertTrue(taken.stderr().contains("a snapshot named before exists"), taken.stderr());
        Repo.Run unasked = Repo.step(new snapshot(), "--name", "wil", "restore", "before");
        assertEquals(Cli.REFUSED, unasked.exit());
        assertTrue(unasked.stderr().contains("there is no terminal to ask on: run again with --yes"),
            unasked.stderr());
        assertFalse(unasked.stderr().contains("stopping K3s"), unasked.stderr());
        assertEquals(List.of("before"), Snapshots.list(snapshots).stream().map(Snapshots.Entry::name).toList());
    }
}
