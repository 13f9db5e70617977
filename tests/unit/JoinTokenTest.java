import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The join preflight (provision/k3s-common.sh, check_token_against) reads every token form as K3s's
 * parseToken does (pkg/clientaccess/token.go) and hashes the server's CA as its hashCA does: a secret
 * holding ':' (split at the first one after the '::'), '"' or '\' (curl's config syntax), a bootstrap
 * token of `k3s token create` (<id>.<secret>, sent as Bearer), and a custom CA bundle (hashed by its
 * root's DER). The server is the K3s stand-in on loopback, which authenticates and hashes as K3s does.
 */
class JoinTokenTest {

    @TempDir Path tmp;
    final List<Process> servers = new ArrayList<>();

    static final String ODD_SECRET = "pa:ss\"wo\\rd:with 'all";

    @Test
    void aSecretWithColonsQuotesAndBackslashesIsSentWholeInEachForm() throws Exception {
        String url = startStandIn(Map.of("K3S_TOKEN", ODD_SECRET));
        String full = Files.readString(serverDir(url).resolve("node-token")).strip();
        assertTrue(full.endsWith("::server:" + ODD_SECRET), full);
        assertOk(checkToken(url, full, "node"), "the full token: the password is all after server:");
        assertOk(checkToken(url, full, "server"), "the same, for a joining server");
        assertOk(checkToken(url, ODD_SECRET, "node"), "the short token: the password whole, colons and all");
        Repo.Run wrong = checkToken(url, ODD_SECRET + "x", "node");
        assertNotEquals(0, wrong.exit());
        assertTrue(wrong.stderr().contains("refused the join token (HTTP 401)"), wrong.stderr());
    }

    @Test
    void theUserAFullTokenNamesIsNotTheOneSentAsK3sAgentsAlwaysSendNode() throws Exception {
        // K3s: ParseAndValidateToken(..., WithUser("node")) for agents, so a server token is no agent's password
        String url = startStandIn(Map.of("K3S_AGENT_TOKEN", "agent:secret"));
        String agent = Files.readString(serverDir(url).resolve("agent-token")).strip();
        String server = Files.readString(serverDir(url).resolve("node-token")).strip();
        assertOk(checkToken(url, agent, "node"), "the agent token, whose password holds a ':'");
        assertOk(checkToken(url, "agent:secret", "node"), "its short form");
        Repo.Run serverTokenForAnAgent = checkToken(url, server, "node");
        assertNotEquals(0, serverTokenForAnAgent.exit(), "K3s's agent would send node:<server secret>");
        assertTrue(serverTokenForAnAgent.stderr().contains("(HTTP 401)"), serverTokenForAnAgent.stderr());
        assertOk(checkToken(url, server, "server"), "a joining server sends server:<secret>");
    }

    @Test
    void aBootstrapTokenFromK3sTokenCreateJoinsAgentsAsBearerAndNotServers() throws Exception {
        String url = startStandIn(Map.of());
        String created = standIn(url, "token", "create", "--ttl", "1h").strip();
        assertTrue(created.matches("K10[0-9a-f]{64}::[a-z0-9]{6}\\.[a-z0-9]{16}"), "the full form: " + created);
        String bare = created.substring(created.indexOf("::") + 2);
        assertOk(checkToken(url, created, "node"), "the full bootstrap token");
        assertOk(checkToken(url, bare, "node"), "the bare <id>.<secret>");

        Repo.Run server = checkToken(url, created, "server");
        assertNotEquals(0, server.exit());
        assertTrue(server.stderr().contains("K3s joins only agents with those"), server.stderr());

        standIn(url, "token", "delete", bare.substring(0, 6));
        Repo.Run deleted = checkToken(url, created, "node");
        assertNotEquals(0, deleted.exit(), "a deleted bootstrap token no longer authenticates");
        assertTrue(deleted.stderr().contains("(HTTP 401)"), deleted.stderr());
    }

    @Test
    void aMalformedFullTokenIsRefusedAsK3sRefusesItNamingWhy() throws Exception {
        String url = startStandIn(Map.of());
        Repo.Run shortHash = checkToken(url, "K10abc::node:secret", "node");
        assertNotEquals(0, shortHash.exit());
        assertTrue(shortHash.stderr().contains("is 3 characters long, not 64"), shortHash.stderr());
        Repo.Run noPassword = checkToken(url, "K10" + "0".repeat(64) + "::secret", "node");
        assertNotEquals(0, noPassword.exit());
        assertTrue(noPassword.stderr().contains("names no <user>:<password> nor bootstrap token"),
            noPassword.stderr());
    }

    @Test
    void aCustomCaBundleIsKnownByItsRootsDerHashAsK3sHashesIt() throws Exception {
        ProvisionTest.requireTool("openssl", "apt-get install openssl");
        Path root = tmp.resolve("custom-root");
        Path tls = Files.createDirectories(root.resolve("var/lib/rancher/k3s/server/tls"));
        String rootHash = customCa(tls);
        String url = startStandIn(Map.of(), root);
        String full = Files.readString(serverDir(url).resolve("node-token")).strip();
        assertEquals("K10" + rootHash, full.substring(0, 67), "the token names the root's DER hash, as K3s writes it");
        assertOk(checkToken(url, full, "node"), "the cluster's own token is not taken for another cluster's");
        String bodyHash = sha256(Files.readAllBytes(tls.resolve("server-ca.crt")));
        Repo.Run other = checkToken(url, "K10" + bodyHash + full.substring(67), "node");
        assertNotEquals(0, other.exit(), "the bundle's body hash is not the cluster's identity");
        assertTrue(other.stderr().contains("the join token belongs to another cluster"), other.stderr());
    }

    /**
     * A custom CA as K3s's docs make one (a root, an intermediate it signed), placed before K3s first
     * starts: server-ca.crt is the bundle intermediate + root, server-ca.key the intermediate's key.
     * Returns the sha256 of the root's DER, computed here by Java's own X.509 parser.
     */
    static String customCa(Path tls) throws Exception {
        Path work = Files.createTempDirectory("k3sv-ca");
        String cnf = "[req]\ndistinguished_name=dn\n[dn]\n[v3]\nbasicConstraints=critical,CA:TRUE\n"
            + "keyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\n"
            + "authorityKeyIdentifier=keyid\n";
        Files.writeString(work.resolve("ca.cnf"), cnf);
        run(work, "openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "root.key");
        run(work, "openssl", "req", "-x509", "-new", "-key", "root.key", "-subj", "/CN=custom-root", "-days", "30",
            "-config", "ca.cnf", "-extensions", "v3", "-out", "root.crt");
        run(work, "openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "int.key");
        run(work, "openssl", "req", "-new", "-key", "int.key", "-subj", "/CN=custom-intermediate", "-config", "ca.cnf",
            "-out", "int.csr");
        run(work, "openssl", "x509", "-req", "-in", "int.csr", "-CA", "root.crt", "-CAkey", "root.key",
            "-set_serial", "7", "-days", "30", "-extfile", "ca.cnf", "-extensions", "v3", "-out", "int.crt");
        Files.writeString(tls.resolve("server-ca.crt"),
            Files.readString(work.resolve("int.crt")) + Files.readString(work.resolve("root.crt")));
        Files.copy(work.resolve("int.key"), tls.resolve("server-ca.key"));
        try (InputStream in = Files.newInputStream(work.resolve("root.crt"))) {
            CertificateFactory x509 = CertificateFactory.getInstance("X.509");
            return sha256(((X509Certificate) x509.generateCertificate(in)).getEncoded());
        }
    }

    // ---------------------------------------------------------------- helpers

    private static void run(Path dir, String... command) {
        Repo.Run run = Repo.exec(List.of(command), dir, Map.of(), null, 30);
        assertEquals(0, run.exit(), String.join(" ", command) + ": " + run.stderr());
    }

    static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    private static void assertOk(Repo.Run run, String what) {
        assertEquals(0, run.exit(), what + ": " + run.stderr());
    }

    /** check_token_against as agent.sh (user node) or a joining server.sh (server) runs it; the token in a file. */
    private Repo.Run checkToken(String url, String token, String user) throws IOException {
        Path file = Files.createTempFile(tmp, "token", "");
        Files.writeString(file, token);
        String script = ". provision/k3s-common.sh && check_token_against \"$1\" \"$2\"";
        return Repo.exec(List.of("bash", "-c", script, "check", url, user), Repo.root(),
            Map.of("TOKEN_FILE", file.toString()), null, 60);
    }

    private final Map<String, Path> roots = new java.util.HashMap<>();

    private Path serverDir(String url) {
        return roots.get(url).resolve("var/lib/rancher/k3s/server");
    }

    /** Runs a stand-in command (k3s token ...) on the server's files. */
    private String standIn(String url, String... args) {
        List<String> command = new ArrayList<>(List.of(Repo.root().resolve("tests/k3s-standin/k3s").toString()));
        command.addAll(List.of(args));
        Repo.Run run = Repo.exec(command, tmp, Map.of("K3S_STANDIN_ROOT", roots.get(url).toString()), null, 30);
        assertEquals(0, run.exit(), String.join(" ", args) + ": " + run.stderr());
        return run.stdout();
    }

    private String startStandIn(Map<String, String> env) throws Exception {
        return startStandIn(env, Files.createTempDirectory(tmp, "root"));
    }

    /** The K3s stand-in's server on loopback with its files under root; returns its URL once it answers. */
    private String startStandIn(Map<String, String> env, Path root) throws Exception {
        ProvisionTest.requireTool("curl", "apt-get install curl");
        int port = Sshd.freePort();
        ProcessBuilder builder = new ProcessBuilder(Repo.root().resolve("tests/k3s-standin/k3s").toString(), "server",
            "--node-ip", "127.0.0.1", "--bind-address", "127.0.0.1", "--https-listen-port", Integer.toString(port),
            "--node-name", "token-test").redirectErrorStream(true)
            .redirectOutput(tmp.resolve("server-" + port + ".log").toFile());
        builder.environment().put("K3S_STANDIN_ROOT", root.toString());
        builder.environment().put("K3S_TOKEN", "token-test-secret");
        builder.environment().putAll(env);
        servers.add(builder.start());
        String url = "https://127.0.0.1:" + port;
        roots.put(url, root);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            Repo.Run ping = Repo.exec(List.of("curl", "-ksf", "--max-time", "2", url + "/ping"), Repo.root(), Map.of(),
                null, 10);
            if (ping.exit() == 0) return url;
            Thread.sleep(300);
        }
        fail("the K3s stand-in did not answer at " + url + " within 30 s: "
            + Files.readString(tmp.resolve("server-" + port + ".log")));
        return url;
    }

    @AfterEach
    void stopServers() {
        for (Process server : servers) {
            server.descendants().forEach(ProcessHandle::destroyForcibly);
            server.destroyForcibly();
        }
    }
}
