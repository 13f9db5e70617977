//SOURCES Cli.java
//SOURCES Log.java
//SOURCES Interruption.java
//SOURCES NodeSsh.java
//SOURCES Nodes.java
//SOURCES AgentTokenMove.java
//SOURCES Vagrant.java

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The first server, while `vagrant up` still runs (the agents joining), from the moment its provisioning says K3s
 * is Ready: its `vagrant ssh-config` asked and kept where NodeSsh looks first (where that cache is missing), one SSH
 * connection opened, the agent token checked (AgentTokenMove) and the node list polled each second until every
 * planned node is Ready. The Ready stage then takes the connection and what was seen instead of paying the
 * handshakes and polls after `vagrant up`. Best effort: on any failure the Ready stage does it all itself.
 * Ownership: the connection is closed by the background while it runs and close() has come, else by whoever
 * took it (takeServer), else by close().
 */
final class ServerEarly implements Consumer<String>, AutoCloseable {
    /** How long finish() waits for the background (asking Vagrant takes ~2 s, a poll ~1 s) before doing without. */
    static final Duration WAIT = Duration.ofSeconds(30);

    private final Path folder;
    private final String machine;
    /** The planned machines' node names: the polls end once all are Ready. */
    private final Set<String> wanted = new TreeSet<>();
    private final Log log;
    /** provision/server.sh's last line, as `vagrant up` prints it: "    wilS: [k3s-vagrant wilS] K3s server ...". */
    private final Pattern ready;
    // all guarded by this
    private Thread working;
    private boolean running;
    private boolean stopping; // finish() or close(): no further poll
    private boolean closed; // close(): nothing written or handed over any more
    private Ssh server;
    private Boolean hasAgentToken;
    private List<Nodes.Status> allReady;

    ServerEarly(Path folder, List<String> machines, Log log) {
        this.folder = folder;
        this.machine = machines.get(0);
        machines.forEach(name -> wanted.add(Nodes.nodeName(name)));
        this.log = log;
        this.ready = Pattern.compile("^\\s*" + Pattern.quote(machine) + ": \\[k3s-vagrant [^\\]]+\\] K3s server is "
            + "Ready at ");
    }

    /** A line of `vagrant up`: the server's Ready line starts the background work, once. */
    @Override
    public synchronized void accept(String line) {
        if (working != null || stopping || !ready.matcher(line).find()) return;
        log.detail("connecting to " + machine + " while the others finish");
        working = new Thread(this::work, "k3s-vagrant-server-early-" + machine);
        working.setDaemon(true); // an abandoned background does not keep the step from ending
        running = true;
        working.start();
    }

    private void work() {
        boolean failed = false;
        try {
            if (!Files.exists(NodeSsh.cachedSshConfig(folder, machine))) {
                String config = new Vagrant(folder, log).sshConfig(machine);
                synchronized (this) {
                    // kept while finish() waits for it (vagrant up ended first); not once the step has failed, is
                    // being interrupted or stopped waiting
                    if (closed || Interruption.shuttingDown()) return;
                    NodeSsh.keepSshConfig(folder, machine, config);
                }
            }
            Ssh ssh = NodeSsh.connectToVagrantMachine(folder, machine, Duration.ofSeconds(30), log);
            synchronized (this) {
                server = ssh; // from here on closed as the class comment says
            }
            if (stopped()) return;
            boolean token = AgentTokenMove.hasAgentToken(ssh);
            synchronized (this) {
                hasAgentToken = token;
            }
            while (!stopped()) {
                List<Nodes.Status> nodes = Nodes.list(ssh);
                synchronized (this) {
                    if (allReady(nodes, wanted)) {
                        allReady = nodes;
                        return;
                    }
                    if (!stopping) wait(1000); // as Nodes.waitReady: each second
                }
            }
        } catch (RuntimeException | InterruptedException e) {
            failed = true;
            log.detail("the early work on " + machine + " stopped (" + e.getMessage() + "); it is done after "
                + "vagrant up");
        } finally {
            synchronized (this) {
                running = false;
                // a connection that failed midway is not handed over
                if ((failed || closed) && server != null) closeServer();
            }
        }
    }

    private synchronized boolean stopped() {
        return stopping || Interruption.shuttingDown();
    }

    /** Ends the polls and waits (at most WAIT) for the background to stop; after that nothing changes. */
    void finish() {
        Thread pending;
        synchronized (this) {
            stopping = true;
            notifyAll();
            pending = working;
        }
        if (pending == null) return;
        try {
            pending.join(WAIT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (pending.isAlive()) log.detail("the early work on " + machine + " has not ended within "
            + WAIT.toSeconds() + " s; it is done again after vagrant up");
    }

    /** The open connection to the server, now the caller's to close; null when there is none. */
    synchronized Ssh takeServer() {
        if (running || closed) return null; // still in use by the background
        Ssh taken = server;
        server = null;
        return taken;
    }

    /** Whether the server's env file holds the agent token, as the background found; null: not asked. */
    synchronized Boolean hasAgentToken() {
        return hasAgentToken;
    }

    /** The node list in which the background saw every one of machines Ready, if it did. */
    synchronized Optional<List<Nodes.Status>> allReady(Set<String> machines) {
        if (closed || allReady == null) return Optional.empty();
        Set<String> names = new TreeSet<>();
        machines.forEach(name -> names.add(Nodes.nodeName(name)));
        return allReady(allReady, names) ? Optional.of(allReady) : Optional.empty();
    }

    private static boolean allReady(List<Nodes.Status> nodes, Set<String> names) {
        Set<String> missing = new TreeSet<>(names);
        nodes.stream().filter(Nodes.Status::ready).forEach(node -> missing.remove(node.name()));
        return missing.isEmpty();
    }

    /** Stops the background; its connection and node list are not handed over any more (the token answer is). */
    @Override
    public synchronized void close() {
        stopping = true;
        closed = true;
        notifyAll();
        if (!running && server != null) closeServer();
    }

    private void closeServer() {
        server.close();
        server = null;
    }
}
