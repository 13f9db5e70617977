import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * k3s-up on a cluster that exists (issue 11, item 1): flags left out keep the values it was made with, the plan
 * of what the given ones change, its confirmation, and the refusals. Real steps in-process on a cluster folder
 * whose machines Vagrant would see as made (their id files); no step here gets as far as running vagrant.
 */
class ClusterChangeTest {
    @TempDir Path tmp;
    private Path root;
    private Path folder;
    private Path tty;
    private Path before;
    private Path ttyBefore;

    /** A running cluster wil: 1 server, 3 agents on 192.168.61.x (a network this host has no address in). */
    private static final String RECORDED = """
        # Written by k3s-up: the settings this cluster was made with (no secrets here).
        K3S_VAGRANT_PROVIDER=libvirt
        K3S_VAGRANT_LOGIN=wil
        K3S_VAGRANT_SERVER_IP=192.168.61.110
        K3S_VAGRANT_SERVERS=1
        K3S_VAGRANT_WORKER_IP=192.168.61.111
        K3S_VAGRANT_WORKERS=3
        K3S_VAGRANT_CPUS=2
        K3S_VAGRANT_SERVER_MEMORY=2048
        K3S_VAGRANT_WORKER_MEMORY=512
        K3S_VAGRANT_K3S_VERSION=v1.31.4+k3s1
        K3S_VAGRANT_K3S_CHANNEL=stable
        K3S_VAGRANT_LIBVIRT_DRIVER=kvm
        """;

    @BeforeEach
    void cluster() throws IOException {
        root = Files.createDirectories(tmp.resolve("home").resolve("clusters"));
        folder = root.resolve("wil");
        ClusterFolderMarker.claim(folder, false);
        Files.writeString(folder.resolve(ClusterFolder.SETTINGS_FILE), RECORDED);
        for (String machine : List.of("wilS", "wilSW", "wilSW2", "wilSW3")) {
            Path made = Files.createDirectories(folder.resolve(".vagrant/machines/" + machine + "/libvirt"));
            Files.writeString(made.resolve("id"), "id-of-" + machine);
        }
        before = ClusterFolder.clustersRoot;
        ClusterFolder.clustersRoot = root;
        ttyBefore = TerminalQuestion.tty;
        tty = tmp.resolve("tty");
        TerminalQuestion.tty = tty; // missing: no terminal, unless a test writes the answer there
    }

    @AfterEach
    void restore() {
        ClusterFolder.clustersRoot = before;
        TerminalQuestion.tty = ttyBefore;
    }

    @Test
    void flagsLeftOutKeepTheValuesTheClusterWasMadeWithAndAskNothing() {
        Repo.Run run = Repo.step(new up(), "--dry-run", "--name", "wil");
        assertEquals(Cli.OK, run.exit(), run.stderr());
        for (String kept : List.of("WORKERS=3", "SERVER_MEMORY=2048", "CPUS=2", "LOGIN=wil", "K3S_VERSION=v1.31.4",
            "SERVER_IP=192.168.61.110")) {
            assertTrue(run.stderr().contains("K3S_VAGRANT_" + kept), kept + ": " + run.stderr());
        }
        assertTrue(run.stderr().contains("vagrant up --provider libvirt"), "the recorded provider: " + run.stderr());
        assertFalse(run.stderr().contains("changes the running cluster"), run.stderr());
        Repo.Run given = Repo.step(new up(), "--dry-run", "--name", "wil", "--workers", "4");
        assertEquals(Cli.OK, given.exit(), given.stderr());
        assertTrue(given.stderr().contains("K3S_VAGRANT_WORKERS=4")
            && given.stderr().contains("K3S_VAGRANT_SERVER_MEMORY=2048"), given.stderr());
        assertTrue(given.stderr().contains("1. add wilSW4 (192.168.61.114): booted with vagrant up"), given.stderr());
    }

    @Test
    void aClusterEnvOfAnOlderK3sUpWithoutServersKeepsOneServer() throws IOException {
        Path env = folder.resolve(ClusterFolder.SETTINGS_FILE);
        Files.writeString(env, RECORDED.replace("K3S_VAGRANT_SERVERS=1\n", ""));
        Repo.Run run = Repo.step(new up(), "--dry-run", "--name", "wil");
        assertEquals(Cli.OK, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("K3S_VAGRANT_SERVERS=1") && run.stderr().contains("K3S_VAGRANT_WORKERS=3"),
            run.stderr());
        assertFalse(run.stderr().contains("changes the running cluster"), run.stderr());
    }

    @Test
    void aChangeWithoutATerminalOrYesIsRefusedAndChangesNothing() throws IOException {
        Repo.Run run = Repo.step(new up(), "--name", "wil", "--workers", "4");
        assertEquals(Cli.REFUSED, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("add wilSW4 (192.168.61.114)"), "the plan first: " + run.stderr());
        assertTrue(run.stderr().contains("no terminal to ask on: run again with --yes"), run.stderr());
        assertUnchanged();
    }

    @Test
    void yesOrAYesOnTheTerminalAppliesTheChangeAndANoRefusesIt() throws IOException {
        // a halted cluster takes no new servers: past the question the step refuses, so nothing boots here
        ClusterHalt.mark(folder);
        Repo.Run yes = Repo.step(new up(), "--name", "wil", "--servers", "3", "--yes");
        assertEquals(Cli.REFUSED, yes.exit(), yes.stderr());
        String halted = "the cluster is halted (k3s-down --halt), and this change needs its nodes running"
            + " (convert wilS";
        assertTrue(yes.stderr().contains(halted), yes.stderr());
        Files.writeString(tty, "y\n");
        Repo.Run asked = Repo.step(new up(), "--name", "wil", "--servers", "3");
        assertEquals(Cli.REFUSED, asked.exit(), asked.stderr());
        assertTrue(asked.stderr().contains(halted), asked.stderr());
        assertTrue(Files.readString(tty).endsWith("apply? [y/N] "), "asked on the terminal: " + Files.readString(tty));
        Files.writeString(tty, "\n");
        Repo.Run no = Repo.step(new up(), "--name", "wil", "--cpus", "4");
        assertEquals(Cli.REFUSED, no.exit(), no.stderr());
        assertTrue(no.stderr().contains("not applied: nothing was changed"), no.stderr());
        assertUnchanged();
    }

    @Test
    void settingsThatCannotChangeInPlaceAreRefusedNamingThem() throws IOException {
        Map<String, List<String>> flags = Map.of("--login", List.of("--login", "bob"),
            "--server-ip", List.of("--server-ip", "192.168.61.120"), "--worker-ip", List.of("--worker-ip",
            "192.168.61.121"), "--provider", List.of("--provider", "virtualbox"), "--box", List.of("--box", "x/y"));
        flags.forEach((flag, args) -> {
            List<String> all = new ArrayList<>(List.of("--dry-run", "--name", "wil"));
            all.addAll(args);
            Repo.Run run = Repo.step(new up(), all.toArray(String[]::new));
            assertEquals(Cli.REFUSED, run.exit(), flag + ": " + run.stderr());
            assertTrue(run.stderr().contains(flag + " cannot change on a cluster that exists"), run.stderr());
        });
        assertUnchanged();
    }

    @Test
    void thePlanOfEachKindOfChange() {
        assertEquals(List.of("add wilSW4 (192.168.61.114), wilSW5 (192.168.61.115): booted with vagrant up and joined"
            + " as agents while the other machines keep running"), plan(Map.of("WORKERS", "5")));
        assertEquals(List.of("remove wilSW3 (192.168.61.113), wilSW2 (192.168.61.112), one at a time, highest-numbered"
            + " first: cordoned, drained (kubectl drain --ignore-daemonsets --delete-emptydir-data), deleted from the"
            + " cluster, K3s uninstalled, the machine destroyed"), plan(Map.of("WORKERS", "1")));
        assertEquals(List.of("convert wilS from SQLite to embedded etcd (K3s restarted with --cluster-init), then"
            + " join wilS2 (192.168.61.109), wilS3 (192.168.61.108) as servers, one at a time"),
            plan(Map.of("SERVERS", "3")));
        List<String> upgrade = plan(Map.of("K3S_VERSION", "v1.32.0+k3s1"));
        assertEquals(1, upgrade.size(), upgrade.toString());
        assertEquals(List.of("upgrade K3s, v1.31.4+k3s1 -> v1.32.0+k3s1: a rolling upgrade, one node at a time, each"
            + " Ready at the new version before the next: servers wilS (192.168.61.110), then agents wilSW"
            + " (192.168.61.111), wilSW2 (192.168.61.112), wilSW3 (192.168.61.113) and the hosts k3s-join added"),
            upgrade);
        assertTrue(plan(Map.of("K3S_CHANNEL", "latest")).get(0).startsWith("upgrade K3s, channel stable -> latest"));
        assertEquals(List.of("--agent-flags unset -> --node-label a=b, --server-memory 2048 -> 4096: applied one"
            + " machine at a time (halted, changed, booted, Ready again), servers last: wilSW (192.168.61.111), wilSW2"
            + " (192.168.61.112), wilSW3 (192.168.61.113), wilS (192.168.61.110)"),
            plan(Map.of("SERVER_MEMORY", "4096", "AGENT_FLAGS", "--node-label a=b")));
        // several at once: in the order they run
        List<String> order = plan(Map.of("WORKERS", "2", "K3S_VERSION", "v1.31.5+k3s1", "CPUS", "3"));
        assertEquals(3, order.size(), order.toString());
        assertTrue(order.get(0).startsWith("remove wilSW3") && order.get(1).startsWith("upgrade K3s")
            && order.get(2).startsWith("--cpus 2 -> 3"), order.toString());
    }

    @Test
    void aServersChangeFromThreeOnlyJoinsOrRemoves() {
        Map<String, String> three = recorded();
        three.put("SERVERS", "3");
        Map<String, String> five = new LinkedHashMap<>(three);
        five.put("SERVERS", "5");
        assertEquals("join wilS4 (192.168.61.107), wilS5 (192.168.61.106) as servers, one at a time",
            ClusterChange.plan(three, five, null).steps.get(0).what());
        assertEquals("remove wilS5 (192.168.61.106), wilS4 (192.168.61.107), one at a time, keeping etcd's majority:"
            + " K3s stopped, the node deleted (its etcd member with it), the machine destroyed",
            ClusterChange.plan(five, three, null).steps.get(0).what());
    }

    @Test
    void aDowngradeAndASkippedMinorVersionAreRefusedWithTheReason() {
        Cli.Failure down = assertThrows(Cli.Failure.class, () -> plan(Map.of("K3S_VERSION", "v1.31.3+k3s1")));
        assertEquals(Cli.REFUSED, down.exitCode);
        assertTrue(down.getMessage().contains("v1.31.3+k3s1 is older than the cluster's v1.31.4+k3s1: K3s has no "
            + "downgrade"), down.getMessage());
        Cli.Failure skip = assertThrows(Cli.Failure.class, () -> plan(Map.of("K3S_VERSION", "v1.33.0+k3s1")));
        assertEquals(Cli.REFUSED, skip.exitCode);
        assertTrue(skip.getMessage().contains("skips a minor version: Kubernetes upgrades one minor version at a "
            + "time. Upgrade to a v1.32 release first"), skip.getMessage());
        // a cluster.env without a version (each machine downloaded K3s): checked against what the nodes run
        Map<String, String> unpinned = recorded();
        unpinned.remove("K3S_VERSION");
        Map<String, String> wanted = new LinkedHashMap<>(unpinned);
        wanted.put("K3S_VERSION", "v1.30.9+k3s1");
        assertThrows(Cli.Failure.class, () -> ClusterChange.plan(unpinned, wanted, "v1.31.4+k3s1"));
    }

    @Test
    void anEmptyPlanAsksNothingAndAChangeNeedsAnAnswer() {
        ClusterChange none = ClusterChange.plan(recorded(), recorded(), null);
        assertTrue(none.isEmpty());
        StringWriter err = new StringWriter();
        none.print(new PrintWriter(err), "wil");
        assertEquals("", err.toString());
        none.confirm(false); // no terminal here, and none needed
        Map<String, String> more = recorded();
        more.put("WORKERS", "4");
        ClusterChange add = ClusterChange.plan(recorded(), more, null);
        assertEquals(Set.of("WORKERS"), add.changed);
        assertEquals(Cli.REFUSED, assertThrows(Cli.Failure.class, () -> add.confirm(false)).exitCode);
        add.confirm(true);
        Map<String, String> fewer = recorded();
        fewer.put("WORKERS", "1");
        ClusterChange remove = ClusterChange.plan(more, fewer, null);
        assertEquals(List.of("wilSW4", "wilSW3", "wilSW2"),
            remove.steps.get(0).machines().stream().map(Plan.Machine::name).toList(), "highest-numbered first");
    }

    @Test
    void aChangeThatDidNotFinishIsPlannedAgainFromTheSettingsBeforeIt() throws IOException {
        Map<String, String> settings = recorded();
        settings.remove("PROVIDER");
        settings.put("WORKERS", "4");
        ChangePending.begin(folder);
        // cluster.env takes the new count before vagrant up; then the run is interrupted
        Files.writeString(folder.resolve(ClusterFolder.SETTINGS_FILE), RECORDED.replace("WORKERS=3", "WORKERS=4"));
        ChangePending.begin(folder); // the next run's: the settings before the change are kept, not replaced
        ClusterChange again = ClusterChange.of(folder, recorded(), settings, "libvirt");
        assertEquals(List.of(ClusterChange.Kind.ADD_AGENTS), again.steps.stream().map(ClusterChange.Step::kind)
            .toList(), "the same k3s-up carries on with the change");
        ChangePending.finish(folder);
        assertTrue(ClusterChange.of(folder, recorded(), settings, "libvirt").isEmpty(), "done: nothing to plan");
    }

    @Test
    void everyKindOfChangeIsCarriedOut() {
        for (ClusterChange.Kind kind : ClusterChange.Kind.values()) assertTrue(ChangeRun.built(kind), kind.name());
    }

    @Test
    void clusterEnvTakesOnlyTheConfirmedChange() throws IOException {
        Log log = new Log(new PrintWriter(new StringWriter()), "test", null);
        Map<String, String> settings = recorded();
        settings.remove("PROVIDER");
        settings.put("WORKERS", "4");
        try (ClusterFolder cluster = ClusterFolder.open(folder, log)) {
            assertEquals(Cli.REFUSED, assertThrows(Cli.Failure.class,
                () -> cluster.writeSettings(settings, "libvirt", Set.of())).exitCode);
            cluster.writeSettings(settings, "libvirt", Set.of("WORKERS"));
            assertEquals("4", cluster.readSettings().get("WORKERS"));
        }
    }

    /** The plan's steps for the recorded cluster with changes. */
    private List<String> plan(Map<String, String> changes) {
        Map<String, String> wanted = recorded();
        wanted.putAll(changes);
        return ClusterChange.plan(recorded(), wanted, null).steps.stream().map(ClusterChange.Step::what).toList();
    }

    private Map<String, String> recorded() {
        return new LinkedHashMap<>(ClusterSettingsFile.read(folder.resolve(ClusterFolder.SETTINGS_FILE)));
    }

    private void assertUnchanged() throws IOException {
        assertEquals(RECORDED, Files.readString(folder.resolve(ClusterFolder.SETTINGS_FILE)));
        assertFalse(Files.exists(folder.resolve("Vagrantfile")), "nothing written into the folder");
        assertFalse(Files.exists(folder.resolve(ClusterFolder.CLUSTER_FILE)));
    }
}
