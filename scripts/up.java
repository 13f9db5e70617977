///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//SOURCES lib/Step.java
//SOURCES lib/K3s.java
//SOURCES lib/AddressProbe.java
//SOURCES lib/ClusterHalt.java
//SOURCES lib/ServerEarly.java
//SOURCES lib/K3sServer.java
//SOURCES lib/ApiPort.java
//SOURCES lib/ClusterFolder.java
//SOURCES lib/K3sRelease.java
//SOURCES lib/LibvirtBoxVolume.java
//SOURCES lib/Plan.java
//SOURCES lib/Provider.java
//SOURCES lib/HostK3s.java
//SOURCES lib/ClusterReady.java
//SOURCES lib/ClusterChange.java
//SOURCES lib/GivenSettings.java
//SOURCES lib/ChangeRun.java
//SOURCES lib/ProvisioningFiles.java

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "k3s-up", defaultValueProvider = Settings.Defaults.class,
    description = {
        "Brings up a K3s cluster on Vagrant machines: <login>S (K3s server) and <login>SW (K3s agent; --workers "
                + "for more),",
        "waits until every node is Ready, and prints the cluster as JSON on stdout (progress goes to stderr).",
        "Run it again to check or resume a cluster: what is already up is left as it is; on a cluster that exists,",
        "only the flags given change it (the plan is shown and confirmed first)."},
    footerHeading = "%nExamples:%n",
    footer = {
        "  k3s-up --login wil                              # wilS 192.168.56.110, wilSW .111",
        "  k3s-up --provider libvirt --k3s-version v1.31.4+k3s1",
        "  k3s-up --workers 3                              # agents wilSW, wilSW2, wilSW3 at .111-.113",
        "  k3s-up --servers 3                              # HA on embedded etcd: wilS .110, wilS2 .109, wilS3 .108",
        "  k3s-up | k3s-join --host pi@192.168.56.20 | k3s-kubeconfig --merge",
        "  k3s-up --dry-run                                # show the settings and the vagrant command only"})
class up extends Step {

    @Option(names = {"-l", "--login"}, paramLabel = "LOGIN", description = "Names the machines <LOGIN>S and "
            + "<LOGIN>SW (default: your login name, here ${DEFAULT-VALUE}).")
    String login;

    @Option(names = "--name", paramLabel = "NAME", description = "Cluster name: its folder, its kubeconfig "
            + "context (default: the login).")
    String name;

    @Option(names = "--provider", paramLabel = "PROVIDER",
        description = "virtualbox or libvirt (default: $VAGRANT_DEFAULT_PROVIDER, else whichever is installed).")
    String provider;

    @Option(names = "--box", paramLabel = "BOX", description = "Vagrant box for every machine (default: Debian "
            + "13: debian/trixie64 on libvirt, bento/debian-13 on VirtualBox).")
    String box;

    @Option(names = "--server-ip", paramLabel = "ADDR", description = "Server address on eth1 (default: "
            + "${DEFAULT-VALUE}).")
    String serverIp;

    @Option(names = "--servers", paramLabel = "N",
        description = {"K3s servers: 1, or 3, 5, 7 for an HA control plane on embedded etcd (the first --cluster-init,",
            "the others joining it): <login>S, <login>S2, ..., addresses counting down from --server-ip "
                    + "(default: ${DEFAULT-VALUE})."})
    String servers;

    @Option(names = "--worker-ip", paramLabel = "ADDR", description = "Agent address on eth1 (default: "
            + "${DEFAULT-VALUE}).")
    String workerIp;

    @Option(names = "--workers", paramLabel = "N",
        description = "Agents, 0 to 9: <login>SW, <login>SW2, ..., addresses counting up from --worker-ip "
                + "(default: ${DEFAULT-VALUE}).")
    String workers;

    @Option(names = "--cpus", paramLabel = "N", description = "CPUs per machine (default: ${DEFAULT-VALUE}).")
    String cpus;

    @Option(names = "--server-memory", paramLabel = "MB", description = "Server memory, at least 1024 (default: "
            + "${DEFAULT-VALUE}).")
    String serverMemory;

    @Option(names = "--worker-memory", paramLabel = "MB", description = "Agent memory, at least 512 (default: "
            + "${DEFAULT-VALUE}).")
    String workerMemory;

    @Option(names = "--k3s-version", paramLabel = "VERSION", description = "K3s version, e.g. v1.31.4+k3s1 "
            + "(default: the channel's).")
    String k3sVersion;

    @Option(names = "--k3s-channel", paramLabel = "CHANNEL", description = "K3s channel: stable, latest, testing "
            + "or v1.31 (default: ${DEFAULT-VALUE}).")
    String k3sChannel;

    @Option(names = "--server-flags", paramLabel = "FLAGS", description =
        "Extra flags for 'k3s server', e.g. \"--disable traefik\"; "
        + "--https-listen-port N there is the API port of the whole cluster (default 6443).")
    String serverFlags;

    @Option(names = "--agent-flags", paramLabel = "FLAGS", description = "Extra flags for 'k3s agent'.")
    String agentFlags;

    @Option(names = "--airgap-dir", paramLabel = "DIR",
        description = "Install K3s from DIR (K3s's install.sh and k3s binary, optional k3s-airgap-images-*) "
                + "instead of the internet.")
    String airgapDir;

    @Mixin K3sRelease.Options k3sSource;

    @Option(names = "--libvirt-driver", paramLabel = "DRIVER", description = "libvirt domain type: kvm, or qemu "
            + "where KVM is not usable (default: kvm).")
    String libvirtDriver;

    @Option(names = "--libvirt-cpu-model", paramLabel = "MODEL", description = "libvirt CPU model, e.g. qemu64 "
            + "with --libvirt-driver qemu.")
    String libvirtCpuModel;

    @Option(names = "--separate-up", negatable = true,
        description = {"One 'vagrant up NAME' per machine, the others starting once the first has booted: a "
                + "parallel boot",
            "where 'vagrant up' is serial (default: on for VirtualBox; off for libvirt, whose 'vagrant up' is "
                    + "parallel)."})
    Boolean separateUp;

    @Option(names = "--dir", paramLabel = "DIR", description = "The cluster's folder (default: "
            + "~/.k3s-vagrant/clusters/NAME, or $K3S_VAGRANT_HOME/clusters/NAME).")
    Path dir;

    @Option(names = "--timeout", paramLabel = "MINUTES", description = "Give up after this many minutes "
            + "(default: ${DEFAULT-VALUE}).")
    String timeoutMinutes;

    @Option(names = "--dry-run", description = "Check the settings, print them and the vagrant command, and "
            + "start nothing.")
    boolean dryRun;

    @Option(names = "--yes", description = "Apply a change to a cluster that exists without asking.")
    boolean yes;

    /** The plan settings() made: the machines and the first server's API. */
    List<Plan.Machine> plannedMachines;
    String serverUrl;

    public static void main(String... args) {
        System.exit(Cli.run(new up(), args));
    }

    @Override
    int[] exitCodes() {
        return new int[] {Cli.OK, Cli.FAILED, Cli.USAGE, Cli.MISSING_TOOL, Cli.TIMED_OUT, Cli.REFUSED, Cli.INTERRUPTED};
    }

    @Override
    Map<Integer, String> exitCodeDetails() {
        return Map.of(Cli.USAGE, "or --dir is a folder k3s-up did not make", Cli.REFUSED, "a change the cluster "
            + "cannot take or not confirmed, or another cluster of this host has one of its machine names or addresses,"
            + " or a machine already answers at one");
    }

    @Override
    List<String> stages() {
        return List.of("check", "prepare", "boot", "ready");
    }

    @Override
    int run() {
        // every flag is checked before the provider is looked for: a bad flag is a usage error wherever it runs
        Path folder = GivenSettings.folder(name, spec.findOption("--login").getValue(), dir);
        Map<String, String> recorded = ClusterSettingsFile.read(folder.resolve(ClusterFolder.SETTINGS_FILE));
        String chosenProvider = Provider.chosen(GivenSettings.provider(provider, recorded));
        Map<String, String> settings = settings(chosenProvider, recorded);
        if (chosenProvider == null) throw Provider.none();
        String clusterName = name != null ? name : settings.get("LOGIN");
        // two clusters on one machine name or address break each other once both are up: refused before either boots
        Map<String, String> planned = new LinkedHashMap<>();
        for (Plan.Machine machine : plannedMachines) planned.put(machine.name(), machine.ip());
        ClusterFolder.refuseClashes(folder, planned);
        // a machine outside k3s-vagrant (another Vagrant project's, any host) already on one of the addresses
        AddressProbe.refuseTaken(folder, planned);
        ClusterChange change = ClusterChange.of(folder, recorded, settings, chosenProvider);
        var err = spec.commandLine().getErr();
        change.print(err, clusterName);
        if (dryRun) {
            err.println("cluster folder: " + folder);
            settings.forEach((key, value) -> err.println(Vagrant.SETTINGS_PREFIX + key + "=" + value));
            err.println("command: vagrant up --provider " + chosenProvider + "   (in " + folder + ")");
            return Cli.OK;
        }
        change.confirm(yes);
        ChangeRun.require(change, folder);

        // --timeout is for the whole step: the K3s download too
        long deadline = System.nanoTime() + Duration.ofMinutes(Long.parseLong(timeoutMinutes)).toNanos();
        stage("check", "checking vagrant and the " + chosenProvider + " provider");
        log.info(Vagrant.requireInstalled());
        Vagrant.requireProvider(chosenProvider);
        boolean defaultBox = box == null && settings.get("BOX") == null;
        Vagrant.armHostBoxNote(System.getProperty("os.arch", ""), chosenProvider, defaultBox)
            .ifPresent(log::info);

        stage("prepare", "preparing " + folder);
        ClusterFolder.claim(folder, dir != null);
        try (ClusterFolder cluster = ClusterFolder.open(folder, log);
             ServerEarly early = new ServerEarly(folder, machineNames(), log)) {
            cluster.writeProvisioning(up.class);
            Vagrant vagrant = new Vagrant(folder, log).whenInterrupted("run the same k3s-up again to resume "
                + "(what is up stays up), or 'k3s-down --name " + clusterName + "' to remove it");
            ChangeRun changing = new ChangeRun(change, new ChangeRun.Context(folder, chosenProvider, recorded,
                settings, vagrant, () -> remaining(deadline), log));
            changing.beforeSettings(); // what leaves goes while the Vagrantfile still names it
            if (GivenSettings.hostFetchesK3s(airgapDir, recorded)) {
                HostK3s.intoSettings(settings, k3sSource, k3sVersion, k3sChannel, cluster, deadline, log);
            }
            cluster.writeSettings(settings, chosenProvider, change.changed);
            if (chosenProvider.equals("libvirt")) {
                // made before vagrant up, under a host-wide lock: two vagrant processes making one network race
                LibvirtShared.ensure(LibvirtShared.needed(List.copyOf(planned.values())), log);
                // and the box's disk: vagrant processes starting one box at once race to upload it
                LibvirtBoxVolume.ensureFor(cluster.readSettings(), K3sRelease.arch(System.getProperty("os.arch")), log);
            }

            changing.beforeUp();
            boolean resuming = ClusterHalt.isHalted(folder); // k3s-down --halt stopped it: boot, and wait for all
            stage("boot", "vagrant up: booting " + String.join(", ", machineNames())
                + (resuming ? " (halted by k3s-down --halt)" : " and installing K3s"));
            boolean perMachine = separateUp != null ? separateUp : chosenProvider.equals("virtualbox");
            if (perMachine) {
                vagrant.upEach(chosenProvider, machineNames(), remaining(deadline), early);
            } else {
                vagrant.up(chosenProvider, remaining(deadline), early);
            }
            early.finish(); // the server's SSH settings and connection, made while the agents joined
            if (changing.changesAfterUp()) early.close(); // what it saw is out of date once the machines change
            changing.afterUp();

            List<Cluster.Node> nodes = plannedMachines.stream().map(machine -> new Cluster.Node(machine.name(),
                machine.role(), machine.ip(), Cluster.Access.vagrant(machine.name()))).toList();
            Cluster result = cluster.keepJoinedHosts(
                new Cluster(clusterName, chosenProvider, folder.toString(), serverUrl, nodes, null));

            result = ClusterReady.await(result, resuming, early, vagrant,
                () -> stage("ready", "waiting for the nodes to be Ready"), "the machines are up and K3s is installed;"
                + " run the same k3s-up again to wait for the nodes and print the cluster, or 'k3s-down --name "
                + clusterName + "' to remove it", () -> remaining(deadline), log);
            cluster.save(result);
            ClusterHalt.clear(folder);
            ChangePending.finish(folder); // the change is carried out: a later k3s-up plans from cluster.env
            log.step("cluster " + clusterName + " is Ready: " + result.serverUrl());
            print(result.toJson());
        }
        return Cli.OK;
    }

    /**
     * Checks every value by settings.yaml's rules, then returns the settings as the Vagrantfile names them
     * (K3S_VAGRANT_ less its prefix), and counts the machines (refusing bad counts and addresses).
     */
    Map<String, String> settings(String chosenProvider, Map<String, String> recorded) {
        var given = spec.commandLine().getParseResult();
        Map<String, String> settings = Settings.fromOptions(GivenSettings.values(given::hasMatchedOption,
            flag -> spec.findOption(flag).getValue(), recorded), chosenProvider);
        Settings.require("TIMEOUT", timeoutMinutes, "--timeout", chosenProvider);
        if (airgapDir != null) settings.put("AIRGAP_DIR", Path.of(airgapDir).toAbsolutePath().toString());
        plannedMachines = Plan.machines(settings);
        serverUrl = ApiPort.url(settings.get("SERVER_IP"), ApiPort.fromServerFlags(serverFlags, "--server-flags"));
        k3sSource.validate();
        return settings;
    }

    /** The machines' names, in the plan's order. */
    List<String> machineNames() {
        return plannedMachines.stream().map(Plan.Machine::name).toList();
    }

    private static Duration remaining(long deadlineNanos) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) throw Cli.fail(Cli.TIMED_OUT, "--timeout reached");
        return Duration.ofNanos(left);
    }
}
