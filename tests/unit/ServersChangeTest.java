import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * More or fewer --servers on a running cluster (issue 11, item 1): the plan keeps etcd's majority (3 -> 1 is
 * refused, 5 -> 3 removes the highest-numbered first), both kinds are carried out, and the K3s stand-in converts
 * a single server on SQLite to "etcd" when restarted with --cluster-init, as K3s does, keeping its nodes and
 * then taking joining servers. The VM tier grows a real cluster (ClusterFlowTest, orders 30-34).
 */
class ServersChangeTest {
    @TempDir Path tmp;

    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void stop() {
        for (Process process : started) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
    }

    @Test
    void fewerServersThanAMajorityOfTheRunningOnesAreRefusedBeforeAnythingChanges() {
        Cli.Failure one = assertThrows(Cli.Failure.class, () -> plan("3", "1"));
        assertEquals(Cli.REFUSED, one.exitCode);
        assertTrue(one.getMessage().contains("--servers 3 -> 1 goes below a majority of the running servers (2 of 3)")
            && one.getMessage().contains("A cluster of 3 servers cannot shrink in place"), one.getMessage());
        Cli.Failure seven = assertThrows(Cli.Failure.class, () -> plan("7", "3"));
        assertTrue(seven.getMessage().contains("Go down to 5 first, then again"), seven.getMessage());
        ClusterChange five = plan("5", "3");
        assertEquals(ClusterChange.Kind.REMOVE_SERVERS, five.steps.get(0).kind());
        assertEquals(List.of("wilS5", "wilS4"), five.steps.get(0).machines().stream().map(Plan.Machine::name)
            .toList(), "one at a time, highest-numbered first");
    }

    @Test
    void theStandinRestartedWithClusterInitMovesItsSqliteToEtcdKeepsItsNodesAndTakesServers() throws Exception {
        ProvisionTest.requireTool("openssl", "apt-get install openssl");
        Path root = tmp.resolve("first");
        int port = Sshd.freePort();
        String url = "https://127.0.0.1:" + port;
        Process first = startServer(root, "127.0.0.1", port, "first");
        awaitRole(root, "first", "control-plane,master");
        Path db = root.resolve("var/lib/rancher/k3s/server/db");
        assertTrue(Files.isRegularFile(db.resolve("state.db")), "without --cluster-init: SQLite");
        Repo.Run refused = join(url, tmp.resolve("early"), "early", Sshd.freePort());
        assertNotEquals(0, refused.exit(), "a server on SQLite takes no other server");
        assertTrue(refused.stderr().contains("no other server can join it"), refused.stderr());

        stopProcess(first);
        Process converted = startServer(root, "127.0.0.1", port, "first", "--cluster-init");
        String[] row = awaitRole(root, "first", "control-plane,etcd,master");
        assertTrue(Files.isDirectory(db.resolve("etcd")) && Files.isRegularFile(db.resolve("state.db.migrated")),
            "the data moved to etcd, the SQLite file renamed as K3s's migration does");
        Process second = startServer(tmp.resolve("second"), "127.0.0.3", Sshd.freePort("127.0.0.3"), "second",
            "--server", url);
        awaitRole(root, "second", "control-plane,etcd,master");
        stopProcess(second);

        // once etcd is on disk K3s ignores the datastore flags: restarted without --cluster-init, still etcd
        stopProcess(converted);
        startServer(root, "127.0.0.1", port, "first");
        assertEquals(row[0], awaitRole(root, "first", "control-plane,etcd,master")[0]);
        assertTrue(kubectl(root).contains("second"), "the node list was kept: " + kubectl(root));
    }

    private static ClusterChange plan(String from, String to) {
        Map<String, String> recorded = new LinkedHashMap<>(Map.of("PROVIDER", "libvirt", "LOGIN", "wil",
            "SERVER_IP", "192.168.61.110", "WORKER_IP", "192.168.61.111", "SERVERS", from, "WORKERS", "1"));
        Map<String, String> wanted = new LinkedHashMap<>(recorded);
        wanted.put("SERVERS", to);
        return ClusterChange.plan(recorded, wanted, null);
    }

    private Process startServer(Path root, String ip, int port, String name, String... more) throws Exception {
        List<String> command = new ArrayList<>(List.of(StandinTest.STANDIN.toString(), "server", "--node-ip", ip,
            "--bind-address", ip, "--https-listen-port", Integer.toString(port), "--node-name", name));
        command.addAll(List.of(more));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(tmp.resolve(name + ".log").toFile()));
        builder.environment().putAll(env(root));
        builder.environment().put("K3S_TOKEN", "standin-secret");
        Process server = builder.start();
        started.add(server);
        return server;
    }

    private Repo.Run join(String url, Path root, String name, int port) {
        Map<String, String> env = env(root);
        env.put("K3S_TOKEN", "standin-secret");
        return Repo.exec(List.of(StandinTest.STANDIN.toString(), "server", "--server", url, "--node-ip", "127.0.0.3",
            "--bind-address", "127.0.0.3", "--https-listen-port", Integer.toString(port), "--node-name", name), tmp,
            env, null, 60);
    }

    private static Map<String, String> env(Path root) {
        Map<String, String> env = new HashMap<>(StandinTest.FAST);
        env.put("K3S_STANDIN_ROOT", root.toString());
        return env;
    }

    private static void stopProcess(Process process) throws InterruptedException {
        process.destroy();
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the stand-in stops on SIGTERM");
    }

    /** name's row of `kubectl get nodes -o wide` once it is Ready with these ROLES. */
    private String[] awaitRole(Path root, String name, String roles) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String last = "";
        while (System.nanoTime() < deadline) {
            last = kubectl(root);
            for (String line : last.split("\n")) {
                String[] row = line.trim().split("\\s+");
                if (row.length > 5 && row[0].equals(name) && row[1].equals("Ready") && row[2].equals(roles)) return row;
            }
            Thread.sleep(500);
        }
        fail(name + " was not Ready as " + roles + " within 30 s: " + last);
        return null;
    }

    /** The first server's node list through its kubeconfig, as kubectl on the server reads it. */
    private String kubectl(Path root) {
        Path kubeconfig = root.resolve("etc/rancher/k3s/k3s.yaml");
        if (!Files.exists(kubeconfig)) return "";
        return Repo.exec(List.of(StandinTest.STANDIN.toString(), "kubectl", "get", "nodes", "-o", "wide",
            "--no-headers"), tmp, Map.of("K3S_STANDIN_ROOT", root.toString(), "KUBECONFIG", kubeconfig.toString()),
            null, 60).stdout();
    }
}
