import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A running cluster's own machine settings (issue 11: memory, CPUs, flags): which settings may change and how,
 * from settings.yaml; the API port refused; the per-machine step carried out; a node Ready only on its new boot.
 */
class MachineSettingsChangeTest {
    /** A running cluster wil: 1 server, 2 agents. */
    private static Map<String, String> recorded() {
        return new LinkedHashMap<>(Map.of("PROVIDER", "libvirt", "LOGIN", "wil", "SERVER_IP", "192.168.61.110",
            "SERVERS", "1", "WORKER_IP", "192.168.61.111", "WORKERS", "2", "CPUS", "1", "SERVER_MEMORY", "1024",
            "WORKER_MEMORY", "512", "SERVER_FLAGS", "--https-listen-port 7443"));
    }

    private static ClusterChange plan(String env, String value) {
        Map<String, String> wanted = recorded();
        wanted.put(env, value);
        return ClusterChange.plan(recorded(), wanted, null);
    }

    @Test
    void everySettingOfTheMachinesSaysInSettingsYamlWhatAChangeDoes() {
        for (JsonNode setting : Settings.table().path("settings")) {
            if (!setting.has("flag") || setting.has("only")) continue; // --timeout: k3s-up's own, no machine's
            String change = setting.path("change").asText("");
            assertTrue(change.matches("fixed|count|k3s|machine(:server|:agent)?"), setting.path("env") + ": " + change);
        }
        assertEquals("agent", ClusterChange.PER_MACHINE.get("WORKER_MEMORY"));
        assertEquals("server", ClusterChange.PER_MACHINE.get("SERVER_FLAGS"));
        assertEquals("", ClusterChange.PER_MACHINE.get("CPUS"));
        assertTrue(ClusterChange.FIXED.containsAll(List.of("PROVIDER", "LOGIN", "SERVER_IP", "WORKER_IP", "BOX")));
        assertTrue(ClusterChange.K3S.contains("K3S_VERSION"));
    }

    @Test
    void moreWorkerMemoryChangesTheAgentsOneAtATimeAndIsCarriedOut() {
        ClusterChange change = plan("WORKER_MEMORY", "1024");
        assertEquals(1, change.steps.size());
        ClusterChange.Step step = change.steps.get(0);
        assertEquals(ClusterChange.Kind.PER_MACHINE, step.kind());
        assertEquals(List.of("wilSW", "wilSW2"), step.machines().stream().map(Plan.Machine::name).toList());
        assertEquals(List.of("wilSW", "wilSW2", "wilS"), plan("CPUS", "2").steps.get(0).machines().stream()
            .map(Plan.Machine::name).toList(), "servers last");
    }

    @Test
    void anApiPortChangeInsideTheServerFlagsIsRefusedNamingIt() {
        Cli.Failure failure = assertThrows(Cli.Failure.class, () -> plan("SERVER_FLAGS", "--https-listen-port 6443"));
        assertEquals(Cli.REFUSED, failure.exitCode);
        assertTrue(failure.getMessage().startsWith("--server-flags changes --https-listen-port from 7443 to 6443, which"
            + " a running cluster cannot take"), failure.getMessage());
        assertTrue(failure.getMessage().contains("Keep --https-listen-port 7443 in --server-flags"));
        assertThrows(Cli.Failure.class, () -> plan("SERVER_FLAGS", "")); // back to the default 6443
        // other flags, the same port: a change of the servers
        ClusterChange same = plan("SERVER_FLAGS", "--https-listen-port=7443 --node-label a=b");
        assertEquals(List.of("wilS"), same.steps.get(0).machines().stream().map(Plan.Machine::name).toList());
    }

    @Test
    void onlyTheRoleWhoseFlagsChangedIsProvisionedAgain() {
        Map<String, String> wanted = recorded();
        wanted.put("AGENT_FLAGS", "--node-label a=b");
        assertTrue(MachineSettingsChange.flagsChanged("agent", recorded(), wanted));
        assertFalse(MachineSettingsChange.flagsChanged("server", recorded(), wanted));
        Map<String, String> memory = recorded();
        memory.put("WORKER_MEMORY", "1024");
        memory.put("AGENT_FLAGS", ""); // empty is unset
        assertFalse(MachineSettingsChange.flagsChanged("agent", recorded(), memory));
    }

    @Test
    void aNodeIsReadyAgainOnlyOnItsNewBoot() throws Exception {
        JsonNode node = Cluster.JSON.readTree("""
            {"status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"bootID": "old"}}}""");
        // right after a halt the server still lists the node Ready, from its old boot
        assertFalse(MachineSettingsChange.readyOnBoot(node, "new"));
        assertTrue(MachineSettingsChange.readyOnBoot(node, "old"));
        JsonNode notReady = Cluster.JSON.readTree("""
            {"status": {"conditions": [{"type": "Ready", "status": "Unknown"}], "nodeInfo": {"bootID": "new"}}}""");
        assertFalse(MachineSettingsChange.readyOnBoot(notReady, "new"));
    }

    @Test
    void aClusterMadeWithNoHostCacheKeepsItsMachinesDownloadingK3s() {
        Map<String, String> noCache = recorded(); // --no-host-cache: no AIRGAP_DIR recorded
        assertFalse(GivenSettings.hostFetchesK3s(null, noCache));
        assertTrue(GivenSettings.hostFetchesK3s(null, Map.of()), "a new cluster: the host fetches K3s");
        Map<String, String> cached = recorded();
        cached.put("AIRGAP_DIR", K3sCache.defaultCache().resolve("v1.31.4+k3s1-amd64").toString());
        assertTrue(GivenSettings.hostFetchesK3s(null, cached));
        assertFalse(GivenSettings.hostFetchesK3s("/x", cached));
    }
}
