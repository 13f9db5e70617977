//SOURCES Cli.java
//SOURCES Log.java
//SOURCES Ssh.java
//SOURCES Shell.java
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

    /** Whether the server's K3s env file holds an agent token (its name only is looked for). */
    static boolean hasAgentToken(Ssh server) {
        String script = "grep -q '^K3S_AGENT_TOKEN=' /etc/systemd/system/k3s.service.env";
        return server.exec(server.sudo() + "sh -c " + Shell.quote(script), null, Duration.ofSeconds(30)).ok();
    }

    /**
     * Provisions the cluster's machines again when the server has no agent token; remaining: the step's time.
     * Returns whether it did (then K3s restarted everywhere).
     */
    static boolean unlessPresent(boolean hasAgentToken, Vagrant vagrant, Supplier<Duration> remaining, Log log) {
        if (hasAgentToken) return false;
        log.info("the servers run without an agent token (a cluster of an older k3s-up), so the agents hold the "
            + "server token: vagrant provision gives them an agent token of their own");
        vagrant.provision(remaining.get());
        return true;
    }
}
