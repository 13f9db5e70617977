import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A host whose sudo asks for a password: k3s-join and k3s-leave must stop at `sudo -n true`,
 * before anything is uploaded or changed, and say how to fix it. The host is a real sshd on
 * 127.0.0.1 (see Sshd), whose own log (LogLevel VERBOSE: one "Starting session" line per
 * command or SFTP session) shows what the step ran there.
 *
 * The sudo is a TEST STAND-IN: these tests log in as the user running them, often root, for
 * whom a real sudo asks nothing (and this machine may have no sudo at all). It answers `-n`
 * as sudo 1.9 does for a user whose sudoers entry wants a password: "sudo: a password is
 * required" on stderr, exit 1. Where sudo is missing altogether, the real shell's answer is used.
 */
class SudoTest {
    static final String URL = "https://192.168.56.110:6443";
    static final String TOKEN = "K10" + "ab".repeat(32) + "::node:s3cret-agent-token";

    @RegisterExtension
    static final Sshd sshd = Sshd.perClass();

    @TempDir Path tmp;
    final StringWriter logText = new StringWriter();
    final Log log = new Log(new PrintWriter(logText), "test", null);

    @Test
    void aSudoThatAsksForAPasswordStopsTheJoinBeforeAnythingIsUploaded() throws IOException {
        join step = joinWithAirgap();
        Cluster cluster = cluster();
        int before = sessions().size();
        try (Ssh ssh = connect(askingSudo())) {
            Cli.Failure failure = assertThrows(Cli.Failure.class, () -> step.joinHost(ssh, cluster, TOKEN.getBytes(),
                "v1.31.4+k3s1", Duration.ofMinutes(1), new InstallFolder(), log));
            assertEquals(Cli.SSH_FAILED, failure.exitCode, failure.getMessage());
            assertPasswordAdvice(failure.getMessage());
            assertFalse(failure.getMessage().contains("s3cret"), failure.getMessage());
        }
        List<String> ran = sessions().subList(before, sessions().size());
        assertEquals(List.of("command"), ran, "the sudo check alone ran; no SFTP session (no upload): " + sshd.log());
    }

    /** A sudoers entry that lets only some commands run without a password: not read as "no agent here". */
    @Test
    void anAgentCheckThatSudoRefusesIsAFailureNotAnInstall() throws IOException {
        join step = joinWithAirgap();
        Path sudo = script("sudo-true-only",
            "[ \"$2\" = true ] && exit 0\necho 'sudo: a password is required' >&2\nexit 1");
        int before = sessions().size();
        try (Ssh ssh = connect(sudo)) {
            Cli.Failure failure = assertThrows(Cli.Failure.class, () -> step.joinHost(ssh, cluster(), TOKEN.getBytes(),
                "v1.31.4+k3s1", Duration.ofMinutes(1), new InstallFolder(), log));
            assertEquals(Cli.FAILED, failure.exitCode, failure.getMessage());
            assertTrue(failure.getMessage().startsWith("reading the K3s agent's settings on "), failure.getMessage());
            assertTrue(failure.getMessage().contains("sudo: a password is required"), failure.getMessage());
        }
        assertFalse(sessions().subList(before, sessions().size()).contains("subsystem 'sftp'"), sshd.log());
    }

    @Test
    void k3sLeaveStopsAtTheSameCheckBeforeUninstallingAnything() throws IOException {
        int before = sessions().size();
        try (Ssh ssh = connect(askingSudo())) {
            Cli.Failure failure = assertThrows(Cli.Failure.class, () -> K3sAgent.uninstall(ssh, log));
            assertEquals(Cli.SSH_FAILED, failure.exitCode);
            assertPasswordAdvice(failure.getMessage());
        }
        assertEquals(1, sessions().size() - before, sshd.log());
    }

    @Test
    void aHostWithoutSudoIsToldToInstallItOrUseRoot() {
        try (Ssh ssh = connect(tmp.resolve("no-sudo-here").toString())) {
            Cli.Failure failure = assertThrows(Cli.Failure.class, ssh::sudo);
            assertEquals(Cli.SSH_FAILED, failure.exitCode);
            String message = failure.getMessage();
            assertTrue(message.startsWith("sudo is not installed on " + sshd.user + "@127.0.0.1:" + sshd.port),
                message);
            assertTrue(message.contains("nothing was changed") && message.contains("root@127.0.0.1"), message);
        }
    }

    /** sudo -n true is asked once per connection, and the commands then go through sudo -n. */
    @Test
    void aSudoWithoutPasswordIsAskedOnceAndThenUsed() throws IOException {
        Path calls = tmp.resolve("calls");
        Path sudo = script("sudo-nopasswd", "[ \"$1\" = -n ] || exit 9\nshift\necho \"$*\" >> '" + calls
            + "'\nexec \"$@\"");
        try (Ssh ssh = connect(sudo.toString())) {
            assertEquals("via sudo\n", ssh.run(ssh.sudo() + "echo via sudo", "echo"));
            assertEquals("again\n", ssh.run(ssh.sudo() + "echo again", "echo"));
        }
        assertEquals(List.of("true", "echo via sudo", "echo again"), Files.readAllLines(calls));
    }

    /**
     * The private folder k3s-join's install uploads into: made private, and one an attempt could not
     * remove (its sudo failed, or its connection dropped) is kept in hand and removed by the next
     * attempt: the retry loop owns the InstallFolder, no field of the step carries it between attempts.
     */
    @Test
    void anInstallFolderAnAttemptCouldNotRemoveIsRemovedByTheNextOne() throws IOException {
        Path refuse = tmp.resolve("refuse-removal");
        // lets the sudo check through, and fails the removal while refuse exists
        Path sudo = script("sudo-refusing-removal", "[ \"$1\" = -n ] || exit 9\nshift\n"
            + "[ \"$1\" = sh ] && [ -e '" + refuse + "' ] && exit 1\nexec \"$@\"");
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

    // ---------------------------------------------------------------- helpers

    /** A join that would install from a local folder (never downloading) if it got that far. */
    private join joinWithAirgap() throws IOException {
        join step = new join();
        step.airgapDir = Files.createDirectories(tmp.resolve("airgap"));
        Files.writeString(step.airgapDir.resolve("install.sh"), "#!/bin/sh\nexit 0\n");
        return step;
    }

    private static Cluster cluster() {
        return new Cluster("wil", "libvirt", null, URL,
            List.of(new Cluster.Node("wilS", "server", "192.168.56.110", Cluster.Access.vagrant("wilS"))), null);
    }

    private static void assertPasswordAdvice(String message) {
        assertTrue(message.startsWith(sshd.user + " on " + sshd.user + "@127.0.0.1:" + sshd.port
            + " cannot use sudo without a password (sudo -n true: sudo: a password is required)"), message);
        assertTrue(message.contains("nothing was changed there"), message);
        assertTrue(message.contains(sshd.user + " ALL=(ALL) NOPASSWD: ALL"), message);
        assertTrue(message.contains("k3s-join --host root@127.0.0.1"), message);
    }

    /** The stand-in for a sudo whose user must type a password (see the class comment). */
    private Path askingSudo() throws IOException {
        return script("sudo-asking", "echo 'sudo: a password is required' >&2\nexit 1");
    }

    private Path script(String name, String body) throws IOException {
        Path script = tmp.resolve(name);
        Files.writeString(script, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    private static Ssh connect(Path sudo) {
        return connect(sudo.toString());
    }

    private static Ssh connect(String sudo) {
        Ssh.Target target = Ssh.Target.ofAddress(sshd.user + "@" + Sshd.HOST, sshd.port, sshd.clientKey, null,
            Ssh.HostKeyCheck.OFF);
        Ssh ssh = Ssh.connect(target, Duration.ZERO, null);
        ssh.sudoProgram = sudo; // the user is treated as not root, whoever runs the tests
        return ssh;
    }

    /** The kinds of session sshd started, in order: "command", "subsystem 'sftp'". */
    private static List<String> sessions() {
        Matcher matcher = Pattern.compile("Starting session: (command|subsystem '[a-z-]+'|shell)").matcher(sshd.log());
        List<String> kinds = new ArrayList<>();
        while (matcher.find()) kinds.add(matcher.group(1));
        return kinds;
    }
}
