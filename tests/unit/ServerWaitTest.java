import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a joining machine does before it installs anything (provision/k3s-common.sh,
 * wait_for_server, run by agent.sh and by a joining HA server): wait a bounded time for
 * the server's API, and refuse, naming the cause, when the clocks disagree.
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
        int port = freePort(); // nothing listens there
        long start = System.nanoTime();
        Repo.Run run = waitForServer("https://127.0.0.1:" + port, Map.of("API_WAIT", "4"));
        long seconds = (System.nanoTime() - start) / 1_000_000_000L;
        assertNotEquals(0, run.exit());
        assertTrue(run.stderr().contains("the K3s server at https://127.0.0.1:" + port + " did not answer within 4 s"), run.stderr());
        assertTrue(run.stderr().contains("is 6443/tcp open between the machines?"), run.stderr());
        assertTrue(seconds < 20, "bounded: gave up after " + seconds + " s");
    }

    @Test
    void aSlowServerIsWaitedForAndAnAgreeingClockPasses() throws Exception {
        int port = freePort();
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
        ProvisionTest.requireTool("faketime", "apt-get install faketime");
        int port = freePort();
        startStandIn(port, List.of("faketime", "-f", "+2h"));
        awaitPing(port);
        Repo.Run run = waitForServer("https://127.0.0.1:" + port, Map.of("API_WAIT", "30"));
        assertNotEquals(0, run.exit());
        assertTrue(run.stderr().matches("(?s).*this machine's clock \\(.*UTC\\) is 7[12]\\d\\d s behind the server's at https://127\\.0\\.0\\.1:"
            + port + ".*K3s's certificates would fail\\. Set the clocks right on both.*"), run.stderr());
    }

    @Test
    void aSmallDriftIsTolerated() throws Exception {
        ProvisionTest.requireTool("faketime", "apt-get install faketime");
        int port = freePort();
        startStandIn(port, List.of("faketime", "-f", "+20s"));
        awaitPing(port);
        Repo.Run run = waitForServer("https://127.0.0.1:" + port, Map.of("API_WAIT", "30"));
        assertEquals(0, run.exit(), "20 s is within MAX_CLOCK_SKEW (60 s): " + run.stderr());
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
        List<String> command = new ArrayList<>(wrapper);
        command.addAll(List.of(Repo.root().resolve("tests/k3s-standin/k3s").toString(), "server",
            "--node-ip", "127.0.0.1", "--bind-address", "127.0.0.1", "--https-listen-port", Integer.toString(port), "--node-name", "wait-test"));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(tmp.resolve("server-" + port + ".log").toFile());
        builder.environment().put("K3S_STANDIN_ROOT", tmp.resolve("root-" + port).toString());
        builder.environment().put("K3S_TOKEN", "wait-test-secret");
        servers.add(builder.start());
    }

    private static void awaitPing(int port) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            Repo.Run ping = Repo.exec(List.of("curl", "-ksf", "--max-time", "2", "https://127.0.0.1:" + port + "/ping"), Repo.root(), Map.of(), null, 10);
            if (ping.exit() == 0) return;
            Thread.sleep(300);
        }
        fail("the K3s stand-in did not answer on port " + port + " within 30 s");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
