import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The VM tier: the README's own flow on real Vagrant machines (vagrant-libvirt, QEMU),
 * `k3s-up | k3s-join --host ... | k3s-kubeconfig --merge`, then assertions on the VMs.
 *
 * K3s itself cannot be downloaded here: the machines get the K3s STAND-IN of
 * tests/k3s-standin through the steps' offline mode (--airgap-dir). The same check
 * against real K3s, on a machine with internet: tests/vm/real-k3s-check.sh.
 *
 * Private addresses (192.168.56.x) live only inside the network namespace the tier
 * makes (tests/vm/netns.sh): libvirtd, vagrant, the steps and kubectl all run there.
 * K3S_VAGRANT_VM_TIER=off turns the tier off for a quick local run; it then reports
 * its tests as SKIPPED, never as passed.
 */
@Tag("vm")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterFlowTest {
    static final String LOGIN = "vmt";
    /** netns.sh down removes libvirt objects whose names start with k3sv-test-: the folders are named so */
    static final String CLUSTER = "k3sv-test-vmt";
    static final String SERVER = LOGIN + "S";
    static final String WORKER = LOGIN + "SW";
    static final String THIRD = "edge1";
    static final String SERVER_IP = "192.168.56.110";
    static final String WORKER_IP = "192.168.56.111";
    static final String THIRD_IP = "192.168.56.112";
    /** A host without systemd (sysvinit and openrc): tests/vm/openrc, its box built with BOX_INIT=openrc. */
    static final String OPENRC = "rc1";
    static final String OPENRC_IP = "192.168.56.113";
    static final String BOX = VmTier.BOX;

    final Path repo = Repo.root();
    final Map<String, Long> timings = new LinkedHashMap<>();
    Path work;
    Path clusterDir;
    Path thirdDir;
    Path openrcDir;
    /** The openrc host's box build and boot, started once the cluster is up, done by its test. */
    CompletableFuture<Repo.Run> openrcUp;
    Path kubeconfigFile;
    JsonNode result;
    Map<String, String> env;
    List<String> networksBefore = List.of();
    /** Every distinct command line on this host while the tier runs: no secret may be among them. */
    final HostCommandLines hostCommandLines = new HostCommandLines();
    String clusterToken;
    String nodeToken;
    /** The agents' token as the server keeps it: K10<hash>::node:<secret>. */
    String agentToken;

    @BeforeAll
    void bringUpTheClusterTheReadmeWay() throws Exception {
        timed("box build (cached after the first run) and libvirt up", () -> VmTier.start(repo));
        work = Files.createTempDirectory("k3sv-vm-tier");
        clusterDir = work.resolve("home/clusters/" + CLUSTER);
        thirdDir = work.resolve("k3sv-test-third");
        openrcDir = work.resolve("k3sv-test-openrc");
        kubeconfigFile = work.resolve("kube/config");
        env = Map.of(
            "K3S_VAGRANT_HOME", work.resolve("home").toString(),
            "VAGRANT_DEFAULT_PROVIDER", "libvirt",
            "KUBECONFIG", kubeconfigFile.toString(),
            "THIRD_NAME", THIRD, "THIRD_IP", THIRD_IP, "OPENRC_NAME", OPENRC, "OPENRC_IP", OPENRC_IP);

        networksBefore = virsh("net-list", "--all", "--name");
        hostCommandLines.start();

        // An existing kubeconfig with another context: the merge must keep it.
        Files.createDirectories(kubeconfigFile.getParent());
        Files.writeString(kubeconfigFile, OTHER_KUBECONFIG);
        Files.setPosixFilePermissions(kubeconfigFile, PosixFilePermissions.fromString("rw-------"));

        copyFolder(repo.resolve("tests/vm/third"), thirdDir);

        String airgap = repo.resolve("tests/k3s-standin").toString();
        String thirdKey = thirdDir.resolve(".vagrant/machines/" + THIRD + "/libvirt/private_key").toString();
        String pipeline = String.join(" ",
            "set -o pipefail;",
            "bin/jbang k3s-up --provider libvirt --login", LOGIN, "--name", CLUSTER, "--box", BOX,
            "--libvirt-driver qemu --libvirt-cpu-model qemu64 --airgap-dir", airgap, "--timeout 25 2>",
                work.resolve("up.log").toString(),
            "| bin/jbang k3s-join --host vagrant@" + THIRD_IP, "--ssh-key", thirdKey,
            "--known-hosts", work.resolve("known_hosts").toString(), "--airgap-dir", airgap, "2>",
                work.resolve("join.log").toString(),
            "| bin/jbang k3s-kubeconfig --merge 2>", work.resolve("kubeconfig.log").toString());
        long start = System.nanoTime();
        CompletableFuture<Repo.Run> pipelineRun = CompletableFuture.supplyAsync(() -> Repo.exec(inNetns("bash", "-c",
            pipeline), repo, env, null, 2400));

        // The third machine boots meanwhile (a bare host that k3s-join reaches over plain SSH), once
        // k3s-up has made the network and put the box into the pool: a plain vagrant up making either
        // at the same moment would race (it takes no lock of k3s-up's).
        awaitNetworkAndBox(pipelineRun);
        long thirdStart = System.nanoTime();
        CompletableFuture<Repo.Run> third = CompletableFuture.supplyAsync(() ->
            Repo.exec(inNetns("vagrant", "up", "--provider", "libvirt", "--no-color"), thirdDir, env, null, 1200));
        Repo.Run run = pipelineRun.get(40, TimeUnit.MINUTES);
        timings.put("pipeline k3s-up | k3s-join | k3s-kubeconfig", seconds(start));
        Repo.Run thirdRun = third.get(20, TimeUnit.MINUTES);
        timings.put("third machine: vagrant up (in parallel; done by then)", seconds(thirdStart));
        check(thirdRun, "vagrant up of the third machine");
        recordStepTimes();
        if (run.exit() != 0) {
            fail("the README's pipeline failed with exit " + run.exit() + "\n--- k3s-up:\n" + tail("up.log")
                + "\n--- k3s-join:\n"
                + tail("join.log") + "\n--- k3s-kubeconfig:\n" + tail("kubeconfig.log"));
        }
        result = Cluster.JSON.readTree(run.stdout());
        // the host without systemd boots while the tests below run (its own box, so no upload race)
        copyFolder(repo.resolve("tests/vm/openrc"), openrcDir);
        openrcUp = CompletableFuture.supplyAsync(() -> {
            Repo.Run box = Repo.exec(List.of("bash", "tests/vm/build-box.sh"), repo, Map.of("BOX_INIT", "openrc"),
                null, 1200);
            if (box.exit() != 0) return box;
            return Repo.exec(inNetns("vagrant", "up", "--provider", "libvirt", "--no-color"), openrcDir, env, null,
                1200);
        });
        clusterToken = Files.readString(clusterDir.resolve(".vagrant/k3s-token")).strip();
        nodeToken = vagrantSsh(SERVER, "sudo cat /var/lib/rancher/k3s/server/node-token").strip();
        agentToken = vagrantSsh(SERVER, "sudo cat /var/lib/rancher/k3s/server/agent-token").strip();
    }

    @Test
    @Order(1)
    void vagrantLibvirtFoundTheBoxInThePoolAndUploadedNothing() throws IOException {
        // k3s-up put the box image there under its lock; a vagrant process uploading it raced the third machine's
        String up = Files.readString(work.resolve("up.log"));
        assertFalse(up.contains("Uploading base box image"), up);
        String volumes = String.join("\n", virsh("vol-list", "default"));
        assertTrue(volumes.contains("debian12-test_vagrant_box_image_"), volumes);
    }

    @Test
    @Order(1)
    void theLastStepPrintsTheClusterWithAllThreeNodesAndTheKubeconfig() {
        assertEquals("k3s-vagrant/cluster/v1", result.path("format").asText());
        assertEquals("https://" + SERVER_IP + ":6443", result.path("serverUrl").asText());
        List<String> nodes = new ArrayList<>();
        result.path("nodes").forEach(n -> nodes.add(n.path("name").asText() + "/" + n.path("role").asText() + "/"
            + n.path("ip").asText()));
        assertEquals(List.of(SERVER + "/server/" + SERVER_IP, WORKER + "/agent/" + WORKER_IP, THIRD + "/agent/"
            + THIRD_IP), nodes);
        assertEquals(kubeconfigFile.toString(), result.path("kubeconfig").path("path").asText());
        assertEquals(CLUSTER, result.path("kubeconfig").path("context").asText());
    }

    @Test
    @Order(2)
    void machinesHaveTheirNamesAndAddressesOnEth1AndPasswordlessVagrantSsh() {
        // on the network k3s-up made before vagrant up, shared with the third machine
        String network = LibvirtShared.privateNetwork(SERVER_IP).name();
        for (String domain : List.of(CLUSTER + "_" + SERVER, CLUSTER + "_" + WORKER, "k3sv-test-third_" + THIRD)) {
            assertTrue(String.join("\n", virsh("domiflist", domain)).contains(" " + network + " "), domain + " on "
                + network);
        }
        assertEquals(SERVER, vagrantSsh(SERVER, "hostname").strip());
        assertEquals(WORKER, vagrantSsh(WORKER, "hostname").strip());
        assertTrue(vagrantSsh(SERVER, "ip -4 -o addr show dev eth1").contains(" " + SERVER_IP + "/"),
            "server address on eth1");
        assertTrue(vagrantSsh(WORKER, "ip -4 -o addr show dev eth1").contains(" " + WORKER_IP + "/"),
            "worker address on eth1");
    }

    @Test
    @Order(3)
    void theServerRunsInServerModeWithNodeIpAndFlannelIface() {
        String unit = vagrantSsh(SERVER, "sudo cat /etc/systemd/system/k3s.service");
        assertTrue(unit.contains("server"), unit);
        assertTrue(unit.contains("--node-ip") && unit.contains(SERVER_IP), "--node-ip " + SERVER_IP + " in\n" + unit);
        assertTrue(unit.contains("--flannel-iface") && unit.contains("eth1"), "--flannel-iface eth1 in\n" + unit);
        assertEquals("active", vagrantSsh(SERVER, "sudo systemctl is-active k3s").strip());
        assertTrue(vagrantSsh(SERVER, "kubectl get nodes").contains("Ready"),
            "kubectl works for the vagrant user without sudo");
    }

    @Test
    @Order(4)
    void theAgentGotTheServerUrlAndTheAgentTokenInPrivateFiles() throws IOException {
        for (String file : List.of(".vagrant/k3s-token", ".vagrant/k3s-agent-token")) {
            assertEquals("rw-------",
                PosixFilePermissions.toString(Files.getPosixFilePermissions(clusterDir.resolve(file))), file);
        }
        String token = Files.readString(clusterDir.resolve(".vagrant/k3s-agent-token")).strip();
        assertEquals(64, token.length(), "32 random bytes, hex");
        String envFile = vagrantSsh(WORKER, "sudo cat /etc/systemd/system/k3s-agent.service.env");
        assertTrue(envFile.matches("(?s).*K3S_URL=['\"]?https://" + SERVER_IP.replace(".", "\\.") + ":6443['\"]?\\s.*"),
            envFile.replace(token, "<token>").replace(clusterToken, "<server token>"));
        assertTrue(envFile.contains(token), "the agent's env file holds the agent token");
        assertFalse(envFile.contains(clusterToken), "and not the server token, which makes its holder an admin");
        assertTrue(vagrantSsh(SERVER, "sudo cat /var/lib/rancher/k3s/server/agent-token").strip()
            .endsWith("::node:" + token),
            "the server started with that agent token (--agent-token)");
        assertEquals("600", vagrantSsh(WORKER, "sudo stat -c %a /etc/systemd/system/k3s-agent.service.env").strip());
        assertEquals("600", vagrantSsh(SERVER, "sudo stat -c %a /var/lib/rancher/k3s/server/node-token").strip());
        String unit = vagrantSsh(WORKER, "sudo cat /etc/systemd/system/k3s-agent.service");
        assertFalse(unit.contains(token), "the token is not on the agent's command line");
        for (String machine : List.of(SERVER, WORKER)) {
            assertFalse(vagrantSsh(machine, "ps -eo args").contains(token.substring(0, 16)), "no process on " + machine
                + " has the token in its arguments");
        }
    }

    @Test
    @Order(5)
    void theWorkerReachesTheServersApiOverThePrivateNetwork() {
        assertEquals("pong", vagrantSsh(WORKER, "curl -ks https://" + SERVER_IP + ":6443/ping").strip());
    }

    @Test
    @Order(5)
    void aBoxThatIsNeitherInstalledNorDownloadableIsNamedWithTheFixAndNothingIsCreated() throws IOException {
        Map<String, String> offline = new HashMap<>(env);
        offline.put("K3S_VAGRANT_HOME", work.resolve("nobox-home").toString());
        offline.put("VAGRANT_SERVER_URL", "http://127.0.0.1:9"); // Vagrant's box catalog: nothing answers, as offline
        Repo.Run run = Repo.exec(inNetns("bin/jbang", "k3s-up", "--provider", "libvirt", "--login", "nobox", "--name",
            "k3sv-test-nobox", "--box", "nosuch/box", "--server-ip", "192.168.56.130", "--workers", "0", // free
            "--libvirt-driver", "qemu", "--airgap-dir", repo.resolve("tests/k3s-standin").toString()),
            repo, offline, null, 300);
        assertEquals(1, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("the box 'nosuch/box' is not installed and could not be downloaded")
            && run.stderr().contains("vagrant box add nosuch/box"),
            run.stderr());
        assertEquals("", run.stdout());
        assertFalse(String.join("\n", virsh("list", "--all", "--name")).contains("nobox"), "no machine was created");
    }

    @Test
    @Order(6)
    void aClusterOnTheAddressOfAnotherProjectsRunningMachineIsRefusedBeforeAnythingBoots() {
        // the third machine is a plain Vagrant project's, unknown to k3s-vagrant, running at THIRD_IP
        Repo.Run run = Repo.exec(inNetns("bin/jbang", "k3s-up", "--provider", "libvirt", "--login", "taken",
            "--name", "k3sv-test-taken", "--server-ip", THIRD_IP, "--workers", "0", "--box", BOX,
            "--libvirt-driver", "qemu", "--airgap-dir", repo.resolve("tests/k3s-standin").toString()),
            repo, env, null, 300);
        assertEquals(7, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("a machine already answers at " + THIRD_IP + " (planned for takenS)"),
            run.stderr());
        assertFalse(Files.exists(work.resolve("home/clusters/k3sv-test-taken")), "no folder was made");
        assertFalse(String.join("\n", virsh("list", "--all", "--name")).contains("taken"), "no machine was made");
    }

    @Test
    @Order(6)
    void theThirdMachineJoinedOverPlainSshAndIsReady() {
        JsonNode third = null;
        for (JsonNode node : result.path("nodes")) if (node.path("name").asText().equals(THIRD)) third = node;
        assertTrue(third != null && third.path("ssh").path("address").asText().equals("vagrant@" + THIRD_IP)
            && third.path("ssh").path("vagrantMachine").isMissingNode(),
                "joined through its SSH address, not vagrant ssh: " + third);
        assertTrue(Files.exists(work.resolve("known_hosts")), "its host key was recorded (accept-new)");
        String nodes = vagrantSsh(SERVER, "sudo k3s kubectl get nodes -o wide");
        for (String name : List.of(SERVER, WORKER, THIRD)) {
            assertTrue(nodes.lines().anyMatch(l -> l.toLowerCase().startsWith(name.toLowerCase() + " ")
                && l.contains(" Ready ")), name + " Ready in\n" + nodes);
        }
    }

    @Test
    @Order(6)
    void noFileOnAnAgentHoldsTheServerToken() {
        assertNoAgentFileHoldsTheServerToken();
    }

    /** Every small file where K3s, its installer or our uploads put things, on the worker and the joined host. */
    private void assertNoAgentFileHoldsTheServerToken() {
        // the files come back through vagrant ssh's output, so that no secret goes on a command line here
        String dump = "sudo find /etc/rancher /etc/systemd/system /var/lib/rancher/k3s/agent /tmp -xdev -type f "
            + "-size -1000k "
            + "-exec sh -c 'for f; do printf \"\\n==> %s\\n\" \"$f\"; cat \"$f\"; done' sh {} + 2>/dev/null; true";
        String secret = nodeToken.substring(nodeToken.lastIndexOf(':') + 1);
        Map<String, String> dumps = Map.of(WORKER, vagrantSsh(WORKER, dump), THIRD, vagrantSshToThird(dump));
        dumps.forEach((machine, files) -> {
            assertTrue(files.contains("==> /etc/systemd/system/k3s-agent.service.env"), machine
                + ": the dump read the agent's files");
            for (String file : files.split("\n==> ")) {
                assertFalse(file.contains(clusterToken) || file.contains(secret),
                    machine + " holds the server token in " + file.lines().findFirst().orElse(""));
            }
        });
    }

    @Test
    @Order(7)
    void theHostsKubeconfigPointsAtTheServerAndTheRealKubectlUsesIt() {
        Repo.Run view = Repo.exec(List.of("kubectl", "config", "view", "--kubeconfig", kubeconfigFile.toString(),
            "-o", "jsonpath={.clusters[?(@.name==\"" + CLUSTER + "\")].cluster.server}"), repo, Map.of(), null, 60);
        assertEquals("https://" + SERVER_IP + ":6443", view.stdout().strip(), view.stderr());
        Repo.Run contexts = Repo.exec(List.of("kubectl", "config", "get-contexts", "-o", "name", "--kubeconfig",
            kubeconfigFile.toString()), repo, Map.of(), null, 60);
        assertTrue(contexts.stdout().lines().toList().containsAll(List.of(CLUSTER, "other")),
            "the other context is kept: " + contexts.stdout());
        Repo.Run nodes = Repo.exec(inNetns("kubectl", "--kubeconfig", kubeconfigFile.toString(), "get", "nodes", "-o",
            "wide"), repo, Map.of(), null, 120);
        assertEquals(0, nodes.exit(), nodes.stderr());
        for (String ip : List.of(SERVER_IP, WORKER_IP, THIRD_IP)) assertTrue(nodes.stdout().contains(ip), ip + " in\n"
            + nodes.stdout());
    }

    @Test
    @Order(8)
    void provisioningAgainChangesNothing() {
        String before = vagrantSsh(SERVER, "sudo systemctl show -p ActiveEnterTimestampMonotonic k3s")
            + vagrantSsh(WORKER, "sudo systemctl show -p ActiveEnterTimestampMonotonic k3s-agent");
        long start = System.nanoTime();
        Repo.Run again = Repo.exec(inNetns("vagrant", "provision", "--no-color"), clusterDir, env, null, 900);
        timings.put("vagrant provision again", seconds(start));
        check(again, "vagrant provision");
        assertEquals(2, again.stdout().split("already installed as wanted", -1).length - 1, again.stdout());
        String after = vagrantSsh(SERVER, "sudo systemctl show -p ActiveEnterTimestampMonotonic k3s")
            + vagrantSsh(WORKER, "sudo systemctl show -p ActiveEnterTimestampMonotonic k3s-agent");
        assertEquals(before, after, "the K3s services were not restarted");
    }

    @Test
    @Order(9)
    void aStoppedK3sIsStartedAgainByProvisioning() {
        // K3s's installer starts its service only when its files changed: a unit stopped by hand,
        // by k3s-killall.sh or by a crash stayed down, and the server's wait then timed out
        vagrantSsh(SERVER, "sudo systemctl stop k3s");
        Map<String, String> shortWait = new HashMap<>(env);
        shortWait.put("K3S_VAGRANT_API_WAIT", "120");
        Repo.Run again = Repo.exec(inNetns("vagrant", "provision", SERVER, "--no-color"), clusterDir, shortWait, null,
            900);
        check(again, "vagrant provision of a server whose K3s was stopped");
        assertEquals("active", vagrantSsh(SERVER, "sudo systemctl is-active k3s").strip());
    }

    @Test
    @Order(10)
    void aSecondK3sUpReportsTheClusterAndChangesNothing() {
        long start = System.nanoTime();
        Repo.Run again = Repo.exec(inNetns("bin/jbang", "k3s-up", "--provider", "libvirt", "--login", LOGIN, "--name",
            CLUSTER, "--box", BOX,
            "--libvirt-driver", "qemu", "--libvirt-cpu-model", "qemu64", "--airgap-dir",
                repo.resolve("tests/k3s-standin").toString()), repo, env, null, 900);
        timings.put("k3s-up on a running cluster", seconds(start));
        assertEquals(0, again.exit(), again.stderr());
        assertTrue(again.stdout().contains("\"serverUrl\" : \"https://" + SERVER_IP + ":6443\""), again.stdout());
        assertTrue(again.stdout().contains("\"address\" : \"vagrant@" + THIRD_IP + "\""),
            "the joined host is still part of the cluster: " + again.stdout());
    }

    @Test
    @Order(11)
    void aClusterOfAnOlderVersionIsMovedToTheAgentTokenAndVagrantsDebugLogHoldsNoToken() throws IOException {
        // an older k3s-up started the server without --agent-token: no K3S_AGENT_TOKEN in its env file; the
        // markers go so that provisioning installs again (with an unchanged marker it would skip)
        vagrantSsh(SERVER, "sudo sed -i '/^K3S_AGENT_TOKEN=/d' /etc/systemd/system/k3s.service.env && "
            + "sudo rm -f /etc/rancher/k3s/k3s-vagrant.sum");
        vagrantSsh(WORKER, "sudo rm -f /etc/rancher/k3s/k3s-vagrant.sum");
        Map<String, String> debug = new HashMap<>(env);
        debug.put("VAGRANT_LOG", "debug"); // Vagrant logs a provisioner's env from INFO on
        Repo.Run up = Repo.exec(inNetns("bin/jbang", "k3s-up", "-v", "--provider", "libvirt", "--login", LOGIN,
            "--name", CLUSTER,
            "--box", BOX, "--libvirt-driver", "qemu", "--libvirt-cpu-model", "qemu64",
            "--airgap-dir", repo.resolve("tests/k3s-standin").toString()), repo, debug, null, 1200);
        String agentToken = Files.readString(clusterDir.resolve(".vagrant/k3s-agent-token")).strip();
        String secret = nodeToken.substring(nodeToken.lastIndexOf(':') + 1);
        for (String token : List.of(clusterToken, secret, agentToken)) {
            assertFalse(up.stderr().contains(token) || up.stdout().contains(token),
                "a token in k3s-up's output with VAGRANT_LOG=debug");
        }
        assertEquals(0, up.exit(),
            up.stderr().lines().skip(Math.max(0, up.stderr().lines().count() - 40)).toList().toString());
        assertTrue(up.stderr().contains("vagrant provision gives them an agent token of their own"),
            "k3s-up said why it provisions");
        assertTrue(up.stderr().contains("DEBUG"), "Vagrant's debug log was on: the check is not vacuous");
        assertEquals("1", vagrantSsh(SERVER, "sudo grep -c '^K3S_AGENT_TOKEN=' "
            + "/etc/systemd/system/k3s.service.env").strip(),
            "the server runs with the agent token again");
        assertTrue(vagrantSsh(WORKER, "sudo cat /etc/systemd/system/k3s-agent.service.env").contains(agentToken));
        for (String machine : List.of(SERVER, WORKER)) {
            assertEquals("", vagrantSsh(machine, "ls /tmp/k3s-vagrant/token /tmp/k3s-vagrant/agent-token 2>/dev/null; "
                + "true").strip(),
                "the uploaded token files are removed once read on " + machine);
        }
        assertNoAgentFileHoldsTheServerToken();
    }

    @Test
    @Order(11)
    void k3sStatusListsEveryNodeReady() throws IOException {
        Repo.Run status = Repo.exec(inNetns("bin/jbang", "k3s-status", "--name", CLUSTER), repo, env, null, 300);
        assertEquals(0, status.exit(), status.stderr());
        List<String> ready = new ArrayList<>();
        Cluster.JSON.readTree(status.stdout()).path("status").forEach(n -> {
            if (n.path("ready").asBoolean()) ready.add(n.path("node").asText());
        });
        assertEquals(List.of(THIRD, SERVER.toLowerCase(), WORKER.toLowerCase()), ready.stream().sorted().toList(),
            status.stdout());
    }

    @Test
    @Order(12)
    void joiningAHostThatAlreadyBelongsChangesNothingAndSaysSo() {
        String before = vagrantSshToThird("sudo systemctl show -p ActiveEnterTimestampMonotonic k3s-agent");
        Repo.Run again = Repo.exec(inNetns("bin/jbang", "k3s-join", "--name", CLUSTER, "--host", "vagrant@" + THIRD_IP,
            "--ssh-key", thirdDir.resolve(".vagrant/machines/" + THIRD + "/libvirt/private_key").toString(),
            "--known-hosts", work.resolve("known_hosts").toString()), repo, env, null, 300);
        assertEquals(0, again.exit(), again.stderr());
        assertTrue(again.stderr().contains("already an agent of https://" + SERVER_IP + ":6443: nothing to install"),
            again.stderr());
        assertEquals(before, vagrantSshToThird("sudo systemctl show -p ActiveEnterTimestampMonotonic k3s-agent"),
            "the agent was not restarted");
    }

    @Test
    @Order(13)
    void k3sLeaveRemovesTheNodeFromTheServerAndK3sFromTheHost() throws IOException {
        Repo.Run left = Repo.exec(inNetns("bin/jbang", "k3s-leave", "--name", CLUSTER, "--node", THIRD,
            "--known-hosts", work.resolve("known_hosts").toString()), repo, env, null, 300);
        assertEquals(0, left.exit(), left.stderr());
        List<String> names = new ArrayList<>();
        Cluster.JSON.readTree(left.stdout()).path("nodes").forEach(n -> names.add(n.path("name").asText()));
        assertEquals(List.of(SERVER, WORKER), names);
        assertFalse(vagrantSsh(SERVER, "sudo k3s kubectl get nodes").toLowerCase().contains(THIRD),
            "the node is deleted on the server");
        assertEquals("gone", vagrantSshToThird("test -e /usr/local/bin/k3s || echo gone").strip(),
            "K3s is uninstalled from the host");
    }

    @Test
    @Order(14)
    void aHostWhoseClockIsOffIsRefusedNamingTheClocksAndNothingIsInstalled() {
        vagrantSshToThird("sudo date -s '-2 hours' >/dev/null");
        try {
            long start = System.nanoTime();
            Repo.Run join = joinThird();
            long took = seconds(start);
            assertEquals(1, join.exit(), join.stderr());
            assertTrue(join.stderr().matches("(?s).*this machine's clock \\(.*\\) is 7[12]\\d\\d s behind the server's "
                + "at https://"
                + SERVER_IP.replace(".", "\\.") + ":6443.*Set the clocks right on both.*"), join.stderr());
            assertTrue(took < 180, "refused within bounds, took " + took + " s");
            assertEquals("", join.stdout(), "no cluster JSON: the host did not join");
            assertNothingInstalledOnThird();
        } finally {
            vagrantSshToThird("sudo date -u -s @" + System.currentTimeMillis() / 1000 + " >/dev/null");
        }
    }

    @Test
    @Order(15)
    void aServerThatIsDownFailsTheJoinWithinTheWaitNamingIt() {
        vagrantSsh(SERVER, "sudo systemctl stop k3s");
        long start = System.nanoTime();
        Repo.Run join = joinThird("--api-wait", "10");
        long took = seconds(start);
        assertEquals(1, join.exit(), join.stderr());
        assertTrue(join.stderr().contains("the K3s server at https://" + SERVER_IP
            + ":6443 did not answer within 10 s"), join.stderr());
        assertTrue(took < 180, "failed within bounds, took " + took + " s");
        assertNothingInstalledOnThird();
        // the server stays down for the next test, which brings it back mid-join
    }

    @Test
    @Order(16)
    void ctrlCDuringAJoinStopsTheInstallRemovesTheTokenFolderAndSaysWhatToRun() throws Exception {
        // the server is still down: the host's agent.sh waits for it, and Ctrl-C comes meanwhile
        Path err = work.resolve("interrupted-join.log");
        Process join = VmTier.startAsJob(joinThirdCommand(), repo, env, work.resolve("interrupted-join.out"), err);
        awaitAgentScriptOnThird(join, err);
        // agent.sh read the token and removed its file at once: while it waits, no copy is on the host's disk
        Thread.sleep(2000);
        String folder = vagrantSshToThird("sudo sh -c 'ls -A /tmp/k3s-join.*'");
        assertFalse(folder.contains("token"), "the uploaded token file is gone while agent.sh waits:\n" + folder);
        VmTier.ctrlC(join);
        assertTrue(join.waitFor(2, TimeUnit.MINUTES), "k3s-join ended after Ctrl-C");
        String log = Files.readString(err);
        assertEquals(130, join.exitValue(), log);
        assertTrue(log.contains("error: interrupted: the install on vagrant@" + THIRD_IP
            + " was stopped and its temporary files (with the token) "
            + "removed: run k3s-join again to finish, or k3s-leave"), log);
        assertEquals("", Files.readString(work.resolve("interrupted-join.out")),
            "no cluster JSON: the host did not join");
        assertEquals("", vagrantSshToThird("pgrep -af '[a]gent.sh' || true").strip(), "no agent.sh left running");
        assertNothingInstalledOnThird();
    }

    /** Waits until k3s-join's agent.sh runs on the third machine (it then waits for the server). */
    private void awaitAgentScriptOnThird(Process join, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (!vagrantSshToThird("pgrep -f '[k]3s-join.*/agent.sh' || true").strip().matches("(?s)\\d+.*")) {
            if (join != null && !join.isAlive()) fail("k3s-join ended before its agent.sh ran:\n"
                + Files.readString(log));
            assertTrue(System.nanoTime() < deadline, "agent.sh never ran on " + THIRD);
            Thread.sleep(1000);
        }
    }

    @Test
    @Order(17)
    void aConnectionDroppedMidInstallIsRetriedAndTheJoinWaitsForASlowServer() throws Exception {
        // k3s-join starts while the server is down: the host's agent.sh waits for it
        CompletableFuture<Repo.Run> join = CompletableFuture.supplyAsync(this::joinThird);
        awaitAgentScriptOnThird(null, null);
        // the network drops k3s-join's SSH connection (both ends get a reset) while agent.sh waits
        check(Repo.exec(inNetns("ss", "-K", "dst", THIRD_IP, "dport", "=", ":22"), repo, Map.of(), null, 30), "ss -K");
        Thread.sleep(3000);
        vagrantSsh(SERVER, "sudo systemctl start k3s"); // the slow server is back
        Repo.Run done = join.get(10, TimeUnit.MINUTES);
        assertEquals(0, done.exit(), done.stderr());
        assertTrue(done.stderr().contains("dropped while running")
            && done.stderr().contains("installing again is safe: reconnecting in 5 s"),
            done.stderr());
        assertTrue(done.stderr().contains(THIRD + " is a Ready agent of " + CLUSTER), done.stderr());
        assertEquals("", vagrantSshToThird("ls -d /tmp/k3s-join.* 2>/dev/null || true").strip(),
            "the dropped attempt's folder (it held the token) is gone");
        assertEquals("", vagrantSshToThird("pgrep -af '[a]gent.sh' || true").strip(), "no agent.sh left running");
        assertEquals("active", vagrantSshToThird("sudo systemctl is-active k3s-agent").strip());
    }

    private Repo.Run joinThird(String... extra) {
        return Repo.exec(inNetns(joinThirdCommand(extra).toArray(String[]::new)), repo, env, null, 900);
    }

    /** k3s-join of the third machine over plain SSH, K3s from the stand-in. */
    private List<String> joinThirdCommand(String... extra) {
        List<String> command = new ArrayList<>(List.of("bin/jbang", "k3s-join", "--name", CLUSTER, "--host", "vagrant@"
            + THIRD_IP,
            "--ssh-key", thirdDir.resolve(".vagrant/machines/" + THIRD + "/libvirt/private_key").toString(),
            "--known-hosts", work.resolve("known_hosts").toString(), "--airgap-dir",
                repo.resolve("tests/k3s-standin").toString()));
        command.addAll(List.of(extra));
        return command;
    }

    private void assertNothingInstalledOnThird() {
        assertEquals("gone", vagrantSshToThird("test -e /usr/local/bin/k3s || echo gone").strip(),
            "no K3s was installed");
        assertEquals("", vagrantSshToThird("ls -d /tmp/k3s-join.* 2>/dev/null || true").strip(),
            "no temporary folder (with the token) is left");
    }

    /**
     * Alpine, Gentoo and Devuan have no systemd: K3s's installer writes /etc/init.d/k3s-agent and
     * /etc/rancher/k3s/k3s-agent.env there. Joined, joined again (nothing to do), left, and joined again.
     */
    @Test
    @Order(18)
    void aHostWithoutSystemdJoinsLeavesAndJoinsAgain() throws Exception {
        long start = System.nanoTime();
        check(openrcUp.get(20, TimeUnit.MINUTES), "the openrc host's box build and vagrant up");
        timings.put("openrc host: box and vagrant up (waited for)", seconds(start));
        assertEquals("no systemctl", vagrantSshToOpenrc("command -v systemctl || echo no systemctl").strip());

        start = System.nanoTime();
        Repo.Run join = joinOpenrc();
        timings.put("openrc host: k3s-join", seconds(start));
        assertEquals(0, join.exit(), join.stderr());
        assertTrue(join.stderr().contains(OPENRC + " is a Ready agent of " + CLUSTER), join.stderr());
        assertEquals("600", vagrantSshToOpenrc("sudo test -x /etc/init.d/k3s-agent && sudo stat -c %a "
            + "/etc/rancher/k3s/k3s-agent.env").strip(), "K3s's openrc service and its private env file");
        assertEquals("none",
            vagrantSshToOpenrc("test -e /etc/systemd/system/k3s-agent.service.env || echo none").strip());
        vagrantSshToOpenrc("sudo rc-service k3s-agent status"); // fails the test unless started

        Repo.Run again = joinOpenrc();
        assertEquals(0, again.exit(), again.stderr());
        assertTrue(again.stderr().contains("already an agent of https://" + SERVER_IP + ":6443: nothing to install"),
            "the agent is found through openrc: " + again.stderr());

        Repo.Run left = Repo.exec(inNetns("bin/jbang", "k3s-leave", "--name", CLUSTER, "--node", OPENRC,
            "--known-hosts", work.resolve("known_hosts").toString()), repo, env, null, 300);
        assertEquals(0, left.exit(), left.stderr());
        assertFalse(vagrantSsh(SERVER, "sudo k3s kubectl get nodes").contains(OPENRC), "the node is deleted");
        assertEquals("gone", vagrantSshToOpenrc("test -e /etc/init.d/k3s-agent || test -e /usr/local/bin/k3s"
            + " || echo gone").strip(), "K3s and its openrc service are uninstalled");

        Repo.Run rejoined = joinOpenrc();
        assertEquals(0, rejoined.exit(), rejoined.stderr());
        assertTrue(rejoined.stderr().contains(OPENRC + " is a Ready agent of " + CLUSTER), rejoined.stderr());
    }

    private Repo.Run joinOpenrc() {
        return Repo.exec(inNetns("bin/jbang", "k3s-join", "--name", CLUSTER, "--host", "vagrant@" + OPENRC_IP,
            "--ssh-key", openrcDir.resolve(".vagrant/machines/" + OPENRC + "/libvirt/private_key").toString(),
            "--known-hosts", work.resolve("known_hosts").toString(),
            "--airgap-dir", repo.resolve("tests/k3s-standin").toString()), repo, env, null, 900);
    }

    private String vagrantSshToOpenrc(String command) {
        return VmTier.vagrantSsh(openrcDir, env, OPENRC, command);
    }

    /** k3s-down --halt keeps everything; the same k3s-up boots it and waits for every node, joined hosts too. */
    @Test
    @Order(19)
    void aHaltedClusterKeepsEverythingAndK3sUpResumesItWithEveryNodeReady() throws IOException {
        long start = System.nanoTime();
        Repo.Run halt = Repo.exec(inNetns("bin/jbang", "k3s-down", "--name", CLUSTER, "--halt"), repo, env, null, 900);
        timings.put("k3s-down --halt", seconds(start));
        assertEquals(0, halt.exit(), halt.stderr());
        assertTrue(halt.stdout().contains("\"halted\" : true"), halt.stdout());
        for (String machine : List.of(SERVER, WORKER)) {
            assertEquals("shut off", String.join("", virsh("domstate", CLUSTER + "_" + machine)).strip(), machine);
        }
        assertTrue(Files.isRegularFile(clusterDir.resolve(".vagrant/k3s-token")), "the folder and its token stay");

        start = System.nanoTime();
        Repo.Run resume = Repo.exec(inNetns("bin/jbang", "k3s-up", "--provider", "libvirt", "--login", LOGIN, "--name",
            CLUSTER, "--box", BOX, "--libvirt-driver", "qemu", "--libvirt-cpu-model", "qemu64", "--airgap-dir",
            repo.resolve("tests/k3s-standin").toString()), repo, env, null, 1500);
        timings.put("k3s-up resuming the halted cluster", seconds(start));
        assertEquals(0, resume.exit(), resume.stderr());
        assertTrue(resume.stderr().contains("(halted by k3s-down --halt)"), resume.stderr());
        for (String node : List.of(SERVER, WORKER, THIRD, OPENRC)) {
            assertTrue(resume.stderr().matches("(?s).*\\b" + node.toLowerCase() + "\\s+Ready\\b.*"),
                node + " is Ready again (the joined hosts reconnected):\n" + resume.stderr());
        }
        assertFalse(Files.exists(clusterDir.resolve(".vagrant/k3s-halted")), "resumed: no longer marked halted");
    }

    // Day two (issue 11), on the cluster as the halt and resume left it: vmtS, vmtSW, edge1 and rc1 Ready.
    // Orders 20-24: the rolling upgrade.

    /** The stand-in of a later patch version: another BINARY_VERSION line, so other bytes too. */
    static final String NEWER = "v1.31.5+k3s1";

    /**
     * A second air-gap folder holding a later stand-in: k3s-up rolls every node over to it, the server first,
     * then the agent machine, then the hosts k3s-join added, one at a time (each "upgraded" line's time after
     * the one before), and cluster.json and k3s-status then show the new version.
     */
    @Test
    @Order(20)
    void aNewerAirgapFolderUpgradesEveryNodeServerFirstOneAtATime() throws IOException {
        Path newer = work.resolve("k3s-standin-newer");
        copyFolder(repo.resolve("tests/k3s-standin"), newer);
        Path binary = newer.resolve("k3s");
        String text = Files.readString(binary);
        String changed = text.replaceFirst("(?m)^BINARY_VERSION=\"[^\"]*\"$", "BINARY_VERSION=\"" + NEWER + "\"");
        assertFalse(changed.equals(text), "the stand-in names its version on one BINARY_VERSION line");
        Files.writeString(binary, changed);
        Files.setPosixFilePermissions(binary, PosixFilePermissions.fromString("rwxr-xr-x"));

        long start = System.nanoTime();
        Repo.Run up = Repo.exec(inNetns("bin/jbang", "k3s-up", "--name", CLUSTER, "--airgap-dir", newer.toString(),
            "--yes"), repo, env, null, 2400);
        timings.put("k3s-up rolling upgrade of 4 nodes", seconds(start));
        assertEquals(0, up.exit(), up.stderr());
        assertTrue(up.stderr().contains("upgrade K3s"), "the plan names the upgrade:\n" + up.stderr());
        List<String> order = new ArrayList<>();
        List<java.time.Instant> times = new ArrayList<>();
        java.util.regex.Matcher line = Pattern.compile("upgraded (\\S+) to K3s (\\S+) at (\\S+)").matcher(up.stderr());
        while (line.find()) {
            assertEquals(NEWER, line.group(2), line.group());
            order.add(line.group(1));
            times.add(java.time.Instant.parse(line.group(3)));
        }
        assertEquals(List.of(SERVER.toLowerCase(), WORKER.toLowerCase()), order.subList(0, Math.min(2, order.size())),
            "the server first, then the agent machine:\n" + up.stderr());
        assertEquals(Set.of(SERVER.toLowerCase(), WORKER.toLowerCase(), THIRD, OPENRC), Set.copyOf(order),
            "every node once, the joined hosts last:\n" + up.stderr());
        assertEquals(4, order.size(), up.stderr());
        for (int i = 1; i < times.size(); i++) {
            assertTrue(times.get(i).isAfter(times.get(i - 1)), "one at a time: " + order + " " + times);
        }

        Cluster recorded = Cluster.parse(Files.readString(clusterDir.resolve("cluster.json")), "cluster.json");
        for (Cluster.Node node : recorded.nodes()) assertEquals(NEWER, node.k3sVersion(), node.name());
        Repo.Run status = Repo.exec(inNetns("bin/jbang", "k3s-status", "--name", CLUSTER), repo, env, null, 300);
        assertEquals(0, status.exit(), status.stderr());
        Cluster.JSON.readTree(status.stdout()).path("status").forEach(n -> {
            assertEquals(NEWER, n.path("version").asText(), n.toString());
            assertTrue(n.path("ready").asBoolean(), n.toString());
        });
        assertEquals(NEWER, vagrantSsh(WORKER, "k3s --version").lines().findFirst().orElse("").split(" ")[2]);
    }

    /** The same k3s-up again: the cluster is at the folder's version already, and nothing is planned. */
    @Test
    @Order(21)
    void theSameUpgradeAgainPlansNothing() {
        Repo.Run again = Repo.exec(inNetns("bin/jbang", "k3s-up", "--name", CLUSTER, "--airgap-dir",
            work.resolve("k3s-standin-newer").toString()), repo, env, null, 1500);
        assertEquals(0, again.exit(), again.stderr());
        assertFalse(again.stderr().contains("upgraded "), again.stderr());
    }

    // Orders 25-29: snapshots.

    /**
     * The single server keeps SQLite: a snapshot is its state.db copied with K3s stopped. rc1 leaves after the
     * save; the restore brings its node back (NotReady: its agent was uninstalled), so k3s-join makes it Ready
     * again, and the cluster is as the later tests expect it.
     */
    @Test
    @Order(25)
    void aNodeAddedAfterASnapshotIsGoneOnceTheSnapshotIsRestored() throws IOException {
        assertEquals(0, leaveOpenrc().exit(), "rc1 out before the snapshot");
        String nodesBefore = nodeNames();
        assertFalse(nodesBefore.contains("node/" + OPENRC), nodesBefore);
        Repo.Run saved = snapshot("k3s-snapshot save (SQLite, K3s stopped and started)", "save", "before-rc1");
        assertTrue(saved.stdout().contains("\"kind\" : \"sqlite\""), saved.stdout());
        Path copy = clusterDir.resolve("snapshots/before-rc1.sqlite.tar");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(copy)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(copy.getParent())));

        // a node added, then its K3s stopped: a running kubelet would register its node again after the restore
        Repo.Run added = joinOpenrc();
        assertEquals(0, added.exit(), added.stderr());
        assertTrue(nodeNames().contains("node/" + OPENRC), "rc1 added");
        vagrantSshToOpenrc("sudo rc-service k3s-agent stop");

        snapshot("k3s-snapshot restore (SQLite)", "restore", "before-rc1", "--yes");
        assertEquals(nodesBefore, nodeNames(),
            "the node list is the one saved: rc1, added after it, is gone");

        // rc1 back for the tests after this one: its stopped agent removed, then joined anew
        assertEquals(0, leaveOpenrc().exit());
        Repo.Run rejoined = joinOpenrc();
        assertEquals(0, rejoined.exit(), rejoined.stderr());
        Repo.Run status = Repo.exec(inNetns("bin/jbang", "k3s-status", "--name", CLUSTER), repo, env, null, 300);
        assertEquals(0, status.exit(), "every node Ready again: " + status.stdout() + status.stderr());
    }

    /** The server's nodes, node/NAME a line, sorted; never empty (a failing kubectl fails the test, not a pipe). */
    private String nodeNames() {
        List<String> names = vagrantSsh(SERVER, "sudo k3s kubectl get nodes -o name").lines().sorted().toList();
        assertFalse(names.isEmpty(), "the server lists no node");
        return String.join("\n", names);
    }

    /** k3s-snapshot with args, timed as what; it must succeed. */
    private Repo.Run snapshot(String what, String... args) {
        long start = System.nanoTime();
        List<String> command = new ArrayList<>(List.of("bin/jbang", "k3s-snapshot", "--name", CLUSTER));
        command.addAll(List.of(args));
        Repo.Run run = Repo.exec(inNetns(command.toArray(String[]::new)), repo, env, null, 1200);
        timings.put(what, seconds(start));
        assertEquals(0, run.exit(), String.join(" ", args) + ":\n" + run.stderr());
        return run;
    }

    private Repo.Run leaveOpenrc() {
        return Repo.exec(inNetns("bin/jbang", "k3s-leave", "--name", CLUSTER, "--node", OPENRC, "--known-hosts",
            work.resolve("known_hosts").toString()), repo, env, null, 300);
    }

    // Orders 30-34: one server grows to three.
    static final String SERVER2 = LOGIN + "S2";
    static final String SERVER3 = LOGIN + "S3";

    /** --servers 3 converts the SQLite server to etcd in place, then joins two servers one at a time. */
    @Test
    @Order(30)
    void oneServerGrowsToThreeOnEtcdOneAtATimeWithoutRemakingTheFirst() throws IOException {
        String uuid = String.join("", virsh("domuuid", CLUSTER + "_" + SERVER)).strip();
        String boot = vagrantSsh(SERVER, "cat /proc/sys/kernel/random/boot_id").strip();
        long start = System.nanoTime();
        Repo.Run grow = Repo.exec(inNetns("bin/jbang", "k3s-up", "--name", CLUSTER, "--servers", "3", "--yes"), repo,
            env, null, 2400);
        timings.put("k3s-up --servers 3", seconds(start));
        assertEquals(0, grow.exit(), grow.stderr());
        String log = grow.stderr();
        int converted = log.indexOf(SERVER + " is on embedded etcd");
        int second = log.indexOf(SERVER2 + " is a Ready server");
        int thirdBoots = log.indexOf(SERVER3 + ": booting and joining as a server");
        assertTrue(converted >= 0 && converted < log.indexOf(SERVER2 + ": booting") && second < thirdBoots
            && second >= 0 && log.contains(SERVER3 + " is a Ready server"), "converted, then one at a time:\n" + log);
        assertEquals(uuid, String.join("", virsh("domuuid", CLUSTER + "_" + SERVER)).strip(), "not re-created");
        assertEquals(boot, vagrantSsh(SERVER, "cat /proc/sys/kernel/random/boot_id").strip(), "not even rebooted");
        assertTrue(vagrantSsh(SERVER, "sudo cat /etc/systemd/system/k3s.service").contains("--cluster-init"));
        assertEquals("etcd", vagrantSsh(SERVER, "sudo test -d /var/lib/rancher/k3s/server/db/etcd && echo etcd")
            .strip(), "the data moved to embedded etcd");
        String nodes = vagrantSsh(SERVER, "sudo k3s kubectl get nodes -o wide --no-headers");
        for (String server : List.of(SERVER, SERVER2, SERVER3)) {
            String row = "(?s).*\\b" + server.toLowerCase() + "\\s+Ready\\s+control-plane,etcd,master\\b.*";
            assertTrue(nodes.matches(row), server + " a Ready etcd server:\n" + nodes);
        }
        for (String node : List.of(WORKER, THIRD, OPENRC)) {
            assertTrue(nodes.matches("(?s).*\\b" + node.toLowerCase() + "\\s+Ready\\b.*"), node + ":\n" + nodes);
        }
        assertTrue(Files.readString(clusterDir.resolve(ClusterFolder.SETTINGS_FILE)).contains("K3S_VAGRANT_SERVERS=3"));
        List<String> recorded = new ArrayList<>();
        Cluster.JSON.readTree(clusterDir.resolve(ClusterFolder.CLUSTER_FILE).toFile()).path("nodes")
            .forEach(n -> recorded.add(n.path("name").asText()));
        assertTrue(recorded.containsAll(List.of(SERVER, SERVER2, SERVER3, WORKER, THIRD, OPENRC)), recorded.toString());
        // provisioning the first server again changes nothing: its flags now hold --cluster-init
        String active = vagrantSsh(SERVER, "sudo systemctl show -p ActiveEnterTimestampMonotonic k3s");
        Repo.Run again = Repo.exec(inNetns("vagrant", "provision", SERVER, "--no-color"), clusterDir, env, null, 900);
        check(again, "vagrant provision " + SERVER);
        assertTrue(again.stdout().contains("already installed as wanted"), again.stdout());
        assertEquals(active, vagrantSsh(SERVER, "sudo systemctl show -p ActiveEnterTimestampMonotonic k3s"));
    }

    /** 3 -> 1 would go below etcd's majority of the running servers: refused, nothing changed. */
    @Test
    @Order(31)
    void threeServersDoNotShrinkToOneBelowEtcdsMajority() throws IOException {
        Repo.Run shrink = Repo.exec(inNetns("bin/jbang", "k3s-up", "--name", CLUSTER, "--servers", "1", "--yes"),
            repo, env, null, 600);
        assertEquals(Cli.REFUSED, shrink.exit(), shrink.stderr());
        assertTrue(shrink.stderr().contains("--servers 3 -> 1 goes below a majority of the running servers"),
            shrink.stderr());
        assertTrue(Files.readString(clusterDir.resolve(ClusterFolder.SETTINGS_FILE)).contains("K3S_VAGRANT_SERVERS=3"));
        String nodes = vagrantSsh(SERVER, "sudo k3s kubectl get nodes --no-headers");
        for (String server : List.of(SERVER2, SERVER3)) {
            assertTrue(nodes.matches("(?s).*\\b" + server.toLowerCase() + "\\s+Ready\\b.*"), server + ":\n" + nodes);
        }
    }

    /** On etcd: a snapshot of three servers restored with --cluster-reset brings back the node list it saved. */
    @Test
    @Order(32)
    void anEtcdSnapshotRestoredOnThreeServersBringsBackTheNodeListItSaved() throws IOException {
        String nodesBefore = nodeNames();
        Repo.Run saved = snapshot("k3s-snapshot save (etcd, three servers)", "save", "three-servers");
        assertTrue(saved.stdout().contains("\"kind\" : \"etcd\""), saved.stdout());

        assertEquals(0, leaveOpenrc().exit(), "rc1 out after the snapshot");
        snapshot("k3s-snapshot restore (etcd, three servers)", "restore", "three-servers", "--yes");
        assertEquals(nodesBefore, nodeNames(),
            "the node list is the one saved: rc1 listed again");
        String nodes = vagrantSsh(SERVER, "sudo k3s kubectl get nodes --no-headers");
        for (String server : List.of(SERVER, SERVER2, SERVER3)) {
            assertTrue(nodes.matches("(?s).*\\b" + server.toLowerCase() + "\\s+Ready\\b.*"), server + ":\n" + nodes);
        }

        // rc1's node came back with the snapshot, its K3s uninstalled: its node (and node password) deleted, as
        // K3s needs before a host joins again under the same name, then joined anew
        vagrantSsh(SERVER, "sudo k3s kubectl delete node " + OPENRC);
        Repo.Run rejoined = joinOpenrc();
        assertEquals(0, rejoined.exit(), rejoined.stderr());
    }

    // Orders 35-37: a machine's own settings changed in place.

    /** More memory for the agents: only vmtSW is halted and booted again, and has it; the server keeps running. */
    @Test
    @Order(35)
    void moreWorkerMemoryHaltsAndBootsOnlyTheAgentWhichThenHasIt() throws IOException {
        long serverUp = uptimeSeconds(SERVER);
        String workerBoot = vagrantSsh(WORKER, "cat /proc/sys/kernel/random/boot_id").strip();
        long workerMemory = memTotalKb(WORKER);
        long start = System.nanoTime();
        Repo.Run more = Repo.exec(inNetns("bin/jbang", "k3s-up", "--name", CLUSTER, "--worker-memory", "768", "--yes"),
            repo, env, null, 1500);
        timings.put("k3s-up --worker-memory: the agent halted and booted", seconds(start));
        assertEquals(0, more.exit(), more.stderr());
        assertTrue(more.stderr().contains("--worker-memory 512 -> 768: applied one machine at a time"), more.stderr());
        assertTrue(more.stderr().contains("servers last: " + WORKER + " (" + WORKER_IP + ")\n"),
            "only the agent is in the step: " + more.stderr());
        assertFalse(more.stderr().contains("vagrant halt " + SERVER), more.stderr());
        assertTrue(memTotalKb(WORKER) - workerMemory > 200 * 1024, "the agent has 256 MB more: " + memTotalKb(WORKER)
            + " kB, was " + workerMemory);
        assertFalse(workerBoot.equals(vagrantSsh(WORKER, "cat /proc/sys/kernel/random/boot_id").strip()), "rebooted");
        assertTrue(uptimeSeconds(SERVER) >= serverUp, "the server was not rebooted");
        assertTrue(more.stderr().matches("(?s).*\\b" + WORKER.toLowerCase() + "\\s+Ready\\b.*"), more.stderr());
        assertTrue(Files.readString(clusterDir.resolve("cluster.env")).contains("K3S_VAGRANT_WORKER_MEMORY=768\n"));
    }

    private long uptimeSeconds(String machine) {
        return (long) Double.parseDouble(vagrantSsh(machine, "cat /proc/uptime").strip().split("\\s+")[0]);
    }

    private long memTotalKb(String machine) {
        return Long.parseLong(vagrantSsh(machine, "awk '/^MemTotal:/ { print $2 }' /proc/meminfo").strip());
    }

    @Test
    @Order(40)
    void k3sDownLeavesNoDomainVolumeNetworkContextOrSecretBehind() throws IOException {
        long start = System.nanoTime();
        Repo.Run down = Repo.exec(inNetns("bin/jbang", "k3s-down", "--name", CLUSTER, "--known-hosts",
            work.resolve("known_hosts").toString()),
            repo, env, null, 900);
        timings.put("k3s-down", seconds(start));
        assertEquals(0, down.exit(), down.stderr());
        assertTrue(down.stdout().contains("\"uninstalledHosts\" : [ \"" + THIRD + "\", \"" + OPENRC + "\" ]"),
            down.stdout());
        assertEquals("gone", vagrantSshToOpenrc("test -e /usr/local/bin/k3s || echo gone").strip(),
            "k3s-down uninstalled the openrc host's agent too");
        // the third machine (another Vagrant project) still runs on the network k3s-up made: it stays, named
        String network = LibvirtShared.privateNetwork(SERVER_IP).name();
        assertTrue(down.stdout().contains("\"networksRemoved\" : [ ]"), down.stdout());
        assertTrue(down.stderr().matches("(?s).*keeping libvirt network " + network + ": domain k3sv-test-(third_"
            + THIRD + "|openrc_" + OPENRC + ") still uses it.*"), down.stderr());
        assertTrue(virsh("net-list", "--all", "--name").contains(network),
            "the third machine's network is still there");
        check(Repo.exec(inNetns("vagrant", "destroy", "-f", "--no-color"), thirdDir, env, null, 600),
            "vagrant destroy (third)");
        check(Repo.exec(inNetns("vagrant", "destroy", "-f", "--no-color"), openrcDir, env, null, 600),
            "vagrant destroy (openrc)");
        String domains = String.join("\n", virsh("list", "--all", "--name"));
        String volumes = String.join("\n", virsh("vol-list", "default"));
        for (String machine : List.of(SERVER, WORKER, THIRD, OPENRC)) {
            assertFalse(domains.contains(machine), "domain of " + machine + " left behind:\n" + domains);
            assertFalse(volumes.contains(machine), "volume of " + machine + " left behind:\n" + volumes);
        }
        List<String> networks = new ArrayList<>(virsh("net-list", "--all", "--name"));
        networks.removeAll(networksBefore);
        networks.remove("vagrant-libvirt");
        assertEquals(List.of(), networks, "networks left behind");
        assertFalse(Files.exists(clusterDir), "the cluster folder (settings, state, token) is gone");
        Repo.Run contexts = Repo.exec(List.of("kubectl", "config", "get-contexts", "-o", "name", "--kubeconfig",
            kubeconfigFile.toString()), repo, Map.of(), null, 60);
        assertEquals(List.of("other"), contexts.stdout().lines().toList(), "only the other context is left");
    }

    @Test
    @Order(41)
    void noSecretWasEverOnACommandLineOnThisHost() {
        hostCommandLines.stop();
        assertTrue(hostCommandLines.seen().size() > 20
            && hostCommandLines.seen().stream().anyMatch(c -> c.contains("k3s-join")),
            "the sampler saw the steps run: " + hostCommandLines.seen().size() + " command lines");
        String secret = nodeToken.substring(nodeToken.lastIndexOf(':') + 1);
        for (String commandLine : hostCommandLines.seen()) {
            String agentSecret = agentToken.substring(agentToken.lastIndexOf(':') + 1);
            for (String token : List.of(clusterToken, nodeToken, secret, agentToken, agentSecret)) {
                assertFalse(commandLine.contains(token), "a secret on a command line: "
                    + commandLine.replace(token, "<secret>"));
            }
        }
    }

    @AfterAll
    void tearDownAndReport() {
        hostCommandLines.stop();
        if (work == null) return;
        if (openrcUp != null) openrcUp.join(); // never destroy a machine vagrant is still making
        for (Path dir : List.of(clusterDir, thirdDir, openrcDir)) {
            if (Files.isDirectory(dir.resolve(".vagrant"))) Repo.exec(inNetns("vagrant", "destroy", "-f"), dir, env,
                null, 600);
        }
        // netns.sh down also removes anything a failed run left in libvirt
        VmTier.stop(repo);
        System.out.println("VM tier timings (seconds):");
        timings.forEach((what, secs) -> System.out.printf("  %-55s %5d%n", what, secs));
    }

    // --- helpers ---

    /**
     * Waits (2 min at most) until k3s-up has made the network and the box's volume (it runs vagrant up), or has ended.
     */
    private void awaitNetworkAndBox(CompletableFuture<Repo.Run> pipeline) throws Exception {
        String network = LibvirtShared.privateNetwork(SERVER_IP).name();
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!pipeline.isDone() && System.nanoTime() < deadline) {
            Path log = work.resolve("up.log");
            if (Files.exists(log) && Files.readString(log).contains("3/4 vagrant up")
                && String.join("\n", virsh("net-info", network)).matches("(?s).*Active:\\s+yes.*")) {
                return;
            }
            Thread.sleep(250);
        }
        if (!pipeline.isDone()) fail("k3s-up did not make the libvirt network " + network
            + " and run vagrant up within 2 min");
    }

    static final String OTHER_KUBECONFIG = """
        apiVersion: v1
        kind: Config
        clusters:
        - name: other
          cluster:
            server: https://127.0.0.1:16443
        users:
        - name: other
          user:
            token: not-a-real-token
        contexts:
        - name: other
          context:
            cluster: other
            user: other
        current-context: other
        """;

    private List<String> inNetns(String... command) {
        return VmTier.inNetns(command);
    }

    private String vagrantSsh(String machine, String command) {
        return VmTier.vagrantSsh(clusterDir, env, machine, command);
    }

    private String vagrantSshToThird(String command) {
        return VmTier.vagrantSsh(thirdDir, env, THIRD, command);
    }

    private List<String> virsh(String... args) {
        return VmTier.virsh(repo, args);
    }

    private static void check(Repo.Run run, String what) {
        VmTier.check(run, what);
    }

    private void timed(String what, Runnable action) {
        long start = System.nanoTime();
        action.run();
        timings.put(what, seconds(start));
    }

    private static long seconds(long startNanos) {
        return VmTier.seconds(startNanos);
    }

    /** Per-step times, from each step's own "[  Ns]" log prefix. */
    private void recordStepTimes() {
        for (String step : List.of("up", "join", "kubeconfig")) {
            try {
                List<String> lines = Files.readAllLines(work.resolve(step + ".log"));
                for (String line : lines) {
                    var m = Pattern.compile("^k3s-\\S+ \\[\\s*(\\d+)s\\] ==> (\\d/\\d "
                        + "[^:]*)").matcher(line);
                    if (m.find()) timings.put("  k3s-" + step + " reached '" + m.group(2).strip() + "' at",
                        Long.parseLong(m.group(1)));
                }
                if (!lines.isEmpty()) {
                    var m = Pattern.compile("\\[\\s*(\\d+)s\\]").matcher(lines.get(lines.size() - 1));
                    if (m.find()) timings.put("k3s-" + step + " total", Long.parseLong(m.group(1)));
                }
            } catch (IOException e) {
                // the step did not run: the pipeline's failure says why
            }
        }
    }

    private String tail(String log) {
        try {
            return Cli.lastLines(Files.readString(work.resolve(log)), 40);
        } catch (IOException e) {
            return "(no " + log + ")";
        }
    }

    /** Samples /proc/PID/cmdline of every process, every 100 ms, keeping each distinct command line once. */
    static final class HostCommandLines implements Runnable {
        private final Set<String> seen = ConcurrentHashMap.newKeySet();
        private volatile boolean running;
        private Thread thread;

        void start() {
            running = true;
            thread = new Thread(this, "host-command-lines");
            thread.setDaemon(true);
            thread.start();
        }

        void stop() {
            running = false;
        }

        Set<String> seen() {
            return seen;
        }

        @Override
        public void run() {
            while (running) {
                try (var procs = Files.list(Path.of("/proc"))) {
                    for (Path proc : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                        try {
                            String commandLine = new String(Files.readAllBytes(proc.resolve("cmdline")),
                                StandardCharsets.UTF_8)
                                .replace('\0', ' ').strip();
                            if (!commandLine.isEmpty() && seen.size() < 200_000) seen.add(commandLine);
                        } catch (IOException e) {
                            // the process ended meanwhile
                        }
                    }
                    Thread.sleep(100);
                } catch (IOException e) {
                    // /proc listing raced with a process: sample again
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    private static void copyFolder(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path file : files.toList()) Files.copy(file, to.resolve(file.getFileName()));
        }
    }
}
