///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//SOURCES lib/ClusterStep.java
//SOURCES lib/K3sAgent.java
//SOURCES lib/ClusterFolder.java
//SOURCES lib/KubeconfigFile.java
//SOURCES lib/LibvirtShared.java
//SOURCES lib/ClusterHalt.java

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "k3s-down",
    description = {
        "Destroys a cluster made by k3s-up and leaves nothing behind: its Vagrant machines (domains, disks, networks),",
        "K3s on the SSH hosts that k3s-join added, its context in the kubeconfig, and the files k3s-up wrote in its",
        "folder (the join token among them; the folder too, when nothing else is in it).",
        "Prints what it removed as JSON. With --halt it only shuts the machines down and keeps everything:",
        "the same k3s-up boots them again and waits until every node is Ready."},
    footerHeading = "%nExamples:%n",
    footer = {"  k3s-down --name wil", "  k3s-up | k3s-down              # the cluster JSON from a pipe",
        "  k3s-down --name wil --keep-hosts", "  k3s-down --name wil --halt       # later: k3s-up --name wil"})
class down extends ClusterStep {

    @Option(names = "--keep-hosts",
        description = "Leave K3s installed on SSH hosts that k3s-join added (default: uninstall it).")
    boolean keepHosts;

    @Option(names = "--halt", description = "Only shut the cluster's machines down (vagrant halt), keeping "
        + "their disks, its folder, its kubeconfig context and the hosts k3s-join added; k3s-up resumes it.")
    boolean halt;

    public static void main(String... args) {
        System.exit(Cli.run(new down(), args));
    }

    @Override
    int[] exitCodes() {
        return new int[] {Cli.OK, Cli.FAILED, Cli.USAGE, Cli.BAD_INPUT, Cli.REFUSED};
    }

    @Override
    Map<Integer, String> exitCodeDetails() {
        return Map.of(Cli.OK, "everything removed", Cli.FAILED, "something could not be removed (the message says "
            + "what is left)", Cli.USAGE, "--vagrant-dir names a folder k3s-up did not make");
    }

    @Override
    int run() {
        hostKeys.chosen(); // a bad --host-key-check is refused before anything is removed
        Cluster cluster = server.cluster();
        if (cluster.vagrantDir() == null) {
            throw Cli.fail(Cli.USAGE, "cluster " + cluster.name() + " has no Vagrant folder: "
                + "k3s-down destroys clusters made by k3s-up; "
                + "on a plain SSH host run /usr/local/bin/k3s-uninstall.sh (server) or k3s-agent-uninstall.sh (agent)");
        }
        Path folder = Path.of(cluster.vagrantDir());
        // a folder named by --vagrant-dir too: k3s-down destroys and removes only what k3s-up made
        List<String> written = Files.isDirectory(folder) ? ClusterFolder.requireOurs(folder, "--vagrant-dir", Cli.USAGE,
            "k3s-down destroys only clusters k3s-up made: in a Vagrant project of your own, "
                + "run 'vagrant destroy' yourself")
            : null;
        if (halt) return halt(cluster, folder, written);
        ObjectNode removed = Cluster.JSON.createObjectNode();
        removed.put("format", "k3s-vagrant/down/v1");
        removed.put("name", cluster.name());
        ArrayNode hosts = removed.putArray("uninstalledHosts");
        int problems = 0;

        for (Cluster.Node node : cluster.nodes()) {
            if (node.ssh().vagrantMachine() != null) continue;
            if (keepHosts) {
                log.info("keeping K3s on " + node.name() + " (--keep-hosts)");
                continue;
            }
            log.step("uninstalling the K3s agent from " + node.name() + " (" + node.ssh().address() + ")");
            try (Ssh ssh = connect(cluster, node, Duration.ofSeconds(20))) {
                K3sAgent.uninstall(ssh, log);
                hosts.add(node.name());
            } catch (Cli.Failure e) {
                problems++;
                log.warn("K3s is still on " + node.name() + ": " + e.getMessage()
                    + "; run 'sudo /usr/local/bin/k3s-agent-uninstall.sh' there");
            }
        }

        // the lock is held until the folder is gone: no other step starts on it half-removed
        try (ClusterFolder locked = written != null ? ClusterFolder.open(folder, log) : null) {
            if (locked == null) {
                log.info(folder + " does not exist: no machines to destroy");
                removed.put("machinesDestroyed", false);
            } else if (!Files.isRegularFile(folder.resolve("Vagrantfile"))) {
                log.info(folder + " has no Vagrantfile: no machines were made there");
                removed.put("machinesDestroyed", false);
            } else if (!Files.isDirectory(folder.resolve(".vagrant").resolve("machines"))) {
                // Vagrant makes .vagrant/machines/NAME before it acts on a machine: no vagrant up began here
                log.info("Vagrant never acted on a machine in " + folder + ": no machines to destroy");
                removed.put("machinesDestroyed", false);
                if ("libvirt".equals(cluster.provider())) {
                    problems += removeNetworks(cluster, removed.putArray("networksRemoved"), log);
                }
            } else {
                log.step("vagrant destroy: " + cluster.name() + "'s machines, disks and networks");
                new Vagrant(folder, log).whenInterrupted("run the same k3s-down again to finish")
                    .destroy(Duration.ofMinutes(15));
                removed.put("machinesDestroyed", true);
                if ("libvirt".equals(cluster.provider())) {
                    problems += removeNetworks(cluster, removed.putArray("networksRemoved"), log);
                }
            }

            Path kubeconfig = cluster.kubeconfig() != null ? Path.of(cluster.kubeconfig().path())
                : KubeconfigFile.defaultPath(System.getenv());
            String context = cluster.kubeconfig() != null ? cluster.kubeconfig().context() : cluster.name();
            // no backup: it would be one more copy of the credentials of a cluster that is gone
            if (KubeconfigFile.removeFrom(kubeconfig, context, cluster.serverUrl(), log)) {
                log.step("removed context " + context + " from " + kubeconfig);
                removed.put("kubeconfigContextRemoved", context);
            }
            if (Files.exists(kubeconfig.toAbsolutePath().getParent())) {
                for (Path unreadable : KubeconfigFile.removeFromBackups(kubeconfig, context, cluster.serverUrl())) {
                    log.warn(unreadable + " is not a kubeconfig k3s-down can read: it may still hold " + cluster.name()
                        + "'s credentials; remove it yourself");
                    problems++;
                }
            }

            if (locked != null) {
                List<String> left = locked.removeOwn(written);
                if (left.isEmpty()) {
                    log.step("removed " + folder + " (settings, Vagrant state, join token)");
                    removed.put("folderRemoved", folder.toString());
                } else {
                    log.step("removed what k3s-up wrote in " + folder + " (settings, Vagrant state, join token); kept "
                        + folder + ": it holds files k3s-up did not write (" + String.join(", ", left) + ")");
                    removed.put("folderKept", folder.toString());
                }
            }
        }
        print(removed.toPrettyString() + "\n");
        if (problems > 0) {
            throw Cli.fail(Cli.FAILED, problems + " thing(s) could not be removed (see the warnings above)");
        }
        return Cli.OK;
    }

    /**
     * The private networks k3s-up made for the machines, once no machine (of any project) is attached;
     * 1 when one is left.
     */
    private static int removeNetworks(Cluster cluster, ArrayNode removed, Log log) {
        List<String> ips = cluster.nodes().stream().filter(node -> node.ssh().vagrantMachine() != null)
            .map(Cluster.Node::ip).toList();
        try {
            LibvirtShared.removeUnused(ips, log).forEach(removed::add);
            return 0;
        } catch (Cli.Failure e) {
            log.warn("the libvirt networks of " + cluster.name() + " may be left: " + e.getMessage());
            return 1;
        }
    }

    /** --halt: vagrant halt under the folder's lock, and the mark by which k3s-up knows to resume. */
    private int halt(Cluster cluster, Path folder, List<String> written) {
        if (written == null || !Files.isDirectory(folder.resolve(".vagrant").resolve("machines"))) {
            throw Cli.fail(Cli.FAILED, "cluster " + cluster.name() + " has no machines in " + folder + " to halt");
        }
        try (ClusterFolder locked = ClusterFolder.open(folder, log)) {
            log.step("vagrant halt: shutting down " + cluster.name() + "'s machines (their disks stay)");
            new Vagrant(folder, log).whenInterrupted("run the same k3s-down --halt again to finish")
                .halt(Duration.ofMinutes(10));
            ClusterHalt.mark(folder);
        }
        ObjectNode halted = Cluster.JSON.createObjectNode();
        halted.put("format", "k3s-vagrant/down/v1");
        halted.put("name", cluster.name());
        halted.put("halted", true);
        log.step(cluster.name() + " is halted: 'k3s-up --name " + cluster.name() + "' (the same flags) resumes it");
        print(halted.toPrettyString() + "\n");
        return Cli.OK;
    }
}
