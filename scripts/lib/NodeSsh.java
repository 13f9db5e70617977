//SOURCES Cli.java
//SOURCES Log.java
//SOURCES Cluster.java
//SOURCES Ssh.java
//SOURCES SshConfig.java
//SOURCES Vagrant.java
//SOURCES AtomicFile.java

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** Connecting to a node of a cluster over SSH: the Vagrant way (its machine) or the plain way (its address). */
final class NodeSsh {
    private NodeSsh() {}

    /**
     * Opens SSH to a node of the cluster, the Vagrant way or the plain way: an address resolved
     * through ssh_config (its jump hosts too). check null: ssh_config's StrictHostKeyChecking decides.
     */
    static Ssh connect(Cluster cluster, Cluster.Node node, Ssh.HostKeyCheck check, Path knownHosts,
            Duration retryFor, Log log) {
        Cluster.Access access = node.ssh();
        if (access.vagrantMachine() != null) {
            return connectToVagrantMachine(Path.of(cluster.vagrantDir()), access.vagrantMachine(), retryFor, log);
        }
        SshConfig.Route route = route(access, check, knownHosts);
        return Ssh.connect(route.target(), route.jumps(), retryFor, log);
    }

    /**
     * How an SSH address node is reached: its flags (recorded in the cluster JSON) over ssh_config's; its host
     * key checked in knownHosts when given, else in the file k3s-join checked it in (recorded), else OpenSSH's.
     */
    static SshConfig.Route route(Cluster.Access access, Ssh.HostKeyCheck check, Path knownHosts) {
        Path key = access.key() == null ? null : Path.of(access.key());
        Path config = access.sshConfig() == null ? null : Path.of(access.sshConfig());
        Path hostKeys = knownHosts != null || access.knownHosts() == null ? knownHosts : Path.of(access.knownHosts());
        return SshConfig.route(access.address(), access.port(), key, access.jump(), config, check, hostKeys);
    }

    /**
     * `vagrant ssh-config` costs seconds (Vagrant's Ruby start-up) on every call: its answer
     * is kept in .vagrant/k3s-ssh-config-MACHINE (mode 600; paths, no keys) and used first.
     * A machine made anew since then refuses it (new key or address): then Vagrant is asked again.
     */
    static Ssh connectToVagrantMachine(Path vagrantDir, String machine, Duration retryFor, Log log) {
        Path cached = cachedSshConfig(vagrantDir, machine);
        if (Files.isRegularFile(cached)) {
            try {
                return Ssh.connect(Ssh.Target.ofVagrantSshConfig(machine, Files.readString(cached)), Duration.ZERO,
                    null);
            } catch (Cli.Failure | IOException e) {
                log.detail("the recorded SSH settings of " + machine + " no longer work; asking Vagrant");
            }
        }
        String config = new Vagrant(vagrantDir, log).sshConfig(machine);
        Ssh ssh = Ssh.connect(Ssh.Target.ofVagrantSshConfig(machine, config), retryFor, log);
        keepSshConfig(vagrantDir, machine, config);
        return ssh;
    }

    /** Where a machine's `vagrant ssh-config` answer is kept. */
    static Path cachedSshConfig(Path vagrantDir, String machine) {
        return vagrantDir.resolve(".vagrant").resolve("k3s-ssh-config-" + machine);
    }

    /** Keeps a machine's `vagrant ssh-config` answer, once Vagrant has made its .vagrant folder. */
    static void keepSshConfig(Path vagrantDir, String machine, String config) {
        Path cached = cachedSshConfig(vagrantDir, machine);
        if (Files.isDirectory(cached.getParent())) {
            AtomicFile.write(cached, config, "the SSH settings of " + machine + " (a cache; 'vagrant ssh-config' "
                + "is asked again without it)");
        }
    }
}
