import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11, item 5: each node's K3s version (its kubelet's version, as `kubectl get nodes -o json`
 * shows it) is in the cluster JSON and k3s-status shows it; an older JSON without it still loads.
 * The server is the K3s STAND-IN on loopback, a copy of the stand-in binary of another version
 * (its BINARY_VERSION line changed, as a second air-gap folder holds it), read over a real sshd
 * whose sessions find that copy as `k3s` on their PATH.
 */
class NodeVersionTest {

    static final String VERSION = "v1.32.2+k3s1";

    @TempDir Path tmp;
    final List<Process> servers = new ArrayList<>();
    Sshd sshd;

    @Test
    void theStandInsNodeReportsItsBinarysVersionNotTheOneTheInstallerWasAsked() throws Exception {
        Path root = tmp.resolve("root");
        // the installer recorded another version, as with INSTALL_K3S_SKIP_DOWNLOAD: K3s keeps the binary it finds
        Path info = Files.createDirectories(root.resolve("var/lib/rancher/k3s/standin")).resolve("install-info");
        Files.writeString(info, "INSTALL_K3S_VERSION=v1.30.0+k3s1\nINSTALL_K3S_CHANNEL=stable\n");
        Path bin = standInOf(VERSION);
        Repo.Run version = Repo.exec(List.of(bin.resolve("k3s").toString(), "--version"), tmp,
            Map.of("K3S_STANDIN_ROOT", root.toString()), null, 30);
        assertTrue(version.stdout().startsWith("k3s version " + VERSION + " "), version.stdout() + version.stderr());

        startServer(bin, root, "vertest");
        ProvisionTest.requireTool("kubectl", "install kubectl (https://kubernetes.io/docs/tasks/tools/)");
        Path kubeconfig = root.resolve("etc/rancher/k3s/k3s.yaml");
        Repo.Run nodes = Repo.exec(List.of("kubectl", "--kubeconfig", kubeconfig.toString(),
            "get", "nodes", "-o", "json"), tmp, Map.of(), null, 60);
        assertEquals(0, nodes.exit(), nodes.stderr());
        JsonNode item = Cluster.JSON.readTree(nodes.stdout()).path("items").get(0);
        assertEquals(VERSION, item.path("status").path("nodeInfo").path("kubeletVersion").asText(), nodes.stdout());
    }

    @Test
    void theVersionIsReadWithReadinessAndTheJsonHoldsItPerNode() throws Exception {
        Path root = tmp.resolve("root");
        startServer(standInOf(VERSION), root, "vertest");
        Cluster cluster = oldCluster(root);
        try (Ssh ssh = connect()) {
            // as k3s-up and k3s-join do: the nodes that waitReady found Ready, in the same `get nodes`
            Log log = new Log(new java.io.PrintWriter(new java.io.StringWriter()), "test", null);
            List<Nodes.Status> ready = Nodes.waitReady(ssh, Set.of("VerTest"), Duration.ofSeconds(60), log);
            Cluster recorded = Nodes.withVersions(cluster, ready);
            assertEquals(VERSION, recorded.server().k3sVersion(), "the Vagrant machine VerTest is the node vertest");
            assertNull(recorded.nodes().get(1).k3sVersion(), "a node the server does not list has none");
            assertEquals(List.of("VerTest", "edge"), recorded.nodes().stream().map(Cluster.Node::name).toList(),
                "the order is kept");
            Cluster again = Cluster.parse(recorded.toJson(), "test");
            assertEquals(VERSION, again.server().k3sVersion());
            JsonNode written = Cluster.JSON.readTree(recorded.toJson());
            assertEquals(VERSION, written.path("nodes").get(0).path("k3sVersion").asText());
            // k3s-join's joined node
            assertEquals(VERSION, Nodes.withVersion(new Cluster.Node("VerTest", "agent", "127.0.0.1",
                Cluster.Access.vagrant("VerTest")), ready).k3sVersion());
        }
    }

    @Test
    void k3sStatusPrintsEachNodesVersionAsTheServerReportsIt() throws Exception {
        Path root = tmp.resolve("root");
        startServer(standInOf(VERSION), root, "vertest");
        Path file = tmp.resolve("cluster.json");
        Files.writeString(file, oldCluster(root).toJson());
        Repo.Run run = Repo.step(new status(), "--cluster", file.toString(), "--json");
        assertEquals(0, run.exit(), run.stderr());
        JsonNode printed = Cluster.JSON.readTree(run.stdout());
        assertEquals(VERSION, printed.path("nodes").get(0).path("k3sVersion").asText(), run.stdout());
        assertFalse(printed.path("nodes").get(1).has("k3sVersion"), "the server does not list edge: " + run.stdout());
        assertEquals(VERSION, printed.path("status").get(0).path("version").asText(), run.stdout());
    }

    @Test
    void anOlderJsonWithoutVersionsLoadsAndAVersionThatIsNoneIsRefused() {
        Cluster old = Cluster.parse(oldJson(22), "cluster.json");
        assertNull(old.server().k3sVersion());
        assertFalse(old.toJson().contains("k3sVersion"), "an unknown version is not written: " + old.toJson());

        String withVersion = oldJson(22).replace("\"ip\": \"127.0.0.1\",",
            "\"ip\": \"127.0.0.1\", \"k3sVersion\": \"" + VERSION + "\",");
        assertEquals(VERSION, Cluster.parse(withVersion, "cluster.json").server().k3sVersion());

        String bad = withVersion.replace(VERSION, "v1.31.4; reboot");
        Cli.Failure refused = assertThrows(Cli.Failure.class, () -> Cluster.parse(bad, "cluster.json"));
        assertEquals(Cli.BAD_INPUT, refused.exitCode);
        assertTrue(refused.getMessage().contains("'k3sVersion' \"v1.31.4; reboot\" is not a K3s version"),
            refused.getMessage());
    }

    @AfterEach
    void stop() {
        for (Process server : servers) {
            server.descendants().forEach(ProcessHandle::destroyForcibly);
            server.destroyForcibly();
        }
        if (sshd != null) sshd.close();
    }

    // ---------------------------------------------------------------- helpers

    /** A cluster JSON as k3s-vagrant wrote it before node versions: a server over sshd and a joined host. */
    private String oldJson(int sshPort) {
        String key = sshd == null ? "/nonexistent" : sshd.clientKey.toString();
        return """
            {
              "format": "k3s-vagrant/cluster/v1", "name": "vertest", "serverUrl": "https://127.0.0.1:6443",
              "nodes": [
                { "name": "VerTest", "role": "server", "ip": "127.0.0.1",
                  "ssh": { "address": "%s@127.0.0.1", "port": %d, "key": "%s" } },
                { "name": "edge", "role": "agent", "ip": "127.0.0.2", "ssh": { "address": "pi@127.0.0.2" } }
              ]
            }
            """.formatted(System.getProperty("user.name"), sshPort, key);
    }

    /** The old JSON naming a real sshd whose sessions run this test's stand-in as `k3s` (under root). */
    private Cluster oldCluster(Path root) {
        Path bin = tmp.resolve("bin-" + VERSION);
        sshd = Sshd.start(Sshd.HOST, "SetEnv PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin K3S_STANDIN_ROOT=" + root);
        return Cluster.parse(oldJson(sshd.port), "cluster.json");
    }

    private Ssh connect() {
        Ssh.Target target = Ssh.Target.ofAddress(sshd.user + "@" + Sshd.HOST, sshd.port, sshd.clientKey, null,
            Ssh.HostKeyCheck.OFF);
        return Ssh.connect(target, Duration.ZERO, null);
    }

    /** A folder holding the stand-in binary of another version: a copy with its BINARY_VERSION line changed. */
    private Path standInOf(String version) throws IOException {
        Path bin = Files.createDirectories(tmp.resolve("bin-" + version));
        String original = Files.readString(Repo.root().resolve("tests/k3s-standin/k3s"));
        String line = "BINARY_VERSION=\"v1.31.4+k3s1\"";
        assertTrue(original.contains("\n" + line + "\n"), "the stand-in keeps its version on one line: " + line);
        Path k3s = bin.resolve("k3s");
        Files.writeString(k3s, original.replace("\n" + line + "\n", "\nBINARY_VERSION=\"" + version + "\"\n"));
        k3s.toFile().setExecutable(true);
        return bin;
    }

    /** The stand-in's server on loopback (a free port), its files under root; returns once its kubeconfig is there. */
    private void startServer(Path bin, Path root, String nodeName) throws Exception {
        ProvisionTest.requireTool("curl", "apt-get install curl");
        int port = Sshd.freePort();
        ProcessBuilder builder = new ProcessBuilder(bin.resolve("k3s").toString(), "server", "--node-ip", "127.0.0.1",
            "--bind-address", "127.0.0.1", "--https-listen-port", Integer.toString(port), "--node-name", nodeName)
            .redirectErrorStream(true).redirectOutput(tmp.resolve("server.log").toFile());
        builder.environment().put("K3S_STANDIN_ROOT", root.toString());
        builder.environment().put("K3S_TOKEN", "version-test-secret");
        builder.environment().remove("K3S_STANDIN_VERSION");
        servers.add(builder.start());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            Repo.Run ping = Repo.exec(List.of("curl", "-ksf", "--max-time", "2", "https://127.0.0.1:" + port + "/ping"),
                tmp, Map.of(), null, 10);
            if (ping.exit() == 0 && Files.exists(root.resolve("etc/rancher/k3s/k3s.yaml"))) return;
            Thread.sleep(300);
        }
        fail("the K3s stand-in did not answer on port " + port + " within 30 s: "
            + Files.readString(tmp.resolve("server.log")));
    }
}
