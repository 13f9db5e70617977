//SOURCES Cli.java
//SOURCES Cluster.java
//SOURCES Ssh.java
//SOURCES SshConfig.java
//SOURCES Vagrant.java
//SOURCES Addresses.java
//SOURCES Settings.java
//SOURCES ClusterFolder.java
//SOURCES KubeconfigFile.java
//SOURCES ApiPort.java

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import picocli.CommandLine.Option;

/** K3s as the steps see it: reaching a cluster's nodes, reading the server, waiting for Ready. */
final class K3s {
    private K3s() {}

    /** The token agents join with (K3s's --agent-token; the server token when the server has none of its own). */
    static final String AGENT_TOKEN_PATH = "/var/lib/rancher/k3s/server/agent-token";
    static final String KUBECONFIG_PATH = "/etc/rancher/k3s/k3s.yaml";

    /** A node as `kubectl get nodes -o json` reports it. */
    record NodeStatus(String name, boolean ready, String internalIp, String version, boolean controlPlane) { }

    /** Options for how to reach a cluster's server when no cluster JSON is piped in. */
    static final class ServerOptions {
        @Option(names = "--cluster", paramLabel = "FILE",
            description = "Read the cluster JSON from FILE ('-' for stdin). Default: stdin when something is piped in.")
        String clusterFile;

        @Option(names = "--server-host", paramLabel = "USER@ADDR", description = "The K3s server, over SSH (instead of the cluster JSON).")
        String serverHost;

        @Option(names = "--server-machine", paramLabel = "NAME", description = "The K3s server as a Vagrant machine of --vagrant-dir.")
        String serverMachine;

        @Option(names = "--vagrant-dir", paramLabel = "DIR", description = "The Vagrant folder of --server-machine.")
        Path vagrantDir;

        @Option(names = "--server-ip", paramLabel = "ADDR",
            description = "The address agents and kubectl use for the server's API (default: the address of --server-host).")
        String serverIp;

        @Option(names = "--server-ssh-key", paramLabel = "FILE",
            description = "Private key for --server-host (default: the ssh-agent's keys, then ~/.ssh/id_*).")
        Path serverSshKey;

        @Option(names = "--server-ssh-port", paramLabel = "PORT",
            description = "SSH port of --server-host (default: ssh_config's Port, else 22).")
        Integer serverSshPort;

        @Option(names = "--server-jump", paramLabel = "USER@HOST[:PORT]",
            description = "Reach --server-host through this jump host (ssh -J; several joined by ','; "
                + "default: ssh_config's ProxyJump).")
        String serverJump;

        @Option(names = "--ssh-config", paramLabel = "FILE",
            description = "The ssh_config file for SSH hosts and their aliases, like ssh -F "
                + "(default: ~/.ssh/config and the system's).")
        Path sshConfig;

        @Option(names = "--name", paramLabel = "NAME", description = {
            "The cluster k3s-up made with this name (its folder's cluster.json);",
            "with --server-host/--server-machine: the name to give the cluster (default: the server's host name)."})
        String name;

        /** Where piped cluster JSON is read from; tests replace it. */
        java.io.InputStream stdin = System.in;

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
                    return madeByK3sUp(Cluster.parse(Cli.readPipedStdin(stdin), "stdin"), "stdin");
                }
                try {
                    String text = java.nio.file.Files.readString(Path.of(clusterFile));
                    return madeByK3sUp(Cluster.parse(text, clusterFile), clusterFile);
                } catch (java.io.IOException e) {
                    throw Cli.fail(Cli.BAD_INPUT, "cannot read " + clusterFile + ": " + e.getMessage());
                }
            }
            if (!givesServer() && name != null) {
                Cluster saved = ClusterFolder.loadCluster(name);
                return madeByK3sUp(saved, ClusterFolder.defaultPath(name).resolve(ClusterFolder.CLUSTER_FILE)
                    .toString());
            }
            if (!givesServer()) {
                String piped = Cli.readPipedStdin(stdin);
                if (piped == null) {
                    throw Cli.fail(Cli.BAD_INPUT, "no cluster given: pipe k3s-up's JSON in (k3s-up | ...), "
                        + "name a cluster made by k3s-up with --name NAME, "
                        + "or name the server with --server-host USER@ADDR or --server-machine NAME --vagrant-dir DIR");
                }
                return madeByK3sUp(Cluster.parse(piped, "stdin"), "stdin");
            }
            if (name != null) ClusterFolder.requireName(name, "--name");
            if (serverMachine != null) {
                require(Cluster.isNodeName(serverMachine), "--server-machine", serverMachine, Cluster.NODE_NAME_RULE);
            }
            if (serverHost != null) {
                require(Cluster.isSshAddress(serverHost), "--server-host", serverHost, SSH_ADDRESS_RULE);
            }
            if (vagrantDir != null) requirePath(vagrantDir, "--vagrant-dir");
            if (serverSshKey != null) requirePath(serverSshKey, "--server-ssh-key");
            requireSshFlags(serverSshPort, "--server-ssh-port", serverJump, "--server-jump", sshConfig);
            String ip = serverIp;
            Cluster.Access access;
            String nodeName;
            if (serverMachine != null) {
                if (vagrantDir == null) throw Cli.fail(Cli.USAGE, "--server-machine needs --vagrant-dir, the folder of its Vagrantfile");
                if (ip == null) throw Cli.fail(Cli.USAGE, "--server-machine needs --server-ip, the server's private address (e.g. 192.168.56.110)");
                access = Cluster.Access.vagrant(serverMachine);
                nodeName = serverMachine;
            } else {
                String host = serverHost.substring(serverHost.lastIndexOf('@') + 1);
                access = new Cluster.Access(null, serverHost, serverSshPort,
                    serverSshKey == null ? null : serverSshKey.toString(), serverJump, configPath());
                // an ssh_config alias: the server's address is its HostName
                if (ip == null) ip = Addresses.isIpv4(host) ? host : route(access, null, null).target().host();
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
            return givesServer() ? withApiPortOf(cluster, kubeconfig(server)) : cluster;
        }
    }

    /**
     * The folder a cluster JSON names is used (its Vagrantfile run, files written there) only
     * when k3s-up made it; the --vagrant-dir flag is the user's own choice, and is not checked.
     */
    static Cluster madeByK3sUp(Cluster cluster, String source) {
        if (cluster.vagrantDir() != null && java.nio.file.Files.exists(Path.of(cluster.vagrantDir()))) {
            ClusterFolder.requireOurs(Path.of(cluster.vagrantDir()), source, Cli.BAD_INPUT,
                "Pass the JSON k3s-up printed for its cluster, or --name NAME; name a Vagrant project of your own with "
                + "--server-machine NAME --vagrant-dir DIR");
        }
        return cluster;
    }

    /** Checks the flags that say how to reach an SSH host, as the cluster JSON will hold them. */
    static void requireSshFlags(Integer port, String portOption, String jump, String jumpOption, Path sshConfig) {
        if (port != null && (port < 1 || port > 65535)) {
            throw Cli.fail(Cli.USAGE, portOption + " " + port + " is not a port number (1-65535)");
        }
        if (jump != null) require(Cluster.isJumpList(jump), jumpOption, jump, Cluster.JUMP_RULE);
        if (sshConfig != null) {
            requirePath(sshConfig, "--ssh-config");
            if (!java.nio.file.Files.isReadable(sshConfig)) {
                throw Cli.fail(Cli.USAGE, "--ssh-config " + sshConfig + " does not exist or is not readable: "
                    + "name an ssh_config file (as ssh -F takes it)");
            }
        }
    }

    /** A version of K3s's form (v1.31.4+k3s1), by settings.yaml's K3S_VERSION rule. */
    static boolean isVersion(String version) {
        return Settings.valid("K3S_VERSION", version);
    }

    /** Refuses a value that the cluster JSON could not hold later (see Cluster's rules): a usage error, named. */
    static void require(boolean ok, String option, String value, String expected) {
        if (!ok) throw Cli.fail(Cli.USAGE, option + " " + Cluster.shown(value) + " is not " + expected);
    }

    static final String SSH_ADDRESS_RULE = "USER@ADDR (ADDR an IPv4 address or a DNS name)";

    /** Refuses a path with a control character: it would split the line of a file that records it. */
    static void requirePath(Path path, String option) {
        require(Cluster.isPath(path.toString()), option, path.toString(), "a usable path (no control characters)");
    }

    /**
     * Opens SSH to a node of the cluster, the Vagrant way or the plain way: an address resolved
     * through ssh_config (its jump hosts too). check null: ssh_config's StrictHostKeyChecking decides.
     */
    static Ssh connect(Cluster cluster, Cluster.Node node, Ssh.HostKeyCheck check, Path knownHosts, Duration retryFor, Cli.Log log) {
        Cluster.Access access = node.ssh();
        if (access.vagrantMachine() != null) {
            return connectToVagrantMachine(Path.of(cluster.vagrantDir()), access.vagrantMachine(), retryFor, log);
        }
        SshConfig.Route route = route(access, check, knownHosts);
        return Ssh.connect(route.target(), route.jumps(), retryFor, log);
    }

    /** How an SSH address node is reached: its flags (recorded in the cluster JSON) over ssh_config's. */
    static SshConfig.Route route(Cluster.Access access, Ssh.HostKeyCheck check, Path knownHosts) {
        Path key = access.key() == null ? null : Path.of(access.key());
        Path config = access.sshConfig() == null ? null : Path.of(access.sshConfig());
        return SshConfig.route(access.address(), access.port(), key, access.jump(), config, check, knownHosts);
    }

    /**
     * `vagrant ssh-config` costs seconds (Vagrant's Ruby start-up) on every call: its answer
     * is kept in .vagrant/k3s-ssh-config-MACHINE (mode 600; paths, no keys) and used first.
     * A machine made anew since then refuses it (new key or address): then Vagrant is asked again.
     */
    static Ssh connectToVagrantMachine(Path vagrantDir, String machine, Duration retryFor, Cli.Log log) {
        Path cached = vagrantDir.resolve(".vagrant").resolve("k3s-ssh-config-" + machine);
        if (java.nio.file.Files.isRegularFile(cached)) {
            try {
                return Ssh.connect(Ssh.Target.ofVagrantSshConfig(machine, java.nio.file.Files.readString(cached)), Duration.ZERO, null);
            } catch (Cli.Failure | java.io.IOException e) {
                log.detail("the recorded SSH settings of " + machine + " no longer work; asking Vagrant");
            }
        }
        String config = new Vagrant(vagrantDir, log).sshConfig(machine);
        Ssh ssh = Ssh.connect(Ssh.Target.ofVagrantSshConfig(machine, config), retryFor, log);
        if (java.nio.file.Files.isDirectory(cached.getParent())) KubeconfigFile.writeAtomically(cached, config);
        return ssh;
    }

    /**
     * The agents' join token (K10<ca-hash>::node:<secret>): a secret, kept in memory only. The server token
     * makes its holder an admin of the cluster, so a host that only runs an agent never gets it.
     */
    static byte[] agentToken(Ssh server, Cli.Log log) {
        String token = server.run(server.sudo() + "cat " + AGENT_TOKEN_PATH,
            "reading the K3s agent token (" + AGENT_TOKEN_PATH + ")").strip();
        if (token.isEmpty()) {
            throw Cli.fail(Cli.FAILED, AGENT_TOKEN_PATH + " is empty on " + server.target.label()
                + ": is K3s's server running?");
        }
        // K3s writes the server token there when started without --agent-token (a cluster of an older k3s-up)
        if (token.matches("K10[0-9a-f]*::server:.*")) {
            log.warn("the server " + server.target.label() + " has no agent token of its own, "
                + "so this host gets the server token: run k3s-up on the cluster (it gives the servers an agent token), then k3s-join again");
        }
        return token.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The cluster's identity: the CA hash that K3s puts in its full token (K10<sha256 hex>::...),
     * or null for a token without one. Only the hash is read: the secret stays in the bytes.
     */
    static String caHash(byte[] token) {
        if (token.length < 69 || token[67] != ':' || token[68] != ':') return null;
        if (!new String(token, 0, 3, StandardCharsets.US_ASCII).equals("K10")) return null;
        String hash = new String(token, 3, 64, StandardCharsets.US_ASCII);
        return hash.matches("[0-9a-f]{64}") ? hash : null;
    }

    static String kubeconfig(Ssh server) {
        return server.run(server.sudo() + "cat " + KUBECONFIG_PATH, "reading " + KUBECONFIG_PATH + " (is this a K3s server?)");
    }

    /** Removes K3s's agent from a host with K3s's own uninstall script; nothing to do when it is not there. */
    static void uninstallAgent(Ssh host, Cli.Log log) {
        Ssh.Result result = host.exec(host.sudo() + "sh -c 'if [ -x /usr/local/bin/k3s-agent-uninstall.sh ]; then /usr/local/bin/k3s-agent-uninstall.sh; "
            + "else echo no K3s agent here; fi'", null, Duration.ofMinutes(5), log::detail);
        if (!result.ok()) {
            throw Cli.fail(Cli.FAILED, "k3s-agent-uninstall.sh failed on " + host.target.label() + " (exit " + result.exitStatus() + "): "
                + Cli.lastLines(result.stdout() + result.stderr(), 5));
        }
    }

    /** Deletes a node on the server; a node already gone is no error. */
    static Ssh.Result deleteNode(Ssh server, String name) {
        String command = server.sudo() + "k3s kubectl delete node --ignore-not-found " + Shell.quote(nodeName(name));
        return server.exec(command, null, Duration.ofMinutes(2));
    }

    /** The nodes the server knows, from `k3s kubectl get nodes -o json`. */
    static List<NodeStatus> nodes(Ssh server) {
        Ssh.Result result = server.exec(server.sudo() + "k3s kubectl get nodes -o json", null, Duration.ofSeconds(60));
        if (!result.ok()) return List.of(); // API not up yet: no node is Ready
        JsonNode root;
        try {
            root = Cluster.JSON.readTree(result.stdout());
        } catch (java.io.IOException e) {
            return List.of();
        }
        List<NodeStatus> nodes = new ArrayList<>();
        for (JsonNode item : root.path("items")) {
            boolean ready = false;
            for (JsonNode condition : item.path("status").path("conditions")) {
                if (condition.path("type").asText().equals("Ready")) ready = condition.path("status").asText().equals("True");
            }
            String ip = null;
            for (JsonNode address : item.path("status").path("addresses")) {
                if (address.path("type").asText().equals("InternalIP")) ip = address.path("address").asText();
            }
            boolean controlPlane = item.path("metadata").path("labels").has("node-role.kubernetes.io/control-plane");
            nodes.add(new NodeStatus(item.path("metadata").path("name").asText(), ready, ip,
                item.path("status").path("nodeInfo").path("kubeletVersion").asText(""), controlPlane));
        }
        return nodes;
    }

    /**
     * The cluster with each node's K3s version as the server lists it (its kubeletVersion, read in the
     * same `get nodes` that found it Ready); a node the server does not list keeps what was recorded.
     */
    static Cluster withVersions(Cluster cluster, List<NodeStatus> seen) {
        List<Cluster.Node> nodes = cluster.nodes().stream().map(node -> withVersion(node, seen)).toList();
        return new Cluster(cluster.name(), cluster.provider(), cluster.vagrantDir(), cluster.serverUrl(), nodes,
            cluster.kubeconfig());
    }

    static Cluster.Node withVersion(Cluster.Node node, List<NodeStatus> seen) {
        return node.withK3sVersion(seen.stream().filter(status -> status.name().equals(nodeName(node.name())))
            .map(NodeStatus::version).filter(Cluster::isK3sVersion).findFirst().orElse(node.k3sVersion()));
    }

    /** Kubernetes lowercases host names for node names. */
    static String nodeName(String hostname) {
        return hostname.toLowerCase(Locale.ROOT);
    }

    /** Polls until every named node is Ready, or fails with TIMED_OUT naming those that are not. */
    static List<NodeStatus> waitReady(Ssh server, Set<String> hostnames, Duration timeout, Cli.Log log) {
        Set<String> wanted = new TreeSet<>();
        hostnames.forEach(h -> wanted.add(nodeName(h)));
        long deadline = System.nanoTime() + timeout.toNanos();
        Set<String> lastMissing = Set.of();
        while (true) {
            List<NodeStatus> nodes = nodes(server);
            Set<String> missing = new TreeSet<>(wanted);
            nodes.stream().filter(NodeStatus::ready).forEach(n -> missing.remove(n.name()));
            if (missing.isEmpty()) return nodes;
            if (!missing.equals(lastMissing)) {
                log.info("waiting for node(s) " + String.join(", ", missing) + " to be Ready");
                lastMissing = missing;
            }
            if (System.nanoTime() > deadline) {
                throw Cli.fail(Cli.TIMED_OUT, "node(s) " + String.join(", ", missing) + " not Ready after " + timeout.toSeconds()
                    + " s; on the server, 'sudo k3s kubectl get nodes -o wide' and 'sudo journalctl -u k3s' (agents: -u k3s-agent) tell why");
            }
            try {
                Thread.sleep(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw Cli.fail(Cli.FAILED, "interrupted while waiting for nodes");
            }
        }
    }
}
