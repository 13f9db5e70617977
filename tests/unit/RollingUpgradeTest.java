import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A new K3s version rolls over the cluster (RollingUpgrade): the order of the nodes, the flags a joined
 * host's upgrade runs again (recorded without a secret), and the provisioning's decision to install again.
 */
class RollingUpgradeTest {
    @TempDir Path tmp;

    static final Cluster.Node SERVER = new Cluster.Node("wilS", "server", "192.168.56.110",
        Cluster.Access.vagrant("wilS"), "v1.31.4+k3s1");
    static final Cluster.Node AGENT = new Cluster.Node("wilSW", "agent", "192.168.56.111",
        Cluster.Access.vagrant("wilSW"), "v1.31.4+k3s1");
    static final Cluster.Node EDGE = new Cluster.Node("edge1", "agent", "192.168.56.20",
        new Cluster.Access(null, "pi@192.168.56.20", 22, null), "v1.31.4+k3s1", "--node-label zone=edge");

    @Test
    void serversGoFirstThenTheAgentsThenTheHostsK3sJoinAdded() {
        // cluster.json lists a joined host before an agent machine: the order still puts it last
        Cluster cluster = new Cluster("wil", "libvirt", "/tmp/wil", "https://192.168.56.110:6443",
            List.of(SERVER, EDGE, AGENT), null);
        List<Plan.Machine> machines = List.of(new Plan.Machine("wilS", "server", "192.168.56.110"),
            new Plan.Machine("wilSW", "agent", "192.168.56.111"));
        assertEquals(List.of("wilS", "wilSW", "edge1"),
            RollingUpgrade.order(cluster, machines).stream().map(Cluster.Node::name).toList());
        assertTrue(ChangeRun.built(ClusterChange.Kind.UPGRADE), "the upgrade is carried out, not refused");
    }

    @Test
    void aJoinedHostsFlagsAreRecordedWithoutItsToken() {
        assertEquals("--node-label zone=edge", AgentInstall.recordedFlags("--token s3cret --node-label zone=edge"));
        assertEquals("--node-label a=b", AgentInstall.recordedFlags("-t s3cret --node-label a=b --token=x"));
        assertNull(AgentInstall.recordedFlags("--token s3cret"));
        assertNull(AgentInstall.recordedFlags(""));
        Cluster cluster = new Cluster("wil", "libvirt", "/tmp/wil", "https://192.168.56.110:6443",
            List.of(SERVER, EDGE), null);
        String json = cluster.toJson();
        assertTrue(json.contains("\"agentFlags\" : \"--node-label zone=edge\""), json);
        assertEquals(EDGE, Cluster.parse(json, "test").nodes().get(1));
        assertEquals("--node-label zone=edge", EDGE.withK3sVersion("v1.31.5+k3s1").agentFlags());
    }

    @Test
    void theVersionToReachIsANewK3sVersionElseWhatTheFirstServerThenRuns() {
        assertEquals("v1.31.5+k3s1", RollingUpgrade.knownTarget(Map.of("K3S_VERSION", "v1.31.4+k3s1"),
            Map.of("K3S_VERSION", "v1.31.5+k3s1")));
        // only --airgap-dir changed: the recorded version is not what the new folder's binary is
        assertEquals("", RollingUpgrade.knownTarget(Map.of("K3S_VERSION", "v1.31.4+k3s1"),
            Map.of("K3S_VERSION", "v1.31.4+k3s1", "AIRGAP_DIR", "/srv/k3s-new")));
        assertEquals("", RollingUpgrade.knownTarget(Map.of(), Map.of("AIRGAP_DIR", "/srv/k3s-new")));
    }

    @Test
    void aJoinedHostGetsTheUsersAirgapFolderButNotTheMachinesCache() {
        assertNull(RollingUpgrade.joinAirgap(""));
        assertNull(RollingUpgrade.joinAirgap(K3sCache.defaultCache().resolve("v1.31.5+k3s1-amd64").toString()));
        assertEquals(Path.of("/srv/k3s-new"), RollingUpgrade.joinAirgap("/srv/k3s-new"));
    }

    /** K3s's installer sees no change in a binary copied in before it runs: the provisioning must. */
    @Test
    void anotherAirgapBinaryIsAnInstallAndTheSameOneIsNot() throws IOException {
        Path airgap = Files.createDirectories(tmp.resolve("airgap"));
        Path installed = tmp.resolve("installed-k3s");
        String standin = Files.readString(Repo.root().resolve("tests/k3s-standin/k3s"));
        Files.writeString(airgap.resolve("k3s"), standin);
        Files.writeString(installed, standin);
        String before = sum(airgap);
        assertEquals(before, sum(airgap), "the same install twice changes nothing");
        assertFalse(changed(airgap, installed));
        Files.writeString(airgap.resolve("k3s"), standin.replace("BINARY_VERSION=\"v1.31.4+k3s1\"",
            "BINARY_VERSION=\"v1.31.5+k3s1\""));
        assertFalse(before.equals(sum(airgap)), "a new binary in the air-gap folder is an install");
        assertTrue(changed(airgap, installed), "and K3s's installer is told to restart the service");
        Repo.Run online = bash("AIRGAP_DIR= INSTALL_K3S_VERSION=v1.31.5+k3s1 install_sum k3s.service 'server' ''",
            airgap);
        Repo.Run older = bash("AIRGAP_DIR= INSTALL_K3S_VERSION=v1.31.4+k3s1 install_sum k3s.service 'server' ''",
            airgap);
        assertFalse(online.stdout().equals(older.stdout()), "another --k3s-version is an install");
    }

    private String sum(Path airgap) {
        Repo.Run run = bash("install_sum k3s.service 'server --node-ip 192.168.56.110' ''", airgap);
        assertEquals(0, run.exit(), run.stderr());
        return run.stdout().strip();
    }

    private boolean changed(Path airgap, Path installed) {
        return bash("binary_changed \"$AIRGAP_DIR/k3s\" " + installed, airgap).exit() == 0;
    }

    private Repo.Run bash(String command, Path airgap) {
        return Repo.exec(List.of("bash", "-c", ". provision/k3s-common.sh && " + command), Repo.root(),
            Map.of("AIRGAP_DIR", airgap.toString(), "K3S_TOKEN", "s3cret"), null, 30);
    }
}
