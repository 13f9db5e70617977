//SOURCES Cli.java
//SOURCES Log.java
//SOURCES Interruption.java
//SOURCES NodeSsh.java
//SOURCES Vagrant.java

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The first server's `vagrant ssh-config`, asked while `vagrant up` still runs (the agents joining) as soon as
 * its provisioning says K3s is Ready, and kept where NodeSsh looks first: the steps after `vagrant up` then
 * connect at once instead of waiting seconds for Vagrant's Ruby start-up. Only where that cache is missing.
 * Best effort: on any failure the cache stays missing and NodeSsh asks Vagrant itself, as it would anyway.
 */
final class ServerEarly implements Consumer<String>, AutoCloseable {
    /** How long the steps after `vagrant up` wait for the answer (Vagrant takes ~2 s) before asking themselves. */
    static final Duration WAIT = Duration.ofSeconds(30);

    private final Path folder;
    private final String machine;
    private final Log log;
    /** provision/server.sh's last line, as `vagrant up` prints it: "    wilS: [k3s-vagrant wilS] K3s server ...". */
    private final Pattern ready;
    private Thread asking; // guarded by this, as is closed
    private boolean closed;

    ServerEarly(Path folder, String machine, Log log) {
        this.folder = folder;
        this.machine = machine;
        this.log = log;
        this.ready = Pattern.compile("^\\s*" + Pattern.quote(machine) + ": \\[k3s-vagrant [^\\]]+\\] K3s server is "
            + "Ready at ");
    }

    /** A line of `vagrant up`: the server's Ready line starts the question, once. */
    @Override
    public synchronized void accept(String line) {
        if (asking != null || closed || !ready.matcher(line).find()) return;
        if (Files.exists(NodeSsh.cachedSshConfig(folder, machine))) return;
        log.detail("asking Vagrant for the SSH settings of " + machine + " while the others finish");
        asking = new Thread(this::ask, "k3s-vagrant-ssh-config-" + machine);
        asking.setDaemon(true); // an abandoned question does not keep the step from ending
        asking.start();
    }

    private void ask() {
        try {
            String config = new Vagrant(folder, log).sshConfig(machine);
            synchronized (this) {
                // nothing is written once the step has stopped waiting, failed or is being interrupted
                if (!closed && !Interruption.shuttingDown()) NodeSsh.keepSshConfig(folder, machine, config);
            }
        } catch (RuntimeException e) {
            log.detail("asking Vagrant early for the SSH settings of " + machine + " failed (" + e.getMessage()
                + "); they are asked again when needed");
        }
    }

    /** Waits (at most WAIT) for the question to be answered; after that, nothing is written any more. */
    void finish() {
        Thread pending;
        synchronized (this) {
            pending = asking;
        }
        if (pending != null) {
            try {
                pending.join(WAIT.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (pending.isAlive()) log.detail("Vagrant has not told the SSH settings of " + machine + " within "
                + WAIT.toSeconds() + " s; asking again");
        }
        close();
    }

    @Override
    public synchronized void close() {
        closed = true;
    }
}
