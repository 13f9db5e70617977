///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//SOURCES lib/Step.java
//SOURCES lib/K3s.java
//SOURCES lib/NodeSsh.java
//SOURCES lib/Nodes.java
//SOURCES lib/K3sServer.java
//SOURCES lib/ApiPort.java
//SOURCES lib/ClusterFolder.java
//SOURCES lib/K3sRelease.java
//SOURCES lib/LibvirtBoxVolume.java
//FILES provision/Vagrantfile=../provision/Vagrantfile
//FILES provision/server.sh=../provision/server.sh
//FILES provision/agent.sh=../provision/agent.sh
//FILES provision/k3s-common.sh=../provision/k3s-common.sh

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "k3s-up",
    description = {
        "Brings up a K3s cluster on Vagrant machines: <login>S (K3s server) and <login>SW (K3s agent; --workers for more),",
        "waits until every node is Ready, and prints the cluster as JSON on stdout (progress goes to stderr).",
        "Run it again to check or resume a cluster: what is already up is left as it is."},
    footerHeading = "%nExamples:%n",
    footer = {
        "  k3s-up --login wil                              # wilS 192.168.56.110, wilSW .111",
        "  k3s-up --provider libvirt --k3s-version v1.31.4+k3s1",
        "  k3s-up --workers 3                              # agents wilSW, wilSW2, wilSW3 at .111-.113",
        "  k3s-up --servers 3                              # HA on embedded etcd: wilS .110, wilS2 .109, wilS3 .108",
        "  k3s-up | k3s-join --host pi@192.168.56.20 | k3s-kubeconfig --merge",
        "  k3s-up --dry-run                                # show the settings and the vagrant command only"})
class up extends Step {

    @Option(names = {"-l", "--login"}, paramLabel = "LOGIN", description = "Names the machines <LOGIN>S and <LOGIN>SW (default: your login name).")
    String login;

    @Option(names = "--name", paramLabel = "NAME", description = "Cluster name: its folder, its kubeconfig context (default: the login).")
    String name;

    @Option(names = "--provider", paramLabel = "PROVIDER",
        description = "virtualbox or libvirt (default: $VAGRANT_DEFAULT_PROVIDER, else whichever is installed).")
    String provider;

    @Option(names = "--box", paramLabel = "BOX", description = "Vagrant box for every machine (default: Debian 13: debian/trixie64 on libvirt, bento/debian-13 on VirtualBox).")
    String box;

    @Option(names = "--server-ip", paramLabel = "ADDR", defaultValue = "192.168.56.110", description = "Server address on eth1 (default: ${DEFAULT-VALUE}).")
    String serverIp;

    @Option(names = "--servers", paramLabel = "N", defaultValue = "1",
        description = {"K3s servers: 1, or 3, 5, 7 for an HA control plane on embedded etcd (the first --cluster-init,",
            "the others joining it): <login>S, <login>S2, ..., addresses counting down from --server-ip (default: ${DEFAULT-VALUE})."})
    int servers;

    @Option(names = "--worker-ip", paramLabel = "ADDR", defaultValue = "192.168.56.111", description = "Agent address on eth1 (default: ${DEFAULT-VALUE}).")
    String workerIp;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "1",
        description = "Agents, 0 to 9: <login>SW, <login>SW2, ..., addresses counting up from --worker-ip (default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--cpus", paramLabel = "N", defaultValue = "1", description = "CPUs per machine (default: ${DEFAULT-VALUE}).")
    int cpus;

    @Option(names = "--server-memory", paramLabel = "MB", defaultValue = "1024", description = "Server memory, at least 1024 (default: ${DEFAULT-VALUE}).")
    int serverMemory;

    @Option(names = "--worker-memory", paramLabel = "MB", defaultValue = "512", description = "Agent memory, at least 512 (default: ${DEFAULT-VALUE}).")
    int workerMemory;

    @Option(names = "--k3s-version", paramLabel = "VERSION", description = "K3s version, e.g. v1.31.4+k3s1 (default: the channel's).")
    String k3sVersion;

    @Option(names = "--k3s-channel", paramLabel = "CHANNEL", defaultValue = "stable", description = "K3s channel: stable, latest, testing or v1.31 (default: ${DEFAULT-VALUE}).")
    String k3sChannel;

    @Option(names = "--server-flags", paramLabel = "FLAGS", description =
        "Extra flags for 'k3s server', e.g. \"--disable traefik\"; "
        + "--https-listen-port N there is the API port of the whole cluster (default 6443).")
    String serverFlags;

    @Option(names = "--agent-flags", paramLabel = "FLAGS", description = "Extra flags for 'k3s agent'.")
    String agentFlags;

    @Option(names = "--airgap-dir", paramLabel = "DIR",
        description = "Install K3s from DIR (K3s's install.sh and k3s binary, optional k3s-airgap-images-*) instead of the internet.")
    Path airgapDir;

    @Mixin K3sRelease.Options k3sSource;

    @Option(names = "--libvirt-driver", paramLabel = "DRIVER", description = "libvirt domain type: kvm, or qemu where KVM is not usable (default: kvm).")
    String libvirtDriver;

    @Option(names = "--libvirt-cpu-model", paramLabel = "MODEL", description = "libvirt CPU model, e.g. qemu64 with --libvirt-driver qemu.")
    String libvirtCpuModel;

    @Option(names = "--separate-up", negatable = true,
        description = {"One 'vagrant up NAME' per machine, the others starting once the first has booted: a parallel boot",
            "where 'vagrant up' is serial (default: on for VirtualBox; off for libvirt, whose 'vagrant up' is parallel)."})
    Boolean separateUp;

    @Option(names = "--dir", paramLabel = "DIR", description = "The cluster's folder (default: ~/.k3s-vagrant/clusters/NAME, or $K3S_VAGRANT_HOME/clusters/NAME).")
    Path dir;

    @Option(names = "--timeout", paramLabel = "MINUTES", defaultValue = "30", description = "Give up after this many minutes (default: ${DEFAULT-VALUE}).")
    int timeoutMinutes;

    @Option(names = "--dry-run", description = "Check the settings, print them and the vagrant command, and start nothing.")
    boolean dryRun;

    public static void main(String... args) {
        System.exit(Cli.run(new up(), args));
    }

    @Override
    int[] exitCodes() {
        return new int[] {Cli.OK, Cli.FAILED, Cli.USAGE, Cli.MISSING_TOOL, Cli.TIMED_OUT, Cli.REFUSED, Cli.INTERRUPTED};
    }

    @Override
    Map<Integer, String> exitCodeDetails() {
        return Map.of(Cli.USAGE, "or --dir is a folder k3s-up did not make", Cli.REFUSED, "the cluster exists with "
            + "other settings, or another cluster of this host has one of its machine names or addresses");
    }

    @Override
    List<String> stages() {
        return List.of("check", "prepare", "boot", "ready");
    }

    @Override
    int run() {
        // every flag is checked before the provider is looked for: a bad flag is a usage error wherever it runs
        String detected = provider != null ? provider : detectedProvider();
        Map<String, String> settings = settings(detected);
        if (detected == null) throw noProvider();
        String chosenProvider = detected;
        String clusterName = name != null ? name : settings.get("LOGIN");
        ClusterFolder.requireName(clusterName, "--name");
        Path folder = dir != null ? dir.toAbsolutePath() : ClusterFolder.defaultPath(clusterName);
        ClusterFolder.requireFreeOrOurs(folder, dir != null);
        // two clusters on one machine name or address break each other once both are up: refused before either boots
        Map<String, String> planned = new LinkedHashMap<>();
        List<String> plannedNames = machineNames(settings.get("LOGIN"));
        for (int i = 0; i < plannedNames.size(); i++) planned.put(plannedNames.get(i), allIps().get(i));
        List<String> clashes = ClusterFolder.clashes(folder, planned);
        if (!clashes.isEmpty()) {
            throw Cli.fail(Cli.REFUSED, "another cluster of this host would share with this one: "
                + String.join("; ", clashes) + ". Choose another --login, --server-ip or --worker-ip, or remove that"
                + " cluster first (k3s-down --name NAME)");
        }

        if (dryRun) {
            spec.commandLine().getErr().println("cluster folder: " + folder);
            settings.forEach((key, value) -> spec.commandLine().getErr().println(Vagrant.SETTINGS_PREFIX + key + "=" + value));
            spec.commandLine().getErr().println("command: vagrant up --provider " + chosenProvider + "   (in " + folder + ")");
            return Cli.OK;
        }

        // --timeout is for the whole step: the K3s download too
        long deadline = System.nanoTime() + Duration.ofMinutes(timeoutMinutes).toNanos();
        stage("check", "checking vagrant and the " + chosenProvider + " provider");
        log.info(Vagrant.requireInstalled());
        Vagrant.requireProvider(chosenProvider);
        Vagrant.armHostBoxNote(System.getProperty("os.arch", ""), chosenProvider, box == null && settings.get("BOX") == null)
            .ifPresent(log::info);

        stage("prepare", "preparing " + folder);
        ClusterFolder.claim(folder, dir != null);
        try (ClusterFolder cluster = ClusterFolder.open(folder, log)) {
            cluster.writeProvisioning(up.class);
            if (airgapDir == null) {
                fetchK3sOnce(settings, cluster, deadline, log);
            }
            cluster.writeSettings(settings, chosenProvider);
            if (chosenProvider.equals("libvirt")) {
                // made before vagrant up, under a host-wide lock: two vagrant processes making one network race
                LibvirtShared.ensure(LibvirtShared.needed(allIps()), log);
                // and the box's disk: vagrant processes starting one box at once race to upload it
                Map<String, String> recorded = cluster.readSettings();
                LibvirtBoxVolume.Image image = LibvirtBoxVolume.find(vagrantHome(),
                    LibvirtBoxVolume.box(System.getenv(), recorded),
                    System.getenv().getOrDefault("K3S_VAGRANT_BOX_VERSION", recorded.getOrDefault("BOX_VERSION", "")),
                    K3sRelease.arch(System.getProperty("os.arch")));
                if (image != null) LibvirtBoxVolume.ensure(image, log);
            }

            Vagrant vagrant = new Vagrant(folder, log).whenInterrupted("run the same k3s-up again to resume (what is up stays up),"
                + " or 'k3s-down --name " + clusterName + "' to remove it");
            stage("boot", "vagrant up: booting " + String.join(", ", machineNames(settings.get("LOGIN")))
                + " and installing K3s");
            boolean perMachine = separateUp != null ? separateUp : chosenProvider.equals("virtualbox");
            if (perMachine) {
                vagrant.upEach(chosenProvider, machineNames(settings.get("LOGIN")), remaining(deadline));
            } else {
                vagrant.up(chosenProvider, remaining(deadline));
            }

            List<String> names = machineNames(settings.get("LOGIN"));
            List<String> ips = allIps();
            List<Cluster.Node> nodes = new java.util.ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                nodes.add(new Cluster.Node(names.get(i), i < servers ? "server" : "agent", ips.get(i), Cluster.Access.vagrant(names.get(i))));
            }
            Cluster result = cluster.keepJoinedHosts(
                new Cluster(clusterName, chosenProvider, folder.toString(), serverUrl(), List.copyOf(nodes), null));

            moveToTheAgentToken(vagrant, result, deadline, log);
            stage("ready", "waiting for the nodes to be Ready");
            try (Interruption onInterrupt = Interruption.on(log, "the machines are up and K3s is installed; "
                    + "run the same k3s-up again to wait for the nodes and print the cluster, or 'k3s-down --name "
                    + clusterName + "' to remove it", () -> { });
                 Ssh server = NodeSsh.connect(result, result.server(), Ssh.HostKeyCheck.OFF, null,
                     Duration.ofMinutes(2), log)) {
                // the machines of this folder; a host k3s-join added is reported, not waited for
                java.util.Set<String> machines = new java.util.TreeSet<>();
                result.nodes().stream().filter(node -> node.ssh().vagrantMachine() != null).forEach(node -> machines.add(node.name()));
                for (String machine : machines) log.phase(machine, "waiting for the node to be Ready");
                List<Nodes.Status> ready = Nodes.waitReady(server, machines, remaining(deadline), log);
                List<List<String>> rows = new java.util.ArrayList<>();
                for (Nodes.Status node : ready) {
                    if (machines.contains(node.name())) log.phaseEnd(node.name(), "Ready");
                    rows.add(List.of(node.name(), "Ready", node.internalIp(), node.version()));
                }
                log.table(List.of("NAME", "STATUS", "ADDRESS", "VERSION"), rows);
                result = Nodes.withVersions(result, ready);
            }
            cluster.save(result);
            log.step("cluster " + clusterName + " is Ready: " + result.serverUrl());
            print(result.toJson());
        }
        return Cli.OK;
    }

    /**
     * A cluster made before the agent token existed: its server runs without one and its agents hold the
     * server token, and `vagrant up` does not provision running machines. `vagrant provision` (servers
     * first) gives the servers the agent token and moves the agents to it. Only the variable's name is read.
     */
    static void moveToTheAgentToken(Vagrant vagrant, Cluster cluster, long deadline, Log log) {
        boolean hasAgentToken;
        try (Ssh server = NodeSsh.connect(cluster, cluster.server(), Ssh.HostKeyCheck.OFF, null,
                Duration.ofMinutes(2), log)) {
            String script = "grep -q '^K3S_AGENT_TOKEN=' /etc/systemd/system/k3s.service.env";
            hasAgentToken = server.exec(server.sudo() + "sh -c " + Shell.quote(script), null, Duration.ofSeconds(30)).ok();
        }
        if (hasAgentToken) return;
        log.info("the servers run without an agent token (a cluster of an older k3s-up), so the agents hold the server token: "
            + "vagrant provision gives them an agent token of their own");
        vagrant.provision(remaining(deadline));
    }

    /** Checks every value, then returns the settings as the Vagrantfile names them (K3S_VAGRANT_ less its prefix). */
    Map<String, String> settings(String chosenProvider) {
        String theLogin = login != null ? login : ClusterFolder.defaultLogin();
        // LOGIN+SW9, the longest machine name, must fit a 63-character host name
        if (!theLogin.matches("[A-Za-z][A-Za-z0-9-]{0,59}")) {
            throw Cli.fail(Cli.USAGE, "--login '" + theLogin + "' is not a valid host name: use letters, digits and '-', "
                + "starting with a letter, at most 60 characters (the machines are named LOGIN+S, LOGIN+SW ... "
                + "LOGIN+SW9)");
        }
        Addresses.requireIpv4(serverIp, "--server-ip");
        Addresses.requireIpv4(workerIp, "--worker-ip");
        if (workers < 0 || workers > 9) throw Cli.fail(Cli.USAGE, "--workers must be from 0 to 9, not " + workers);
        if (!List.of(1, 3, 5, 7).contains(servers)) {
            throw Cli.fail(Cli.USAGE, "--servers must be 1, 3, 5 or 7, not " + servers
                + " (embedded etcd needs a majority: an even count survives no more failures than one server fewer)");
        }
        if (serverIp.equals(workerIp) && workers > 0) {
            throw Cli.fail(Cli.USAGE, "--server-ip and --worker-ip are both " + serverIp + ": give each machine its own address");
        }
        List<String> serverIps = serverIps();
        List<String> workerIps = workerIps();
        for (String ip : serverIps) {
            if (workerIps.contains(ip)) {
                throw Cli.fail(Cli.USAGE, ip + " would be both a server's and a worker's address (servers count down from --server-ip "
                    + serverIp + ", workers up from --worker-ip " + workerIp + "): give each machine its own address");
            }
        }
        for (String ip : allIps()) {
            Addresses.requireHostAddress(ip, serverIps.contains(ip) ? "--server-ip" : "--worker-ip");
            if (!Addresses.isPrivate(ip)) {
                throw Cli.fail(Cli.USAGE, ip + " is not a private address: use one in 192.168.56.0/21 (VirtualBox's host-only range)");
            }
            if ("virtualbox".equals(chosenProvider) && !Addresses.inVirtualBoxHostOnlyRange(ip)) {
                throw Cli.fail(Cli.USAGE, ip + " is outside 192.168.56.0/21, the only host-only range VirtualBox allows by default: "
                    + "use an address there, or allow yours in /etc/vbox/networks.conf first");
            }
        }
        if (workers > 0 && !Addresses.sameSlash24(serverIp, workerIp)) {
            throw Cli.fail(Cli.USAGE, "--server-ip " + serverIp + " and --worker-ip " + workerIp
                + " are not in one /24: the machines"
                + " share one private network, so give both addresses in the same x.y.z.0/24");
        }
        if (cpus < 1) throw Cli.fail(Cli.USAGE, "--cpus must be at least 1");
        if (serverMemory < 1024) throw Cli.fail(Cli.USAGE, "--server-memory " + serverMemory + " MB is below what a K3s server needs: use at least 1024");
        if (workerMemory < 512) throw Cli.fail(Cli.USAGE, "--worker-memory " + workerMemory + " MB is below what a K3s agent needs: use at least 512");
        K3s.requireVersion(k3sVersion, "--k3s-version");
        if (!k3sChannel.matches("stable|latest|testing|v\\d+\\.\\d+")) {
            throw Cli.fail(Cli.USAGE, "--k3s-channel '" + k3sChannel + "' is not a channel: use stable, latest, testing or v1.31");
        }
        if (chosenProvider != null && !List.of("virtualbox", "libvirt").contains(chosenProvider)) {
            throw Cli.fail(Cli.USAGE, "provider '" + chosenProvider + "' (" + (provider != null ? "--provider" : "$VAGRANT_DEFAULT_PROVIDER")
                + ") is not supported: use virtualbox or libvirt");
        }
        if (libvirtDriver != null && !List.of("kvm", "qemu").contains(libvirtDriver)) {
            throw Cli.fail(Cli.USAGE, "--libvirt-driver must be kvm or qemu, not '" + libvirtDriver + "'");
        }
        // each value below becomes a line of cluster.env, which the Vagrantfile reads line by line
        K3s.requireFlags(serverFlags, "--server-flags");
        serverUrl(); // refuses a bad --https-listen-port in them
        K3s.requireFlags(agentFlags, "--agent-flags");
        if (box != null) {
            K3s.require(box.matches("[A-Za-z0-9][A-Za-z0-9._/:-]{0,199}"), "--box", box,
                "a Vagrant box name: letters, digits, '.', '_', '-', ':' and '/' (e.g. bento/debian-13)");
        }
        if (libvirtCpuModel != null) {
            K3s.require(libvirtCpuModel.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,99}"), "--libvirt-cpu-model",
                libvirtCpuModel, "a libvirt CPU model: letters, digits, '.', '_' and '-' (e.g. qemu64)");
        }
        if (airgapDir != null) K3s.requirePath(airgapDir, "--airgap-dir");
        if (dir != null) K3s.requirePath(dir, "--dir");
        K3s.requireAirgapDir(airgapDir, "--airgap-dir");
        if (timeoutMinutes < 1) throw Cli.fail(Cli.USAGE, "--timeout must be at least 1 minute");
        k3sSource.validate();

        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("LOGIN", theLogin);
        settings.put("SERVER_IP", serverIp);
        settings.put("SERVERS", Integer.toString(servers));
        settings.put("WORKER_IP", workerIp);
        settings.put("WORKERS", Integer.toString(workers));
        settings.put("CPUS", Integer.toString(cpus));
        settings.put("SERVER_MEMORY", Integer.toString(serverMemory));
        settings.put("WORKER_MEMORY", Integer.toString(workerMemory));
        if (box != null) settings.put("BOX", box);
        if (k3sVersion != null) settings.put("K3S_VERSION", k3sVersion);
        settings.put("K3S_CHANNEL", k3sChannel);
        if (serverFlags != null) settings.put("SERVER_FLAGS", serverFlags);
        if (agentFlags != null) settings.put("AGENT_FLAGS", agentFlags);
        if (airgapDir != null) settings.put("AIRGAP_DIR", airgapDir.toAbsolutePath().toString());
        if (libvirtDriver != null) settings.put("LIBVIRT_DRIVER", libvirtDriver);
        if (libvirtCpuModel != null) settings.put("LIBVIRT_CPU_MODEL", libvirtCpuModel);
        return settings;
    }

    /**
     * Downloads K3s once on the host (or finds it in the cache) and points the machines at
     * it as their air-gap folder. A cluster made before keeps its recorded version.
     */
    private void fetchK3sOnce(Map<String, String> settings, ClusterFolder cluster, long deadline, Log log) {
        String version = k3sVersion != null ? k3sVersion : cluster.readSettings().get("K3S_VERSION");
        String arch = K3sRelease.arch(System.getProperty("os.arch"));
        K3sRelease.Fetched k3s = k3sSource.airgapDir(version, k3sChannel, arch, deadline, log);
        if (k3s != null) {
            settings.put("K3S_VERSION", k3s.version());
            settings.put("AIRGAP_DIR", k3s.dir().toString());
        }
    }

    private static Path vagrantHome() {
        String home = System.getenv("VAGRANT_HOME");
        return home != null && !home.isEmpty() ? Path.of(home) : Path.of(System.getProperty("user.home"), ".vagrant.d");
    }

    /** The machines, as the Vagrantfile names them: LOGINS (LOGINS2, ...), then LOGINSW, LOGINSW2, ... */
    List<String> machineNames(String theLogin) {
        List<String> names = new java.util.ArrayList<>();
        for (int i = 0; i < servers; i++) names.add(theLogin + "S" + (i == 0 ? "" : Integer.toString(i + 1)));
        for (int i = 0; i < workers; i++) names.add(theLogin + "SW" + (i == 0 ? "" : Integer.toString(i + 1)));
        return names;
    }

    /** The first server's API, on the port its flags give K3s (--https-listen-port), as agents and kubectl reach it. */
    String serverUrl() {
        return ApiPort.url(serverIp, ApiPort.fromServerFlags(serverFlags, "--server-flags"));
    }

    /** Every machine's address, in machineNames' order. */
    List<String> allIps() {
        List<String> ips = new java.util.ArrayList<>(serverIps());
        ips.addAll(workerIps());
        return ips;
    }

    /** Server addresses: --server-ip, then counting down within its /24. */
    List<String> serverIps() {
        return countFrom(serverIp, servers, -1,
            "--server-ip " + serverIp + " leaves no room for " + servers + " servers below it in its /24: start higher");
    }

    /** Worker addresses: --worker-ip, then counting up within its /24. */
    List<String> workerIps() {
        return countFrom(workerIp, workers, +1,
            "--worker-ip " + workerIp + " leaves no room for " + workers + " workers in its /24: start lower");
    }

    /** count addresses from first, one step (+1 or -1) apart in its last byte; past .1 or .254 that way is a usage error. */
    private static List<String> countFrom(String first, int count, int step, String noRoom) {
        String prefix = first.substring(0, first.lastIndexOf('.') + 1);
        int last = Integer.parseInt(first.substring(first.lastIndexOf('.') + 1));
        List<String> ips = new java.util.ArrayList<>();
        for (int i = 0; i < count; i++) {
            int octet = last + i * step;
            if (step < 0 ? octet < 1 : octet > 254) throw Cli.fail(Cli.USAGE, noRoom);
            ips.add(prefix + octet);
        }
        return ips;
    }

    /** $VAGRANT_DEFAULT_PROVIDER, else VirtualBox or libvirt when installed; null when there is none. */
    static String detectedProvider() {
        String fromEnv = System.getenv("VAGRANT_DEFAULT_PROVIDER");
        if (fromEnv != null && !fromEnv.isBlank()) return fromEnv;
        if (Vagrant.onPath("VBoxManage")) return "virtualbox";
        if (Vagrant.onPath("virsh")) return "libvirt";
        return null;
    }

    static Cli.Failure noProvider() {
        return Cli.fail(Cli.MISSING_TOOL, "no Vagrant provider found: install VirtualBox (https://www.virtualbox.org) "
            + "or libvirt with vagrant-libvirt (Debian: apt-get install libvirt-daemon-system vagrant-libvirt), or pass --provider");
    }

    private static Duration remaining(long deadlineNanos) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) throw Cli.fail(Cli.TIMED_OUT, "--timeout reached");
        return Duration.ofNanos(left);
    }
}
