import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The K3s stand-in (tests/k3s-standin/k3s) as a program: it compiles and pyflakes finds nothing in it,
 * and the behaviours the VM tier depends on hold on loopback: an agent with a wrong token is refused,
 * an agent that joins shows up as a node, Ready while it heartbeats and NotReady once it stops, and
 * the kubectl link (the program run under another name) answers what server.sh and k3s-leave ask.
 * Covered elsewhere, not repeated here: the token forms and bootstrap tokens (JoinTokenTest), the
 * server's /ping and readyz (ServerWaitTest), the API port (ApiPortTest), the node's version from the
 * BINARY_VERSION line (NodeVersionTest), the installer's files (JoinedHostTest, ProvisionTest).
 */
class StandinTest {
    static final Path STANDIN = Repo.root().resolve("tests/k3s-standin/k3s");
    /** Short heartbeat and grace, so that Ready and NotReady show within seconds. */
    static final Map<String, String> FAST = Map.of("K3S_STANDIN_HEARTBEAT", "1", "K3S_STANDIN_NODE_GRACE", "4",
        "K3S_STANDIN_JOIN_TIMEOUT", "20");

    @TempDir Path tmp;

    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void stop() throws IOException {
        // the kubectl link, before JUnit's clean-up warns about a link leading out of the folder
        Files.deleteIfExists(tmp.resolve("bin/kubectl"));
        for (Process process : started) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
    }

    @Test
    void isOnePythonProgramThatCompilesAndPyflakesFindsNothingIn() throws IOException {
        String first = Files.readAllLines(STANDIN).get(0);
        assertEquals("#!/usr/bin/env python3", first, "the stand-in is a plain python3 file, no shell wrapper");
        Repo.Run compiled = Repo.exec(List.of("python3", "-m", "py_compile", STANDIN.toString()), tmp,
            Map.of("PYTHONPYCACHEPREFIX", tmp.resolve("pycache").toString()), null, 60);
        assertEquals(0, compiled.exit(), "python3 -m py_compile: " + compiled.stdout() + compiled.stderr());
        ProvisionTest.requireTool("pyflakes3", "apt-get install pyflakes3; README, Running the tests");
        Repo.Run lint = Repo.exec(List.of("pyflakes3", STANDIN.toString()), tmp, Map.of(), null, 60);
        assertEquals(0, lint.exit(), "pyflakes3 finds:\n" + lint.stdout() + lint.stderr());
    }

    @Test
    void anAgentWithAWrongTokenIsRefusedAndNoNodeIsAdded() throws Exception {
        String url = startServer();
        Repo.Run agent = Repo.exec(List.of(STANDIN.toString(), "agent", "--server", url, "--token", "wrong-secret",
            "--node-ip", "127.0.0.2", "--node-name", "edge"), tmp, agentEnv(), null, 60);
        assertNotEquals(0, agent.exit(), "the agent must fail, so its systemd unit and the installer fail");
        assertTrue(agent.stderr().contains("level=fatal") && agent.stderr().contains("401 Unauthorized"),
            agent.stderr());
        assertFalse(nodes().contains("edge"), "a refused agent is no node");
    }

    @Test
    void anAgentThatJoinsIsANodeReadyWhileItHeartbeatsAndNotReadyOnceItStops() throws Exception {
        String url = startServer();
        Process agent = startAgent(url);
        // as provision/server.sh reads it: STATUS the 2nd column, INTERNAL-IP the 6th
        String[] row = awaitNode("edge", "Ready");
        assertEquals("<none>", row[2], "an agent has no role");
        assertEquals("127.0.0.2", row[5], "InternalIP is --node-ip");
        agent.destroy();
        assertTrue(agent.waitFor(10, TimeUnit.SECONDS), "the agent stops on SIGTERM");
        awaitNode("edge", "NotReady");
        startAgent(url);
        awaitNode("edge", "Ready");
    }

    @Test
    void kubectlDeletesANodeAndIgnoresAMissingOneWhenAsked() throws Exception {
        String url = startServer();
        startAgent(url);
        awaitNode("edge", "Ready");
        Repo.Run missing = kubectl("delete", "node", "--ignore-not-found", "nosuch");
        assertEquals(0, missing.exit(), "k3s-leave's delete of a node already gone: " + missing.stderr());
        assertEquals("", missing.stderr());
        Repo.Run absent = kubectl("delete", "node", "nosuch");
        assertEquals(1, absent.exit());
        assertTrue(absent.stderr().startsWith("Error from server (NotFound): nodes \"nosuch\" not found"),
            absent.stderr());
        // stopped first, as k3s-leave does: a running agent registers its node again, as K3s's kubelet does
        Process agent = started.get(started.size() - 1);
        agent.destroy();
        assertTrue(agent.waitFor(30, TimeUnit.SECONDS), "the agent stopped");
        assertEquals(0, kubectl("delete", "node", "edge").exit());
        assertFalse(nodes().contains("edge"), nodes());
    }

    @Test
    void kubectlCordonsDrainsAndUncordonsANodeAsK3sDoes() throws Exception {
        String url = startServer();
        startAgent(url);
        awaitNode("edge", "Ready");
        Repo.Run cordon = kubectl("cordon", "edge");
        assertEquals("node/edge cordoned\n", cordon.stdout(), cordon.stderr());
        awaitNode("edge", "Ready,SchedulingDisabled");
        assertTrue(kubectl("get", "node", "edge", "-o", "json").stdout().contains("\"unschedulable\": true"));
        assertEquals("node/edge\nnode/standin\n", kubectl("get", "nodes", "-o", "name").stdout(), "kubectl's -o name");
        assertEquals(0, kubectl("uncordon", "edge").exit());
        awaitNode("edge", "Ready");
        Repo.Run drain = kubectl("drain", "edge", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=120s");
        assertEquals("node/edge cordoned\nnode/edge drained\n", drain.stdout(), drain.stderr());
        awaitNode("edge", "Ready,SchedulingDisabled");
        Repo.Run missing = kubectl("cordon", "nosuch");
        assertEquals(1, missing.exit());
        assertTrue(missing.stderr().startsWith("Error from server (NotFound): nodes \"nosuch\" not found"),
            missing.stderr());
    }

    @Test
    void aKubectlCallItDoesNotEmulateIsRefusedSayingWhatItDoes() throws Exception {
        startServer();
        Repo.Run refused = kubectl("get", "pods");
        assertEquals(1, refused.exit());
        assertTrue(refused.stderr().contains("does not emulate 'get pods'")
            && refused.stderr().contains("get nodes"), refused.stderr());
    }

    /**
     * As K3s (pkg/etcd/snapshot.go, docs "etcd-snapshot"): a snapshot of etcd's data (here the node list) saved
     * as snapshots/NAME-NODE-UNIXTIME, mode 600; with K3s stopped, --cluster-reset --cluster-reset-restore-path
     * puts it back, and the next start serves the earlier node list.
     */
    @Test
    void anEtcdSnapshotSavedThenRestoredWithClusterResetBringsBackTheNodeList() throws Exception {
        String url = startServer("--cluster-init");
        Process agent = startAgent(url);
        awaitNode("edge", "Ready");
        Repo.Run saved = standin("etcd-snapshot", "save", "--name", "before", "--node-name", "standin");
        assertEquals(0, saved.exit(), saved.stderr());
        Path folder = serverRoot().resolve("var/lib/rancher/k3s/server/db/snapshots");
        List<Path> files;
        try (var list = Files.list(folder)) {
            files = list.toList();
        }
        assertEquals(1, files.size(), files.toString());
        String name = files.get(0).getFileName().toString();
        assertTrue(name.matches("before-standin-\\d{10}"), name);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(files.get(0))));
        Repo.Run listed = standin("etcd-snapshot", "ls");
        assertTrue(listed.stdout().startsWith("Name Location Size Created\n" + name + " file:///var/lib/rancher/"),
            listed.stdout());

        agent.destroy();
        assertTrue(agent.waitFor(30, TimeUnit.SECONDS), "the agent stopped");
        assertEquals(0, kubectl("delete", "node", "edge").exit());
        for (Process process : started) process.destroy();
        assertTrue(started.get(0).waitFor(30, TimeUnit.SECONDS), "the server stopped");
        Repo.Run reset = standin("server", "--cluster-reset",
            "--cluster-reset-restore-path=/var/lib/rancher/k3s/server/db/snapshots/" + name);
        assertEquals(0, reset.exit(), reset.stderr());
        assertTrue(reset.stderr().contains("restart without --cluster-reset flag now"), reset.stderr());
        startServer("--cluster-init");
        assertTrue(nodes().contains("edge"), "the restored node list holds the node deleted after the snapshot: "
            + nodes());
    }

    /** A server without --cluster-init keeps its data in SQLite's server/db/state.db: it has no etcd to snapshot. */
    @Test
    void aServerWithoutClusterInitKeepsItsNodesInStateDbAndHasNoEtcdSnapshot() throws Exception {
        startServer();
        assertTrue(Files.readString(serverRoot().resolve("var/lib/rancher/k3s/server/db/state.db"))
            .contains("\"standin\""), "the node list is in state.db");
        Repo.Run refused = standin("etcd-snapshot", "save");
        assertEquals(1, refused.exit());
        assertTrue(refused.stderr().contains("etcd database not found"), refused.stderr());
    }

    /** The stand-in run by hand on the server's files, as `sudo k3s ...` runs on a server. */
    private Repo.Run standin(String... args) {
        List<String> command = new ArrayList<>(List.of(STANDIN.toString()));
        command.addAll(List.of(args));
        return Repo.exec(command, tmp, Map.of("K3S_STANDIN_ROOT", serverRoot().toString()), null, 60);
    }

    private Path serverRoot() {
        return tmp.resolve("server-root");
    }

    /** The stand-in's server on loopback (a free port), its files under serverRoot(); its URL once it answers. */
    private String startServer(String... flags) throws Exception {
        ProvisionTest.requireTool("openssl", "apt-get install openssl");
        int port = Sshd.freePort();
        List<String> command = new ArrayList<>(List.of(STANDIN.toString(), "server", "--node-ip", "127.0.0.1",
            "--bind-address", "127.0.0.1", "--https-listen-port", Integer.toString(port), "--node-name", "standin"));
        command.addAll(List.of(flags));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(tmp.resolve("server.log").toFile()));
        builder.environment().put("K3S_STANDIN_ROOT", serverRoot().toString());
        builder.environment().put("K3S_TOKEN", "standin-secret");
        builder.environment().putAll(FAST);
        started.add(builder.start());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (Files.exists(serverRoot().resolve("etc/rancher/k3s/k3s.yaml")) && nodes().contains("standin")) {
                return "https://127.0.0.1:" + port;
            }
            Thread.sleep(300);
        }
        fail("the K3s stand-in did not answer on port " + port + " within 30 s: "
            + Files.readString(tmp.resolve("server.log")));
        return null;
    }

    private Map<String, String> agentEnv() {
        Map<String, String> env = new HashMap<>(FAST);
        env.put("K3S_STANDIN_ROOT", tmp.resolve("agent-root").toString());
        return env;
    }

    private Process startAgent(String url) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(STANDIN.toString(), "agent", "--node-ip", "127.0.0.2",
            "--node-name", "edge").redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(tmp.resolve("agent.log").toFile()));
        builder.environment().putAll(agentEnv());
        // the token as the installer hands it over: in the environment (the unit's env file), not in argv
        builder.environment().put("K3S_URL", url);
        builder.environment().put("K3S_TOKEN", "standin-secret");
        Process agent = builder.start();
        started.add(agent);
        return agent;
    }

    /** The node's `kubectl get nodes -o wide --no-headers` row once its STATUS is the one wanted. */
    private String[] awaitNode(String name, String status) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String last = "";
        while (System.nanoTime() < deadline) {
            last = nodes();
            for (String line : last.split("\n")) {
                String[] row = line.trim().split("\\s+");
                if (row[0].equals(name) && row.length > 5 && row[1].equals(status)) return row;
            }
            Thread.sleep(500);
        }
        fail(name + " was not " + status + " within 30 s: " + last + "\nagent log:\n"
            + (Files.exists(tmp.resolve("agent.log")) ? Files.readString(tmp.resolve("agent.log")) : ""));
        return null;
    }

    private String nodes() {
        return kubectl("get", "nodes", "-o", "wide", "--no-headers").stdout();
    }

    /** The stand-in run through a `kubectl` link, as the installer makes it: it dispatches on its name. */
    private Repo.Run kubectl(String... args) {
        Path link = tmp.resolve("bin/kubectl");
        try {
            if (!Files.exists(link, LinkOption.NOFOLLOW_LINKS)) {
                Files.createSymbolicLink(Files.createDirectories(link.getParent()).resolve("kubectl"), STANDIN);
            }
        } catch (IOException e) {
            throw new AssertionError("cannot link kubectl to the stand-in: " + e, e);
        }
        List<String> command = new ArrayList<>(List.of(link.toString()));
        command.addAll(List.of(args));
        Path kubeconfig = serverRoot().resolve("etc/rancher/k3s/k3s.yaml");
        return Repo.exec(command, tmp, Map.of("K3S_STANDIN_ROOT", serverRoot().toString(), "KUBECONFIG",
            kubeconfig.toString()), null, 60);
    }
}
