///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//SOURCES lib/ClusterStep.java
//SOURCES lib/K3s.java
//SOURCES lib/K3sServer.java
//SOURCES lib/K3sAgent.java
//SOURCES lib/Nodes.java
//SOURCES lib/K3sRelease.java
//SOURCES lib/AgentInstall.java
//SOURCES lib/AgentOnHost.java
//SOURCES lib/InstallFolder.java
//FILES provision/agent.sh=../provision/agent.sh
//FILES provision/k3s-common.sh=../provision/k3s-common.sh

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

@Command(name = "k3s-join",
    description = {
        "Makes a host a K3s agent of a cluster's server, waits until it is Ready, and prints the cluster JSON with "
            + "the new node.",
        "The host is any SSH host (--host USER@ADDR) or a Vagrant machine (--machine NAME). The server comes from "
            + "the cluster JSON",
        "on stdin (k3s-up | k3s-join ...) or from --server-host / --server-machine. The agent token is read from "
            + "the server over SSH",
        "and handed to the host in a mode-600 file: it never appears on a command line; the server token never "
            + "leaves the servers.",
        "A host that already belongs (its agent names this cluster's CA and holds this token) is left as it is; one "
            + "holding",
        "another token is installed again; one that is an agent of another cluster (its token names another CA) is "
            + "refused",
        "unless --replace."},
    footerHeading = "%nExamples:%n",
    footer = {
        "  k3s-up | k3s-join --host pi@192.168.56.20 --ssh-key ~/.ssh/id_ed25519 | k3s-kubeconfig --merge",
        "  k3s-join --server-host ubuntu@10.0.0.2 --host ubuntu@10.0.0.3",
        "  k3s-join --cluster cluster.json --machine wilSW2 --airgap-dir ./k3s-offline"})
class join extends ClusterStep {

    @Mixin K3sRelease.Options k3sSource;

    @Option(names = "--host", paramLabel = "[USER@]ADDR",
        description = "The host to join, over SSH: an address or an ssh_config alias (see --ssh-config).")
    String host;

    @Option(names = "--machine", paramLabel = "NAME",
        description = "The host to join: a Vagrant machine of the cluster's folder (or --vagrant-dir).")
    String machine;

    /** --ssh-key, --ssh-port, --jump. */
    final SshHostOptions hostSsh = new SshHostOptions("", "--host");

    @Option(names = "--node-ip", paramLabel = "ADDR",
        description = "The host's address the server reaches (default: the address of --host).")
    String nodeIp;

    @Option(names = "--k3s-version", paramLabel = "VERSION",
        description = "K3s version for the agent, e.g. v1.31.4+k3s1 (default: the server's).")
    String k3sVersion;

    @Option(names = "--agent-flags", paramLabel = "FLAGS", description = "Extra flags for 'k3s agent'.")
    String agentFlags;

    @Option(names = "--airgap-dir", paramLabel = "DIR",
        description = "Install K3s from DIR (install.sh, k3s, optional images) instead of the internet.")
    Path airgapDir;

    @Option(names = "--api-wait", paramLabel = "SECONDS",
        description = "How long the host waits for the server's API to answer before giving up "
            + "(default: the --timeout, at most 300).")
    Integer apiWait;

    @Option(names = "--replace", description = "Join a host that is a K3s agent of another cluster all the same: "
        + "its agent is uninstalled first (default: refuse, exit 7).")
    boolean replace;

    @Option(names = "--timeout", paramLabel = "MINUTES", defaultValue = "10",
        description = "Give up after this many minutes (default: ${DEFAULT-VALUE}).")
    int timeoutMinutes;

    public static void main(String... args) {
        System.exit(Cli.run(new join(), args));
    }

    @Override
    void addOptions(CommandSpec command) {
        super.addOptions(command);
        hostSsh.addTo(command);
    }

    @Override
    int[] exitCodes() {
        return new int[] {Cli.OK, Cli.FAILED, Cli.USAGE, Cli.BAD_INPUT, Cli.SSH_FAILED, Cli.TIMED_OUT, Cli.REFUSED,
            Cli.INTERRUPTED};
    }

    @Override
    Map<Integer, String> exitCodeDetails() {
        return Map.of(Cli.OK, "or already a node of this cluster", Cli.SSH_FAILED, "nothing changed",
            Cli.REFUSED, "the host is a K3s agent of another cluster: nothing changed (--replace to uninstall it "
                + "and join)");
    }

    @Override
    List<String> stages() {
        return List.of("token", "connect", "install", "ready");
    }

    @Override
    int run() {
        Ssh.HostKeyCheck check = hostKeys.chosen();
        checkFlags();
        Cluster cluster = server.cluster();
        Duration timeout = Duration.ofMinutes(timeoutMinutes);

        stage("token", "reading the agent token from the server " + cluster.server().name());
        byte[] token;
        String serverVersion;
        try (Ssh serverSsh = connect(cluster, cluster.server(), Duration.ofSeconds(30))) {
            cluster = server.withApiPortOf(cluster, serverSsh);
            token = K3sServer.agentToken(serverSsh, log);
            serverVersion = Nodes.list(serverSsh).stream().filter(Nodes.Status::controlPlane).map(Nodes.Status::version)
                .findFirst().orElse("");
        }

        Cluster.Node node = null;
        // a folder an attempt could not remove, its connection dropped, is removed by the next one
        InstallFolder folder = new InstallFolder();
        try {
            // a connection dropped mid-install is retried: the install resumes where it stopped
            for (int attempt = 1; node == null; attempt++) {
                stage("connect", "connecting to " + (host != null ? host : machine));
                try (Ssh agent = connectAgent(cluster, check, log)) {
                    node = joinHost(agent, cluster, token, serverVersion, timeout, folder, log);
                } catch (Ssh.ConnectionDropped e) {
                    if (attempt == INSTALL_ATTEMPTS) {
                        throw Cli.fail(Cli.SSH_FAILED, e.getMessage() + ", " + attempt + " times: the agent there "
                            + "may be half-installed and is "
                            + "not counted as joined. Run k3s-join again once the connection is steady (it resumes), "
                            + "or k3s-leave to remove it");
                    }
                    long seconds = 5L << (attempt - 1);
                    log.warn(e.getMessage() + " (attempt " + attempt + "/" + INSTALL_ATTEMPTS + "); installing again "
                        + "is safe: reconnecting in "
                        + seconds + " s");
                    Interruption.pause(seconds * 1000, "to reconnect");
                }
            }
        } finally {
            Arrays.fill(token, (byte) 0);
        }

        stage("ready", "waiting for " + node.name() + " to be Ready");
        try (Ssh serverSsh = connect(cluster, cluster.server(), Duration.ofSeconds(30))) {
            List<Nodes.Status> ready = Nodes.waitReady(serverSsh, Set.of(node.name()), timeout, log);
            node = Nodes.withVersion(node, ready);
        }
        log.step(node.name() + " is a Ready agent of " + cluster.name());
        Cluster.Node joinedNode = node;
        Cluster joined = ClusterFolder.updateCluster(cluster, recorded -> recorded.withNode(joinedNode), log);
        print(joined.toJson());
        return Cli.OK;
    }

    static final int INSTALL_ATTEMPTS = 3;

    /** Checks the host is not a server, then installs the agent unless it already belongs. */
    Cluster.Node joinHost(Ssh agent, Cluster cluster, byte[] token, String serverVersion, Duration timeout,
            InstallFolder folder, Log log) {
        // first: every later step needs root, and a sudo that asks for a password must stop the join before any upload
        agent.requireRoot();
        String hostname = agent.run("hostname", "reading the host name").strip();
        // it becomes the node's name in the cluster JSON, which the next step reads and checks
        if (!Cluster.isNodeName(hostname)) {
            throw Cli.fail(Cli.FAILED, "the host name of " + agent.target.label() + ", " + Cluster.shown(hostname)
                + ", is not " + Cluster.NODE_NAME_RULE + ": K3s would not take it as a node name; "
                + "set one (hostnamectl set-hostname NAME)");
        }
        String ip = nodeIp != null ? nodeIp : agent.target.host();
        if (!Addresses.isIpv4(ip)) {
            throw Cli.fail(Cli.USAGE, "the host's address '" + ip + "' is not an IPv4 address: pass --node-ip, the "
                + "address the server reaches it at");
        }
        for (Cluster.Node server : cluster.nodes().stream().filter(Cluster.Node::isServer).toList()) {
            if (Nodes.nodeName(hostname).equals(Nodes.nodeName(server.name())) || ip.equals(server.ip())) {
                throw Cli.fail(Cli.USAGE, hostname + " (" + ip + ") is one of the cluster's servers: join another "
                    + "host");
            }
        }
        folder.remove(agent);
        String clusterCa = K3sServer.caHash(token);
        if (clusterCa == null) {
            throw Cli.fail(Cli.FAILED, "the server's " + K3sServer.AGENT_TOKEN_PATH
                + " is not a full K3s token (K10<CA hash>::...), so the cluster cannot be told apart from another: "
                + "is the server K3s? Nothing was installed");
        }
        AgentOnHost.Action plan = plan(agent, hostname, cluster.serverUrl(), clusterCa);
        // an agent of this cluster holding another token (the server token older versions handed out) is moved
        if (plan == AgentOnHost.Action.NOTHING && !AgentOnHost.holdsToken(agent, hostRoot, token)) {
            plan = AgentOnHost.Action.INSTALL;
        }
        // the flags an upgrade runs again: those of this install, else those recorded when it was made
        String flags = cluster.nodes().stream().filter(n -> n.name().equalsIgnoreCase(hostname))
            .map(Cluster.Node::agentFlags).filter(f -> f != null).findFirst().orElse(null);
        if (plan == AgentOnHost.Action.NOTHING) {
            stage("install", hostname + " is already an agent of " + cluster.serverUrl() + ": nothing to install "
                + "(its agent names this cluster's CA)");
        } else {
            flags = AgentInstall.recordedFlags(agentFlags);
            if (plan == AgentOnHost.Action.REPLACE) {
                stage("install", hostname + " is a K3s agent of another cluster: uninstalling it (--replace)");
                K3sAgent.uninstall(agent, log);
            }
            stage("install", "installing the K3s agent on " + hostname + " (" + ip + ")");
            AgentInstall.Request request = new AgentInstall.Request(cluster, ip, token, version(serverVersion),
                timeout, airgapDir, k3sSource, apiWait, agentFlags);
            AgentInstall.run(agent, folder, request, log);
        }
        return new Cluster.Node(hostname, "agent", ip, access(agent), null, flags);
    }


    private void checkFlags() {
        if ((host == null) == (machine == null)) {
            throw Cli.fail(Cli.USAGE, "name the host to join with --host USER@ADDR (any SSH host) or --machine NAME "
                + "(a Vagrant machine)");
        }
        if (nodeIp != null) Addresses.requireIpv4(nodeIp, "--node-ip");
        if (host != null) K3s.require(Cluster.isSshAddress(host), "--host", host, K3s.SSH_ADDRESS_RULE);
        if (machine != null) K3s.require(Cluster.isNodeName(machine), "--machine", machine, Cluster.NODE_NAME_RULE);
        if (machine != null && hostSsh.jump != null) {
            throw Cli.fail(Cli.USAGE, "--jump is for --host: Vagrant says how to reach --machine");
        }
        hostSsh.check(server.sshConfig);
        Settings.require("AGENT_FLAGS", agentFlags, "--agent-flags", null);
        Settings.require("K3S_VERSION", k3sVersion, "--k3s-version", null);
        Settings.require("AIRGAP_DIR", airgapDir == null ? null : airgapDir.toString(), "--airgap-dir", null);
        if (timeoutMinutes < 1) throw Cli.fail(Cli.USAGE, "--timeout must be at least 1 minute");
        if (apiWait != null && apiWait < 1) throw Cli.fail(Cli.USAGE, "--api-wait must be at least 1 second");
        k3sSource.validate();
    }

    private Ssh connectAgent(Cluster cluster, Ssh.HostKeyCheck check, Log log) {
        Cluster.Access access;
        if (machine != null) {
            if (cluster.vagrantDir() == null && server.vagrantDir == null) {
                throw Cli.fail(Cli.USAGE, "--machine needs the Vagrant folder: pipe in a cluster made by k3s-up, or "
                    + "pass --vagrant-dir");
            }
            access = Cluster.Access.vagrant(machine);
            Cluster withDir = server.vagrantDir != null
                ? new Cluster(cluster.name(), cluster.provider(), server.vagrantDir.toAbsolutePath().toString(),
                    cluster.serverUrl(), cluster.nodes(), null)
                : cluster;
            return NodeSsh.connect(withDir, new Cluster.Node(machine, "agent", "", access), check, hostKeys.knownHosts,
                Duration.ofMinutes(1), log);
        }
        access = hostSsh.access(host, server.configPath(), hostKeys.knownHosts);
        return NodeSsh.connect(cluster, new Cluster.Node(host, "agent", "", access), check, hostKeys.knownHosts,
            Duration.ofSeconds(30), log);
    }

    private Cluster.Access access(Ssh agent) {
        if (machine != null) return Cluster.Access.vagrant(machine);
        return hostSsh.access(host, server.configPath(), hostKeys.knownHosts);
    }

    /** Where K3s keeps an agent's files on the host, and its service managers: tests point them elsewhere. */
    String hostRoot = "";
    String systemctl = "systemctl";
    String rcService = "rc-service";

    /** What joining the host takes, by the agent already there; another cluster's is refused unless --replace. */
    AgentOnHost.Action plan(Ssh agent, String hostname, String serverUrl, String clusterCa) {
        AgentOnHost.Found found = AgentOnHost.read(agent, hostRoot, systemctl, rcService);
        return AgentOnHost.action(found, hostname, serverUrl, clusterCa, replace);
    }

    private String version(String serverVersion) {
        if (k3sVersion != null) return k3sVersion;
        // an agent newer than its server is not supported by Kubernetes: match the server
        return K3s.isVersion(serverVersion) ? serverVersion : "";
    }
}
