import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** k3s-status and k3s-down: their inputs, and the kubeconfig clean-up of k3s-down. */
class LifecycleTest {
    static final String SSH_ONLY_CLUSTER = """
        {"format": "k3s-vagrant/cluster/v1", "name": "edge", "serverUrl": "https://10.0.0.2:6443",
         "nodes": [{"name": "pi", "role": "server", "ip": "10.0.0.2", "ssh": {"address": "pi@10.0.0.2"}}]}
        """;

    static final String TWO_CLUSTERS = """
        apiVersion: v1
        kind: Config
        clusters:
        - name: wil
          cluster: {server: "https://192.168.56.110:6443", certificate-authority-data: QUJD}
        - name: other
          cluster: {server: "https://127.0.0.1:16443"}
        users:
        - name: wil
          user: {token: abc}
        - name: other
          user: {token: def}
        contexts:
        - name: wil
          context: {cluster: wil, user: wil}
        - name: other
          context: {cluster: other, user: other}
        current-context: wil
        """;

    @Test
    void oneStepAtATimeMayWorkOnAClusterFolder(@TempDir Path dir) {
        Log log = new Log(new PrintWriter(new StringWriter()), "test", null);
        try (ClusterFolder first = ClusterFolder.open(dir, log)) {
            Cli.Failure refused = assertThrows(Cli.Failure.class,
                () -> ClusterFolder.open(dir, log).close());
            assertEquals(Cli.REFUSED, refused.exitCode);
            assertTrue(refused.getMessage().contains("another k3s-vagrant step is working on"), refused.getMessage());
        }
        ClusterFolder.open(dir, log).close(); // released: the next step may go on
    }

    @Test
    void removeTakesOutOnlyTheClustersOwnEntries() {
        ObjectNode config = Kubeconfig.parse(TWO_CLUSTERS, "test");
        assertTrue(Kubeconfig.remove(config, "wil", "https://192.168.56.110:6443"));
        for (String section : List.of("clusters", "users", "contexts")) {
            assertEquals(1, config.get(section).size(), section);
            assertEquals("other", config.get(section).get(0).get("name").asText(), section);
        }
        assertEquals("", config.get("current-context").asText(), "no current context pointing at a removed one");
    }

    @Test
    void removeLeavesAnotherClusterOfTheSameNameAlone() {
        ObjectNode config = Kubeconfig.parse(TWO_CLUSTERS, "test");
        assertFalse(Kubeconfig.remove(config, "wil", "https://192.168.56.120:6443"));
        assertEquals(2, config.get("contexts").size());
        assertFalse(Kubeconfig.remove(config, "nosuch", "https://192.168.56.110:6443"));
    }

    @Test
    void downRefusesAClusterWithoutAVagrantFolderAndChangesNothing() {
        down step = new down();
        step.server.stdin = new ByteArrayInputStream(SSH_ONLY_CLUSTER.getBytes(StandardCharsets.UTF_8));
        Repo.Run run = Repo.step(step, "--cluster", "-");
        assertEquals(Cli.USAGE, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("k3s-agent-uninstall.sh"), run.stderr());
        assertEquals("", run.stdout());
    }

    @Test
    void leaveRefusesTheServerAndANodeTheClusterDoesNotHave() {
        for (String node : List.of("pi", "nosuch")) {
            leave step = new leave();
            step.server.stdin = new ByteArrayInputStream(SSH_ONLY_CLUSTER.getBytes(StandardCharsets.UTF_8));
            Repo.Run run = Repo.step(step, "--cluster", "-", "--node", node);
            assertEquals(Cli.USAGE, run.exit(), run.stderr());
            assertTrue(run.stderr().contains(node.equals("pi") ? "pi is the server the agents and the kubeconfig reach"
                : "has no node 'nosuch': its nodes are pi"), run.stderr());
            assertEquals("", run.stdout());
        }
    }

    /** etcd agrees only while more than half of its members are up: a server leaves only if that still holds. */
    @Test
    void aServerLeavesOnlyWhileTheServersLeftKeepEtcdsMajorityReady() {
        List<Cluster.Node> nodes = new ArrayList<>();
        for (String name : List.of("wilS", "wilS2", "wilS3")) {
            nodes.add(new Cluster.Node(name, "server", "192.168.56.110", Cluster.Access.vagrant(name)));
        }
        Cluster cluster = new Cluster("wil", "libvirt", "/tmp/wil", "https://192.168.56.110:6443", nodes, null);
        List<Nodes.Status> allReady = List.of(status("wils", true), status("wils2", true), status("wils3", true));
        ServerLeave.requireSafe(cluster, nodes.get(2), allReady); // two of two left Ready
        List<Nodes.Status> s2Down = List.of(status("wils", true), status("wils2", false), status("wils3", true));
        Cli.Failure refused = assertThrows(Cli.Failure.class,
            () -> ServerLeave.requireSafe(cluster, nodes.get(2), s2Down));
        assertEquals(Cli.REFUSED, refused.exitCode);
        assertTrue(refused.getMessage().contains("removing wilS3 would leave 2 servers (wilS, wilS2) of which only wilS"
            + " is Ready: etcd needs 2 of them up"), refused.getMessage());
        ServerLeave.requireSafe(cluster, nodes.get(1), s2Down); // the one that is down may leave: wilS, wilS3 stay up
        assertEquals(Cli.USAGE, assertThrows(Cli.Failure.class,
            () -> ServerLeave.requireNotFirst(cluster, nodes.get(0))).exitCode);
    }

    private static Nodes.Status status(String name, boolean ready) {
        return new Nodes.Status(name, ready, "", "v1.31.4+k3s1", true);
    }

    @Test
    void statusAndDownWithoutAClusterSayHowToGiveOne() {
        for (Callable<Integer> step : List.<Callable<Integer>>of(new status(), new down())) {
            if (step instanceof status s) s.server.stdin = new ByteArrayInputStream(new byte[0]);
            if (step instanceof down d) d.server.stdin = new ByteArrayInputStream(new byte[0]);
            Repo.Run run = Repo.step(step);
            assertEquals(Cli.BAD_INPUT, run.exit(), run.stderr());
            assertTrue(run.stderr().contains("is empty"), run.stderr());
            assertEquals("", run.stdout());
        }
    }

    @Test
    void aClusterNameWithoutASavedClusterIsRefusedNamingTheFile() {
        Repo.Run run = Repo.step(new status(), "--name", "no-such-cluster-" + ProcessHandle.current().pid());
        assertEquals(Cli.BAD_INPUT, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("cluster.json does not exist"), run.stderr());
    }

    @Test
    void aKilledStepsVagrantStillRunningIsNamedWithWhatToDo() throws Exception {
        // Vagrant's own words (templates/locales/en.yml, machine_locked), read from the installed Vagrant
        Path locales;
        try (var found = Files.find(Path.of("/usr/share/rubygems-integration/all/gems"), 4,
                (p, a) -> p.toString().endsWith("templates/locales/en.yml") && p.toString().contains("vagrant-"))) {
            locales = found.findFirst().orElseThrow(() -> new AssertionError("Vagrant's locale file is not installed"));
        }
        String vagrantSays = Files.readString(locales);
        assertTrue(vagrantSays.contains("but another process is already executing an action on the machine."),
            "Vagrant's message changed");
        String hint = Vagrant.hint("An action 'up' was attempted on the machine 'wilS',\n"
            + "but another process is already executing an action on the machine.");
        assertTrue(hint.contains("another vagrant process is still working on these machines")
            && hint.contains("pgrep -af vagrant"), hint);
    }
}
