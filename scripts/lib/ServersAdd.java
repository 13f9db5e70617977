//SOURCES Cli.java
//SOURCES Log.java
//SOURCES Cluster.java
//SOURCES ClusterChange.java
//SOURCES NodeSsh.java
//SOURCES Nodes.java
//SOURCES Shell.java
//SOURCES Ssh.java
//SOURCES Vagrant.java

import java.time.Duration;
import java.util.Set;

/**
 * More --servers, run once the new settings are written (the Vagrantfile then names the new servers and gives
 * the first one --cluster-init). A single server on SQLite is converted first, as K3s documents it: its
 * provisioning runs again, K3s restarts with --cluster-init and moves its data to embedded etcd (a later
 * provisioning run then changes nothing: its flags already say so). The new servers then boot and join one
 * at a time, each Ready before the next, as etcd takes one new member at a time.
 */
final class ServersAdd {
    /** Where K3s keeps embedded etcd: present once the first server runs it, whatever its flags say. */
    static final String ETCD_DIR = "/var/lib/rancher/k3s/server/db/etcd";

    private ServersAdd() {}

    static void apply(ClusterChange.Step step, ChangeRun.Context context) {
        Cluster cluster = context.cluster();
        Cluster.Node first = cluster.server();
        if ("1".equals(context.recorded().getOrDefault("SERVERS", "1"))) {
            String machine = first.ssh().vagrantMachine();
            context.log().info(machine + ": converting to embedded etcd (K3s restarted with --cluster-init)");
            context.log().phase(machine, "converting to embedded etcd");
            context.vagrant().provision(machine, context.remaining().get());
            requireEtcd(cluster, first, machine, context);
            context.log().phaseEnd(machine, "on embedded etcd");
            context.log().info(machine + " is on embedded etcd");
        }
        for (var machine : step.machines()) {
            context.log().info(machine.name() + ": booting and joining as a server");
            context.log().phase(machine.name(), "joining as a server");
            context.vagrant().up(context.provider(), machine.name(), context.remaining().get());
            try (Ssh server = NodeSsh.connect(cluster, first, Ssh.HostKeyCheck.OFF, null, Duration.ofMinutes(2),
                    context.log())) {
                Nodes.waitReady(server, Set.of(machine.name()), context.remaining().get(), context.log());
            }
            context.log().phaseEnd(machine.name(), "Ready");
            context.log().info(machine.name() + " is a Ready server");
        }
    }

    /** K3s keeps SQLite when --cluster-init did not reach it: no server could join, so stop here, saying so. */
    private static void requireEtcd(Cluster cluster, Cluster.Node first, String machine, ChangeRun.Context context) {
        try (Ssh server = NodeSsh.connect(cluster, first, Ssh.HostKeyCheck.OFF, null, Duration.ofMinutes(2),
                context.log())) {
            Ssh.Result etcd = server.exec(server.sudo() + "test -d " + Shell.quote(ETCD_DIR), null,
                Duration.ofSeconds(30), context.log()::detail);
            if (!etcd.ok()) {
                throw Cli.fail(Cli.FAILED, first.name() + " was provisioned again but K3s there runs without"
                    + " embedded etcd (no " + ETCD_DIR + "), so no server can join it. 'sudo journalctl -u k3s' on"
                    + " it tells why; once fixed, the same k3s-up converts it and joins the new servers");
            }
        }
    }
}
