import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a joining machine does before it installs anything (provision/k3s-common.sh,
 * wait_for_server and check_token_against, run by agent.sh and by a joining HA server):
 * wait a bounded time for the server's API, and refuse, naming the cause, when the clocks
 * disagree or the server would not take the join token.
 *
 * The server is the K3s STAND-IN (tests/k3s-standin/k3s, python) on loopback: its /ping
 * answers with an HTTP Date header from its own clock, like K3s's. A server whose clock
 * is off is the stand-in run under faketime (libfaketime: the real clock calls, shifted).
 * Against real K3s the same check runs in tests/vm/real-k3s-check.sh's join.
 */
class ServerWaitTest {

    @TempDir Path tmp;
    final List<Process> servers = new ArrayList<>();

    @Test
    void aServerThatIsDownFailsTheJoinWithinTheWaitNamingTheFix() throws IOException {
        int port = Sshd.freePort(); // nothing listens there
        long start = System.nanoTime();
        Repo.Run run = waitForServer("https://127.0.0.1:" + port, Map.of("API_WAIT", "4"));
        long seconds = (System.nanoTime() - start) / 1_000_000_000L;
        assertNotEquals(0, run.exit());
        assertTrue(run.stderr().contains("the K3s server at https://127.0.0.1:" + port + " did not answer within 4 s"),
            run.stderr());
        assertTrue(run.stderr().contains("is " + port + "/tcp open between the machines?"), run.stderr());
        assertTrue(seconds < 20, "bounded: gave up after " + seconds + " s");
    }

    @Test
    void aSlowServerIsWaitedForAndAnAgreeingClockPasses() throws Exception {
        int port = Sshd.freePort();
        // the server starts 5 s after the joining machine began to wait
        Thread late = new Thread(() -> {
            try {
                Thread.sleep(5000);
                startStandIn(port, List.of());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        late.start();
        Repo.Run run = waitForServer("https://127.0.0.1:" + port, Map.of("API_WAIT", "60"));
        late.join();
        assertEquals(0, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("waiting up to 60 s for the K3s server"), run.stderr());
    }

    @Test
    void aServerWhoseClockIsTwoHoursOffIsRefusedNamingTheClocks() throws Exception {
        Repo.Run run = waitForServerWhoseClockIs("+2h");
        assertNotEquals(0, run.exit());
        assertTrue(run.stderr().matches("(?s).*this machine's clock \\(.*UTC\\) is 7[12]\\d\\d s behind the server's "
            + "at https://127\\.0\\.0\\.1:"
            + "\\d+ .*K3s's certificates would fail\\. Set the clocks right on both.*"), run.stderr());
    }

    @Test
    void aSmallDriftIsTolerated() throws Exception {
        Repo.Run run = waitForServerWhoseClockIs("+20s");
        assertEquals(0, run.exit(), "20 s is within MAX_CLOCK_SKEW (60 s): " + run.stderr());
    }

    /** wait_for_server against a stand-in server whose clock is shifted by offset (faketime's syntax). */
    private Repo.Run waitForServerWhoseClockIs(String offset) throws Exception {
        ProvisionTest.requireTool("faketime", "apt-get install faketime");
        int port = Sshd.freePort();
        startStandIn(port, List.of("faketime", "-f", offset));
        awaitPing(port);
        return waitForServer("https://127.0.0.1:" + port, Map.of("API_WAIT", "30"));
    }

    @Test
    void aWrongTokenOrATokenOfAnotherClusterIsRefusedBeforeAnythingIsInstalled() throws Exception {
        int port = Sshd.freePort();
        startStandIn(port, List.of());
        awaitPing(port);
        String url = "https://127.0.0.1:" + port;
        // the server's own full token: K10<sha256 of its CA>::server:<secret>
        String nodeToken = Files.readString(tmp.resolve("root-" + port
            + "/var/lib/rancher/k3s/server/node-token")).strip();
        assertEquals(0, checkToken(url, nodeToken).exit(), checkToken(url, nodeToken).stderr());
        assertEquals(0, checkToken(url, "wait-test-secret").exit(), "the short form of the same secret");

        Repo.Run wrong = checkToken(url, "not-the-secret");
        assertNotEquals(0, wrong.exit());
        assertTrue(wrong.stderr().contains("the K3s server at " + url + " refused the join token (HTTP 401)"),
            wrong.stderr());

        String otherCluster = "K10" + "0".repeat(64) + nodeToken.substring(nodeToken.indexOf("::"));
        Repo.Run foreign = checkToken(url, otherCluster);
        assertNotEquals(0, foreign.exit());
        assertTrue(foreign.stderr().contains("the join token belongs to another cluster: its CA hash is not the one of "
            + "the server at " + url),
            foreign.stderr());
    }

    /**
     * An impostor in the middle relays the cluster's real /cacerts (public) but cannot
     * show a certificate that CA signed: the secret must not reach it, whether the token is
     * k3s-join's full one (its CA hash matches what the impostor relays) or the Vagrantfile's
     * short one (the CA is taken as the server sends it, so only what it vouches for is asked).
     */
    @Test
    void theSecretGoesOnlyToAServerThatTheClustersCaVouchesFor() throws Exception {
        int port = Sshd.freePort();
        startStandIn(port, List.of());
        awaitPing(port);
        Path server = tmp.resolve("root-" + port + "/var/lib/rancher/k3s/server");
        String nodeToken = Files.readString(server.resolve("node-token")).strip();
        Path cacerts = server.resolve("tls/server-ca.crt");
        int impostorPort = Sshd.freePort();
        Path heard = tmp.resolve("impostor-heard");
        startImpostor(impostorPort, cacerts, heard);
        awaitPing(impostorPort);
        String url = "https://127.0.0.1:" + impostorPort;
        for (String token : List.of(nodeToken, "wait-test-secret")) {
            Repo.Run run = checkToken(url, token);
            String form = token.startsWith("K10") ? "full token" : "short token";
            assertEquals("", Files.exists(heard) ? Files.readString(heard) : "",
                form + ": no credentials reached the impostor");
            assertNotEquals(0, run.exit(), form + ": " + run.stderr());
            assertTrue(run.stderr().contains("the K3s server at " + url
                + " showed a certificate that the cluster's CA does not vouch for"), form + ": " + run.stderr());
        }
        // the real server, checked the same way, takes both forms
        assertEquals(0, checkToken("https://127.0.0.1:" + port, nodeToken).exit());
        assertEquals(0, checkToken("https://127.0.0.1:" + port, "wait-test-secret").exit());
    }

    /**
     * A TLS server with a certificate of its own (not signed by the cluster's CA) that serves
     * the cluster's /cacerts and notes every request that carries credentials.
     */
    private void startImpostor(int port, Path cacerts, Path heard) throws IOException {
        Path key = tmp.resolve("impostor.key");
        Path cert = tmp.resolve("impostor.crt");
        Repo.Run made = Repo.exec(List.of("openssl", "req", "-x509", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.toString(), "-out", cert.toString(),
            "-days", "1", "-subj", "/CN=impostor",
            "-addext", "subjectAltName=IP:127.0.0.1"), tmp, Map.of(), null, 30);
        assertEquals(0, made.exit(), made.stderr());
        String server = String.join("\n",
            "import http.server, ssl, sys",
            "port, cert, key, cacerts, heard = sys.argv[1:6]",
            "ca = open(cacerts, 'rb').read()",
            "class Handler(http.server.BaseHTTPRequestHandler):",
            "    def do_GET(self):",
            "        if self.headers.get('Authorization'):",
            "            with open(heard, 'a') as f: f.write('credentials on ' + self.path + '\\n')",
            "        body = ca if self.path == '/cacerts' else b'ok'",
            "        self.send_response(200)",
            "        self.send_header('Content-Length', str(len(body)))",
            "        self.end_headers()",
            "        self.wfile.write(body)",
            "    def log_message(self, *args): pass",
            "httpd = http.server.HTTPServer(('127.0.0.1', int(port)), Handler)",
            "context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)",
            "context.load_cert_chain(cert, key)",
            "httpd.socket = context.wrap_socket(httpd.socket, server_side=True)",
            "httpd.serve_forever()", "");
        ProcessBuilder builder = new ProcessBuilder("python3", "-c", server, Integer.toString(port), cert.toString(),
            key.toString(), cacerts.toString(), heard.toString())
            .redirectErrorStream(true).redirectOutput(tmp.resolve("impostor.log").toFile());
        servers.add(builder.start());
    }

    @Test
    void withAnAgentTokenAgentsJoinWithItAndTheServerTokenStillJoinsServers() throws Exception {
        // K3s's --agent-token (K3S_AGENT_TOKEN in the service's env): its passwd gives the user "node" the
        // agent token and "server" the server token, so the server token stays with the servers
        int port = Sshd.freePort();
        startStandIn(port, List.of(), Map.of("K3S_AGENT_TOKEN", "wait-test-agent-secret"));
        awaitPing(port);
        String url = "https://127.0.0.1:" + port;
        Path serverDir = tmp.resolve("root-" + port + "/var/lib/rancher/k3s/server");
        String agentToken = Files.readString(serverDir.resolve("agent-token")).strip();
        assertTrue(agentToken.matches("K10[0-9a-f]{64}::node:wait-test-agent-secret"), agentToken);
        assertEquals("rw-------", PosixFilePermissions.toString(
            Files.getPosixFilePermissions(serverDir.resolve("agent-token"))));
        String serverToken = Files.readString(serverDir.resolve("node-token")).strip();
        assertTrue(serverToken.endsWith("::server:wait-test-secret"), serverToken);

        assertEquals(0, checkToken(url, agentToken).exit(), checkToken(url, agentToken).stderr());
        assertEquals(0, checkToken(url, "wait-test-agent-secret").exit(), "the agent token's short form");
        // K3s's agent sends the user node whatever a full token names (JoinTokenTest); a joining server sends server
        assertEquals(0, checkToken(url, serverToken, "server").exit(), "the full server token, for a joining server");
        assertEquals(0, checkToken(url, "wait-test-secret", "server").exit(), "a joining server's short token");
        Repo.Run bare = checkToken(url, "wait-test-secret");
        assertNotEquals(0, bare.exit(), "the server token's bare secret is not the agents' password");
        assertTrue(bare.stderr().contains("refused the join token (HTTP 401)"), bare.stderr());
    }

    @Test
    void anUploadedTokenFileIsRemovedAsSoonAsItIsReadAndAUsersOwnIsKept() throws IOException {
        Path uploaded = tmp.resolve("uploaded-token");
        Path own = tmp.resolve("own-token");
        Files.writeString(uploaded, "s3cret");
        Files.writeString(own, "s3cret");
        String script = ". provision/k3s-common.sh && load_token && [ \"$K3S_TOKEN\" = s3cret ]";
        Repo.Run once = Repo.exec(List.of("bash", "-c", script), Repo.root(),
            Map.of("TOKEN_FILE", uploaded.toString(), "TOKEN_FILE_REMOVE", "1"), null, 30);
        assertEquals(0, once.exit(), once.stderr());
        assertTrue(Files.notExists(uploaded), "k3s-join's upload (TOKEN_FILE_REMOVE=1) is gone once read");
        Repo.Run kept = Repo.exec(List.of("bash", "-c", script), Repo.root(), Map.of("TOKEN_FILE", own.toString()),
            null, 30);
        assertEquals(0, kept.exit(), kept.stderr());
        assertTrue(Files.exists(own), "a token file the user names stays");

        Path agentToken = tmp.resolve("uploaded-agent-token");
        Files.writeString(agentToken, "agent-s3cret");
        Repo.Run agent = Repo.exec(List.of("bash", "-c",
            ". provision/k3s-common.sh && load_agent_token && [ \"$K3S_AGENT_TOKEN\" = agent-s3cret ]"),
            Repo.root(), Map.of("AGENT_TOKEN_FILE", agentToken.toString(), "TOKEN_FILE_REMOVE", "1"), null, 30);
        assertEquals(0, agent.exit(), agent.stderr());
        assertTrue(Files.notExists(agentToken), "the Vagrantfile's upload of the agent token is gone once read");
    }

    private static Repo.Run checkToken(String url, String token) {
        return checkToken(url, token, "node");
    }

    private static Repo.Run checkToken(String url, String token, String user) {
        // the token in a file, as k3s-join hands it over: never on a command line
        try {
            Path file = Files.createTempFile("k3sv-token", "");
            Files.writeString(file, token);
            try {
                return Repo.exec(List.of("bash", "-c", ". provision/k3s-common.sh && check_token_against \"$1\" \"$2\"",
                    "check", url, user),
                    Repo.root(), Map.of("TOKEN_FILE", file.toString()), null, 60);
            } finally {
                Files.delete(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterEach
    void stopServers() {
        for (Process server : servers) {
            server.descendants().forEach(ProcessHandle::destroyForcibly);
            server.destroyForcibly();
        }
    }

    // ---------------------------------------------------------------- helpers

    /** Sources k3s-common.sh as agent.sh does and runs wait_for_server. */
    private static Repo.Run waitForServer(String url, Map<String, String> env) {
        ProvisionTest.requireTool("curl", "apt-get install curl");
        String script = ". provision/k3s-common.sh && wait_for_server \"$1\"";
        return Repo.exec(List.of("bash", "-c", script, "wait_for_server", url), Repo.root(), env, null, 120);
    }

    /** The K3s stand-in's server on loopback, its files under a private root, optionally under a wrapper (faketime). */
    private void startStandIn(int port, List<String> wrapper) throws IOException {
        startStandIn(port, wrapper, Map.of());
    }

    private void startStandIn(int port, List<String> wrapper, Map<String, String> env) throws IOException {
        List<String> command = new ArrayList<>(wrapper);
        command.addAll(List.of(Repo.root().resolve("tests/k3s-standin/k3s").toString(), "server",
            "--node-ip", "127.0.0.1", "--bind-address", "127.0.0.1", "--https-listen-port", Integer.toString(port),
                "--node-name", "wait-test"));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(tmp.resolve("server-" + port + ".log").toFile());
        builder.environment().put("K3S_STANDIN_ROOT", tmp.resolve("root-" + port).toString());
        builder.environment().put("K3S_TOKEN", "wait-test-secret");
        builder.environment().putAll(env);
        servers.add(builder.start());
    }

    private static void awaitPing(int port) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            Repo.Run ping = Repo.exec(List.of("curl", "-ksf", "--max-time", "2", "https://127.0.0.1:" + port + "/ping"),
                Repo.root(), Map.of(), null, 10);
            if (ping.exit() == 0) return;
            Thread.sleep(300);
        }
        fail("the K3s stand-in did not answer on port " + port + " within 30 s");
    }
}
