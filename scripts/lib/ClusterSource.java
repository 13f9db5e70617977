//SOURCES Cli.java
//SOURCES Stdin.java
//SOURCES K3s.java
//SOURCES Cluster.java
//SOURCES ClusterFolder.java
//SOURCES Addresses.java
//SOURCES ApiPort.java
//SOURCES K3sServer.java
//SOURCES NodeSsh.java
//SOURCES SshHostOptions.java
//SOURCES Ssh.java

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * Where a step's cluster comes from (a mixin of its options): --cluster FILE, piped JSON, --name (a cluster
 * k3s-up made), or a server named by --server-host / --server-machine.
 */
final class ClusterSource {
    @Option(names = "--cluster", paramLabel = "FILE",
        description = "Read the cluster JSON from FILE ('-' for stdin). Default: stdin when something is piped in.")
    String clusterFile;

    @Option(names = "--server-host", paramLabel = "USER@ADDR",
        description = "The K3s server, over SSH (instead of the cluster JSON).")
    String serverHost;

    @Option(names = "--server-machine", paramLabel = "NAME",
        description = "The K3s server as a Vagrant machine of --vagrant-dir.")
    String serverMachine;

    @Option(names = "--vagrant-dir", paramLabel = "DIR", description = "The Vagrant folder of --server-machine.")
    Path vagrantDir;

    @Option(names = "--server-ip", paramLabel = "ADDR",
        description = "The address agents and kubectl use for the server's API "
            + "(default: the address of --server-host).")
    String serverIp;

    /** --server-ssh-key, --server-ssh-port, --server-jump: added to the step's command by ClusterStep. */
    final SshHostOptions serverSsh = new SshHostOptions("server-", "--server-host");

    @Option(names = "--ssh-config", paramLabel = "FILE",
        description = "The ssh_config file for SSH hosts and their aliases, like ssh -F "
            + "(default: ~/.ssh/config and the system's).")
    Path sshConfig;

    @Option(names = "--name", paramLabel = "NAME", description = {
        "The cluster k3s-up made with this name (its folder's cluster.json);",
        "with --server-host/--server-machine: the name to give the cluster (default: the server's host name)."})
    String name;

    /** Where piped cluster JSON is read from; tests replace it. */
    InputStream stdin = System.in;

    boolean givesServer() {
        return serverHost != null || serverMachine != null;
    }

    /** The --ssh-config file as the cluster JSON records it (absolute), or null. */
    String configPath() {
        return sshConfig == null ? null : sshConfig.toAbsolutePath().toString();
    }

    /** The cluster from --cluster, piped stdin, or the server flags, in that order. */
    Cluster cluster() {
        if (serverHost != null && serverMachine != null) {
            throw Cli.fail(Cli.USAGE, "give --server-host or --server-machine, not both");
        }
        if (clusterFile != null) {
            if (givesServer()) throw Cli.fail(Cli.USAGE, "give --cluster or the --server-* flags, not both");
            if (clusterFile.equals("-")) {
                return madeByK3sUp(Cluster.parse(Stdin.readPiped(stdin), "stdin"), "stdin");
            }
            try {
                String text = Files.readString(Path.of(clusterFile));
                return madeByK3sUp(Cluster.parse(text, clusterFile), clusterFile);
            } catch (IOException e) {
                throw Cli.fail(Cli.BAD_INPUT, "cannot read " + clusterFile + ": " + e.getMessage());
            }
        }
        if (!givesServer() && name != null) {
            Cluster saved = ClusterFolder.loadCluster(name);
            return madeByK3sUp(saved, ClusterFolder.defaultPath(name).resolve(ClusterFolder.CLUSTER_FILE)
                .toString());
        }
        if (!givesServer()) {
            String piped = Stdin.readPiped(stdin);
            if (piped == null) {
                throw Cli.fail(Cli.BAD_INPUT, "no cluster given: pipe k3s-up's JSON in (k3s-up | ...), "
                    + "name a cluster made by k3s-up with --name NAME, "
                    + "or name the server with --server-host USER@ADDR or --server-machine NAME --vagrant-dir DIR");
            }
            return madeByK3sUp(Cluster.parse(piped, "stdin"), "stdin");
        }
        if (name != null) ClusterFolder.requireName(name, "--name");
        if (serverMachine != null) {
            K3s.require(Cluster.isNodeName(serverMachine), "--server-machine", serverMachine, Cluster.NODE_NAME_RULE);
        }
        if (serverHost != null) {
            K3s.require(Cluster.isSshAddress(serverHost), "--server-host", serverHost, K3s.SSH_ADDRESS_RULE);
        }
        if (vagrantDir != null) K3s.requirePath(vagrantDir, "--vagrant-dir");
        serverSsh.check(sshConfig);
        String ip = serverIp;
        Cluster.Access access;
        String nodeName;
        if (serverMachine != null) {
            if (vagrantDir == null) {
                throw Cli.fail(Cli.USAGE, "--server-machine needs --vagrant-dir, the folder of its Vagrantfile");
            }
            if (ip == null) {
                throw Cli.fail(Cli.USAGE, "--server-machine needs --server-ip, the server's private address "
                    + "(e.g. 192.168.56.110)");
            }
            access = Cluster.Access.vagrant(serverMachine);
            nodeName = serverMachine;
        } else {
            String host = serverHost.substring(serverHost.lastIndexOf('@') + 1);
            access = serverSsh.access(serverHost, configPath(), null);
            // an ssh_config alias: the server's address is its HostName
            if (ip == null) ip = Addresses.isIpv4(host) ? host : NodeSsh.route(access, null, null).target().host();
            nodeName = host;
        }
        Addresses.requireIpv4(ip, "--server-ip");
        String clusterName = name != null ? name : nodeName;
        // the port is K3s's default until withApiPortOf reads the server's own
        return new Cluster(clusterName, null, vagrantDir == null ? null : vagrantDir.toAbsolutePath().toString(),
            ApiPort.url(ip, ApiPort.DEFAULT), List.of(new Cluster.Node(nodeName, "server", ip, access)), null);
    }

    /**
     * With --server-host/--server-machine, the cluster with the API port its server listens on, read from
     * the server's kubeconfig (k3sYaml): nothing else tells it. A cluster JSON's serverUrl already holds it.
     */
    Cluster withApiPortOf(Cluster cluster, String k3sYaml) {
        if (!givesServer()) return cluster;
        String url = ApiPort.url(cluster.server().ip(), ApiPort.fromK3sKubeconfig(k3sYaml));
        return new Cluster(cluster.name(), cluster.provider(), cluster.vagrantDir(), url, cluster.nodes(),
            cluster.kubeconfig());
    }

    /** withApiPortOf, reading the kubeconfig over the server's SSH connection only when it is needed. */
    Cluster withApiPortOf(Cluster cluster, Ssh server) {
        return givesServer() ? withApiPortOf(cluster, K3sServer.kubeconfig(server)) : cluster;
    }

    /**
     * The folder a cluster JSON names is used (its Vagrantfile run, files written there) only
     * when k3s-up made it; the --vagrant-dir flag is the user's own choice, and is not checked.
     */
    static Cluster madeByK3sUp(Cluster cluster, String source) {
        if (cluster.vagrantDir() != null && Files.exists(Path.of(cluster.vagrantDir()))) {
            ClusterFolder.requireOurs(Path.of(cluster.vagrantDir()), source, Cli.BAD_INPUT,
                "Pass the JSON k3s-up printed for its cluster, or --name NAME; name a Vagrant project of your own with "
                + "--server-machine NAME --vagrant-dir DIR");
        }
        return cluster;
    }
}
