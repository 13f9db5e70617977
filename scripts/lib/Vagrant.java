//DEPS org.zeroturnaround:zt-exec:1.12
//SOURCES Cli.java
//SOURCES LibvirtShared.java
//SOURCES HostFacts.java
//SOURCES HostTools.java
//SOURCES VagrantOutput.java
//SOURCES VagrantStop.java
//SOURCES Interruption.java
//SOURCES Log.java

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.zeroturnaround.exec.ProcessExecutor;
import org.zeroturnaround.exec.ProcessResult;
import org.zeroturnaround.exec.StartedProcess;

/**
 * The vagrant CLI, run in one cluster's folder. Settings reach the Vagrantfile through
 * its cluster.env file; K3S_VAGRANT_* variables of the caller's shell are dropped so
 * every vagrant call of a cluster sees the machines it was made with.
 */
final class Vagrant {
    static final String SETTINGS_PREFIX = "K3S_VAGRANT_";

    final Path dir;
    private final Log log;

    Vagrant(Path dir, Log log) {
        this.dir = dir;
        this.log = log;
    }

    /**
     * A note for an arm64 host (Apple Silicon, a Raspberry Pi 5) on the default box: VirtualBox there runs arm64
     * guests only, and Vagrant takes the box's build for the host's architecture, so the box must have one.
     */
    static Optional<String> armHostBoxNote(String hostArch, String provider, boolean defaultBox) {
        if (!defaultBox || !List.of("aarch64", "arm64").contains(hostArch)) return Optional.empty();
        return Optional.of("this host is arm64: the " + provider + " box needs an arm64 build (Vagrant "
            + "takes the build for the host's architecture); should vagrant up find none for the default box, pass "
            + "--box NAME of a box that has one (vagrant box add NAME --architecture arm64 --provider " + provider
            + " tells)");
    }

    /** Fails with MISSING_TOOL, naming the fix, when vagrant is not installed; its version. */
    static String requireInstalled() {
        return HostTools.requireVagrant();
    }

    /** Fails with MISSING_TOOL, naming the fix, when the provider cannot run here. */
    static void requireProvider(String provider) {
        HostTools.requireProvider(provider);
    }

    static boolean onPath(String tool) {
        return HostTools.onPath(tool);
    }

    /** Asks vagrant to stop as Ctrl-C does (see VagrantStop). */
    static void interrupt(ProcessHandle process, HostFacts host) {
        VagrantStop.interrupt(process, host);
    }

    /** A line of Ruby's backtrace (see VagrantOutput). */
    static boolean rubyBacktrace(String line) {
        return VagrantOutput.rubyBacktrace(line);
    }

    /** What to do about the failures users meet most (see VagrantOutput). */
    static String hint(String vagrantOutput) {
        return VagrantOutput.hint(vagrantOutput);
    }

    /** `vagrant up`: progress lines on the log (and to watcher), the last lines in the error when it fails. */
    void up(String provider, Duration timeout, Consumer<String> watcher) {
        List<String> command = new ArrayList<>(List.of("vagrant", "up", "--no-color", "--provider", provider));
        runUp(command, timeout, "vagrant up", watcher);
    }

    /**
     * Runs a vagrant up, and again (twice at most, 5 s apart) when its network step lost a
     * race with another vagrant process defining a libvirt network at the same moment: a
     * plain `vagrant up` elsewhere takes no lock of ours. Vagrant undoes the failed machine.
     */
    private void runUp(List<String> command, Duration timeout, String what, Consumer<String> watcher) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (int attempt = 1; ; attempt++) {
            // the error line comes before Ruby's backtrace, which can be longer than the tail kept for the message
            AtomicBoolean raced = new AtomicBoolean();
            try {
                run(command, Duration.ofNanos(Math.max(1, deadline - System.nanoTime())), what, line -> {
                    if (LibvirtShared.raced(line)) raced.set(true);
                    if (watcher != null) watcher.accept(line);
                });
                return;
            } catch (Cli.Failure e) {
                if (attempt == 3 || e.exitCode != Cli.FAILED || !raced.get()) throw e;
                log.warn(what + " lost a race with another vagrant process making a libvirt network at the same "
                    + "moment; trying again in 5 s");
                sleep(5000);
            }
        }
    }

    /** A machine has started once Vagrant says so (VirtualBox: "Booting VM", libvirt: "Starting domain"). */
    private static final Pattern BOOTING = Pattern.compile("Booting VM|Starting domain|Machine booted and ready");

    /**
     * One `vagrant up NAME` process per machine, for providers whose own `vagrant up` boots
     * one machine after the other (VirtualBox): the first runs alone until its machine
     * boots, so the box is imported once, then all the others start together. watcher sees every process's lines.
     */
    void upEach(String provider, List<String> machines, Duration timeout, Consumer<String> watcher) {
        CountDownLatch firstStarted = new CountDownLatch(1);
        List<CompletableFuture<Void>> runs = new ArrayList<>();
        String first = machines.get(0);
        runs.add(CompletableFuture.runAsync(() -> runUp(upCommand(provider, first), timeout, "vagrant up " + first,
            line -> { if (BOOTING.matcher(line).find()) firstStarted.countDown(); watcher.accept(line); }))
            .whenComplete((done, failure) -> firstStarted.countDown()));
        try {
            firstStarted.await(timeout.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Cli.fail(Cli.FAILED, "vagrant up was interrupted");
        }
        for (String machine : machines.subList(1, machines.size())) {
            runs.add(CompletableFuture.runAsync(
                () -> runUp(upCommand(provider, machine), timeout, "vagrant up " + machine, watcher)));
        }
        Cli.Failure firstFailure = null;
        for (var run : runs) {
            try {
                run.join();
            } catch (CompletionException e) {
                if (firstFailure == null) {
                    firstFailure = e.getCause() instanceof Cli.Failure failure ? failure
                        : new Cli.Failure(Cli.FAILED, "vagrant up failed: " + e.getCause(), e);
                }
            }
        }
        if (firstFailure != null) throw firstFailure;
    }

    private static List<String> upCommand(String provider, String machine) {
        return List.of("vagrant", "up", machine, "--no-color", "--provider", provider);
    }

    /** `vagrant provision`: every machine in the Vagrantfile's order (servers first), lines on the log. */
    void provision(Duration timeout) {
        run(List.of("vagrant", "provision", "--no-color"), timeout, "vagrant provision", null);
    }

    /** Shuts the machines down (Vagrant forces them off after its graceful wait), keeping their disks. */
    void halt(Duration timeout) {
        run(List.of("vagrant", "halt", "--no-color"), timeout, "vagrant halt", null);
    }

    void destroy(Duration timeout) {
        run(List.of("vagrant", "destroy", "--force", "--no-color"), timeout, "vagrant destroy", null);
    }

    /** `vagrant destroy NAME`: one machine of the Vagrantfile (a machine not made is no error to Vagrant). */
    void destroy(String machine, Duration timeout) {
        run(List.of("vagrant", "destroy", machine, "--force", "--no-color"), timeout, "vagrant destroy " + machine,
            null);
    }

    /** `vagrant halt NAME`: one machine shut down, its disk kept. */
    void halt(String machine, Duration timeout) {
        run(List.of("vagrant", "halt", machine, "--no-color"), timeout, "vagrant halt " + machine, null);
    }

    /** `vagrant up NAME`: one machine booted (and provisioned when it is new). */
    void up(String provider, String machine, Duration timeout) {
        runUp(upCommand(provider, machine), timeout, "vagrant up " + machine, null);
    }

    /** `vagrant provision NAME`: one machine's provisioners run again, lines on the log. */
    void provision(String machine, Duration timeout) {
        run(List.of("vagrant", "provision", machine, "--no-color"), timeout, "vagrant provision " + machine, null);
    }

    /** Output of `vagrant ssh-config NAME`: OpenSSH config text for JSch. */
    String sshConfig(String machine) {
        return capture(List.of("vagrant", "ssh-config", machine), "vagrant ssh-config " + machine
            + " (is the machine up? 'vagrant status' in " + dir + ")");
    }

    private ProcessExecutor executor(List<String> command) {
        // in a folder without one, vagrant would run the Vagrantfile of a folder above it
        if (!Files.isRegularFile(dir.resolve("Vagrantfile"))) {
            throw Cli.fail(Cli.FAILED, "there is no Vagrantfile in " + dir + ": no vagrant command runs there "
                + "(it would run one of a folder above); is this the folder of the cluster's machines?");
        }
        Map<String, String> environment = new HashMap<>(System.getenv());
        environment.keySet().removeIf(key -> key.startsWith(SETTINGS_PREFIX));
        return new ProcessExecutor(command)
            .directory(dir.toFile())
            .environment(environment)
            .stopper(VagrantStop::withChildren);
    }

    /** What the user should run after a Ctrl-C or kill during a vagrant command (the step knows). */
    private String whenInterrupted = "run the step again";

    Vagrant whenInterrupted(String advice) {
        this.whenInterrupted = advice;
        return this;
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String capture(List<String> command, String what) {
        try {
            VagrantOutput.Collected err = new VagrantOutput.Collected();
            ProcessResult result = executor(command).readOutput(true).redirectError(err)
                .timeout(300, TimeUnit.SECONDS).execute();
            if (result.getExitValue() != 0) {
                throw Cli.fail(Cli.FAILED,
                    what + " failed (exit " + result.getExitValue() + "): " + Cli.lastLines(err.text(), 8));
            }
            return result.outputUTF8();
        } catch (IOException e) {
            throw Cli.fail(Cli.MISSING_TOOL, "cannot run vagrant: " + e.getMessage());
        } catch (TimeoutException e) {
            throw Cli.fail(Cli.FAILED, what + " did not finish within 300 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Cli.fail(Cli.FAILED, what + " was interrupted");
        }
    }

    /** Runs a vagrant command, its lines on the log (and to watcher, if any), its last lines in the failure. */
    private void run(List<String> command, Duration timeout, String what, Consumer<String> watcher) {
        Deque<String> tail = new ArrayDeque<>();
        Set<String> seen = ConcurrentHashMap.newKeySet(); // machines with a live line
        boolean finished = false;
        VagrantOutput lines = new VagrantOutput(log, tail, seen, watcher);
        // the hook first: once the step is being interrupted, no vagrant starts any more
        AtomicReference<Process> running = new AtomicReference<>();
        try (Interruption onInterrupt = Interruption.on(log, "vagrant was stopped after its cleanup; "
                + whenInterrupted + " ('vagrant status' in " + dir + " shows what is left)", () -> {
                    if (running.get() != null) VagrantStop.gently(running.get(), tail, log);
                })) {
            StartedProcess started = executor(command).redirectOutput(lines).redirectErrorStream(true).start();
            running.set(started.getProcess());
            ProcessResult result = started.getFuture().get(timeout.toSeconds(), TimeUnit.SECONDS);
            finished = result.getExitValue() == 0;
            if (result.getExitValue() != 0) {
                String lastLines = String.join("\n", tail);
                throw Cli.fail(Cli.FAILED, what + " failed (exit " + result.getExitValue() + ") in " + dir
                    + VagrantOutput.hint(lastLines) + "; its last lines:\n" + lastLines);
            }
        } catch (IOException e) {
            throw Cli.fail(Cli.MISSING_TOOL, "cannot run vagrant: " + e.getMessage());
        } catch (ExecutionException e) {
            throw Cli.fail(Cli.FAILED, "running vagrant failed: " + e.getCause());
        } catch (TimeoutException e) {
            VagrantStop.withChildren(running.get());
            throw Cli.fail(Cli.TIMED_OUT, what + " did not finish within " + timeout.toSeconds()
                + " s and was stopped; 'vagrant status' in " + dir + " shows what is left; its last lines:\n"
                + String.join("\n", tail));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Cli.fail(Cli.FAILED, what + " was interrupted");
        } finally {
            String last = finished ? VagrantOutput.DONE.getOrDefault(command.get(1), "done") : "failed";
            for (String machine : seen) log.phaseEnd(machine, last);
        }
    }
}
