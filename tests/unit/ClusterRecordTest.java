import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * cluster.json, the record later steps find a cluster by: k3s-join, k3s-leave and
 * k3s-kubeconfig each change it under the cluster folder's lock, so steps at the same moment
 * all keep their change.
 */
class ClusterRecordTest {
    @TempDir Path temp;
    final StringWriter logText = new StringWriter();
    final Log log = new Log(new PrintWriter(logText, true), "test", null);

    /** A joined host's known_hosts is kept with it: a later step (an upgrade by k3s-up) checks its key there. */
    @Test
    void theKnownHostsAJoinCheckedAHostInIsRecordedAndUsedAgain() {
        Path knownHosts = temp.resolve("known_hosts");
        Cluster.Access access = new Cluster.Access(null, "pi@192.168.59.20", 22, null, null, null,
            knownHosts.toString());
        Cluster made = new Cluster("wil", "libvirt", temp.toString(), "https://192.168.59.110:6443",
            List.of(new Cluster.Node("wilS", "server", "192.168.59.110", Cluster.Access.vagrant("wilS")),
                new Cluster.Node("edge1", "agent", "192.168.59.20", access)), null);
        Cluster.Access read = Cluster.parse(made.toJson(), "test").nodes().get(1).ssh();
        assertEquals(knownHosts.toString(), read.knownHosts());
        assertEquals(knownHosts, NodeSsh.route(read, null, null).target().knownHosts());
        Path given = temp.resolve("other_hosts");
        assertEquals(given, NodeSsh.route(read, null, given).target().knownHosts(),
            "a step's own --known-hosts wins");
    }

    @Test
    void joinsLeavesAndAKubeconfigAtTheSameMomentAreAllRecorded() throws Exception {
        Path dir = madeByK3sUp(temp.resolve("wil"));
        Cluster made = cluster(dir).withNode(agent("old1")).withNode(agent("old2"));
        Files.writeString(dir.resolve(ClusterFolder.CLUSTER_FILE), made.toJson());
        List<String> steps = new ArrayList<>();
        for (int i = 0; i < 6; i++) steps.add("join pi" + i);
        steps.addAll(List.of("leave old1", "leave old2", "kubeconfig"));
        Cluster.KubeconfigRef ref = new Cluster.KubeconfigRef(temp.resolve("config").toString(), "wil");

        // every step read the cluster JSON as it was at the start, as a pipeline's steps do
        KubeconfigLockTest.runAtOnce(steps, step -> {
            String[] words = step.split(" ");
            Cluster printed = switch (words[0]) {
                case "join" -> ClusterFolder.updateCluster(made, recorded -> recorded.withNode(agent(words[1])), log);
                case "leave" -> ClusterFolder.updateCluster(made, recorded -> recorded.withoutNode(words[1]), log);
                default -> ClusterFolder.updateCluster(made, recorded -> recorded.withKubeconfig(ref), log);
            };
            // what the step prints is its input with its own change, as before
            if (words[0].equals("join")) assertTrue(names(printed).contains(words[1]));
        });

        Cluster recorded = Cluster.parse(Files.readString(dir.resolve(ClusterFolder.CLUSTER_FILE)), "cluster.json");
        assertEquals(new TreeSet<>(List.of("wilS", "pi0", "pi1", "pi2", "pi3", "pi4", "pi5")), names(recorded),
            "a step's change was lost:\n" + recorded.toJson());
        assertEquals(ref, recorded.kubeconfig(), recorded.toJson());
    }

    @Test
    void aStepRecordingWhileAnotherHoldsTheFolderWaitsForIt() throws Exception {
        Path dir = madeByK3sUp(temp.resolve("wil"));
        Cluster made = cluster(dir);
        Files.writeString(dir.resolve(ClusterFolder.CLUSTER_FILE), made.toJson());
        Thread join;
        try (ClusterFolder held = ClusterFolder.open(dir, log)) {
            join = new Thread(() -> ClusterFolder.updateCluster(made, recorded -> recorded.withNode(agent("pi")),
                log));
            join.start();
            join.join(1000);
            assertTrue(join.isAlive(), "it must wait for the lock");
            assertEquals(made.toJson(), Files.readString(dir.resolve(ClusterFolder.CLUSTER_FILE)),
                "nothing may be written while another step holds the folder");
        }
        join.join(10_000);
        assertFalse(join.isAlive());
        assertTrue(Files.readString(dir.resolve(ClusterFolder.CLUSTER_FILE)).contains("\"pi\""));
    }

    @Test
    void aStepThatCannotRecordInTimeIsRefusedSayingWhatToRun() throws Exception {
        Path dir = madeByK3sUp(temp.resolve("wil"));
        Cluster made = cluster(dir);
        Files.writeString(dir.resolve(ClusterFolder.CLUSTER_FILE), made.toJson());
        try (ClusterFolder held = ClusterFolder.open(dir, log)) {
            Cli.Failure refused = org.junit.jupiter.api.Assertions.assertThrows(Cli.Failure.class, () ->
                ClusterFolder.updateCluster(made, recorded -> recorded.withNode(agent("pi")), Duration.ofMillis(300),
                    log));
            assertEquals(Cli.REFUSED, refused.exitCode);
            String message = refused.getMessage();
            assertTrue(message.contains("another k3s-vagrant step has held " + dir), message);
            assertTrue(refused.getMessage().contains("Run the same step again once the other has finished"),
                refused.getMessage());
        }
        assertEquals(made.toJson(), Files.readString(dir.resolve(ClusterFolder.CLUSTER_FILE)));
    }

    @Test
    void k3sDownHoldsTheLockUntilTheFolderIsGoneAndAWaitingStepDoesNotMakeItAgain() throws Exception {
        Path dir = madeByK3sUp(temp.resolve("wil"));
        Cluster made = cluster(dir);
        Files.writeString(dir.resolve(ClusterFolder.CLUSTER_FILE), made.toJson());
        List<String> entries = ClusterFolderMarker.ownEntries(dir);
        var printed = new java.util.concurrent.atomic.AtomicReference<Cluster>();
        Thread join;
        // as k3s-down does: the lock taken, then what k3s-up wrote removed, the folder last
        try (ClusterFolder down = ClusterFolder.open(dir, log)) {
            join = new Thread(() -> printed.set(ClusterFolder.updateCluster(made,
                recorded -> recorded.withNode(agent("pi")), log)));
            join.start();
            join.join(500);
            assertTrue(join.isAlive(), "a step recording its change waits while k3s-down works");
            assertEquals(List.of(), down.removeOwn(entries));
            assertFalse(Files.exists(dir), "removed before the lock is let go");
        }
        join.join(10_000);
        assertFalse(join.isAlive());
        assertFalse(Files.exists(dir), "the waiting step must not make the folder (or its lock file) again");
        assertTrue(names(printed.get()).contains("pi"), "it still prints its cluster JSON");
    }

    @Test
    void k3sDownRemovesItsWholeFolderEvenWhileAnotherStepKeepsTryingItsLock() throws Exception {
        // k3s-down deleted the lock file, then the folder: a step opening the lock in between made a new lock
        // file there, so the folder stayed (with a lock file k3s-down then called the user's) and both held a lock
        Path dir = temp.resolve("wil");
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        Thread up = new Thread(() -> {
            while (!done.get()) {
                try {
                    ClusterFolder.open(dir, log).close(); // as k3s-up starting on the same name does
                } catch (Cli.Failure busy) {
                    // held by k3s-down: try again
                }
            }
        });
        up.start();
        try {
            for (int round = 0; round < 300; round++) {
                madeByK3sUp(dir);
                ClusterFolder down = null;
                while (down == null) {
                    try {
                        down = ClusterFolder.open(dir, log);
                    } catch (Cli.Failure busy) {
                        Thread.onSpinWait();
                    }
                }
                try (ClusterFolder locked = down) {
                    List<String> left = locked.removeOwn(ClusterFolder.WRITTEN);
                    assertEquals(List.of(), left, "round " + round + ": k3s-down kept its folder");
                }
            }
        } finally {
            done.set(true);
            up.join(10_000);
        }
    }

    @Test
    void aClusterFolderWithoutItsLockFileStillGetsTheChangeRecorded() throws Exception {
        // e.g. one k3s-up made before the marker existed, adopted later; k3s-down never leaves one so
        Path dir = madeByK3sUp(temp.resolve("wil"));
        Files.delete(dir.resolve(ClusterFolder.LOCK_FILE));
        Cluster made = cluster(dir);
        Files.writeString(dir.resolve(ClusterFolder.CLUSTER_FILE), made.toJson());
        ClusterFolder.updateCluster(made, recorded -> recorded.withNode(agent("pi")), log);
        Cluster recorded = Cluster.parse(Files.readString(dir.resolve(ClusterFolder.CLUSTER_FILE)), "cluster.json");
        assertEquals(new TreeSet<>(List.of("wilS", "pi")), names(recorded));
    }

    /** A folder as today's k3s-up leaves it: marker, lock file, settings. */
    static Path madeByK3sUp(Path dir) throws IOException {
        ClusterFolder.claim(dir, true);
        Files.writeString(dir.resolve(ClusterFolder.LOCK_FILE), "");
        return dir;
    }

    static Cluster cluster(Path dir) {
        return new Cluster("wil", "libvirt", dir.toString(), "https://192.168.59.110:6443",
            List.of(new Cluster.Node("wilS", "server", "192.168.59.110", Cluster.Access.vagrant("wilS"))), null);
    }

    static Cluster.Node agent(String name) {
        return new Cluster.Node(name, "agent", "192.168.59." + (120 + Math.abs(name.hashCode() % 100)),
            new Cluster.Access(null, "pi@" + name, 22, null));
    }

    static TreeSet<String> names(Cluster cluster) {
        TreeSet<String> names = new TreeSet<>();
        cluster.nodes().forEach(node -> names.add(node.name()));
        return names;
    }
}
