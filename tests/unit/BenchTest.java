import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The benchmark's parts that need no VM (bench/bench.sh itself needs root and libvirt): k3s-up's phases read
 * from its -v log by bench/phases.awk, on a log in the format Log and VagrantOutput print; the median and
 * spread of bench/stats.awk; shellcheck of bench/'s scripts; `vagrant validate` of the floor's and the Part 1
 * stand-in's Vagrantfiles.
 */
class BenchTest {
    /** k3s-up -v's stderr, two machines: the times are the ones the issue measured, rounded. */
    static final String LOG = """
        k3s-up [  0s] ==> 1/4 checking vagrant and the provider
        k3s-up [  1s] ==> 3/4 vagrant up: booting benchS, benchSW and installing K3s
        k3s-up [  2s]     benchS: Creating image (snapshot of base box volume).
        k3s-up [  2s]     | ==> benchS:  -- Memory:             1024M
        k3s-up [ 70s]     benchSW: Machine booted and ready!
        k3s-up [ 78s]     benchS: Machine booted and ready!
        k3s-up [ 79s]     benchS: Setting hostname...
        k3s-up [ 80s]     benchSW: Setting hostname...
        k3s-up [ 92s]     benchSW: Configuring and enabling network interfaces...
        k3s-up [ 95s]     benchS: Configuring and enabling network interfaces...
        k3s-up [ 99s]     benchSW: Running provisioner: common (file)...
        k3s-up [102s]     benchS: Running provisioner: common (file)...
        k3s-up [104s]     benchS: Running provisioner: token (file)...
        k3s-up [110s]     benchSW: Running provisioner: k3s (shell)...
        k3s-up [111s]     benchS: Running provisioner: k3s (shell)...
        k3s-up [111s]     |     benchSW: [k3s-vagrant benchSW] waiting up to 600 s for the K3s server
        k3s-up [112s]     |     benchS: Running: /tmp/k3s-vagrant/unpack-and-run.sh
        k3s-up [112s]     |     benchS: machine.sh: host name set to benchS
        k3s-up [113s]     |     benchS: [k3s-vagrant benchS] installing K3s from the air-gap folder (no download)
        k3s-up [140s]     |     benchS: [k3s-vagrant benchS] K3s server is Ready at https://192.168.56.110:6443
        k3s-up [146s]     |     benchSW: [k3s-vagrant benchSW] K3s agent started
        k3s-up [147s] ==> 4/4 waiting for the nodes to be Ready
        k3s-up [152s] ==> cluster k3sv-test-bench is Ready: https://192.168.56.110:6443
        """;

    static Repo.Run awk(String script, String input, String... vars) {
        List<String> command = new ArrayList<>(List.of("awk"));
        for (String var : vars) command.addAll(List.of("-v", var));
        command.addAll(List.of("-f", "bench/" + script));
        return Repo.exec(command, Repo.root(), Map.of(), input, 30);
    }

    @Test
    void phasesFollowTheLastMachineAndAddUpToTheWallTime() {
        Repo.Run run = awk("phases.awk", LOG, "total=155");
        assertEquals(0, run.exit(), run.stderr());
        // start: 155 s measured less the log's 151 s from vagrant up to Ready; each phase ends when its
        // last machine leaves it (hostname: benchS at 95 s); uploads: to the k3s provisioner's first own line
        // (its script's upload and machine.sh are ours, not K3s's); server: its last line; agents: to "4/4"
        assertEquals("""
            start\t4\t3
            boot\t77\t50
            hostname\t17\t11
            network\t7\t5
            uploads\t11\t7
            server\t27\t17
            agents\t7\t5
            ready\t5\t3
            """, run.stdout());
    }

    @Test
    void phasesReadTheLinesAsLogAndVagrantOutputPrintThem() throws IOException {
        StringWriter text = new StringWriter();
        Log.Options verbose = new Log.Options();
        verbose.verbose = true;
        Log log = new Log(new PrintWriter(text), "k3s-up", verbose);
        VagrantOutput vagrant = new VagrantOutput(log, new ArrayDeque<>(), new HashSet<>(), null);
        log.step("3/4 vagrant up: booting benchS, benchSW and installing K3s");
        for (String line : List.of("==> benchS: Machine booted and ready!", "==> benchS: Setting hostname...",
                "==> benchS: Running provisioner: k3s (shell)...", "    benchS: K3s server is Ready")) {
            vagrant.write((line + "\n").getBytes());
        }
        vagrant.flush();
        log.step("4/4 waiting for the nodes to be Ready");
        log.step("cluster k3sv-test-bench is Ready: https://192.168.56.110:6443");
        Repo.Run run = awk("phases.awk", text.toString());
        assertEquals(0, run.exit(), text + run.stderr());
        assertEquals(8, run.stdout().lines().count(), run.stdout());
        // the stage lines it looks for are k3s-up's own
        String up = Files.readString(Repo.root().resolve("scripts/up.java"));
        for (String words : List.of("\"vagrant up: booting \"", "\"waiting for the nodes to be Ready\"",
                "\" is Ready: \"")) {
            assertTrue(up.contains(words), "scripts/up.java no longer logs " + words + ": fix bench/phases.awk");
        }
    }

    @Test
    void phasesRefuseALogThatIsNotKUpsWithAMessage() {
        Repo.Run run = awk("phases.awk", "vagrant up output\n");
        assertEquals(1, run.exit());
        assertTrue(run.stderr().contains("not k3s-up's log"), run.stderr());
    }

    @Test
    void statsGiveTheMedianAndTheSpreadOfEachMetric() {
        Repo.Run run = awk("stats.awk", "a\t30\ts\na\t10\ts\nb\t5\tx\na\t20\ts\nc\t1\ts\nc\t4\ts\n");
        assertEquals(0, run.exit(), run.stderr());
        assertEquals("a\t20.00\ts\na.spread\t10.00-30.00\ts\nb\t5.00\tx\nc\t2.50\ts\nc.spread\t1.00-4.00\ts\n",
            run.stdout());
    }

    @Test
    void benchScriptsPassShellcheck() {
        Path root = Repo.root();
        for (String script : List.of("bench/bench.sh", "bench/start.sh")) {
            Repo.Run run = Repo.exec(List.of("shellcheck", "-x", script), root, Map.of(), null, 60);
            assertEquals(0, run.exit(), script + ":\n" + run.stdout() + run.stderr());
            run = Repo.exec(List.of("bash", "-n", script), root, Map.of(), null, 60);
            assertEquals(0, run.exit(), script + ":\n" + run.stderr());
        }
    }

    @Test
    void floorAndPartOneVagrantfilesValidate() throws IOException {
        Path root = Repo.root();
        Path state = Files.createTempDirectory("bench-vagrant");
        Map<String, String> env = Map.of("VAGRANT_DOTFILE_PATH", state.toString(), "K3S_VAGRANT_LOGIN", "bench",
            "VAGRANT_DEFAULT_PROVIDER", "libvirt", "K3S_VAGRANT_AIRGAP_DIR",
            root.resolve("tests/k3s-standin").toString(),
            "BENCH_TOKEN_FILE", root.resolve("bench/bench.sh").toString());
        for (String folder : List.of("bench/floor", "bench/part1")) {
            Repo.Run run = Repo.exec(List.of("vagrant", "validate"), root.resolve(folder), env, null, 120);
            assertEquals(0, run.exit(), folder + ":\n" + run.stdout() + run.stderr());
        }
        assertTrue(!Files.exists(root.resolve("bench/floor/.vagrant")), "vagrant's state went into the repository");
    }
}
