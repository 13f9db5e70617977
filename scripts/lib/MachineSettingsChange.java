//SOURCES Cli.java
//SOURCES Log.java
//SOURCES Cluster.java
//SOURCES ClusterChange.java
//SOURCES Interruption.java
//SOURCES NodeSsh.java
//SOURCES Nodes.java
//SOURCES Plan.java
//SOURCES Settings.java
//SOURCES Shell.java
//SOURCES Ssh.java
//SOURCES Vagrant.java

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * A machine's own settings (memory, CPUs, K3s flags: settings.yaml's change: machine): each machine of the step,
 * agents first and servers last, one at a time, is halted and booted again (the Vagrantfile reads the new
 * cluster.env), provisioned again when its role's flags changed (K3s's installer then runs with them), and is
 * Ready again, on its new boot, before the next one goes down.
 */
final class MachineSettingsChange {
    private MachineSettingsChange() {}

    static void apply(ClusterChange.Step step, ChangeRun.Context context) {
        Cluster cluster = context.cluster();
        for (Plan.Machine machine : step.machines()) {
            context.log().phase(machine.name(), "halted and booted again with its new settings");
            context.vagrant().halt(machine.name(), context.remaining().get());
            context.vagrant().up(context.provider(), machine.name(), context.remaining().get());
            if (flagsChanged(machine.role(), context.recorded(), context.settings())) {
                // a changed INSTALL_K3S_EXEC changes K3s's unit: its installer restarts K3s (equal flags: nothing)
                context.vagrant().provision(machine.name(), context.remaining().get());
            }
            waitReady(cluster, machine.name(), context);
            context.log().phaseEnd(machine.name(), "Ready with its new settings");
        }
    }

    /** Whether the K3s flags of a role (settings.yaml's groups: flags) differ from what the cluster recorded. */
    static boolean flagsChanged(String role, Map<String, String> recorded, Map<String, String> settings) {
        for (JsonNode group : Settings.table().path("groups")) {
            if (!group.path("role").asText().equals(role)) continue;
            return ClusterChange.differs(recorded, settings, group.path("flags").asText());
        }
        return false;
    }

    /**
     * Until the server lists the machine's node Ready with the machine's current boot id: right after a halt
     * the server still shows the node Ready from before (until K3s's grace period ends), its old boot's.
     */
    private static void waitReady(Cluster cluster, String machine, ChangeRun.Context context) {
        String bootId;
        try (Ssh ssh = NodeSsh.connectToVagrantMachine(Path.of(cluster.vagrantDir()), machine, Duration.ofMinutes(2),
                context.log())) {
            bootId = ssh.run("cat /proc/sys/kernel/random/boot_id", "reading the boot id of " + machine).strip();
        }
        String node = Nodes.nodeName(machine);
        long deadline = System.nanoTime() + context.remaining().get().toNanos();
        try (Ssh server = NodeSsh.connect(cluster, cluster.server(), Ssh.HostKeyCheck.OFF, null, Duration.ofMinutes(2),
                context.log())) {
            context.log().info("waiting for node " + node + " to be Ready again");
            while (!readyOnBoot(server, node, bootId)) {
                if (System.nanoTime() > deadline) {
                    throw Cli.fail(Cli.TIMED_OUT, "node " + node + " is not Ready again since " + machine + " booted"
                        + " with its new settings; on the server, 'sudo k3s kubectl describe node " + node + "' tells"
                        + " why; once fixed, the same k3s-up carries on with the machines after it");
                }
                Interruption.pause(2000, "for node " + node);
            }
        }
    }

    /** The node is Ready and reports bootId: its kubelet posted its status since the machine booted. */
    static boolean readyOnBoot(Ssh server, String node, String bootId) {
        Ssh.Result result = server.exec(server.sudo() + "k3s kubectl get nodes " + Shell.quote(node) + " -o json",
            null, Duration.ofSeconds(60));
        if (!result.ok()) return false; // API not answering yet (the server itself rebooting)
        try {
            return readyOnBoot(Cluster.JSON.readTree(result.stdout()), bootId);
        } catch (IOException e) {
            return false;
        }
    }

    static boolean readyOnBoot(JsonNode node, String bootId) {
        boolean ready = false;
        for (JsonNode condition : node.path("status").path("conditions")) {
            if (!condition.path("type").asText().equals("Ready")) continue;
            ready = condition.path("status").asText().equals("True");
        }
        return ready && node.path("status").path("nodeInfo").path("bootID").asText().equals(bootId);
    }
}
