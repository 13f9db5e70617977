import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whether k3s-join takes a host as already joined: by the cluster's identity, the CA hash
 * its token names, not by the server URL that every default cluster shares. The host is a
 * real OpenSSH server on 127.0.0.1 (see Sshd); its agent's files are written by the K3s
 * stand-in's installer (which honours K3s's installer contract) under a private root, and a
 * systemctl stand-in says whether the agent runs.
 */
class JoinedHostTest {
    @RegisterExtension
    static final Sshd sshd = Sshd.perClass();

    @TempDir Path tmp;

    static final String URL = "https://192.168.56.110:6443";
    static final byte[] THIS_CA_PEM = "-----BEGIN CERTIFICATE-----\nthis cluster\n-----END CERTIFICATE-----\n"
        .getBytes(StandardCharsets.UTF_8);
    static final String THIS_CA = sha256(THIS_CA_PEM);
    static final String OTHER_CA = sha256("an earlier cluster".getBytes(StandardCharsets.UTF_8));

    /** The issue's case: k3s-down --keep-hosts, then a new cluster at the same default URL. */
    @Test
    void aHostLeftFromAnEarlierClusterAtTheSameUrlIsRefusedSayingWhatToRun() throws IOException {
        Path root = agentInstalled(URL, "K10" + OTHER_CA + "::server:earlier-secret");
        join step = joinWith(root, running());
        try (Ssh ssh = connect()) {
            Cli.Failure refused = assertThrows(Cli.Failure.class, () -> step.plan(ssh, "edge1", URL, THIS_CA));
            assertEquals(Cli.REFUSED, refused.exitCode);
            String message = refused.getMessage();
            assertTrue(message.contains("edge1 is a K3s agent of another cluster"), message);
            assertTrue(message.contains(OTHER_CA.substring(0, 12)) && message.contains(THIS_CA.substring(0, 12)),
                message);
            assertTrue(message.contains("k3s-down --keep-hosts"), message);
            assertTrue(message.contains("--replace") && message.contains("k3s-agent-uninstall.sh"), message);
            assertFalse(message.contains("earlier-secret"), "no secret in the message: " + message);
            step.replace = true;
            assertEquals(AgentOnHost.Action.REPLACE, step.plan(ssh, "edge1", URL, THIS_CA));
        }
    }

    @Test
    void aRunningAgentOfThisClusterNeedsNothingAndAStoppedOneIsInstalledAgain() throws IOException {
        Path root = agentInstalled(URL, "K10" + THIS_CA + "::server:this-secret");
        try (Ssh ssh = connect()) {
            assertEquals(AgentOnHost.Action.NOTHING, joinWith(root, running()).plan(ssh, "edge1", URL, THIS_CA));
            assertEquals(AgentOnHost.Action.INSTALL, joinWith(root, "false").plan(ssh, "edge1", URL, THIS_CA));
            // another server of the same (HA) cluster: the same CA, so the same cluster
            assertEquals(AgentOnHost.Action.NOTHING,
                joinWith(root, running()).plan(ssh, "edge1", "https://192.168.56.109:6443", THIS_CA));
        }
    }

    /** The Vagrantfile's agents hold a short token: the CA their agent fetched tells, else the URL. */
    @Test
    void anAgentWhoseTokenNamesNoCaIsJudgedByTheCaItsAgentFetched() throws IOException {
        Path root = agentInstalled(URL, "short-secret");
        try (Ssh ssh = connect()) {
            join step = joinWith(root, running());
            assertEquals(AgentOnHost.Action.NOTHING, step.plan(ssh, "edge1", URL, THIS_CA), "no CA fetched yet: the "
                + "URL tells");
            String other = assertThrows(Cli.Failure.class,
                () -> step.plan(ssh, "edge1", "https://10.0.0.9:6443", THIS_CA))
                .getMessage();
            assertTrue(other.contains("(server " + URL
                + "; its token names no CA, and its server is not this cluster's)"),
                other);
            Path ca = Files.createDirectories(root.resolve("var/lib/rancher/k3s/agent")).resolve("server-ca.crt");
            Files.write(ca, THIS_CA_PEM);
            assertEquals(AgentOnHost.Action.NOTHING, step.plan(ssh, "edge1", URL, THIS_CA));
            Files.writeString(ca, "another CA");
            assertEquals(Cli.REFUSED,
                assertThrows(Cli.Failure.class, () -> step.plan(ssh, "edge1", URL, THIS_CA)).exitCode);
        }
    }

    /** A custom or rotated CA: /cacerts (the agent's server-ca.crt) is a bundle, known by its root's DER hash. */
    @Test
    void anAgentOfACustomCaClusterIsKnownByTheRootOfTheBundleItFetched() throws Exception {
        ProvisionTest.requireTool("openssl", "apt-get install openssl");
        Path root = agentInstalled(URL, "short-secret");
        Path agentDir = Files.createDirectories(root.resolve("var/lib/rancher/k3s/agent"));
        String rootHash = JoinTokenTest.customCa(Files.createDirectories(tmp.resolve("tls")));
        Files.copy(tmp.resolve("tls/server-ca.crt"), agentDir.resolve("server-ca.crt"));
        try (Ssh ssh = connect()) {
            join step = joinWith(root, running());
            assertEquals(AgentOnHost.Action.NOTHING, step.plan(ssh, "edge1", "https://10.0.0.9:6443", rootHash),
                "the CA it fetched is this cluster's, whatever the URL");
        }
    }

    /**
     * An openrc host (Alpine, Gentoo, Devuan): K3s's installer writes /etc/init.d/k3s-agent and
     * /etc/rancher/k3s/k3s-agent.env there, and rc-service, not systemctl, says whether it runs.
     */
    @Test
    void anOpenrcHostsAgentIsFoundInItsEnvFileAndAskedThroughRcService() throws IOException {
        Path root = Files.createTempDirectory(tmp, "openrc");
        Path openrcRun = Files.createDirectories(root.resolve("sbin")).resolve("openrc-run");
        Files.writeString(openrcRun, "#!/bin/sh\n");
        Files.setPosixFilePermissions(openrcRun, PosixFilePermissions.fromString("rwxr-xr-x"));
        String token = "K10" + THIS_CA + "::node:this-secret";
        agentInstalled(root, URL, token);
        assertTrue(Files.isRegularFile(root.resolve("etc/init.d/k3s-agent")), "K3s's openrc service file");
        assertTrue(Files.isRegularFile(root.resolve("etc/rancher/k3s/k3s-agent.env")), "K3s's openrc env file");
        assertFalse(Files.exists(root.resolve("etc/systemd/system/k3s-agent.service.env")), "no systemd file");
        try (Ssh ssh = connect()) {
            join step = joinWith(root, "false"); // systemctl would say "not running": openrc is asked
            step.rcService = running();
            assertEquals(AgentOnHost.Action.NOTHING, step.plan(ssh, "edge1", URL, THIS_CA));
            assertTrue(AgentOnHost.holdsToken(ssh, root.toString(), token.getBytes(StandardCharsets.UTF_8)));
            step.rcService = "false";
            step.systemctl = running();
            assertEquals(AgentOnHost.Action.INSTALL, step.plan(ssh, "edge1", URL, THIS_CA), "stopped under openrc");
        }
    }

    @Test
    void aHostWithoutAnAgentIsInstalled() throws IOException {
        try (Ssh ssh = connect()) {
            assertEquals(AgentOnHost.Action.INSTALL,
                joinWith(tmp.resolve("bare"), running()).plan(ssh, "edge1", URL, THIS_CA));
        }
    }

    @Test
    void theClustersCaHashIsTheOneItsFullTokenNames() {
        byte[] token = ("K10" + THIS_CA + "::server:s3cret").getBytes(StandardCharsets.UTF_8);
        assertEquals(THIS_CA, K3sServer.caHash(token));
        assertEquals(null, K3sServer.caHash("s3cret".getBytes(StandardCharsets.UTF_8)));
        assertEquals(null, K3sServer.caHash("K10abc::server:s3cret".getBytes(StandardCharsets.UTF_8)));
    }

    // ---------------------------------------------------------------- helpers

    private join joinWith(Path root, String systemctl) {
        join step = new join();
        step.hostRoot = root.toString();
        step.systemctl = systemctl;
        return step;
    }

    /** A systemctl stand-in for which every unit is active. */
    private String running() throws IOException {
        Path script = tmp.resolve("systemctl-running");
        Files.writeString(script, "#!/bin/sh\nexit 0\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script.toString();
    }

    /** An agent installed by the K3s stand-in's installer under a private root, as K3s's installer writes it. */
    private Path agentInstalled(String url, String token) throws IOException {
        Path root = agentInstalled(Files.createTempDirectory(tmp, "host"), url, token);
        assertTrue(Files.isRegularFile(root.resolve("etc/systemd/system/k3s-agent.service.env")));
        return root;
    }

    private Path agentInstalled(Path root, String url, String token) throws IOException {
        Path bin = Files.createDirectories(root.resolve("usr/local/bin"));
        Files.copy(Repo.root().resolve("tests/k3s-standin/k3s"), bin.resolve("k3s"));
        Repo.Run run = Repo.exec(List.of("sh", Repo.root().resolve("tests/k3s-standin/install.sh").toString()), tmp,
            Map.of("K3S_STANDIN_ROOT", root.toString(), "K3S_STANDIN_SYSTEMCTL", "true", "INSTALL_K3S_SKIP_DOWNLOAD",
                "true",
                "INSTALL_K3S_EXEC", "agent --node-ip 127.0.0.1", "K3S_URL", url, "K3S_TOKEN", token), null, 60);
        assertEquals(0, run.exit(), run.stdout() + run.stderr());
        return root;
    }

    private static Ssh connect() {
        Ssh.Target target = Ssh.Target.ofAddress(sshd.user + "@" + Sshd.HOST, sshd.port, sshd.clientKey, null,
            Ssh.HostKeyCheck.OFF);
        return Ssh.connect(target, Duration.ZERO, null);
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
