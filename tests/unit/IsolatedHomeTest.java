import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A step a test runs (Repo.step in-process, Repo.exec as a process) sees a k3s-vagrant home of
 * its own: a cluster in the home of whoever runs the tests neither changes a result nor is touched.
 * Each case runs in a JVM of its own, whose "real" home (K3S_VAGRANT_HOME, or ~/.k3s-vagrant
 * through user.home) holds a cluster with k3s-up's default machines.
 */
class IsolatedHomeTest {
    @TempDir Path temp;

    @Test
    void aClusterInTheHomeNamedByK3sVagrantHomeChangesNoTestResult() throws Exception {
        Path home = temp.resolve("real-home");
        Path clusters = clash(home.resolve("clusters"));
        assertIsolated(runChild(Map.of(Repo.HOME_VARIABLE, home.toString()), temp.resolve("user")), clusters);
    }

    @Test
    void aClusterInTheUsersDotK3sVagrantChangesNoTestResult() throws Exception {
        Path user = temp.resolve("user");
        Path clusters = clash(user.resolve(".k3s-vagrant").resolve("clusters"));
        assertIsolated(runChild(Map.of(), user), clusters);
    }

    /** Another cluster, "old", with the machine names and addresses of a default k3s-up --login wil. */
    private static Path clash(Path clusters) throws Exception {
        Files.writeString(Files.createDirectories(clusters.resolve("old")).resolve("cluster.env"), """
            # Written by k3s-up: the settings this cluster was made with (no secrets here).
            K3S_VAGRANT_LOGIN=wil
            K3S_VAGRANT_SERVER_IP=192.168.56.110
            K3S_VAGRANT_SERVERS=1
            K3S_VAGRANT_WORKER_IP=192.168.56.111
            K3S_VAGRANT_WORKERS=1
            """);
        return clusters;
    }

    private static void assertIsolated(String output, Path clusters) throws Exception {
        assertEquals("step exit 0\nprocess sees no cluster\n", output, "the tests' own home is not isolated");
        try (Stream<Path> files = Files.walk(clusters)) {
            assertEquals(List.of("", "old", "old/cluster.env"),
                files.map(p -> clusters.relativize(p).toString()).sorted().toList(), "the real home was touched");
        }
    }

    /** Runs Child in a JVM with K3S_VAGRANT_HOME as given (else unset) and user.home: its output. */
    private String runChild(Map<String, String> env, Path userHome) throws Exception {
        Files.createDirectories(userHome);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder builder = new ProcessBuilder(java, "-Duser.home=" + userHome, "-cp",
            System.getProperty("java.class.path"), "IsolatedHomeTest$Child").directory(temp.toFile());
        builder.environment().remove(Repo.HOME_VARIABLE);
        builder.environment().putAll(env);
        Path log = temp.resolve("child.log");
        builder.redirectErrorStream(true).redirectOutput(log.toFile());
        Process child = builder.start();
        if (!child.waitFor(120, TimeUnit.SECONDS)) {
            child.destroyForcibly();
            throw new AssertionError("the child JVM did not finish: " + Files.readString(log));
        }
        assertEquals(0, child.exitValue(), Files.readString(log));
        return Files.readString(log);
    }

    /** What a test sees: k3s-up --dry-run with the clashing defaults, and the clusters a process finds. */
    static final class Child {
        public static void main(String... args) {
            Repo.Run up = Repo.step(new up(), "--dry-run", "--provider", "libvirt", "--login", "wil");
            System.out.println("step exit " + up.exit());
            if (up.exit() != 0) System.out.println(up.stderr());
            Repo.Run listed = Repo.exec(List.of("sh", "-c",
                "ls -A \"${K3S_VAGRANT_HOME:-$HOME/.k3s-vagrant}/clusters\" 2>/dev/null"),
                Path.of("."), Map.of("HOME", System.getProperty("user.home")), null, 30);
            String seen = listed.stdout().strip();
            System.out.println(seen.isEmpty() ? "process sees no cluster" : "process sees " + seen);
            System.exit(0);
        }
    }
}
