import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The VM tier with more workers: `k3s-up --workers 3` gives a server and three agents
 * named and addressed in order, all Ready, and k3s-down removes them all. It boots them
 * with --separate-up, one `vagrant up NAME` per machine (VirtualBox's default, as its
 * own `vagrant up` is serial), so that mechanism runs here too, on libvirt. The machines
 * get the K3s STAND-IN (tests/k3s-standin) through the offline mode, as in ClusterFlowTest.
 */
@Tag("vm")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ScaleFlowTest {
    static final String LOGIN = "sc";
    static final String CLUSTER = "k3sv-test-scale";
    static final List<String> MACHINES = List.of("scS", "scSW", "scSW2", "scSW3");
    static final List<String> IPS = List.of("192.168.56.110", "192.168.56.111", "192.168.56.112", "192.168.56.113");

    final Path repo = Repo.root();
    Path work;
    Map<String, String> env;
    JsonNode cluster;
    long upSeconds;

    @BeforeAll
    void bringUpAServerAndThreeWorkers() throws Exception {
        VmTier.start(repo);
        work = Files.createTempDirectory("k3sv-vm-scale");
        env = Map.of("K3S_VAGRANT_HOME", work.resolve("home").toString(), "VAGRANT_DEFAULT_PROVIDER", "libvirt");
        long start = System.nanoTime();
        Repo.Run up = Repo.exec(VmTier.inNetns("bin/jbang", "k3s-up", "--provider", "libvirt", "--login", LOGIN, "--name", CLUSTER,
            "--workers", "3", "--separate-up", "--box", VmTier.BOX, "--libvirt-driver", "qemu", "--libvirt-cpu-model", "qemu64",
            "--airgap-dir", repo.resolve("tests/k3s-standin").toString(), "--timeout", "30"), repo, env, null, 2400);
        upSeconds = VmTier.seconds(start);
        VmTier.check(up, "k3s-up --workers 3");
        cluster = Cluster.JSON.readTree(up.stdout());
    }

    @Test
    @Order(1)
    void theClusterHasAServerAndThreeAgentsNamedAndAddressedInOrder() {
        List<String> nodes = new ArrayList<>();
        cluster.path("nodes").forEach(n -> nodes.add(n.path("name").asText() + "/" + n.path("role").asText() + "/" + n.path("ip").asText()));
        assertEquals(List.of("scS/server/" + IPS.get(0), "scSW/agent/" + IPS.get(1), "scSW2/agent/" + IPS.get(2), "scSW3/agent/" + IPS.get(3)), nodes);
    }

    @Test
    @Order(2)
    void everyNodeIsReadyWithItsAddressAsTheServerSeesIt() {
        String nodes = VmTier.vagrantSsh(work.resolve("home/clusters/" + CLUSTER), env, "scS", "kubectl get nodes -o wide --no-headers");
        for (int i = 0; i < MACHINES.size(); i++) {
            String name = MACHINES.get(i).toLowerCase();
            String ip = IPS.get(i);
            assertTrue(nodes.lines().anyMatch(l -> l.startsWith(name + " ") && l.contains(" Ready ") && l.contains(" " + ip + " ")),
                name + " Ready at " + ip + " in\n" + nodes);
        }
        System.out.println("VM tier (scale): k3s-up --workers 3 took " + upSeconds + " s");
    }

    @Test
    @Order(3)
    void k3sDownRemovesEveryMachine() {
        Repo.Run down = Repo.exec(VmTier.inNetns("bin/jbang", "k3s-down", "--name", CLUSTER), repo, env, null, 900);
        VmTier.check(down, "k3s-down");
        String domains = String.join("\n", VmTier.virsh(repo, "list", "--all", "--name"));
        for (String machine : MACHINES) assertFalse(domains.contains(machine), machine + " left behind:\n" + domains);
        assertFalse(Files.exists(work.resolve("home/clusters/" + CLUSTER)));
    }

    @AfterAll
    void tearDown() {
        if (work == null) return;
        Path dir = work.resolve("home/clusters/" + CLUSTER);
        if (Files.isDirectory(dir.resolve(".vagrant"))) Repo.exec(VmTier.inNetns("vagrant", "destroy", "-f"), dir, env, null, 600);
        VmTier.stop(repo);
    }
}
