///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//SOURCES lib/K3s.java
//SOURCES lib/ClusterFolder.java

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "k3s-kubeconfig", mixinStandardHelpOptions = true, version = "k3s-vagrant 0.1",
    description = {
        "Fetches the K3s server's kubeconfig over SSH, points it at the server's private address, names its cluster,",
        "user and context after the cluster, and merges it into your kubeconfig (the default: the first file of",
        "$KUBECONFIG, else ~/.kube/config; other contexts are kept, the old file is backed up, the write is atomic,",
        "mode 600) or writes it to --output. Prints the cluster JSON with the kubeconfig's path and context."},
    footerHeading = "%nExamples:%n",
    footer = {
        "  k3s-up | k3s-kubeconfig --merge && kubectl get nodes -o wide",
        "  k3s-kubeconfig --server-host ubuntu@10.0.0.2 --output ./edge.kubeconfig",
        "  k3s-kubeconfig --cluster cluster.json --print > cluster.yaml     # only the kubeconfig, nothing written"},
    exitCodeListHeading = "%nExit codes:%n", exitCodeList = {
        "0:success", "1:the step failed (the message says why)", "2:bad flags or values, nothing done",
        "4:stdin JSON missing, malformed or of another format", "5:SSH connection or authentication failed",
        "7:refused: the target is not valid YAML, holds another cluster's entry of that name (see --replace), "
            + "or stayed locked (FILE.lock) for 30 s; or written, but another step held the cluster's folder too long "
            + "to record it there: run it again"})
class kubeconfig implements Callable<Integer> {

    @Spec CommandSpec spec;
    @Mixin Cli.LogOptions logOptions;
    @Mixin K3s.ServerOptions server = new K3s.ServerOptions();
    @Mixin Ssh.HostKeyOptions hostKeys;

    static final class Target {
        @Option(names = "--merge", description = "Merge into $KUBECONFIG's first file or ~/.kube/config (the default).")
        boolean merge;

        @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write the cluster's kubeconfig alone to FILE (mode 600).")
        Path output;

        @Option(names = "--print", description = "Print the kubeconfig on stdout instead of the JSON, and write nothing.")
        boolean print;
    }

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Target target = new Target();

    @Option(names = "--context", paramLabel = "NAME", description = "Name of the cluster, user and context (default: the cluster's name).")
    String context;

    @Option(names = "--replace", description = "Overwrite another cluster's cluster, user or context entry of the same "
        + "name (the old file is backed up), or an existing --output file.")
    boolean replace;

    public static void main(String... args) {
        System.exit(Cli.run(new kubeconfig(), args));
    }

    @Override
    public Integer call() {
        Cli.Log log = new Cli.Log(spec.commandLine().getErr(), "k3s-kubeconfig", logOptions);
        // the step itself does not need kubectl: say first that the result will want it
        if (!Vagrant.onPath("kubectl")) {
            log.warn("kubectl is not installed on this host: the kubeconfig is written all the same; install kubectl to use it "
                + "(https://kubernetes.io/docs/tasks/tools/, or 'apt-get install kubectl' where your distribution has it)");
        }
        Ssh.HostKeyCheck check = hostKeys.chosen();
        Cluster cluster = server.cluster();
        String name = context != null ? context : cluster.name();
        ClusterFolder.requireName(name, "--context");

        log.step("reading the kubeconfig of " + cluster.server().name());
        String k3sYaml;
        try (Ssh serverSsh = K3s.connect(cluster, cluster.server(), check, hostKeys.knownHosts, Duration.ofSeconds(30), log)) {
            k3sYaml = K3s.kubeconfig(serverSsh);
        }
        cluster = server.withApiPortOf(cluster, k3sYaml);
        ObjectNode ours = KubeconfigFile.forHost(k3sYaml, cluster.serverUrl(), name);

        if (target.print) {
            spec.commandLine().getOut().print(KubeconfigFile.toYaml(ours));
            spec.commandLine().getOut().flush();
            return Cli.OK;
        }
        Path file;
        if (target.output != null) {
            file = target.output.toAbsolutePath();
            if (Files.exists(file) && !replace) {
                throw Cli.fail(Cli.REFUSED, file + " exists: nothing was changed. Pass --replace to overwrite it, or use --merge");
            }
            KubeconfigFile.writeAtomically(file, KubeconfigFile.toYaml(ours));
            log.step("wrote " + file + " (context " + name + ")");
        } else {
            file = KubeconfigFile.defaultPath(System.getenv()).toAbsolutePath();
            KubeconfigFile.mergeInto(file, ours, replace, log);
            log.step("merged context " + name + " into " + file + " and made it the current context");
        }
        Cluster.KubeconfigRef ref = new Cluster.KubeconfigRef(file.toString(), name);
        Cluster withKubeconfig = ClusterFolder.updateCluster(cluster, recorded -> recorded.withKubeconfig(ref), log);
        spec.commandLine().getOut().print(withKubeconfig.toJson());
        spec.commandLine().getOut().flush();
        return Cli.OK;
    }
}
