import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
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
 * The libvirt network race, on purpose: k3s-up's machines and a plain Vagrant project with
 * a private network on the same subnet (tests/vm/third, as a user's other project) are
 * brought up at the same moment, several times; every `vagrant up` must succeed. Two
 * vagrant processes that both find no network for 192.168.56.0/24 both define one, and
 * one fails ("bridge name 'virbr2' already in use", "Network is already in use").
 *
 * Odd attempts start the plain project the moment k3s-up starts its own `vagrant up`
 * (both vagrants then reach their network step together); even attempts start both
 * commands together. K3S_VAGRANT_RACE_ATTEMPTS sets the count (default 3); the test stops
 * at the first failed attempt, naming it and the first error line.
 *
 * Then the network's owner: k3s-down keeps the cluster's network while another
 * project's machine still uses it, and that project's destroy leaves no network.
 */
@Tag("vm")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NetworkRaceTest {
    static final String CLUSTER = "k3sv-test-race";
    static final String PLAIN = "plain1";
    static final String SUBNET_IP = "192.168.56.1";

    final Path repo = Repo.root();
    final List<String> outcomes = new ArrayList<>();
    Path work;
    Map<String, String> env;

    @BeforeAll
    void startLibvirt() throws Exception {
        VmTier.start(repo);
        work = Files.createTempDirectory("k3sv-vm-race");
        env = Map.of("K3S_VAGRANT_HOME", work.resolve("home").toString(), "VAGRANT_DEFAULT_PROVIDER", "libvirt",
            "THIRD_NAME", PLAIN, "THIRD_IP", "192.168.56.120");
    }

    @Test
    @Order(1)
    void k3sUpAndAPlainProjectOnTheSameSubnetBroughtUpTogetherAllSucceed() throws Exception {
        int attempts = Integer.parseInt(System.getenv().getOrDefault("K3S_VAGRANT_RACE_ATTEMPTS", "3"));
        for (int attempt = 1; attempt <= attempts; attempt++) {
            String failure = attempt(attempt, attempt % 2 == 1);
            outcomes.add("attempt " + attempt + ": " + (failure == null ? "ok" : failure));
            System.out.println("NetworkRaceTest " + outcomes.get(outcomes.size() - 1));
            if (failure != null) {
                fail("the network race: " + (attempt - 1) + " of " + attempt + " attempts succeeded; "
                    + String.join("; ", outcomes));
            }
        }
    }

    /** One attempt, cleaned up after; null when both vagrant ups succeeded, else what failed first. */
    private String attempt(int attempt, boolean atVagrantUp) throws Exception {
        Path dir = work.resolve("attempt" + attempt);
        Path plain = dir.resolve("k3sv-test-plain"); // netns.sh down cleans libvirt objects named k3sv-test-*
        Files.createDirectories(plain);
        Files.copy(repo.resolve("tests/vm/third/Vagrantfile"), plain.resolve("Vagrantfile"));
        Path upLog = dir.resolve("up.log");
        Path plainLog = dir.resolve("plain.log");
        List<String> up = List.of("bin/jbang", "k3s-up", "--provider", "libvirt", "--login", "race", "--name", CLUSTER,
            "--workers", "0", "--box", VmTier.BOX, "--libvirt-driver", "qemu", "--libvirt-cpu-model", "qemu64",
            "--airgap-dir", repo.resolve("tests/k3s-standin").toString(), "--timeout", "15");
        Process upJob = VmTier.startAsJob(up, repo, env, dir.resolve("up.json"), upLog);
        if (atVagrantUp) VmTier.awaitLogLine(upJob, upLog, "vagrant up: booting", 120, "k3s-up");
        Process plainJob = VmTier.startAsJob(List.of("vagrant", "up", "--provider", "libvirt", "--no-color"), plain,
            env,
            dir.resolve("plain.out"), plainLog);
        boolean upDone = upJob.waitFor(20, TimeUnit.MINUTES);
        boolean plainDone = plainJob.waitFor(5, TimeUnit.MINUTES);
        String failure = null;
        if (!upDone || upJob.exitValue() != 0) failure = "k3s-up "
            + (upDone ? "exit " + upJob.exitValue() : "timed out") + ": " + firstError(upLog);
        else if (!plainDone || plainJob.exitValue() != 0) {
            failure = "the plain project's vagrant up " + (plainDone ? "exit " + plainJob.exitValue() : "timed out")
                + ": "
                + firstError(plainLog) + " / " + firstError(dir.resolve("plain.out"));
        }
        if (!upDone) VmTier.ctrlC(upJob);
        if (!plainDone) VmTier.ctrlC(plainJob);
        upJob.waitFor(5, TimeUnit.MINUTES);
        plainJob.waitFor(5, TimeUnit.MINUTES);
        String leftOver = cleanUp(plain);
        return failure != null ? failure : leftOver;
    }

    /**
     * k3s-down first, while the plain project's machine still runs on the subnet's network:
     * it must stay; then the plain project's destroy: no network for the subnet is left.
     */
    private String cleanUp(Path plain) {
        Repo.Run down = Repo.exec(VmTier.inNetns("bin/jbang", "k3s-down", "--name", CLUSTER), repo, env, null, 600);
        if (down.exit() != 0) return "k3s-down exit " + down.exit() + ": " + Cli.lastLines(down.stderr(), 5);
        boolean plainUp = virsh("list", "--name").stream().anyMatch(d -> d.contains(PLAIN));
        if (plainUp && networkOfSubnet() == null) return "k3s-down removed the network that " + PLAIN + " still uses";
        Repo.Run destroy = Repo.exec(VmTier.inNetns("vagrant", "destroy", "-f", "--no-color"), plain, env, null, 600);
        if (destroy.exit() != 0) return "vagrant destroy (plain) exit " + destroy.exit() + ": "
            + Cli.lastLines(destroy.stdout(), 5);
        List<String> domains = virsh("list", "--all", "--name");
        if (!domains.isEmpty()) return "domains left behind: " + domains;
        String network = networkOfSubnet();
        return network == null ? null : "network " + network + " for 192.168.56.0/24 left behind";
    }

    @Test
    @Order(2)
    void everyAttemptSucceeded() {
        assertTrue(!outcomes.isEmpty() && outcomes.stream().allMatch(o -> o.endsWith(": ok")),
            String.join("; ", outcomes));
    }

    /** The name of the libvirt network whose address is 192.168.56.1, or null. */
    private String networkOfSubnet() {
        for (String name : virsh("net-list", "--all", "--name")) {
            if (String.join("\n", virsh("net-dumpxml", name)).contains("address='" + SUBNET_IP + "'")) return name;
        }
        return null;
    }

    private List<String> virsh(String... args) {
        return VmTier.virsh(repo, args);
    }

    /** The first line of a log that names an error (libvirt's words, quoted by Vagrant), else its last line. */
    static String firstError(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            for (String line : lines) {
                String lower = line.toLowerCase();
                if (lower.contains("error") || lower.contains("already in use")
                    || lower.contains("already exists")) return line.strip();
            }
            return lines.isEmpty() ? "(empty log)" : lines.get(lines.size() - 1).strip();
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @AfterAll
    void stopLibvirt() {
        VmTier.stop(repo);
        System.out.println("NetworkRaceTest outcomes: " + String.join("; ", outcomes));
    }
}
