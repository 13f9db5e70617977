///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//SOURCES lib/ClusterStep.java
//SOURCES lib/Snapshots.java
//SOURCES lib/SnapshotOnServer.java
//SOURCES lib/TerminalQuestion.java
//SOURCES lib/Nodes.java
//SOURCES lib/ClusterFolder.java

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "k3s-snapshot",
    description = {
        "Saves, lists and restores a cluster's datastore: embedded etcd (k3s etcd-snapshot save), or the SQLite",
        "state.db of a single server (copied with K3s stopped). Copies live in the cluster's folder, snapshots/",
        "(mode 600: they hold the cluster's secrets). restore stops K3s, puts the snapshot back as K3s documents",
        "(--cluster-reset-restore-path for etcd; the other servers' db removed and rejoined) and waits for Ready."},
    footerHeading = "%nExamples:%n",
    footer = {"  k3s-snapshot --name wil save before-upgrade", "  k3s-snapshot --name wil list",
        "  k3s-snapshot --name wil restore before-upgrade --yes"})
class snapshot extends ClusterStep {
    static final String FORMAT = "k3s-vagrant/snapshot/v1";

    @Parameters(index = "0", paramLabel = "ACTION", description = "save, list or restore.")
    String action;

    @Parameters(index = "1", arity = "0..1", paramLabel = "NAME",
        description = "The snapshot (save: default snapshot-<UTC time>; restore: required).")
    String snapshotName;

    @Option(names = "--yes", description = "Restore without asking.")
    boolean yes;

    @Option(names = "--timeout", paramLabel = "MINUTES", defaultValue = "10",
        description = "How long restore waits for the servers to be Ready (default: ${DEFAULT-VALUE}).")
    int timeoutMinutes;

    public static void main(String... args) {
        System.exit(Cli.run(new snapshot(), args));
    }

    @Override
    int[] exitCodes() {
        return new int[] {Cli.OK, Cli.FAILED, Cli.USAGE, Cli.BAD_INPUT, Cli.SSH_FAILED, Cli.TIMED_OUT, Cli.REFUSED};
    }

    @Override
    Map<Integer, String> exitCodeDetails() {
        return Map.of(Cli.USAGE, "an unknown action, a bad or missing NAME, no such snapshot",
            Cli.REFUSED, "save: the name is taken; restore: not confirmed (no terminal: --yes)");
    }

    @Override
    int run() {
        switch (action) {
            case "save", "list", "restore" -> { }
            default -> throw Cli.fail(Cli.USAGE, "unknown action " + Cluster.shown(action)
                + ": save [NAME], list or restore NAME");
        }
        if (action.equals("list") && snapshotName != null) {
            throw Cli.fail(Cli.USAGE, "list takes no NAME: k3s-snapshot list");
        }
        if (action.equals("restore") && snapshotName == null) {
            throw Cli.fail(Cli.USAGE, "restore needs the NAME of a snapshot: k3s-snapshot list shows them");
        }
        if (snapshotName != null) Snapshots.requireName(snapshotName);
        Cluster cluster = server.cluster();
        Path folder = Snapshots.folder(cluster);
        return switch (action) {
            case "save" -> save(cluster, folder, snapshotName != null ? snapshotName : Snapshots.defaultName(
                Instant.now()));
            case "list" -> list(cluster, folder);
            default -> restore(cluster, folder);
        };
    }

    private int save(Cluster cluster, Path folder, String name) {
        Snapshots.requireFree(folder, name);
        Snapshots.Entry saved;
        try (ClusterFolder held = hold(cluster);
             Ssh first = connect(cluster, cluster.server(), Duration.ofSeconds(30))) {
            Snapshots.Kind kind = SnapshotOnServer.kind(first);
            log.step("saving " + kind.label + " snapshot " + name + " of " + cluster.name());
            byte[] content = kind == Snapshots.Kind.ETCD ? SnapshotOnServer.saveEtcd(first, name, log)
                : SnapshotOnServer.saveSqlite(first, log);
            saved = Snapshots.write(folder, name, kind, content);
        }
        log.step("saved " + saved.file() + " (" + saved.size() + " bytes)");
        print(json(cluster, List.of(saved)).put("saved", name).toPrettyString() + "\n");
        return Cli.OK;
    }

    private int list(Cluster cluster, Path folder) {
        List<Snapshots.Entry> entries = Snapshots.list(folder);
        List<List<String>> rows = new ArrayList<>();
        for (Snapshots.Entry e : entries) {
            rows.add(List.of(e.name(), e.kind().label, Long.toString(e.size()), e.date().toString()));
        }
        log.table(List.of("NAME", "KIND", "SIZE", "DATE"), rows);
        print(json(cluster, entries).toPrettyString() + "\n");
        return Cli.OK;
    }

    private int restore(Cluster cluster, Path folder) {
        Snapshots.Entry entry = Snapshots.find(folder, snapshotName).orElseThrow(() -> Cli.fail(Cli.USAGE,
            "there is no snapshot " + snapshotName + " in " + folder + ": k3s-snapshot list shows them"));
        List<Cluster.Node> servers = cluster.nodes().stream().filter(Cluster.Node::isServer).toList();
        if (!yes) {
            log.warn("restoring " + entry.name() + " (" + entry.kind().label + ", " + entry.date() + ") stops K3s on "
                + servers.stream().map(Cluster.Node::name).collect(Collectors.joining(", "))
                + " and puts the cluster back as it was then: what changed since is lost");
            Boolean answer = TerminalQuestion.yes("restore? [y/N]");
            if (answer == null) {
                throw Cli.fail(Cli.REFUSED, "there is no terminal to ask on: run again with --yes to restore "
                    + entry.name() + "; nothing was changed");
            }
            if (!answer) throw Cli.fail(Cli.REFUSED, "not restored: nothing was changed");
        }
        byte[] content = Snapshots.read(entry);
        List<Ssh> others = new ArrayList<>();
        try (ClusterFolder held = hold(cluster);
             Ssh first = connect(cluster, cluster.server(), Duration.ofSeconds(30))) {
            Snapshots.Kind running = SnapshotOnServer.kind(first);
            if (running != entry.kind()) {
                throw Cli.fail(Cli.REFUSED, entry.name() + " is a " + entry.kind().label + " snapshot and "
                    + cluster.name() + " runs " + running.label + " now: restore it on a cluster of that kind;"
                    + " nothing was changed");
            }
            log.step("restoring " + entry.kind().label + " snapshot " + entry.name() + " on " + cluster.name());
            try {
                for (Cluster.Node node : servers) {
                    if (node.name().equals(cluster.server().name())) continue;
                    others.add(connect(cluster, node, Duration.ofSeconds(30)));
                }
                if (running == Snapshots.Kind.ETCD) {
                    SnapshotOnServer.restoreEtcd(first, others, entry.name(), content, log);
                } else {
                    SnapshotOnServer.restoreSqlite(first, content, log);
                }
            } finally {
                others.forEach(Ssh::close);
            }
            Set<String> names = servers.stream().map(Cluster.Node::name).collect(Collectors.toSet());
            Nodes.report(Nodes.waitReady(first, names, Duration.ofMinutes(timeoutMinutes), log), names, log);
        }
        log.step("restored " + entry.name() + " on " + cluster.name());
        print(json(cluster, List.of(entry)).put("restored", entry.name()).toPrettyString() + "\n");
        return Cli.OK;
    }

    /** The cluster folder's lock, so that no k3s-up or k3s-down works on the cluster while K3s is stopped. */
    private static ClusterFolder hold(Cluster cluster) {
        ClusterFolder held = ClusterFolder.await(Path.of(cluster.vagrantDir()), Duration.ofSeconds(60));
        if (held == null) {
            throw Cli.fail(Cli.FAILED, "the folder of cluster " + cluster.name() + " (" + cluster.vagrantDir()
                + ") is gone or no longer k3s-up's: nothing was done");
        }
        return held;
    }

    private static ObjectNode json(Cluster cluster, List<Snapshots.Entry> entries) {
        ObjectNode root = Cluster.JSON.createObjectNode().put("format", FORMAT).put("name", cluster.name());
        ArrayNode list = root.putArray("snapshots");
        for (Snapshots.Entry e : entries) {
            list.addObject().put("name", e.name()).put("kind", e.kind().label).put("size", e.size())
                .put("date", e.date().toString()).put("path", e.file().toString());
        }
        return root;
    }
}
