///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//SOURCES lib/ClusterStep.java
//SOURCES lib/K3sServer.java
//SOURCES lib/ClusterFolder.java
//SOURCES lib/Kubeconfig.java
//SOURCES lib/KubeconfigFile.java
//SOURCES lib/AtomicFile.java
//SOURCES lib/Vagrant.java

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "k3s-kubeconfig",
    description = {
        "Fetches the K3s server's kubeconfig over SSH, points it at the server's private address, names its cluster,",
        "user and context after the cluster, and merges it into your kubeconfig (the default: the first file of",
        "$KUBECONFIG, else ~/.kube/config; other contexts are kept, the old file is backed up, the write is atomic,",
        "mode 600) or writes it to --output. Prints the cluster JSON with the kubeconfig's path and context."},
    footerHeading = "%nExamples:%n",
    footer = {
        "  k3s-up | k3s-kubeconfig --merge && kubectl get nodes -o wide",
        "  k3s-kubeconfig --server-host ubuntu@10.0.0.2 --output ./edge.kubeconfig",
        "  k3s-kubeconfig --cluster cluster.json --print > cluster.yaml     # only the kubeconfig, nothing written"})
class kubeconfig extends ClusterStep {

    static final class Target {
        @Option(names = "--merge", description = "Merge into $KUBECONFIG's first file or ~/.kube/config (the default).")
        boolean merge;

        @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "Write the cluster's kubeconfig alone to FILE (mode 600).")
        Path output;

        @Option(names = "--print",
            description = "Print the kubeconfig on stdout instead of the JSON, and write nothing.")
        boolean print;
    }

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Target target = new Target();

    @Option(names = "--context", paramLabel = "NAME",
        description = "Name of the cluster, user and context (default: the cluster's name).")
    String context;

    @Option(names = "--replace", description = "Overwrite another cluster's cluster, user or context entry of the same "
        + "name (the old file is backed up), or an existing --output file.")
    boolean replace;

    public static void main(String... args) {
        System.exit(Cli.run(new kubeconfig(), args));
    }

    @Override
    int[] exitCodes() {
        return new int[] {Cli.OK, Cli.FAILED, Cli.USAGE, Cli.BAD_INPUT, Cli.SSH_FAILED, Cli.REFUSED};
    }

    @Override
    Map<Integer, String> exitCodeDetails() {
        return Map.of(Cli.REFUSED, "the target is not valid YAML, holds another cluster's entry of that name "
            + "(see --replace), or stayed locked (FILE.lock) for 30 s");
    }

    @Override
    int run() {
        // the step itself does not need kubectl: say first that the result will want it
        if (!Vagrant.onPath("kubectl")) {
            log.warn("kubectl is not installed on this host: the kubeconfig is written all the same; "
                + "install kubectl to use it (https://kubernetes.io/docs/tasks/tools/, "
                + "or 'apt-get install kubectl' where your distribution has it)");
        }
        hostKeys.chosen(); // a bad --host-key-check is refused before anything is read
        Cluster cluster = server.cluster();
        String name = context != null ? context : cluster.name();
        ClusterFolder.requireName(name, "--context");

        log.step("reading the kubeconfig of " + cluster.server().name());
        String k3sYaml;
        try (Ssh serverSsh = connect(cluster, cluster.server(), Duration.ofSeconds(30))) {
            k3sYaml = K3sServer.kubeconfig(serverSsh);
        }
        cluster = server.withApiPortOf(cluster, k3sYaml);
        ObjectNode ours = Kubeconfig.forHost(k3sYaml, cluster.serverUrl(), name);

        if (target.print) {
            print(Kubeconfig.toYaml(ours));
            return Cli.OK;
        }
        Path file;
        if (target.output != null) {
            file = target.output.toAbsolutePath();
            if (Files.exists(file) && !replace) {
                throw Cli.fail(Cli.REFUSED, file + " exists: nothing was changed. "
                    + "Pass --replace to overwrite it, or use --merge");
            }
            AtomicFile.write(file, Kubeconfig.toYaml(ours),
                "fix the permissions, or write elsewhere with --output");
            log.step("wrote " + file + " (context " + name + ")");
        } else {
            file = KubeconfigFile.defaultPath(System.getenv()).toAbsolutePath();
            KubeconfigFile.mergeInto(file, ours, replace, log);
            log.step("merged context " + name + " into " + file + " and made it the current context");
        }
        Cluster.KubeconfigRef ref = new Cluster.KubeconfigRef(file.toString(), name);
        Cluster withKubeconfig = ClusterFolder.updateCluster(cluster, recorded -> recorded.withKubeconfig(ref), log);
        print(withKubeconfig.toJson());
        return Cli.OK;
    }
}
