import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The private folder k3s-join's install uploads into, on a real sshd: made private, and one
 * an attempt could not remove is kept in hand and removed by the next attempt (the retry
 * loop owns the InstallFolder; no field of the step carries it between attempts).
 */
class InstallFolderTest {
    static Sshd sshd;
    @TempDir Path tmp;

    @BeforeAll
    static void startSshd() {
        sshd = Sshd.start();
    }

    @AfterAll
    static void stopSshd() {
        if (sshd != null) sshd.close();
    }

    @Test
    void aFolderAnAttemptCouldNotRemoveIsRemovedByTheNextOne() throws IOException {
        Path refuse = tmp.resolve("refuse-removal");
        // a sudo stand-in that lets the sudo check through and fails the removal while refuse exists
        Path sudo = tmp.resolve("sudo");
        Files.writeString(sudo, "#!/bin/sh\n[ \"$1\" = -n ] || exit 9\nshift\n"
            + "[ \"$1\" = sh ] && [ -e '" + refuse + "' ] && exit 1\nexec \"$@\"\n");
        Files.setPosixFilePermissions(sudo, PosixFilePermissions.fromString("rwx------"));
        InstallFolder folder = new InstallFolder();
        try (Ssh ssh = connect(sudo)) {
            Path dir = Path.of(folder.make(ssh));
            try {
                assertTrue(dir.getFileName().toString().startsWith("k3s-join."), dir.toString());
                assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
                Files.createFile(refuse);
                folder.remove(ssh);
                assertTrue(Files.isDirectory(dir), "a removal that failed keeps the folder for the next attempt");
                Files.delete(refuse);
                folder.remove(ssh);
                assertFalse(Files.exists(dir), "the next attempt removed it");
                folder.remove(ssh); // nothing left to remove: no command, no failure
            } finally {
                Repo.deleteTree(dir);
            }
        }
    }

    private static Ssh connect(Path sudo) {
        Ssh.Target target = Ssh.Target.ofAddress(sshd.user + "@" + Sshd.HOST, sshd.port, sshd.clientKey, null,
            Ssh.HostKeyCheck.OFF);
        Ssh ssh = Ssh.connect(target, Duration.ZERO, null);
        ssh.sudoProgram = sudo.toString(); // the user is treated as not root, whoever runs the tests
        return ssh;
    }
}
