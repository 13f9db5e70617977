import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * Separate processes, as a shell's pipelines run the steps: each meets a new SSH host (a real
 * sshd), merges its context into one kubeconfig and records its host in one cluster.json, at the
 * same moment. Locks between processes (fcntl locks, O_EXCL files) are not those between
 * threads, so threads alone would not show them.
 */
class ConcurrentStepsTest {
    @TempDir Path temp;

    @Test
    void fourProcessesMeetingHostsMergingAndRecordingAtOnceAllKeepTheirChange() throws Exception {
        Path kubeconfig = temp.resolve("kube/config");
        Path dir = ClusterRecordTest.madeByK3sUp(temp.resolve("wil"));
        Cluster made = ClusterRecordTest.cluster(dir);
        Files.writeString(dir.resolve(ClusterFolder.CLUSTER_FILE), made.toJson());
        Path start = temp.resolve("start");
        List<Process> steps = new ArrayList<>();
        List<String> names = List.of("pi0", "pi1", "pi2", "pi3");
        Path knownHosts = temp.resolve("known_hosts");
        Files.writeString(knownHosts, "");
        List<Sshd> hosts = new ArrayList<>();
        try {
            for (String name : names) hosts.add(Sshd.start());
            run(names, hosts, start, kubeconfig, dir, knownHosts);
        } finally {
            hosts.forEach(Sshd::close);
        }
        assertEquals(new TreeSet<>(names), KubeconfigLockTest.contexts(kubeconfig), "a merge was lost");
        Cluster recorded = Cluster.parse(Files.readString(dir.resolve(ClusterFolder.CLUSTER_FILE)), "cluster.json");
        TreeSet<String> nodes = new TreeSet<>(names);
        nodes.add("wilS");
        assertEquals(nodes, ClusterRecordTest.names(recorded), "a host was lost:\n" + recorded.toJson());
        List<String> lines = Files.readAllLines(knownHosts);
        for (Sshd host : hosts) {
            assertTrue(lines.stream().anyMatch(line -> line.startsWith("[127.0.0.1]:" + host.port + " ")),
                "lost the host key of port " + host.port + ":\n" + String.join("\n", lines));
        }
        assertEquals(names.size(), lines.size(), String.join("\n", lines));
    }

    private void run(List<String> names, List<Sshd> hosts, Path start, Path kubeconfig, Path dir, Path knownHosts)
            throws Exception {
        List<Process> steps = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            Sshd host = hosts.get(i);
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            ProcessBuilder builder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "ConcurrentStepsTest$Step", start.toString(), kubeconfig.toString(), dir.toString(), name,
                knownHosts.toString(), host.user, String.valueOf(host.port), host.clientKey.toString());
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
    }

    /** One step's writes once the start file is there: START KUBECONFIG FOLDER NAME KNOWN_HOSTS USER PORT KEY. */
    static final class Step {
        public static void main(String... args) throws Exception {
            Path start = Path.of(args[0]);
            while (!Files.exists(start)) Thread.onSpinWait();
            Log log = new Log(new PrintWriter(System.err, true), args[3], null);
            Ssh.Target target = Ssh.Target.ofAddress(args[5] + "@127.0.0.1", Integer.parseInt(args[6]),
                Path.of(args[7]), Path.of(args[4]), Ssh.HostKeyCheck.ACCEPT_NEW);
            Ssh.connect(target, java.time.Duration.ofSeconds(10), log).close();
            String url = "https://192.168.59." + (120 + args[3].charAt(2) - '0') + ":6443";
            Path kubeconfig = Path.of(args[1]);
            KubeconfigFile.mergeInto(kubeconfig, Kubeconfig.forHost(KubeconfigLockTest.K3S_YAML, url, args[3]),
                false, log);
            Cluster read = ClusterRecordTest.cluster(Path.of(args[2]));
            ClusterFolder.updateCluster(read, recorded -> recorded.withNode(ClusterRecordTest.agent(args[3])), log);
        }
    }
}
