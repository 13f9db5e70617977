import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Separate processes, as a shell's pipelines run the steps: each merges its context into one
 * kubeconfig and records its host in one cluster.json at the same moment. Locks between processes
 * (fcntl locks, O_EXCL files) are not those between threads, so threads alone would not show them.
 */
class ConcurrentStepsTest {
    @TempDir Path temp;

    @Test
    void fourProcessesMergingAndRecordingAtOnceAllKeepTheirChange() throws Exception {
        Path kubeconfig = temp.resolve("kube/config");
        Path dir = ClusterRecordTest.madeByK3sUp(temp.resolve("wil"));
        Cluster made = ClusterRecordTest.cluster(dir);
        Files.writeString(dir.resolve(ClusterFolder.CLUSTER_FILE), made.toJson());
        Path start = temp.resolve("start");
        List<Process> steps = new ArrayList<>();
        List<String> names = List.of("pi0", "pi1", "pi2", "pi3");
        for (String name : names) {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            ProcessBuilder builder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "ConcurrentStepsTest$Step", start.toString(), kubeconfig.toString(), dir.toString(), name);
            builder.redirectErrorStream(true);
            builder.redirectOutput(temp.resolve(name + ".log").toFile());
            steps.add(builder.start());
        }
        Thread.sleep(1500); // every JVM started and waiting
        Files.writeString(start, "go");
        for (int i = 0; i < steps.size(); i++) {
            Process step = steps.get(i);
            step.waitFor(60, TimeUnit.SECONDS);
            assertEquals(0, step.exitValue(), Files.readString(temp.resolve(names.get(i) + ".log")));
        }
        assertEquals(new TreeSet<>(names), KubeconfigLockTest.contexts(kubeconfig), "a merge was lost");
        Cluster recorded = Cluster.parse(Files.readString(dir.resolve(ClusterFolder.CLUSTER_FILE)), "cluster.json");
        TreeSet<String> nodes = new TreeSet<>(names);
        nodes.add("wilS");
        assertEquals(nodes, ClusterRecordTest.names(recorded), "a host was lost:\n" + recorded.toJson());
    }

    /** One step's writes, started the moment the start file appears: START KUBECONFIG FOLDER NAME. */
    static final class Step {
        public static void main(String... args) throws Exception {
            Path start = Path.of(args[0]);
            while (!Files.exists(start)) Thread.onSpinWait();
            Cli.Log log = new Cli.Log(new PrintWriter(System.err, true), args[3], null);
            String url = "https://192.168.59." + (120 + args[3].charAt(2) - '0') + ":6443";
            Path kubeconfig = Path.of(args[1]);
            KubeconfigFile.mergeInto(kubeconfig, KubeconfigFile.forHost(KubeconfigLockTest.K3S_YAML, url, args[3]),
                false, log);
            Cluster read = ClusterRecordTest.cluster(Path.of(args[2]));
            ClusterFolder.updateCluster(read, recorded -> recorded.withNode(ClusterRecordTest.agent(args[3])), log);
        }
    }
}
