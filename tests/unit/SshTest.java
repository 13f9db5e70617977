import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Ssh against a real OpenSSH server on 127.0.0.1 (see Sshd): commands, uploads, host keys, failures. */
class SshTest {
    @RegisterExtension
    static final Sshd sshd = Sshd.perClass();

    @TempDir Path temp;
    final StringWriter logText = new StringWriter();
    final Log log = new Log(new PrintWriter(logText), "test", null);

    // ---- commands and files ------------------------------------------------------------

    @Test
    void execKeepsExitStatusStdoutAndStderrApart() {
        try (Ssh ssh = connect(Ssh.HostKeyCheck.ACCEPT_NEW)) {
            Ssh.Result result = ssh.exec("sh -c 'echo out; echo err >&2; exit 3'", null, Duration.ofSeconds(20));
            assertEquals(3, result.exitStatus());
            assertEquals("out\n", result.stdout());
            assertEquals("err\n", result.stderr());
            assertFalse(result.ok());
        }
    }

    @Test
    void execHandsStdinToTheCommandAndEndsIt() {
        // cat only ends when stdin is closed: a missing EOF would show as a timeout here
        byte[] input = "line one\nline two: ümlaut\n".getBytes(StandardCharsets.UTF_8);
        try (Ssh ssh = connect(Ssh.HostKeyCheck.ACCEPT_NEW)) {
            Ssh.Result result = ssh.exec("cat", input, Duration.ofSeconds(20));
            assertEquals(0, result.exitStatus(), result.stderr());
            assertEquals("line one\nline two: ümlaut\n", result.stdout());
        }
    }

    @Test
    void execPassesEveryOutputLineToTheConsumer() {
        List<String> lines = new CopyOnWriteArrayList<>();
        try (Ssh ssh = connect(Ssh.HostKeyCheck.ACCEPT_NEW)) {
            ssh.exec("printf 'a\\nb\\nlast-without-newline'", null, Duration.ofSeconds(20), lines::add);
        }
        assertEquals(List.of("a", "b", "last-without-newline"), lines);
    }

    @Test
    void execStopsWaitingAfterItsTimeout() {
        try (Ssh ssh = connect(Ssh.HostKeyCheck.ACCEPT_NEW)) {
            long started = System.nanoTime();
            Cli.Failure failure = assertThrows(Cli.Failure.class,
                () -> ssh.exec("sleep 30", null, Duration.ofSeconds(1)));
            assertEquals(Cli.TIMED_OUT, failure.exitCode);
            assertTrue(failure.getMessage().contains("'sleep ...'"), failure.getMessage());
            assertTrue(seconds(started) < 10, "took " + seconds(started) + " s");
        }
    }

    @Test
    void runReturnsStdoutOfASucceedingCommand() {
        try (Ssh ssh = connect(Ssh.HostKeyCheck.ACCEPT_NEW)) {
            assertEquals(sshd.user + "\n", ssh.run("id -un", "asking the user name"));
        }
    }

    @Test
    void runThrowsFailedWithTheExitCodeAndStderrOfAFailingCommand() {
        try (Ssh ssh = connect(Ssh.HostKeyCheck.ACCEPT_NEW)) {
            Cli.Failure failure = assertThrows(Cli.Failure.class,
                () -> ssh.run("sh -c 'echo ignored; echo no such thing >&2; exit 2'", "reading the thing"));
            assertEquals(Cli.FAILED, failure.exitCode);
            assertTrue(failure.getMessage().startsWith("reading the thing failed on " + sshd.user + "@127.0.0.1:"
                + sshd.port + " (exit 2)"),
                failure.getMessage());
            assertTrue(failure.getMessage().endsWith("no such thing"), failure.getMessage());
        }
    }

    @Test
    void uploadWritesTheExactBytesWithTheAskedMode() throws IOException {
        byte[] content = new byte[70_000]; // more than one SFTP packet, every byte value
        for (int i = 0; i < content.length; i++) content[i] = (byte) (i * 31 + 7);
        Path remote = temp.resolve("uploaded token");
        try (Ssh ssh = connect(Ssh.HostKeyCheck.ACCEPT_NEW)) {
            ssh.upload(content, remote.toString(), "600");
            assertEquals("600\n", ssh.run("stat -c %a '" + remote + "'", "stat"));
            assertTrue(Arrays.equals(content, Files.readAllBytes(remote)), "the uploaded bytes differ");

            // an existing, more open file is rewritten and narrowed, not appended to
            Files.writeString(remote, "an older and much longer content that must disappear entirely");
            Files.setPosixFilePermissions(remote, PosixFilePermissions.fromString("rw-r--r--"));
            ssh.upload("short".getBytes(StandardCharsets.UTF_8), remote.toString(), "640");
            assertEquals("640\n", ssh.run("stat -c %a '" + remote + "'", "stat"));
            assertEquals("short", Files.readString(remote));
        }
    }

    @Test
    void uploadToAMissingFolderIsAnSshFailureNamingThePath() {
        String remote = temp.resolve("no-such-folder/file").toString();
        try (Ssh ssh = connect(Ssh.HostKeyCheck.ACCEPT_NEW)) {
            Cli.Failure failure = assertThrows(Cli.Failure.class, () -> ssh.upload(new byte[] {1}, remote, "600"));
            assertEquals(Cli.SSH_FAILED, failure.exitCode);
            assertTrue(failure.getMessage().contains("cannot write " + remote), failure.getMessage());
        }
    }

    // ---- host keys ---------------------------------------------------------------------

    @Test
    void acceptNewRecordsTheHostKeyInAPrivateFileAndTheNextConnectionUsesIt() throws IOException {
        Path knownHosts = temp.resolve("ssh-dir/known_hosts"); // neither folder nor file exist yet
        try (Ssh ssh = connect(sshd.clientKey, knownHosts, Ssh.HostKeyCheck.ACCEPT_NEW)) {
            assertEquals("ok\n", ssh.run("echo ok", "echo"));
        }
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(knownHosts)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(knownHosts.getParent())));
        String[] hostKey = sshd.hostKeyLine().split(" ");
        // OpenSSH's own format for a non-22 port, so `ssh -p PORT` and ssh-keygen -R understand it
        assertEquals("[127.0.0.1]:" + sshd.port + " " + hostKey[0] + " " + hostKey[1],
            Files.readString(knownHosts).strip());

        // strict now passes: the recorded key is the one the server shows
        try (Ssh ssh = connect(sshd.clientKey, knownHosts, Ssh.HostKeyCheck.STRICT)) {
            assertEquals("ok\n", ssh.run("echo ok", "echo"));
        }
        assertEquals(1, Files.readAllLines(knownHosts).size(), "a known host must be recorded once");
    }

    @Test
    void aNewHostKeyIsAppendedAsOneLineAndTheRestOfKnownHostsIsKeptByteForByte() throws IOException {
        // what the user's file holds, in forms a rewrite would not give back as they were
        String[] other = Files.readString(Sshd.pub(sshd.clientKey)).strip().split(" ");
        String before = "# my hosts\n\nexample.org   " + other[0] + " " + other[1] + "   me@laptop\n"
            + "@revoked * " + other[0] + " " + other[1];
        Path knownHosts = temp.resolve("known_hosts");
        Files.writeString(knownHosts, before);
        connect(sshd.clientKey, knownHosts, Ssh.HostKeyCheck.ACCEPT_NEW).close();
        String[] hostKey = sshd.hostKeyLine().split(" ");
        assertEquals(before + "\n[127.0.0.1]:" + sshd.port + " " + hostKey[0] + " " + hostKey[1] + "\n",
            Files.readString(knownHosts));
    }

    @Test
    void hostsRecordedAtTheSameMomentAreAllKept() throws Exception {
        // several steps (a pipeline's k3s-join and k3s-kubeconfig) meeting new hosts at once
        List<Sshd> others = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) others.add(Sshd.start());
            List<Sshd> all = new ArrayList<>(others);
            all.add(sshd);
            Path knownHosts = temp.resolve("known_hosts");
            Files.writeString(knownHosts, "");
            KubeconfigLockTest.runAtOnce(all, server -> {
                Ssh.Target target = Ssh.Target.ofAddress(server.user + "@127.0.0.1", server.port,
                    server.clientKey, knownHosts, Ssh.HostKeyCheck.ACCEPT_NEW);
                Ssh.connect(target, Duration.ofSeconds(5), log).close();
            });
            List<String> lines = Files.readAllLines(knownHosts);
            for (Sshd server : all) {
                String line = "[127.0.0.1]:" + server.port + " " + String.join(" ",
                    Arrays.copyOf(server.hostKeyLine().split(" "), 2));
                assertTrue(lines.contains(line), "lost " + line + "; known_hosts holds:\n" + String.join("\n", lines));
            }
            assertEquals(all.size(), lines.size(), String.join("\n", lines));
        } finally {
            others.forEach(Sshd::close);
        }
    }

    @Test
    void strictRefusesAnUnknownHostAndRecordsNothing() throws IOException {
        Path knownHosts = temp.resolve("known_hosts");
        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> connect(sshd.clientKey, knownHosts, Ssh.HostKeyCheck.STRICT).close());
        assertEquals(Cli.SSH_FAILED, failure.exitCode);
        assertTrue(failure.getMessage().contains("not in known_hosts"), failure.getMessage());
        assertTrue(failure.getMessage().contains("accept-new"), failure.getMessage());
        assertEquals("", Files.readString(knownHosts));
    }

    @Test
    void aChangedHostKeyIsRefusedUnlessCheckingIsOffAndTheAdvisedFixWorks() throws IOException {
        Path knownHosts = temp.resolve("known_hosts");
        connect(sshd.clientKey, knownHosts, Ssh.HostKeyCheck.ACCEPT_NEW).close();
        String recorded = Files.readString(knownHosts);

        sshd.restartWithNewHostKey();

        for (Ssh.HostKeyCheck check : List.of(Ssh.HostKeyCheck.ACCEPT_NEW, Ssh.HostKeyCheck.STRICT)) {
            Cli.Failure failure = assertThrows(Cli.Failure.class,
                () -> connect(sshd.clientKey, knownHosts, check).close(), check.name());
            assertEquals(Cli.SSH_FAILED, failure.exitCode, check.name());
            assertTrue(failure.getMessage().contains("CHANGED"), failure.getMessage());
            assertTrue(failure.getMessage().contains("ssh-keygen -R"), failure.getMessage());
            assertEquals(recorded, Files.readString(knownHosts), check + " must not replace the recorded key");
        }

        try (Ssh ssh = connect(sshd.clientKey, knownHosts, Ssh.HostKeyCheck.OFF)) {
            assertEquals("ok\n", ssh.run("echo ok", "echo"));
        }

        // the message's own advice, run as printed, must remove the old key so accept-new records the new one
        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> connect(sshd.clientKey, knownHosts, Ssh.HostKeyCheck.ACCEPT_NEW).close());
        Matcher advice = Pattern.compile("ssh-keygen -R [^)]*").matcher(failure.getMessage());
        assertTrue(advice.find(), failure.getMessage());
        // checked before running it, so a wrong advice can never edit the user's real ~/.ssh/known_hosts
        assertTrue(advice.group().contains("-f '" + knownHosts + "'"), "the advice must name the known_hosts in use: "
            + advice.group());
        Repo.Run fix = Repo.exec(List.of("sh", "-c", advice.group()), temp, Map.of(), null, 30);
        assertEquals(0, fix.exit(), advice.group() + ": " + fix.stderr());
        try (Ssh ssh = connect(sshd.clientKey, knownHosts, Ssh.HostKeyCheck.ACCEPT_NEW)) {
            assertEquals("ok\n", ssh.run("echo ok", "echo"));
        }
        assertTrue(Files.readString(knownHosts).contains(sshd.hostKeyLine().split(" ")[1]),
            "after the advised ssh-keygen -R, accept-new records the new key:\n" + Files.readString(knownHosts));
    }

    // ---- connection failures -----------------------------------------------------------

    @Test
    void aKeyTheServerDoesNotKnowFailsAuthentication() {
        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> connect(sshd.unauthorizedKey, temp.resolve("known_hosts"), Ssh.HostKeyCheck.ACCEPT_NEW).close());
        assertEquals(Cli.SSH_FAILED, failure.exitCode);
        assertTrue(failure.getMessage().contains("authentication failed"), failure.getMessage());
        assertTrue(failure.getMessage().contains(sshd.unauthorizedKey.toString()), "names the key: "
            + failure.getMessage());
    }

    @Test
    void anUnknownUserFailsAuthentication() {
        Ssh.Target target = Ssh.Target.ofAddress("no-such-user-k3sv@127.0.0.1", sshd.port, sshd.clientKey,
            temp.resolve("known_hosts"), Ssh.HostKeyCheck.ACCEPT_NEW);
        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> Ssh.connect(target, Duration.ofSeconds(5), log).close());
        assertEquals(Cli.SSH_FAILED, failure.exitCode);
        assertTrue(failure.getMessage().contains("authentication failed for no-such-user-k3sv@127.0.0.1"),
            failure.getMessage());
    }

    @Test
    void aClosedPortIsRetriedThenFailsWithinTheRetryTime() {
        int closedPort = Sshd.freePort();
        Ssh.Target target = Ssh.Target.ofAddress(sshd.user + "@127.0.0.1", closedPort, sshd.clientKey,
            temp.resolve("known_hosts"), Ssh.HostKeyCheck.ACCEPT_NEW);
        long started = System.nanoTime();
        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> Ssh.connect(target, Duration.ofSeconds(2), log).close());
        double took = seconds(started);
        assertEquals(Cli.SSH_FAILED, failure.exitCode);
        assertTrue(failure.getMessage().contains("cannot reach " + sshd.user + "@127.0.0.1:" + closedPort),
            failure.getMessage());
        assertTrue(took < 5, "retrying for 2 s took " + took + " s");
        assertTrue(logText.toString().contains("not reachable yet"), "a refused connection is retried: " + logText);
    }

    @Test
    void anRsaKeyAuthenticatesToo() {
        try (Ssh ssh = connect(sshd.rsaClientKey, temp.resolve("known_hosts"), Ssh.HostKeyCheck.ACCEPT_NEW)) {
            assertEquals("ok\n", ssh.run("echo ok", "echo"));
        }
    }

    // ---- vagrant ssh-config ------------------------------------------------------------

    /** `vagrant ssh-config` as Vagrant 2.4 prints it, with CRLF line ends as on Windows hosts. */
    static String vagrantSshConfig(String host, int port, String user, Path... keys) {
        StringBuilder text = new StringBuilder("Host wilS\r\n  HostName " + host + "\r\n  User " + user + "\r\n  Port "
            + port + "\r\n"
            + "  UserKnownHostsFile /dev/null\r\n  StrictHostKeyChecking no\r\n  PasswordAuthentication no\r\n");
        for (Path key : keys) {
            String path = key.toString();
            text.append("  IdentityFile ").append(path.contains(" ") ? "\"" + path + "\"" : path).append("\r\n");
        }
        return text.append("  IdentitiesOnly yes\r\n  LogLevel FATAL\r\n  PubkeyAcceptedKeyTypes +ssh-rsa\r\n  "
            + "HostKeyAlgorithms +ssh-rsa\r\n\r\n")
            .toString();
    }

    @Test
    void vagrantSshConfigGivesHostPortUserAndEveryKeyWithoutQuotes() {
        Path spaced = Path.of("/home/a user/.vagrant.d/insecure_private_keys/vagrant.key.ed25519");
        Path plain = Path.of("/home/a/proj/.vagrant/machines/wilS/virtualbox/private_key");
        Ssh.Target target = Ssh.Target.ofVagrantSshConfig("wilS",
            vagrantSshConfig("127.0.0.1", 2200, "vagrant", spaced, plain));
        assertEquals("127.0.0.1", target.host());
        assertEquals(2200, target.port());
        assertEquals("vagrant", target.user());
        assertEquals(List.of(spaced, plain), target.keys());
        assertEquals(Ssh.HostKeyCheck.OFF, target.hostKeyCheck());
        assertNull(target.knownHosts());
        assertEquals("wilS (vagrant)", target.label());
    }

    @Test
    void vagrantSshConfigWithoutHostNameIsAFailureSayingTheMachineMayBeDown() {
        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> Ssh.Target.ofVagrantSshConfig("wilS", "Host wilS\n  User vagrant\n"));
        assertEquals(Cli.FAILED, failure.exitCode);
        assertTrue(failure.getMessage().contains("is the machine running?"), failure.getMessage());
    }

    @Test
    void aTargetFromVagrantSshConfigConnectsWithTheKeyInAQuotedPathAfterAWrongOne() throws IOException {
        Path spacedDir = Files.createDirectories(temp.resolve("vagrant home/machines"));
        Path key = spacedDir.resolve("private_key");
        Files.copy(sshd.clientKey, key);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        // Vagrant lists several keys; the first one is not authorized here, the second is
        String config = vagrantSshConfig("127.0.0.1", sshd.port, sshd.user, sshd.unauthorizedKey, key);
        try (Ssh ssh = Ssh.connect(Ssh.Target.ofVagrantSshConfig("wilS", config), Duration.ofSeconds(5), log)) {
            assertEquals(sshd.user + "\n", ssh.run("id -un", "id"));
        }
    }

    // ---- helpers -----------------------------------------------------------------------

    Ssh connect(Ssh.HostKeyCheck check) {
        return connect(sshd.clientKey, temp.resolve("known_hosts"), check);
    }

    Ssh connect(Path key, Path knownHosts, Ssh.HostKeyCheck check) {
        Ssh.Target target = Ssh.Target.ofAddress(sshd.user + "@127.0.0.1", sshd.port, key, knownHosts, check);
        return Ssh.connect(target, Duration.ofSeconds(5), log);
    }

    static double seconds(long startedNanos) {
        return (System.nanoTime() - startedNanos) / 1e9;
    }
}
