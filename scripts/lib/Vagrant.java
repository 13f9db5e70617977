//DEPS org.zeroturnaround:zt-exec:1.12
//SOURCES Cli.java
//SOURCES LibvirtShared.java
//SOURCES HostFacts.java

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.zeroturnaround.exec.ProcessExecutor;
import org.zeroturnaround.exec.ProcessResult;
import org.zeroturnaround.exec.stream.LogOutputStream;

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
    static java.util.Optional<String> armHostBoxNote(String hostArch, String provider, boolean defaultBox) {
        if (!defaultBox || !List.of("aarch64", "arm64").contains(hostArch)) return java.util.Optional.empty();
        return java.util.Optional.of("this host is arm64: the " + provider + " box needs an arm64 build (Vagrant "
            + "takes the build for the host's architecture); should vagrant up find none for the default box, pass "
            + "--box NAME of a box that has one (vagrant box add NAME --architecture arm64 --provider " + provider
            + " tells)");
    }

    /** Fails with MISSING_TOOL, naming the fix, when vagrant is not installed. */
    static String requireInstalled() {
        try {
            ProcessResult result = new ProcessExecutor("vagrant", "--version").readOutput(true)
                .redirectError(java.io.OutputStream.nullOutputStream()).timeout(60, TimeUnit.SECONDS).execute();
            if (result.getExitValue() == 0) {
                return result.outputUTF8().trim();
            }
        } catch (IOException | TimeoutException e) {
            // fall through: not installed or not runnable
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw Cli.fail(Cli.MISSING_TOOL, "vagrant is not installed or not on PATH: install it "
            + "(https://developer.hashicorp.com/vagrant/install, or 'apt-get install vagrant' on Debian) and run again");
    }

    /** Fails with MISSING_TOOL, naming the fix, when the provider cannot run here. */
    static void requireProvider(String provider) {
        switch (provider) {
            case "virtualbox" -> {
                if (!onPath("VBoxManage")) {
                    throw Cli.fail(Cli.MISSING_TOOL, "the virtualbox provider needs VirtualBox, and VBoxManage is not on PATH: "
                        + "install VirtualBox (https://www.virtualbox.org/wiki/Downloads) or use --provider libvirt");
                }
            }
            case "libvirt" -> {
                if (!onPath("virsh")) {
                    throw Cli.fail(Cli.MISSING_TOOL, "the libvirt provider needs libvirt, and virsh is not on PATH: "
                        + "install it (Debian: apt-get install libvirt-daemon-system vagrant-libvirt) or use --provider virtualbox");
                }
                String plugins = runQuietly(List.of("vagrant", "plugin", "list"));
                if (!plugins.contains("vagrant-libvirt")) {
                    throw Cli.fail(Cli.MISSING_TOOL, "the libvirt provider needs the vagrant-libvirt plugin: "
                        + "install it ('vagrant plugin install vagrant-libvirt', or Debian's package vagrant-libvirt)");
                }
            }
            default -> throw Cli.fail(Cli.USAGE, "unknown provider '" + provider + "': use virtualbox or libvirt");
        }
    }

    static boolean onPath(String tool) {
        return find(tool, HostFacts.current()).isPresent();
    }

    /**
     * Where tool is on this host, as its shell would find it: PATH's folders, trying
     * PATHEXT's endings on Windows (vagrant.exe). VBoxManage there is then looked for where
     * Vagrant looks itself: VirtualBox's installer puts its folder in VBOX_MSI_INSTALL_PATH
     * (VBOX_INSTALL_PATH for old ones) and not on PATH.
     */
    static java.util.Optional<Path> find(String tool, HostFacts host) {
        List<String> folders = new ArrayList<>(host.list("PATH"));
        if (host.windows() && tool.equals("VBoxManage")) {
            for (String variable : List.of("VBOX_MSI_INSTALL_PATH", "VBOX_INSTALL_PATH")) {
                folders.addAll(host.list(variable));
            }
        }
        for (String folder : folders) {
            for (String ending : host.pathExt()) {
                Path candidate;
                try {
                    candidate = host.path(folder.replace("\"", "").strip(), tool + ending);
                } catch (java.nio.file.InvalidPathException e) {
                    continue; // a PATH entry of another host's syntax: it holds nothing of ours
                }
                // Windows runs by ending, not by mode bits
                boolean runnable = host.windows() ? java.nio.file.Files.isRegularFile(candidate)
                    : java.nio.file.Files.isExecutable(candidate);
                if (runnable) return java.util.Optional.of(candidate);
            }
        }
        return java.util.Optional.empty();
    }

    /** `vagrant up`: progress lines on the log, the last lines in the error when it fails. */
    void up(String provider, Duration timeout) {
        List<String> command = new ArrayList<>(List.of("vagrant", "up", "--no-color", "--provider", provider));
        runUp(command, timeout, "vagrant up", null);
    }

    /**
     * Runs a vagrant up, and again (twice at most, 5 s apart) when its network step lost a
     * race with another vagrant process defining a libvirt network at the same moment: a
     * plain `vagrant up` elsewhere takes no lock of ours. Vagrant undoes the failed machine.
     */
    private void runUp(List<String> command, Duration timeout, String what, java.util.function.Consumer<String> watcher) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (int attempt = 1; ; attempt++) {
            // the error line comes before Ruby's backtrace, which can be longer than the tail kept for the message
            java.util.concurrent.atomic.AtomicBoolean raced = new java.util.concurrent.atomic.AtomicBoolean();
            try {
                run(command, Duration.ofNanos(Math.max(1, deadline - System.nanoTime())), what, line -> {
                    if (LibvirtShared.raced(line)) raced.set(true);
                    if (watcher != null) watcher.accept(line);
                });
                return;
            } catch (Cli.Failure e) {
                if (attempt == 3 || e.exitCode != Cli.FAILED || !raced.get()) throw e;
                log.warn(what + " lost a race with another vagrant process making a libvirt network at the same moment; "
                    + "trying again in 5 s");
                sleep(5000);
            }
        }
    }

    /** A machine has started once Vagrant says so (VirtualBox: "Booting VM", libvirt: "Starting domain"). */
    private static final java.util.regex.Pattern BOOTING = java.util.regex.Pattern.compile("Booting VM|Starting domain|Machine booted and ready");

    /**
     * One `vagrant up NAME` process per machine, for providers whose own `vagrant up` boots
     * one machine after the other (VirtualBox): the first runs alone until its machine
     * boots, so the box is imported once, then all the others start together.
     */
    void upEach(String provider, List<String> machines, Duration timeout) {
        java.util.concurrent.CountDownLatch firstStarted = new java.util.concurrent.CountDownLatch(1);
        List<java.util.concurrent.CompletableFuture<Void>> runs = new ArrayList<>();
        String first = machines.get(0);
        runs.add(java.util.concurrent.CompletableFuture.runAsync(() -> runUp(upCommand(provider, first), timeout, "vagrant up " + first,
            line -> { if (BOOTING.matcher(line).find()) firstStarted.countDown(); }))
            .whenComplete((done, failure) -> firstStarted.countDown()));
        try {
            firstStarted.await(timeout.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Cli.fail(Cli.FAILED, "vagrant up was interrupted");
        }
        for (String machine : machines.subList(1, machines.size())) {
            runs.add(java.util.concurrent.CompletableFuture.runAsync(() -> runUp(upCommand(provider, machine), timeout, "vagrant up " + machine, null)));
        }
        Cli.Failure firstFailure = null;
        for (var run : runs) {
            try {
                run.join();
            } catch (java.util.concurrent.CompletionException e) {
                if (firstFailure == null) {
                    firstFailure = e.getCause() instanceof Cli.Failure failure ? failure : new Cli.Failure(Cli.FAILED, "vagrant up failed: " + e.getCause(), e);
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

    void destroy(Duration timeout) {
        run(List.of("vagrant", "destroy", "--force", "--no-color"), timeout, "vagrant destroy", null);
    }

    /** Output of `vagrant ssh-config NAME`: OpenSSH config text for JSch. */
    String sshConfig(String machine) {
        return capture(List.of("vagrant", "ssh-config", machine), "vagrant ssh-config " + machine
            + " (is the machine up? 'vagrant status' in " + dir + ")");
    }

    private ProcessExecutor executor(List<String> command) {
        // in a folder without one, vagrant would run the Vagrantfile of a folder above it
        if (!java.nio.file.Files.isRegularFile(dir.resolve("Vagrantfile"))) {
            throw Cli.fail(Cli.FAILED, "there is no Vagrantfile in " + dir + ": no vagrant command runs there "
                + "(it would run one of a folder above); is this the folder of the cluster's machines?");
        }
        Map<String, String> environment = new HashMap<>(System.getenv());
        environment.keySet().removeIf(key -> key.startsWith(SETTINGS_PREFIX));
        return new ProcessExecutor(command)
            .directory(dir.toFile())
            .environment(environment)
            .stopper(Vagrant::stopWithChildren);
    }

    /** A timeout must not leave vagrant's ruby children behind. */
    private static void stopWithChildren(Process process) {
        process.descendants().forEach(ProcessHandle::destroy);
        process.destroy();
    }

    /** What the user should run after a Ctrl-C or kill during a vagrant command (the step knows). */
    private String whenInterrupted = "run the step again";

    Vagrant whenInterrupted(String advice) {
        this.whenInterrupted = advice;
        return this;
    }

    /**
     * After a Ctrl-C or kill of the step: let vagrant finish its own cleanup (it undoes a
     * half-made machine), then stop what is still running. A terminal's Ctrl-C reaches
     * vagrant too (one process group), and a second SIGINT would make it skip the cleanup:
     * send one only when vagrant shows no sign of having had it.
     */
    private void stopGently(Process process, Deque<String> tail) {
        if (!process.isAlive()) return;
        long end = System.nanoTime() + 2_000_000_000L;
        while (process.isAlive() && System.nanoTime() < end && !sawCleanup(tail)) sleep(100);
        if (process.isAlive() && !sawCleanup(tail)) {
            interrupt(process.toHandle(), HostFacts.current());
        }
        if (!saidWaiting.getAndSet(true)) log.info("waiting up to 3 min for vagrant to clean up");
        try {
            if (!process.waitFor(3, TimeUnit.MINUTES)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
        }
    }

    /**
     * Asks vagrant to stop as Ctrl-C does: SIGINT through `kill` on Linux and macOS, where
     * vagrant then cleans up. Windows has neither `kill` nor a signal to send one process
     * (a console's Ctrl-C already reached vagrant, which shares it): there vagrant and what
     * it started are ended outright.
     */
    static void interrupt(ProcessHandle process, HostFacts host) {
        if (!host.windows()) {
            try {
                new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).inheritIO().start()
                    .waitFor(10, TimeUnit.SECONDS);
                return;
            } catch (IOException | InterruptedException e) {
                // no kill after all (or no time to wait for it): end it as on Windows
            }
        }
        process.descendants().forEach(ProcessHandle::destroy);
        process.destroy();
    }

    /** Several vagrant processes (--separate-up) wait at once: the line is said once. */
    private static final java.util.concurrent.atomic.AtomicBoolean saidWaiting = new java.util.concurrent.atomic.AtomicBoolean();

    /** Vagrant's words on its first SIGINT (templates/locales/en.yml: actions.runner.waiting_cleanup). */
    private static boolean sawCleanup(Deque<String> tail) {
        synchronized (tail) {
            return tail.stream().anyMatch(line -> line.contains("Waiting for cleanup before exiting"));
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String capture(List<String> command, String what) {
        try {
            StringBuilderStream err = new StringBuilderStream();
            ProcessResult result = executor(command).readOutput(true).redirectError(err)
                .timeout(300, TimeUnit.SECONDS).execute();
            if (result.getExitValue() != 0) {
                throw Cli.fail(Cli.FAILED, what + " failed (exit " + result.getExitValue() + "): " + Cli.lastLines(err.text(), 8));
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
    private void run(List<String> command, Duration timeout, String what, java.util.function.Consumer<String> watcher) {
        Deque<String> tail = new ArrayDeque<>();
        java.util.Set<String> seen = java.util.concurrent.ConcurrentHashMap.newKeySet(); // machines with a live line
        boolean finished = false;
        LogOutputStream lines = new LogOutputStream() {
            @Override
            protected void processLine(String line) {
                // Ruby's backtrace lines ("\tfrom .../create_domain.rb:452:in `call'") would push the error out of the tail
                if (!rubyBacktrace(line)) {
                    synchronized (tail) {
                        tail.addLast(line);
                        if (tail.size() > 40) tail.removeFirst();
                    }
                }
                if (watcher != null) watcher.accept(line);
                // Vagrant's own step lines ("==> wilS: Booting VM...") are the progress;
                // their indented details ("==> wilS:  -- Memory: 1024M") are for -v
                if (line.startsWith("==> ") && !line.matches("==> [^:]+: +(--|\\s).*")) {
                    java.util.regex.Matcher machine = MACHINE_STEP.matcher(line);
                    if (log.live() && machine.matches()) {
                        seen.add(machine.group(1));
                        log.phase(machine.group(1), machine.group(2));
                    } else {
                        log.info(line.substring(4));
                    }
                } else {
                    log.detail(line);
                }
            }
        };
        // the hook first: once the step is being interrupted, no vagrant starts any more
        java.util.concurrent.atomic.AtomicReference<Process> running = new java.util.concurrent.atomic.AtomicReference<>();
        try (Interruption onInterrupt = Interruption.on(log, "vagrant was stopped after its cleanup; " + whenInterrupted
                + " ('vagrant status' in " + dir + " shows what is left)", () -> {
                    if (running.get() != null) stopGently(running.get(), tail);
                })) {
            org.zeroturnaround.exec.StartedProcess started = executor(command).redirectOutput(lines).redirectErrorStream(true).start();
            running.set(started.getProcess());
            ProcessResult result = started.getFuture().get(timeout.toSeconds(), TimeUnit.SECONDS);
            finished = result.getExitValue() == 0;
            if (result.getExitValue() != 0) {
                String lastLines = String.join("\n", tail);
                throw Cli.fail(Cli.FAILED, what + " failed (exit " + result.getExitValue() + ") in " + dir + hint(lastLines)
                    + "; its last lines:\n" + lastLines);
            }
        } catch (IOException e) {
            throw Cli.fail(Cli.MISSING_TOOL, "cannot run vagrant: " + e.getMessage());
        } catch (java.util.concurrent.ExecutionException e) {
            throw Cli.fail(Cli.FAILED, "running vagrant failed: " + e.getCause());
        } catch (TimeoutException e) {
            stopWithChildren(running.get());
            throw Cli.fail(Cli.TIMED_OUT, what + " did not finish within " + timeout.toSeconds() + " s and was stopped; "
                + "'vagrant status' in " + dir + " shows what is left; its last lines:\n" + String.join("\n", tail));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Cli.fail(Cli.FAILED, what + " was interrupted");
        } finally {
            String last = finished ? DONE.getOrDefault(command.get(1), "done") : "failed";
            for (String machine : seen) log.phaseEnd(machine, last);
        }
    }

    /** A machine's step, "==> NAME: Booting VM...", for its live line ("==> vagrant:" is Vagrant's own notice). */
    private static final java.util.regex.Pattern MACHINE_STEP =
        java.util.regex.Pattern.compile("==> (?!vagrant:)([^:\\s]+): (.+)");

    /** A machine's live line once its vagrant command has finished well. */
    private static final Map<String, String> DONE =
        Map.of("up", "up (booted and provisioned)", "provision", "provisioned", "destroy", "destroyed");

    private static final java.util.regex.Pattern RUBY_BACKTRACE = java.util.regex.Pattern.compile("^\\s*(from )?\\S+\\.rb:\\d+:in ");

    /** A line of Ruby's backtrace: indented with "from", or bare when Vagrant prints an error it did not expect. */
    static boolean rubyBacktrace(String line) {
        return RUBY_BACKTRACE.matcher(line).find();
    }

    private static final java.util.regex.Pattern MISSING_BOX = java.util.regex.Pattern.compile("The box '([^']+)' could not be found");

    /** What to do about the failures users meet most, read from Vagrant's own words. */
    static String hint(String vagrantOutput) {
        var box = MISSING_BOX.matcher(vagrantOutput);
        if (box.find()) {
            return ": the box '" + box.group(1) + "' is not installed and could not be downloaded (no internet, or a wrong name): "
                + "add it first (vagrant box add " + box.group(1) + ", or a .box file), or choose an installed one with --box (vagrant box list)";
        }
        if (vagrantOutput.contains("another process is already executing an action on the machine")) {
            return ": another vagrant process is still working on these machines (left by a k3s-up or k3s-down that was killed?): "
                + "wait for it to end, or stop it ('pgrep -af vagrant'), then run the step again";
        }
        return "";
    }

    private static String runQuietly(List<String> command) {
        try {
            return new ProcessExecutor(command).readOutput(true).timeout(120, TimeUnit.SECONDS).execute().outputUTF8();
        } catch (IOException | TimeoutException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    /** Collects a child's stderr for error messages. */
    static final class StringBuilderStream extends LogOutputStream {
        private final StringBuilder text = new StringBuilder();

        @Override
        protected synchronized void processLine(String line) {
            text.append(line).append('\n');
        }

        synchronized String text() {
            return text.toString();
        }
    }
}
