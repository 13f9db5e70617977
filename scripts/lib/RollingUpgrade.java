//SOURCES Cli.java
//SOURCES Log.java
//SOURCES Cluster.java
//SOURCES ClusterChange.java
//SOURCES Plan.java
//SOURCES NodeSsh.java
//SOURCES Nodes.java
//SOURCES K3sServer.java
//SOURCES K3sCache.java
//SOURCES K3sRelease.java
//SOURCES AgentInstall.java
//SOURCES InstallFolder.java
//SOURCES Interruption.java
//SOURCES Settings.java
//SOURCES Ssh.java

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A new --k3s-version, --k3s-channel or --airgap-dir: a rolling upgrade, as K3s documents it (the installer
 * run again with the node's own flags and env, the new version) and k3s-ansible orders it: servers one at a
 * time, then the agents, then the hosts k3s-join added, each Ready at the new version before the next.
 * The Vagrant machines are provisioned again (k3s-common.sh installs when the version or binary differs).
 */
final class RollingUpgrade {
    /** The line each node's upgrade ends with, its time for whoever checks the order. */
    static final String UPGRADED = "upgraded %s to K3s %s at %s";

    private RollingUpgrade() {}

    static void apply(ClusterChange.Step step, ChangeRun.Context context) {
        Cluster cluster = context.cluster();
        String target = knownTarget(context.recorded(), context.settings());
        for (Cluster.Node node : order(cluster, step.machines())) {
            context.log().phase(node.name(), "upgrading K3s");
            try (Ssh server = NodeSsh.connect(cluster, cluster.server(), Ssh.HostKeyCheck.OFF, null,
                    Duration.ofMinutes(2), context.log())) {
                if (node.ssh().vagrantMachine() != null) {
                    context.vagrant().provision(node.ssh().vagrantMachine(), context.remaining().get());
                } else {
                    reinstall(cluster, node, server, target, context);
                }
                target = waitForVersion(server, node.name(), target, context).version();
            }
            context.log().phaseEnd(node.name(), "Ready at " + target);
            context.log().info(String.format(UPGRADED, Nodes.nodeName(node.name()), target, Instant.now()));
        }
    }

    /**
     * The version every node must reach, when known up front: --k3s-version when it changed; else "" (another
     * air-gap folder, a channel): what the first server then runs, since a version recorded earlier may not be
     * the new folder's and would never be reached.
     */
    static String knownTarget(Map<String, String> recorded, Map<String, String> settings) {
        String wanted = settings.getOrDefault("K3S_VERSION", "");
        return wanted.equals(recorded.getOrDefault("K3S_VERSION", "")) ? "" : wanted;
    }

    /**
     * The order of an upgrade: the step's machines (its servers, then its agents, as the plan lists them),
     * then the hosts k3s-join added, which are in cluster.json only.
     */
    static List<Cluster.Node> order(Cluster cluster, List<Plan.Machine> machines) {
        List<Cluster.Node> order = new ArrayList<>();
        for (Plan.Machine machine : machines) {
            order.add(cluster.nodes().stream().filter(n -> machine.name().equals(n.ssh().vagrantMachine()))
                .findFirst().orElse(new Cluster.Node(machine.name(), machine.role(), machine.ip(),
                    Cluster.Access.vagrant(machine.name()))));
        }
        cluster.nodes().stream().filter(n -> n.ssh().vagrantMachine() == null).forEach(order::add);
        return order;
    }

    /** A host k3s-join added: its install run again as k3s-join ran it, the token read again from the server. */
    private static void reinstall(Cluster cluster, Cluster.Node node, Ssh server, String version,
                                  ChangeRun.Context context) {
        if (node.agentFlags() != null && !Settings.valid("AGENT_FLAGS", node.agentFlags())) {
            throw Cli.fail(Cli.BAD_INPUT, "cluster.json's agentFlags of " + node.name() + " break --agent-flags'"
                + " rules: " + node.agentFlags() + "; correct them in " + context.folder() + " (or k3s-join the host"
                + " again with its --agent-flags), then run the same k3s-up again");
        }
        byte[] token = K3sServer.agentToken(server, context.log());
        try (Ssh agent = NodeSsh.connect(cluster, node, null, null, Duration.ofMinutes(2), context.log())) {
            AgentInstall.Request request = new AgentInstall.Request(cluster, node.ip(), token, version,
                context.remaining().get(), joinAirgap(context.settings().get("AIRGAP_DIR")),
                new K3sRelease.Options(), null, node.agentFlags());
            AgentInstall.run(agent, new InstallFolder(), request, context.log());
        } finally {
            Arrays.fill(token, (byte) 0);
        }
    }

    /**
     * The air-gap folder a joined host installs from: the user's --airgap-dir as the machines get it; none
     * for K3s the host cached for the machines' architecture (the host's own is fetched by version instead).
     */
    static Path joinAirgap(String airgapDir) {
        if (airgapDir == null || airgapDir.isEmpty()) return null;
        Path dir = Path.of(airgapDir);
        return dir.startsWith(K3sCache.defaultCache()) ? null : dir;
    }

    /** Polls until the node is Ready at version (any version when "": the first server sets the target). */
    private static Nodes.Status waitForVersion(Ssh server, String hostname, String version,
                                               ChangeRun.Context context) {
        String name = Nodes.nodeName(hostname);
        long deadline = System.nanoTime() + context.remaining().get().toNanos();
        Nodes.Status last = null;
        while (true) {
            for (Nodes.Status status : Nodes.list(server)) {
                if (!status.name().equals(name)) continue;
                last = status;
                if (status.ready() && (version.isEmpty() || status.version().equals(version))) return status;
            }
            if (System.nanoTime() > deadline) {
                throw Cli.fail(Cli.TIMED_OUT, "node " + name + " is not Ready at K3s " + version + " ("
                    + (last == null ? "not listed" : (last.ready() ? "Ready" : "NotReady") + " at " + last.version())
                    + "); the upgrade stopped there, the nodes after it untouched. 'sudo journalctl -u k3s' (agents:"
                    + " -u k3s-agent) on it tells why; once fixed, the same k3s-up carries on with the upgrade");
            }
            Interruption.pause(2000, "for " + name + " at the new version");
        }
    }
}
