import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The VM tier at scale: `k3s-up --servers 3 --workers 3` gives an HA control plane
 * (scS, scS2, scS3 at .110, .109, .108: the first starts embedded etcd, the others join
 * it) and three agents (scSW.. at .111-.113), all Ready, and k3s-down removes them all.
 *
 * It first interrupts a k3s-up the way a terminal's Ctrl-C does (SIGINT to the whole
 * process group, vagrant included) while the machines boot, and checks the step lets
 * vagrant clean up, says what to run next and leaves nothing running; then the same
 * k3s-up is run again and must finish the cluster. k3s-down is interrupted the same way
 * while it destroys the machines, and run again. It boots with --separate-up, one
 * `vagrant up NAME` per machine (VirtualBox's default), so that mechanism runs here too.
 *
 * K3s is the STAND-IN (tests/k3s-standin) through the offline mode: its HA is a joined
 * server forwarding to the first one, not etcd. The same flags against real K3s:
 * tests/vm/real-k3s-check.sh --servers 3, on a machine with internet.
 */
@Tag("vm")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ScaleFlowTest {
    static final String LOGIN = "sc";
    static final String CLUSTER = "k3sv-test-scale";
    static final List<String> MACHINES = List.of("scS", "scS2", "scS3", "scSW", "scSW2", "scSW3");
    static final List<String> ROLES = List.of("server", "server", "server", "agent", "agent", "agent");
    static final List<String> IPS = List.of("192.168.56.110", "192.168.56.109", "192.168.56.108",
        "192.168.56.111", "192.168.56.112", "192.168.56.113");

    final Path repo = Repo.root();
    Path work;
    Map<String, String> env;
    JsonNode cluster;
    long upSeconds;
    Repo.Run interrupted;
    long interruptedAfterSeconds;
    long interruptExitSeconds;
    String processesAfterInterrupt;

    @BeforeAll
    void interruptAK3sUpThenRunItAgainToTheEnd() throws Exception {
        VmTier.start(repo);
        work = Files.createTempDirectory("k3sv-vm-scale");
        env = Map.of("K3S_VAGRANT_HOME", work.resolve("home").toString(), "VAGRANT_DEFAULT_PROVIDER", "libvirt");
        List<String> up = List.of("bin/jbang", "k3s-up", "--provider", "libvirt", "--login", LOGIN, "--name", CLUSTER,
            "--servers", "3", "--workers", "3", "--separate-up", "--box", VmTier.BOX, "--libvirt-driver", "qemu",
                "--libvirt-cpu-model", "qemu64",
            "--airgap-dir", repo.resolve("tests/k3s-standin").toString(), "--timeout", "40");

        interruptWhileBooting(up);

        long start = System.nanoTime();
        Repo.Run again = Repo.exec(VmTier.inNetns(up.toArray(String[]::new)), repo, env, null, 3000);
        upSeconds = VmTier.seconds(start);
        VmTier.check(again, "k3s-up --servers 3 --workers 3, run again after the interruption");
        cluster = Cluster.JSON.readTree(again.stdout());
    }

    /**
     * Starts k3s-up in its own process group and sends the group SIGINT, as Ctrl-C does, once a machine is starting.
     */
    private void interruptWhileBooting(List<String> up) throws Exception {
        Path err = work.resolve("interrupted-up.log");
        long start = System.nanoTime();
        Process process = VmTier.startAsJob(up, repo, env, work.resolve("interrupted-up.out"), err);
        VmTier.awaitLogLine(process, err, "Starting domain", 900, "k3s-up");
        Thread.sleep(3000); // well into the boot
        interruptedAfterSeconds = VmTier.seconds(start);
        VmTier.ctrlC(process);
        long signalled = System.nanoTime();
        if (!process.waitFor(6, TimeUnit.MINUTES)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            fail("k3s-up did not end within 6 min of Ctrl-C:\n" + Files.readString(err));
        }
        interruptExitSeconds = VmTier.seconds(signalled);
        interrupted = new Repo.Run(process.exitValue(), Files.readString(work.resolve("interrupted-up.out")),
            Files.readString(err));
        processesAfterInterrupt = Repo.exec(List.of("pgrep", "-af", "vagrant up"), repo, Map.of(), null, 10).stdout();
    }

    @Test
    @Order(1)
    void ctrlCDuringTheBootLetVagrantCleanUpSaidWhatToRunAndLeftNothingRunning() {
        System.out.println("VM tier (scale): Ctrl-C after " + interruptedAfterSeconds + " s; k3s-up ended "
            + interruptExitSeconds + " s later");
        assertEquals(130, interrupted.exit(), "exit code of an interrupted step:\n" + interrupted.stderr());
        assertEquals("", interrupted.stdout(), "no cluster JSON for a cluster that is not up");
        assertTrue(interrupted.stderr().contains("error: interrupted: vagrant was stopped after its cleanup; "),
            interrupted.stderr());
        assertEquals(1, interrupted.stderr().split("error: interrupted", -1).length - 1, "said once:\n"
            + interrupted.stderr());
        assertTrue(interrupted.stderr().contains("run the same k3s-up again to resume (what is up stays up), or "
            + "'k3s-down --name " + CLUSTER
            + "' to remove it"), interrupted.stderr());
        assertFalse(interrupted.stderr().contains("unexpected error"), interrupted.stderr());
        assertEquals("", processesAfterInterrupt.strip(), "no vagrant left running after the interrupted k3s-up");
    }

    @Test
    @Order(2)
    void runAgainItFinishedTheClusterNamedAndAddressedInOrder() {
        List<String> nodes = new ArrayList<>();
        cluster.path("nodes").forEach(n -> nodes.add(n.path("name").asText() + "/" + n.path("role").asText() + "/"
            + n.path("ip").asText()));
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < MACHINES.size(); i++) expected.add(MACHINES.get(i) + "/" + ROLES.get(i) + "/" + IPS.get(i));
        assertEquals(expected, nodes);
        assertEquals("https://192.168.56.110:6443", cluster.path("serverUrl").asText());
    }

    @Test
    @Order(3)
    void everyNodeIsReadyWithItsAddressAndTheServersAreEtcdMembers() {
        String nodes = VmTier.vagrantSsh(clusterDir(), env, "scS", "kubectl get nodes -o wide --no-headers");
        for (int i = 0; i < MACHINES.size(); i++) {
            String name = MACHINES.get(i).toLowerCase();
            String ip = IPS.get(i);
            boolean server = ROLES.get(i).equals("server");
            assertTrue(nodes.lines().anyMatch(l -> l.startsWith(name + " ") && l.contains(" Ready ")
                && l.contains(" " + ip + " ")
                && l.contains("etcd") == server), name + " Ready at " + ip + (server ? " with the etcd role" : "")
                    + " in\n" + nodes);
        }
        System.out.println("VM tier (scale): k3s-up --servers 3 --workers 3, run again after the Ctrl-C, took "
            + upSeconds + " s");
    }

    @Test
    @Order(4)
    void theFirstServerStartedEtcdAndTheOthersJoinedItAndEveryServerAnswers() {
        String first = VmTier.vagrantSsh(clusterDir(), env, "scS", "sudo cat /etc/systemd/system/k3s.service");
        assertTrue(first.contains("'--cluster-init'") || first.contains(" --cluster-init"), first);
        for (String other : List.of("scS2", "scS3")) {
            String unit = VmTier.vagrantSsh(clusterDir(), env, other, "sudo cat /etc/systemd/system/k3s.service");
            assertTrue(unit.contains("https://192.168.56.110:6443"), other + " joins the first server:\n" + unit);
            assertFalse(unit.contains("cluster-init"), unit);
            // kubectl on each server sees the whole cluster
            String nodes = VmTier.vagrantSsh(clusterDir(), env, other, "kubectl get nodes --no-headers");
            assertEquals(MACHINES.size(), nodes.strip().lines().count(), other + " lists every node:\n" + nodes);
        }
    }

    @Test
    @Order(5)
    void k3sStatusShowsThreeServersAndThreeAgents() throws Exception {
        Repo.Run status = Repo.exec(VmTier.inNetns("bin/jbang", "k3s-status", "--name", CLUSTER), repo, env, null, 300);
        VmTier.check(status, "k3s-status");
        List<String> roles = new ArrayList<>();
        Cluster.JSON.readTree(status.stdout()).path("nodes").forEach(n -> roles.add(n.path("role").asText()));
        assertEquals(List.of("agent", "agent", "agent", "server", "server", "server"), roles.stream().sorted().toList(),
            status.stdout());
    }

    /** A server of the HA cluster leaves as K3s documents it; never the first, never below etcd's majority. */
    @Test
    @Order(6)
    void fewerWorkersRemoveTheHighestNumberedAgentAndMoreBootOneAgainLeavingTheOthersRunning() throws Exception {
        String bootBefore = VmTier.vagrantSsh(clusterDir(), env, "scSW", "cat /proc/sys/kernel/random/boot_id");
        // no terminal to ask on and no --yes: the plan is shown, nothing changes
        Repo.Run unasked = up("--workers", "2");
        assertEquals(Cli.REFUSED, unasked.exit(), unasked.stderr());
        assertTrue(unasked.stderr().contains("1. remove scSW3 (192.168.56.113), one at a time"), unasked.stderr());
        assertTrue(unasked.stderr().contains("there is no terminal to ask on: run again with --yes"), unasked.stderr());
        assertTrue(nodes().contains("scsw3 "), "nothing changed:\n" + nodes());

        Repo.Run fewer = up("--workers", "2", "--yes");
        VmTier.check(fewer, "k3s-up --workers 2 --yes on a 3+3 cluster");
        assertTrue(fewer.stderr().contains("scsw3 cordoned and drained"), fewer.stderr());
        assertTrue(fewer.stderr().contains("scSW3 removed: node scsw3 deleted, the machine destroyed"), fewer.stderr());
        assertFalse(nodes().contains("scsw3"), "its node is deleted:\n" + nodes());
        assertFalse(String.join("\n", VmTier.virsh(repo, "list", "--all", "--name")).contains("scSW3"),
            "its machine is destroyed");
        assertFalse(fewer.stdout().contains("\"scSW3\""), fewer.stdout());
        assertTrue(Files.readString(clusterDir().resolve("cluster.env")).contains("K3S_VAGRANT_WORKERS=2\n"));

        Repo.Run again = up();
        VmTier.check(again, "k3s-up with no flag after the change");
        assertFalse(again.stderr().contains("this changes the running cluster"), "an empty plan:\n" + again.stderr());

        Repo.Run more = up("--workers", "3", "--yes");
        VmTier.check(more, "k3s-up --workers 3 --yes on a 3+2 cluster");
        assertTrue(more.stderr().contains("add scSW3 (192.168.56.113): booted with vagrant up"), more.stderr());
        assertTrue(nodes().lines().anyMatch(l -> l.startsWith("scsw3 ") && l.split("\\s+")[1].equals("Ready")),
            nodes());
        assertTrue(more.stdout().contains("\"scSW3\""), more.stdout());
        assertEquals(bootBefore, VmTier.vagrantSsh(clusterDir(), env, "scSW", "cat /proc/sys/kernel/random/boot_id"),
            "the agents that stayed were not rebooted");
    }

    private Repo.Run up(String... flags) {
        List<String> command = new ArrayList<>(List.of("bin/jbang", "k3s-up", "--name", CLUSTER));
        command.addAll(List.of(flags));
        return Repo.exec(VmTier.inNetns(command.toArray(String[]::new)), repo, env, null, 1200);
    }

    private String nodes() {
        return VmTier.vagrantSsh(clusterDir(), env, "scS", "kubectl get nodes --no-headers");
    }

    @Test
    @Order(7)
    void aServerLeavesTheHaClusterUnlessThatWouldBreakEtcdsMajority() throws Exception {
        // scS2 down: scS3 leaving would leave scS and scS2, of which only scS is Ready
        VmTier.vagrantSsh(clusterDir(), env, "scS2", "sudo systemctl stop k3s");
        awaitNode("scs2", "NotReady");
        Repo.Run refused = leave("scS3");
        assertEquals(Cli.REFUSED, refused.exit(), refused.stderr());
        assertTrue(refused.stderr().contains("removing scS3 would leave 2 servers (scS, scS2) of which only scS is"
            + " Ready: etcd needs 2 of them up"), refused.stderr());
        assertEquals("active", VmTier.vagrantSsh(clusterDir(), env, "scS3", "sudo systemctl is-active k3s").strip(),
            "nothing was changed");

        VmTier.vagrantSsh(clusterDir(), env, "scS2", "sudo systemctl start k3s");
        awaitNode("scs2", "Ready");
        Repo.Run left = leave("scS3");
        VmTier.check(left, "k3s-leave of the server scS3");
        assertFalse(left.stdout().contains("\"scS3\""), "the cluster JSON without scS3: " + left.stdout());
        String nodes = VmTier.vagrantSsh(clusterDir(), env, "scS", "kubectl get nodes --no-headers");
        assertFalse(nodes.contains("scs3"), "its node (and so its etcd member) is deleted:\n" + nodes);
        assertEquals("gone", VmTier.vagrantSsh(clusterDir(), env, "scS3", "test -e /usr/local/bin/k3s || echo gone")
            .strip(), "K3s is uninstalled there");

        Repo.Run first = leave("scS");
        assertEquals(Cli.USAGE, first.exit(), first.stderr());
        assertTrue(first.stderr().contains("scS is the server the agents and the kubeconfig reach"), first.stderr());
    }

    private Repo.Run leave(String node) {
        return Repo.exec(VmTier.inNetns("bin/jbang", "k3s-leave", "--name", CLUSTER, "--node", node), repo, env, null,
            600);
    }

    /** Waits (3 min at most) until the first server lists the node in that state. */
    private void awaitNode(String node, String state) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (true) {
            String nodes = VmTier.vagrantSsh(clusterDir(), env, "scS", "kubectl get nodes --no-headers");
            if (nodes.lines().anyMatch(l -> l.startsWith(node + " ") && l.split("\\s+")[1].equals(state))) return;
            assertTrue(System.nanoTime() < deadline, node + " never " + state + ":\n" + nodes);
            Thread.sleep(5000);
        }
    }

    @Test
    @Order(8)
    void k3sDownCtrlCdMidDestroySaysToRunItAgainWhichRemovesEveryMachine() throws Exception {
        Path err = work.resolve("interrupted-down.log");
        Process interruptedDown = VmTier.startAsJob(List.of("bin/jbang", "k3s-down", "--name", CLUSTER), repo, env,
            work.resolve("interrupted-down.out"), err);
        VmTier.awaitLogLine(interruptedDown, err, "Removing domain", 300, "k3s-down");
        VmTier.ctrlC(interruptedDown);
        assertTrue(interruptedDown.waitFor(5, TimeUnit.MINUTES), "k3s-down ended after Ctrl-C");
        String log = Files.readString(err);
        assertEquals(130, interruptedDown.exitValue(), log);
        assertTrue(log.contains("error: interrupted: vagrant was stopped after its cleanup; run the same k3s-down "
            + "again to finish"), log);
        assertTrue(Files.isDirectory(clusterDir()),
            "the folder stays until the machines are gone, so the next run finds them");

        Repo.Run down = Repo.exec(VmTier.inNetns("bin/jbang", "k3s-down", "--name", CLUSTER), repo, env, null, 900);
        VmTier.check(down, "k3s-down, run again after the Ctrl-C");
        String domains = String.join("\n", VmTier.virsh(repo, "list", "--all", "--name"));
        for (String machine : MACHINES) assertFalse(domains.contains(machine), machine + " left behind:\n" + domains);
        assertFalse(Files.exists(clusterDir()));
        // the network k3s-up made, used by no other machine: removed with the cluster
        String network = LibvirtShared.privateNetwork(IPS.get(0)).name();
        assertTrue(down.stdout().contains("\"networksRemoved\" : [ \"" + network + "\" ]"), down.stdout());
        assertFalse(VmTier.virsh(repo, "net-list", "--all", "--name").contains(network), network + " left behind");
    }

    private Path clusterDir() {
        return work.resolve("home/clusters/" + CLUSTER);
    }

    @AfterAll
    void tearDown() {
        if (work == null) return;
        if (Files.isDirectory(clusterDir().resolve(".vagrant"))) Repo.exec(VmTier.inNetns("vagrant", "destroy", "-f"),
            clusterDir(), env, null, 600);
        VmTier.stop(repo);
    }
}
