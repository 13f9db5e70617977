//SOURCES Cli.java
//SOURCES Log.java
//SOURCES Cluster.java
//SOURCES ClusterHalt.java
//SOURCES Interruption.java
//SOURCES Ssh.java
//SOURCES NodeSsh.java
//SOURCES Nodes.java
//SOURCES AgentTokenMove.java
//SOURCES ServerEarly.java
//SOURCES Vagrant.java

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * k3s-up after `vagrant up`: the agent token checked (AgentTokenMove), then every node of the folder Ready, on one
 * connection to the server: the one ServerEarly opened while `vagrant up` ran, else a new one. What ServerEarly
 * already saw (the token, every node Ready) is not asked again.
 */
final class ClusterReady {
    private ClusterReady() {}

    /**
     * The cluster with its nodes' versions once every node to wait for is Ready. announce: logs the Ready stage;
     * whatToDo: what an interruption of the wait tells; remaining: the step's time.
     */
    static Cluster await(Cluster cluster, boolean resuming, ServerEarly early, Vagrant vagrant, Runnable announce,
            String whatToDo, Supplier<Duration> remaining, Log log) {
        Ssh server = early.takeServer();
        boolean earlyConnection = server != null;
        try {
            // none, or it sat idle while vagrant up ended and dropped since
            if (server == null || !server.connected()) server = reconnect(server, cluster, log);
            Boolean answered = early.hasAgentToken();
            boolean provisioned = AgentTokenMove.unlessPresent(answered != null ? answered
                : AgentTokenMove.hasAgentToken(server), vagrant, remaining, log);
            announce.run();
            try (Interruption onInterrupt = Interruption.on(log, whatToDo, () -> { })) {
                // provisioning restarted K3s (and may have touched the network): a fresh start
                if (provisioned) server = reconnect(server, cluster, log);
                // the machines of this folder; a host k3s-join added is reported, not waited for, unless after a halt
                Set<String> machines = ClusterHalt.nodesToWaitFor(cluster, resuming);
                for (String machine : machines) log.phase(machine, "waiting for the node to be Ready");
                Optional<List<Nodes.Status>> seen = provisioned ? Optional.empty() : early.allReady(machines);
                seen.ifPresent(nodes -> log.detail("every node was seen Ready while vagrant up ran"));
                List<Nodes.Status> ready;
                try {
                    Ssh on = server;
                    ready = seen.orElseGet(() -> Nodes.waitReady(on, machines, remaining.get(), log));
                } catch (Ssh.ConnectionDropped e) {
                    if (!earlyConnection || provisioned) throw e;
                    // the connection opened while vagrant up ran went silently while idle: the list is read again
                    log.detail("the connection opened while vagrant up ran dropped; connecting again");
                    server = reconnect(server, cluster, log);
                    ready = Nodes.waitReady(server, machines, remaining.get(), log);
                }
                Nodes.report(ready, machines, log);
                return Nodes.withVersions(cluster, ready);
            }
        } finally {
            if (server != null) server.close();
        }
    }

    /** A new connection in place of old (closed first, if any; closing twice is harmless). */
    private static Ssh reconnect(Ssh old, Cluster cluster, Log log) {
        if (old != null) old.close();
        return connect(cluster, log);
    }

    private static Ssh connect(Cluster cluster, Log log) {
        return NodeSsh.connect(cluster, cluster.server(), Ssh.HostKeyCheck.OFF, null, Duration.ofMinutes(2), log);
    }
}
