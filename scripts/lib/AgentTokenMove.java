//SOURCES Cli.java
//SOURCES Log.java
//SOURCES Cluster.java
//SOURCES Ssh.java
//SOURCES Shell.java
//SOURCES NodeSsh.java
//SOURCES Vagrant.java

import java.time.Duration;
import java.util.function.Supplier;

/**
 * A cluster made before the agent token existed: its server runs without one and its agents hold the
 * server token, and `vagrant up` does not provision running machines. `vagrant provision` (servers
 * first) gives the servers the agent token and moves the agents to it. Only the variable's name is read.
 */
final class AgentTokenMove {
    private AgentTokenMove() {}

    /** Provisions the cluster's machines again when its server has no agent token; remaining: the step's time. */
    static void ifNeeded(Vagrant vagrant, Cluster cluster, Supplier<Duration> remaining, Log log) {
        boolean hasAgentToken;
        try (Ssh server = NodeSsh.connect(cluster, cluster.server(), Ssh.HostKeyCheck.OFF, null,
                Duration.ofMinutes(2), log)) {
            String script = "grep -q '^K3S_AGENT_TOKEN=' /etc/systemd/system/k3s.service.env";
            hasAgentToken = server.exec(server.sudo() + "sh -c " + Shell.quote(script), null,
                Duration.ofSeconds(30)).ok();
        }
        if (hasAgentToken) return;
        log.info("the servers run without an agent token (a cluster of an older k3s-up), so the agents hold the "
            + "server token: vagrant provision gives them an agent token of their own");
        vagrant.provision(remaining.get());
    }
}
