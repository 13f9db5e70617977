import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Merges into one kubeconfig at the same moment, and the lock they share with kubectl (FILE.lock). */
class KubeconfigLockTest {
    @TempDir Path temp;
    final StringWriter logText = new StringWriter();
    final Log log = new Log(new PrintWriter(logText, true), "test", null);

    /** K3s's k3s.yaml, reduced to what forHost needs. */
    static final String K3S_YAML = """
        apiVersion: v1
        kind: Config
        clusters:
        - name: default
          cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: QUJD}
        users:
        - name: default
          user: {token: abc}
        contexts:
        - name: default
          context: {cluster: default, user: default}
        current-context: default
        """;

    @Test
    void mergesAtTheSameMomentKeepEveryContext() throws Exception {
        Path file = temp.resolve("kube/config");
        int steps = 8;
        for (int round = 0; round < 3; round++) {
            Files.deleteIfExists(file);
            List<String> names = new ArrayList<>();
            for (int i = 0; i < steps; i++) names.add("r" + round + "c" + i);
            runAtOnce(names, name -> KubeconfigFile.mergeInto(file,
                Kubeconfig.forHost(K3S_YAML, "https://192.168.56." + (100 + names.indexOf(name)) + ":6443", name),
                false, log));
            assertEquals(new TreeSet<>(names), contexts(file), "round " + round + ": a merge was lost");
            // and kubectl reads them all
            Repo.Run kubectl = Repo.exec(List.of("kubectl", "config", "get-contexts", "-o", "name", "--kubeconfig",
                file.toString()), temp, Map.of(), null, 30);
            assertEquals(0, kubectl.exit(), kubectl.stderr());
            assertEquals(new TreeSet<>(names), new TreeSet<>(List.of(kubectl.stdout().strip().split("\n"))));
        }
    }

    @Test
    void kubectlWaitsForOurLockAndLeavesNoneBehind() throws Exception {
        Path file = temp.resolve("config");
        KubeconfigFile.mergeInto(file, Kubeconfig.forHost(K3S_YAML, "https://192.168.56.110:6443", "wil"), false,
            log);
        List<String> setContext = List.of("kubectl", "config", "set-context", "mine", "--cluster", "wil",
            "--kubeconfig", file.toString());
        try (KubeconfigLock lock = KubeconfigLock.acquire(file, Duration.ofSeconds(1), log)) {
            assertEquals(temp.resolve("config.lock"), lock.path, "client-go's name for the lock");
            Repo.Run refused = Repo.exec(setContext, temp, Map.of(), null, 30);
            assertNotEquals(0, refused.exit(), "kubectl must not write while we hold the lock: " + refused.stdout());
            assertTrue(refused.stderr().contains("config.lock"), refused.stderr());
        }
        assertFalse(Files.exists(temp.resolve("config.lock")), "released: the lock file is gone");
        Repo.Run written = Repo.exec(setContext, temp, Map.of(), null, 30);
        assertEquals(0, written.exit(), written.stderr());
        assertEquals(new TreeSet<>(List.of("mine", "wil")), contexts(file));
    }

    @Test
    void aLockKubectlLeftBehindIsWaitedForThenRefusedSayingHowToRemoveIt() throws Exception {
        Path file = temp.resolve("config");
        Files.writeString(file, "apiVersion: v1\nkind: Config\n");
        Files.writeString(temp.resolve("config.lock"), ""); // kubectl's: empty
        long started = System.nanoTime();
        Cli.Failure refused = assertThrows(Cli.Failure.class,
            () -> KubeconfigLock.acquire(file, Duration.ofMillis(500), log).close());
        assertTrue(System.nanoTime() - started >= 500_000_000L, "it waits for the holder first");
        assertEquals(Cli.REFUSED, refused.exitCode);
        assertTrue(refused.getMessage().contains("empty, as kubectl makes it"), refused.getMessage());
        assertTrue(refused.getMessage().contains("rm '" + temp.resolve("config.lock") + "'"), refused.getMessage());
        assertTrue(refused.getMessage().contains("nothing was changed"), refused.getMessage());
        assertTrue(Files.exists(temp.resolve("config.lock")), "a lock of unknown owner is never removed");
        assertEquals("apiVersion: v1\nkind: Config\n", Files.readString(file));
    }

    @Test
    void aLockOfAStepThatStillRunsIsRefusedNamingItsPid() throws Exception {
        Path file = temp.resolve("config");
        long pid = ProcessHandle.current().pid();
        try (KubeconfigLock held = KubeconfigLock.acquire(file, Duration.ofSeconds(1), log)) {
            Cli.Failure refused = assertThrows(Cli.Failure.class,
                () -> KubeconfigLock.acquire(file, Duration.ofMillis(200), log).close());
            assertTrue(refused.getMessage().contains("by pid " + pid + " on "), refused.getMessage());
            assertTrue(refused.getMessage().contains("which still runs"), refused.getMessage());
        }
    }

    @Test
    void aLockLeftByACrashedStepIsRemovedAndSaidSo() throws Exception {
        Path file = temp.resolve("config");
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        String host = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        Files.writeString(temp.resolve("config.lock"), "pid " + gone.pid() + " host " + host + "\n");
        try (KubeconfigLock lock = KubeconfigLock.acquire(file, Duration.ofMillis(200), log)) {
            assertEquals("pid " + ProcessHandle.current().pid() + " host " + host + "\n", Files.readString(lock.path));
        }
        String removed = "removed " + temp.resolve("config.lock") + ", left by pid " + gone.pid();
        assertTrue(logText.toString().contains(removed), logText.toString());
        assertEquals(List.of(), listing(temp), "no lock, and nothing set aside, is left");
    }

    @Test
    void aLockOfAnotherHostIsNeverTakenForStale() throws Exception {
        Path file = temp.resolve("config");
        Files.writeString(temp.resolve("config.lock"), "pid 1 host another-machine\n");
        Cli.Failure refused = assertThrows(Cli.Failure.class,
            () -> KubeconfigLock.acquire(file, Duration.ofMillis(200), log).close());
        assertTrue(refused.getMessage().contains("by pid 1 on another-machine"), refused.getMessage());
    }

    static List<String> listing(Path dir) throws java.io.IOException {
        try (var files = Files.list(dir)) {
            return files.map(each -> each.getFileName().toString()).sorted().toList();
        }
    }

    static TreeSet<String> contexts(Path file) {
        TreeSet<String> names = new TreeSet<>();
        for (JsonNode context : Kubeconfig.parse(KubeconfigFile.read(file), file.toString()).path("contexts")) {
            names.add(context.get("name").asText());
        }
        return names;
    }

    interface Work<T> {
        void run(T item) throws Exception;
    }

    /** Runs work for every item in its own thread, all released at the same moment; rethrows the first failure. */
    static <T> void runAtOnce(List<T> items, Work<T> work) throws Exception {
        CyclicBarrier start = new CyclicBarrier(items.size());
        ExecutorService pool = Executors.newFixedThreadPool(items.size());
        try {
            List<Future<?>> done = new ArrayList<>();
            for (T item : items) {
                done.add(pool.submit(() -> {
                    start.await();
                    work.run(item);
                    return null;
                }));
            }
            for (Future<?> each : done) each.get(120, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
    }
}
