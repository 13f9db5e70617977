import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;

/**
 * What the VM tier's test classes share: the check that this machine can run VMs (or the
 * explicit switch that turns the tier off), libvirt in its own network namespace, and
 * running commands there. Private addresses exist only inside that namespace.
 */
final class VmTier {
    private VmTier() {}

    static final String NETNS = "k3sv-test";
    static final String BOX = "k3s-vagrant/debian12-test";

    /** Builds (or reuses) the test box and starts libvirt in the namespace, or fails saying why. */
    static void start(Path repo) {
        if ("off".equals(System.getenv("K3S_VAGRANT_VM_TIER"))) {
            Assumptions.abort("the VM tier is turned OFF by K3S_VAGRANT_VM_TIER=off: no VM was booted, nothing about "
                + "VMs was checked");
        }
        List<String> missing = new ArrayList<>();
        List<String> tools = List.of("qemu-system-x86_64", "virsh", "libvirtd", "vagrant", "ip", "mmdebstrap",
            "kubectl");
        for (String tool : tools) {
            if (!Vagrant.onPath(tool) && !Files.isExecutable(Path.of("/usr/sbin", tool))) missing.add(tool);
        }
        if (!missing.isEmpty()) {
            fail("the VM tier cannot run on this machine: missing " + missing
                + " (see the README's test prerequisites),"
                + " or turn the tier off explicitly with K3S_VAGRANT_VM_TIER=off");
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            fail("the VM tier needs root (network namespaces, libvirtd, mmdebstrap): run it as root, or set "
                + "K3S_VAGRANT_VM_TIER=off");
        }
        check(Repo.exec(List.of("bash", "tests/vm/build-box.sh"), repo, Map.of(), null, 1200), "build-box.sh");
        check(Repo.exec(List.of("bash", "tests/vm/netns.sh", "up"), repo, Map.of(), null, 300), "netns.sh up");
    }

    /** Stops libvirt and removes the namespace, with anything a failed run left in libvirt. */
    static void stop(Path repo) {
        Repo.exec(List.of("bash", "tests/vm/netns.sh", "down"), repo, Map.of(), null, 300);
    }

    static List<String> inNetns(String... command) {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", NETNS));
        all.addAll(List.of(command));
        return all;
    }

    static String vagrantSsh(Path dir, Map<String, String> env, String machine, String command) {
        Repo.Run run = Repo.exec(inNetns("vagrant", "ssh", machine, "-c", command, "--", "-o", "BatchMode=yes"), dir,
            env, null, 120);
        if (run.exit() != 0) fail("vagrant ssh " + machine + " -c '" + command + "' failed (" + run.exit() + "): "
            + run.stderr());
        return run.stdout();
    }

    static List<String> virsh(Path repo, String... args) {
        List<String> command = new ArrayList<>(List.of("virsh", "-c", "qemu:///system"));
        command.addAll(List.of(args));
        Repo.Run run = Repo.exec(inNetns(command.toArray(String[]::new)), repo, Map.of(), null, 60);
        return run.stdout().lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }

    /**
     * Starts a command in the namespace as the leader of its own process group, as a shell
     * starts a foreground job: `ip netns exec` and setsid exec, so its pid is the group's.
     */
    static Process startAsJob(List<String> command, Path dir, Map<String, String> env, Path out,
        Path err) throws IOException {
        // SIGINT back to its default first: a suite started in the background of a non-interactive shell inherits
        // it ignored, and a JVM that starts with SIGINT ignored never runs its shutdown hooks on Ctrl-C
        List<String> all = new ArrayList<>(List.of("setsid", "perl", "-e",
            "$SIG{INT} = 'DEFAULT'; exec @ARGV or die \"exec: $!\"", "--"));
        all.addAll(command);
        ProcessBuilder builder = new ProcessBuilder(inNetns(all.toArray(String[]::new))).directory(dir.toFile())
            .redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().putAll(env);
        return builder.start();
    }

    /** Waits until a running job's log shows text; fails if the job ends first or seconds pass. */
    static void awaitLogLine(Process job, Path log, String text, long seconds, String what) throws IOException,
        InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (!Files.readString(log).contains(text)) {
            if (!job.isAlive()) fail(what + " ended before its log showed '" + text + "':\n" + Files.readString(log));
            if (System.nanoTime() > deadline) fail(what + " did not show '" + text + "' within " + seconds + " s:\n"
                + Files.readString(log));
            Thread.sleep(100);
        }
    }

    /** What a terminal's Ctrl-C does: SIGINT to every process of the job's group. */
    static void ctrlC(Process job) {
        Repo.exec(List.of("kill", "-INT", "--", "-" + job.pid()), Path.of("/"), Map.of(), null, 10);
    }

    static void check(Repo.Run run, String what) {
        if (run.exit() != 0) fail(what + " failed with exit " + run.exit() + ":\n"
            + Cli.lastLines(run.stdout() + "\n" + run.stderr(), 30));
    }

    static long seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000_000L;
    }
}
