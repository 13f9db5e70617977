import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * ssh_config and jump hosts against real OpenSSH: a jump host on 127.0.0.2 (its sshd logs at
 * DEBUG1, where each forwarded connection shows as a direct-tcpip channel naming its target)
 * and a target on 127.0.0.3, reached through aliases of an ssh_config file with Match and Include,
 * resolved by the real `ssh -G` (and by JSch's parser where ssh is missing).
 */
class SshConfigTest {
    @RegisterExtension
    static final Sshd jump = Sshd.perClass("127.0.0.2", "LogLevel DEBUG1");
    @RegisterExtension
    static final Sshd target = Sshd.perClass("127.0.0.3");

    @TempDir Path temp;
    Path knownHosts;
    /** Where the jump host's log stood when the test began: what it logs for this test follows. */
    int logMark;
    final StringWriter logText = new StringWriter();
    final Log log = new Log(new PrintWriter(logText), "test", null);

    @BeforeAll
    static void oneKeyForBoth() throws IOException {
        // one key for both hosts, as one user's key usually is
        Files.writeString(jump.dir.resolve("authorized_keys"), Files.readString(Sshd.pub(target.clientKey)),
            StandardOpenOption.APPEND);
    }

    @BeforeEach
    void files() {
        knownHosts = temp.resolve("known_hosts");
        logMark = jump.log().length();
    }

    /** An alias: HostName and ProxyJump from the main file, User and key from a Match, the jump from an Include. */
    Path config(String extra) throws IOException {
        Path included = Files.writeString(temp.resolve("bastions.conf"), String.join("\n",
            "Host bastion",
            "  HostName " + jump.address,
            "  Port " + jump.port,
            ""));
        return Files.writeString(temp.resolve("ssh config"), String.join("\n",
            "Include " + included,
            "Host edge",
            "  HostName " + target.address,
            "  Port " + target.port,
            "  ProxyJump bastion",
            extra,
            "Match host 127.0.0.2,127.0.0.3",
            "  User " + target.user,
            "  IdentityFile " + target.clientKey,
            "  UserKnownHostsFile " + knownHosts,
            "  StrictHostKeyChecking accept-new",
            ""));
    }

    Ssh connect(Cluster.Access access) {
        Cluster.Node node = new Cluster.Node("edge", "agent", "", access);
        return NodeSsh.connect(null, node, null, null, Duration.ofSeconds(5), log);
    }

    @Test
    void anAliasResolvesThroughMatchAndIncludeAndConnectsThroughItsProxyJump() throws IOException {
        Path config = config("");
        try (Ssh ssh = connect(new Cluster.Access(null, "edge", null, null, null, config.toString()))) {
            assertEquals("ok\n", ssh.run("echo ok", "echo"));
            assertEquals(target.address, ssh.target.host());
            assertEquals(target.port, ssh.target.port());
            assertEquals(target.user, ssh.target.user());
            assertEquals(List.of(target.clientKey), ssh.target.keys());
            assertTrue(ssh.target.label().startsWith("edge ("), ssh.target.label());
        }
        assertThroughJump();
        // both host keys were checked against, and recorded in, the UserKnownHostsFile the Match names
        String known = Files.readString(knownHosts);
        assertTrue(known.contains("[127.0.0.2]:" + jump.port + " "), known);
        assertTrue(known.contains("[127.0.0.3]:" + target.port + " "), known);
    }

    @Test
    void theJumpFlagWinsOverProxyJumpAndChainsAreFollowedHopByHop() throws IOException {
        Path config = config("");
        String hop = target.user + "@127.0.0.2:" + jump.port;
        // a chain: to the jump host, through it to itself, through that to the target
        try (Ssh ssh = connect(new Cluster.Access(null, "edge", null, null, hop + "," + hop, config.toString()))) {
            assertEquals("ok\n", ssh.run("echo ok", "echo"));
        }
        String log = jump.log().substring(logMark);
        assertTrue(log.contains("target 127.0.0.2 port " + jump.port), "second hop through the first:\n" + log);
        assertThroughJump();
    }

    @Test
    void flagsWinOverSshConfig() throws IOException {
        // the file's port is closed and its user unknown: the flags' must be used
        Path config = Files.writeString(temp.resolve("config"), String.join("\n",
            "Host edge",
            "  HostName " + target.address,
            "  Port " + Sshd.freePort(target.address),
            "  User no-such-user-k3sv",
            "  IdentityFile " + target.unauthorizedKey,
            "  ProxyJump nowhere.invalid",
            ""));
        Cluster.Access access = new Cluster.Access(null, target.user + "@edge", target.port,
            target.clientKey.toString(), "none", config.toString());
        SshConfig.Route route = NodeSsh.route(access, Ssh.HostKeyCheck.ACCEPT_NEW, knownHosts);
        assertEquals(List.of(), route.jumps());
        assertEquals(List.of(target.clientKey), route.target().keys());
        try (Ssh ssh = connect(access)) {
            assertEquals(target.user + "\n", ssh.run("id -un", "id"));
        }
    }

    @Test
    void aChangedKeyOfTheJumpHostIsRefusedNamingTheJumpHost() throws IOException {
        Path config = config("");
        Cluster.Access access = new Cluster.Access(null, "edge", null, null, null, config.toString());
        connect(access).close();
        String recorded = Files.readString(knownHosts);
        jump.restartWithNewHostKey();
        Cli.Failure failure = assertThrows(Cli.Failure.class, () -> connect(access).close());
        assertEquals(Cli.SSH_FAILED, failure.exitCode);
        assertTrue(failure.getMessage().contains("CHANGED"), failure.getMessage());
        assertTrue(failure.getMessage().contains("127.0.0.2:" + jump.port + "), the jump host to edge"),
            failure.getMessage());
        assertEquals(recorded, Files.readString(knownHosts));
        // strict: an unknown jump host is refused like an unknown target
        Files.writeString(knownHosts, "");
        Cli.Failure strict = assertThrows(Cli.Failure.class, () -> NodeSsh.connect(null,
            new Cluster.Node("edge", "agent", "", access), Ssh.HostKeyCheck.STRICT, null, Duration.ofSeconds(5), log));
        assertTrue(strict.getMessage().contains("not in known_hosts") && strict.getMessage().contains("jump host"),
            strict.getMessage());
    }

    @Test
    void valuesFromSshConfigAreCheckedLikeFlags() throws IOException {
        for (String bad : List.of("  User $(touch /tmp/k3sv-pwned)", "  User a'b", "  IdentityFile ~/.ssh/%C",
                "  ProxyJump a@b;c", "  StrictHostKeyChecking maybe", "  ProxyCommand nc %h %p")) {
            Path config = Files.writeString(temp.resolve("bad"), "Host bad\n  HostName " + target.address + "\n"
                + bad + "\n");
            Cluster.Access access = new Cluster.Access(null, "bad", null, null, null, config.toString());
            Cli.Failure failure = assertThrows(Cli.Failure.class, () -> NodeSsh.route(access, null, knownHosts), bad);
            assertEquals(Cli.USAGE, failure.exitCode, bad + ": " + failure.getMessage());
            assertTrue(failure.getMessage().contains("bad"), failure.getMessage());
        }
        assertTrue(!Files.exists(Path.of("/tmp/k3sv-pwned")));
    }

    @Test
    void withoutTheOpenSshClientJschsParserServesAndAFileWithMatchIsRefusedNotMisread() throws IOException {
        Path saved = SshConfig.ssh;
        SshConfig.ssh = temp.resolve("no-ssh-here");
        try {
            Path plain = Files.writeString(temp.resolve("plain"), String.join("\n",
                "Host edge",
                "  HostName " + target.address,
                "  Port " + target.port,
                "  User " + target.user,
                "  IdentityFile " + target.clientKey,
                "  ProxyJump " + target.user + "@127.0.0.2:" + jump.port,
                "Host *",
                "  IdentityFile " + target.clientKey,
                "  UserKnownHostsFile " + knownHosts,
                ""));
            SshConfig.Resolved resolved = SshConfig.resolve("edge", null, null, plain);
            assertEquals(target.address, resolved.host());
            assertEquals(target.port, resolved.port());
            assertEquals(target.user, resolved.user());
            assertEquals(List.of(target.clientKey), resolved.keys());
            assertEquals(knownHosts, resolved.knownHosts());
            assertNull(resolved.proxyCommand());
            try (Ssh ssh = connect(new Cluster.Access(null, "edge", null, null, null, plain.toString()))) {
                assertEquals("ok\n", ssh.run("echo ok", "echo"));
            }
            assertThroughJump();

            Path withMatch = config("");
            Cli.Failure failure = assertThrows(Cli.Failure.class,
                () -> SshConfig.resolve("edge", null, null, withMatch));
            assertEquals(Cli.USAGE, failure.exitCode);
            assertTrue(failure.getMessage().contains("uses Include") && failure.getMessage().contains("install"),
                failure.getMessage());
        } finally {
            SshConfig.ssh = saved;
        }
    }

    @Test
    void aServerNamedByAnAliasGetsItsHostNameAsAddressAndTheClusterJsonKeepsHowToReachIt() throws IOException {
        Path config = config("");
        ClusterSource options = new ClusterSource();
        options.serverHost = "edge";
        options.sshConfig = config;
        options.serverSsh.jump = target.user + "@bastion";
        Cluster cluster = options.cluster();
        assertEquals("https://127.0.0.3:6443", cluster.serverUrl());
        Cluster.Access access = Cluster.parse(cluster.toJson(), "test").server().ssh();
        assertEquals(target.user + "@bastion", access.jump());
        assertEquals(config.toAbsolutePath().toString(), access.sshConfig());
        try (Ssh ssh = connect(access)) {
            assertEquals("ok\n", ssh.run("echo ok", "echo"));
        }

        options.serverSsh.jump = "a@b;c";
        Cli.Failure failure = assertThrows(Cli.Failure.class, options::cluster);
        assertEquals(Cli.USAGE, failure.exitCode);
        assertTrue(failure.getMessage().startsWith("--server-jump \"a@b;c\" is not USER@HOST[:PORT]"),
            failure.getMessage());
    }

    @Test
    void joinReachesTheServerByItsAliasThroughTheJumpAndRefusesBadSshFlagsBeforeConnecting() throws IOException {
        Path config = config("");
        // the "server" is no K3s server: reading its kubeconfig (for the API port) fails, after the
        // connection through the jump
        Repo.Run run = Repo.step(new join(), "--server-host", "edge", "--ssh-config", config.toString(),
            "--host", "edge", "--timeout", "1");
        assertEquals(Cli.FAILED, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("(is this a K3s server?) failed on edge (" + target.user
            + "@127.0.0.3:" + target.port + ")"), run.stderr());
        assertThroughJump();

        for (List<String> bad : List.of(List.of("--jump", "a@b;c"),
                List.of("--ssh-config", temp.resolve("none").toString()), List.of("--ssh-port", "70000"))) {
            List<String> args = new ArrayList<>(List.of("--server-host", "root@192.0.2.1", "--host", "edge"));
            args.addAll(bad);
            Repo.Run refused = Repo.step(new join(), args.toArray(String[]::new));
            assertEquals(Cli.USAGE, refused.exit(), bad + ": " + refused.stderr());
            assertTrue(refused.stderr().contains(bad.get(0)), refused.stderr());
        }
    }

    /** The jump's own log: a direct-tcpip channel to the target, which only a connection through it opens. */
    void assertThroughJump() {
        String log = jump.log().substring(logMark);
        assertTrue(log.contains("server_request_direct_tcpip") && log.contains("target 127.0.0.3 port " + target.port),
            "the jump host's sshd forwarded no connection to the target:\n" + log);
    }
}
