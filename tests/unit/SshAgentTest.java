import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keys in a real ssh-agent (`ssh-agent -D -a SOCKET`) against a real sshd on 127.0.0.1 (see
 * Sshd). The agent holds a key with a passphrase, added by ssh-add with the passphrase from a
 * mode-600 file through SSH_ASKPASS (SSH_ASKPASS_REQUIRE=force: no terminal needed). HOME is a
 * temp folder for each test, so that the keys of whoever runs the tests play no part.
 */
class SshAgentTest {
    static final String PASSPHRASE = "k3sv test passphrase";

    @RegisterExtension
    static final Sshd sshd = Sshd.perClass();
    static Path dir;
    /** A key with a passphrase, authorized on sshd and held by the agent. */
    static Path lockedKey;
    /** A key with a passphrase, authorized on sshd, that the agent does not hold. */
    static Path otherLockedKey;
    static Path agentSocket;
    static Process agent;

    @TempDir Path tmp;
    String savedHome;
    String savedSocket;

    @BeforeAll
    static void startAgent() throws IOException {
        dir = Files.createTempDirectory("k3sv-agent-");
        lockedKey = dir.resolve("locked_ed25519");
        otherLockedKey = dir.resolve("other_locked_ed25519");
        Path passphrase = dir.resolve("passphrase");
        Files.writeString(passphrase, PASSPHRASE + "\n");
        Files.setPosixFilePermissions(passphrase, PosixFilePermissions.fromString("rw-------"));
        for (Path key : List.of(lockedKey, otherLockedKey)) {
            run(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", PASSPHRASE, "-C", "k3sv-locked", "-f",
                key.toString()), Map.of());
            Files.writeString(sshd.dir.resolve("authorized_keys"), Files.readString(Sshd.pub(key)),
                StandardOpenOption.APPEND);
        }
        agentSocket = dir.resolve("agent.sock");
        agent = new ProcessBuilder("ssh-agent", "-D", "-a", agentSocket.toString())
            .redirectErrorStream(true).redirectOutput(dir.resolve("agent.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(agentSocket)) {
            if (!agent.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("ssh-agent did not make " + agentSocket + ": "
                    + Files.readString(dir.resolve("agent.log")));
            }
            Sshd.sleep(20);
        }
        Path askpass = dir.resolve("askpass");
        Files.writeString(askpass, "#!/bin/sh\nexec cat " + passphrase + "\n");
        Files.setPosixFilePermissions(askpass, PosixFilePermissions.fromString("rwx------"));
        run(List.of("ssh-add", lockedKey.toString()), Map.of("SSH_AUTH_SOCK", agentSocket.toString(),
            "SSH_ASKPASS", askpass.toString(), "SSH_ASKPASS_REQUIRE", "force", "DISPLAY", ":0"));
        assertEquals(1, agentKeyCount(), "the agent holds the one key added");
    }

    @AfterAll
    static void stopAgent() {
        if (agent != null) {
            agent.destroy();
            try {
                agent.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Repo.deleteTree(dir);
    }

    @BeforeEach
    void emptyHome() {
        savedHome = System.getProperty("user.home");
        savedSocket = SshAgent.socket;
        System.setProperty("user.home", tmp.toString());
    }

    @AfterEach
    void restore() {
        System.setProperty("user.home", savedHome);
        SshAgent.socket = savedSocket;
    }

    @Test
    void withNoKeyNamedTheAgentsKeysLogIn() {
        SshAgent.socket = agentSocket.toString();
        try (Ssh ssh = connect(null)) {
            assertEquals("ok\n", ssh.run("echo ok", "echo"));
        }
        assertTrue(sshd.log().contains("Accepted publickey for " + sshd.user), sshd.log());
    }

    @Test
    void aNamedKeyWithAPassphraseIsUsedThroughTheAgentThatHoldsIt() {
        SshAgent.socket = agentSocket.toString();
        try (Ssh ssh = connect(lockedKey)) {
            assertEquals("ok\n", ssh.run("echo ok", "echo"));
        }
    }

    @Test
    void aDefaultKeyWithAPassphraseIsUsedThroughTheAgentToo() throws IOException {
        copyAsDefaultKey(lockedKey);
        SshAgent.socket = agentSocket.toString();
        try (Ssh ssh = connect(null)) {
            assertEquals("ok\n", ssh.run("echo ok", "echo"));
        }
    }

    @Test
    void aKeyWithAPassphraseAndNoAgentIsRefusedSayingHowToAddItToOne() {
        SshAgent.socket = null;
        Cli.Failure failure = assertThrows(Cli.Failure.class, () -> connect(lockedKey).close());
        assertEquals(Cli.SSH_FAILED, failure.exitCode);
        String message = failure.getMessage();
        assertTrue(message.contains(lockedKey + " has a passphrase, which k3s-vagrant never asks for"), message);
        assertTrue(message.contains("no ssh-agent runs (SSH_AUTH_SOCK is not set)"), message);
        assertTrue(message.contains("eval \"$(ssh-agent)\" && ssh-add '" + lockedKey + "'"), message);
        assertFalse(message.contains(PASSPHRASE), message);
    }

    @Test
    void aKeyWithAPassphraseTheAgentDoesNotHoldIsRefusedNamingSshAdd() {
        SshAgent.socket = agentSocket.toString();
        Cli.Failure failure = assertThrows(Cli.Failure.class, () -> connect(otherLockedKey).close());
        assertEquals(Cli.SSH_FAILED, failure.exitCode);
        assertTrue(failure.getMessage().contains("the ssh-agent at SSH_AUTH_SOCK does not hold it: add it with ssh-add "
            + "'"
            + otherLockedKey + "'"), failure.getMessage());

        SshAgent.socket = tmp.resolve("no-agent.sock").toString();
        Cli.Failure gone = assertThrows(Cli.Failure.class, () -> connect(otherLockedKey).close());
        assertTrue(gone.getMessage().contains("no ssh-agent answers at SSH_AUTH_SOCK (" + SshAgent.socket + ")"),
            gone.getMessage());
    }

    @Test
    void aDefaultKeyWithAPassphraseAndNoAgentIsRefusedAsWell() throws IOException {
        Path key = copyAsDefaultKey(otherLockedKey);
        SshAgent.socket = null;
        Cli.Failure failure = assertThrows(Cli.Failure.class, () -> connect(null).close());
        assertEquals(Cli.SSH_FAILED, failure.exitCode);
        assertTrue(failure.getMessage().contains(key + " has a passphrase"), failure.getMessage());
        assertTrue(failure.getMessage().contains("ssh-add '" + key + "'"), failure.getMessage());
    }

    /** Another default key is tried (and refused by the host): the failure still names the one skipped. */
    @Test
    void anAuthenticationFailureNamesTheDefaultKeyNotOfferedForItsPassphrase() throws IOException {
        Path locked = copyAsDefaultKey(otherLockedKey);
        Path ssh = tmp.resolve(".ssh");
        Files.copy(sshd.unauthorizedKey, ssh.resolve("id_rsa"));
        SshAgent.socket = null;
        Cli.Failure failure = assertThrows(Cli.Failure.class, () -> connect(null).close());
        assertEquals(Cli.SSH_FAILED, failure.exitCode);
        String message = failure.getMessage();
        assertTrue(message.contains("SSH authentication failed"), message);
        assertTrue(message.contains("not offered: " + locked + " has a passphrase"), message);
    }

    /** JSch copies key files into an agent it was given: ours must never see the user's key files. */
    @Test
    void keyFilesAreNeverAddedToTheAgent() {
        SshAgent.socket = agentSocket.toString();
        try (Ssh ssh = connect(sshd.clientKey)) {
            assertEquals("ok\n", ssh.run("echo ok", "echo"));
        }
        try (Ssh ssh = connect(null)) {
            assertEquals("ok\n", ssh.run("echo ok", "echo"));
        }
        assertEquals(1, agentKeyCount());
    }

    /**
     * OpenSSH's default keys are one list: the keys offered with no key named and those ssh_config gives
     * without the ssh client are the same files in the same order, and that order is ssh -G's.
     */
    @Test
    void theDefaultKeysAreOneListInSshsOrder() throws IOException {
        Path ssh = Files.createDirectories(tmp.resolve(".ssh"));
        for (String name : List.of("id_ed25519", "id_ecdsa", "id_rsa")) Files.copy(sshd.clientKey, ssh.resolve(name));
        Path config = Files.writeString(tmp.resolve("config"), "Host edge\n  HostName 127.0.0.1\n");
        Path saved = SshConfig.ssh;
        SshConfig.ssh = tmp.resolve("no-ssh-here");
        try {
            assertEquals(SshAgent.defaultKeys(), SshConfig.resolve("edge", null, null, config).keys());
        } finally {
            SshConfig.ssh = saved;
        }
        Repo.Run sshG = Repo.exec(List.of("ssh", "-G", "-F", config.toString(), "edge"), tmp, Map.of(), null, 30);
        assertEquals(0, sshG.exit(), sshG.stderr());
        List<String> listed = sshG.stdout().lines().filter(line -> line.startsWith("identityfile "))
            .map(line -> Path.of(line.substring("identityfile ".length())).getFileName().toString()).toList();
        assertFalse(listed.isEmpty(), sshG.stdout());
        assertEquals(listed, SshAgent.DEFAULT_KEY_NAMES.stream().filter(listed::contains).toList());
        assertTrue(SshAgent.DEFAULT_KEY_NAMES.containsAll(listed), listed.toString());
    }

    // ---------------------------------------------------------------- helpers

    private Path copyAsDefaultKey(Path key) throws IOException {
        Path ssh = Files.createDirectories(tmp.resolve(".ssh"));
        Path copy = ssh.resolve("id_ed25519");
        Files.copy(key, copy);
        Files.copy(Sshd.pub(key), Sshd.pub(copy));
        return copy;
    }

    private static Ssh connect(Path key) {
        Ssh.Target target = Ssh.Target.ofAddress(sshd.user + "@" + Sshd.HOST, sshd.port, key, null,
            Ssh.HostKeyCheck.OFF);
        return Ssh.connect(target, Duration.ZERO, null);
    }

    private static int agentKeyCount() {
        Repo.Run list = Repo.exec(List.of("ssh-add", "-l"), dir, Map.of("SSH_AUTH_SOCK", agentSocket.toString()), null,
            30);
        assertEquals(0, list.exit(), list.stdout() + list.stderr());
        return (int) list.stdout().lines().count();
    }

    private static void run(List<String> command, Map<String, String> env) {
        Repo.Run run = Repo.exec(command, dir, env, null, 30);
        if (run.exit() != 0) throw new AssertionError(String.join(" ", command) + " failed: " + run.stdout()
            + run.stderr());
    }
}
