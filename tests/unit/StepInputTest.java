import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.LinkOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What the steps accept and refuse before they touch anything: the cluster JSON
 * (Cluster.parse, and join/kubeconfig reading it on stdin), up's flags, and missing tools
 * (real `bin/jbang k3s-up` processes with a PATH that lacks vagrant, or VBoxManage).
 */
class StepInputTest {

    @TempDir Path tmp;

    /** The PATH folder of symlinks: outside @TempDir, whose cleanup warns about every link. */
    private Path bin;

    @AfterEach
    void removeBin() throws IOException {
        if (bin == null) return;
        try (Stream<Path> files = Files.walk(bin)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(file);
        }
    }

    static final Cluster CLUSTER = new Cluster("wil", "libvirt", "/home/wil/.k3s-vagrant/clusters/wil",
        "https://192.168.56.110:6443",
        List.of(
            new Cluster.Node("wilS", "server", "192.168.56.110", Cluster.Access.vagrant("wilS")),
            new Cluster.Node("wilSW", "agent", "192.168.56.111", Cluster.Access.vagrant("wilSW")),
            new Cluster.Node("pi", "agent", "192.168.56.20",
                new Cluster.Access(null, "pi@192.168.56.20", 2222, "/home/wil/.ssh/id_ed25519"))),
        new Cluster.KubeconfigRef("/home/wil/.kube/config", "wil"));

    // ---------------------------------------------------------------- the cluster JSON

    @Test
    void parseReadsWhatToJsonWrites() {
        String json = CLUSTER.toJson();
        assertTrue(json.contains("\"format\" : \"k3s-vagrant/cluster/v1\""), json);
        Cluster back = Cluster.parse(json, "stdin");
        assertEquals(CLUSTER, back);
        assertEquals(json, back.toJson());
        assertEquals("wilS", back.server().name());

        // SSH nodes only: no provider, no vagrantDir, no kubeconfig
        Cluster ssh = new Cluster("edge", null, null, "https://192.168.56.2:6443",
            List.of(new Cluster.Node("edge1", "server", "192.168.56.2",
                new Cluster.Access(null, "ubuntu@192.168.56.2", 22, null))), null);
        assertEquals(ssh, Cluster.parse(ssh.toJson(), "stdin"));
    }

    private static ObjectNode validDocument() {
        try {
            return (ObjectNode) Cluster.JSON.readTree(CLUSTER.toJson());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static String edited(Consumer<ObjectNode> edit) {
        ObjectNode doc = validDocument();
        edit.accept(doc);
        return doc.toString();
    }

    /** Bad documents, each a valid one with one thing changed, and what the message must say. */
    static Stream<Arguments> badDocuments() {
        String valid = CLUSTER.toJson();
        return Stream.of(
            Arguments.of("empty text", "", "is empty"),
            Arguments.of("only blanks", "  \n", "is empty"),
            Arguments.of("truncated JSON", valid.substring(0, valid.length() / 2), "is not valid JSON"),
            Arguments.of("a JSON array", "[" + valid + "]", "is not a JSON object"),
            Arguments.of("another tool's JSON", "{\"apiVersion\": \"v1\", \"kind\": \"Config\", \"clusters\": []}",
                "is not a k3s-vagrant cluster document"),
            Arguments.of("a newer format", edited(d -> d.put("format", "k3s-vagrant/cluster/v2")),
                "k3s-vagrant/cluster/v2"),
            Arguments.of("no serverUrl", edited(d -> d.remove("serverUrl")), "'serverUrl' is missing"),
            Arguments.of("a node with an unknown role",
                edited(d -> ((ObjectNode) d.get("nodes").get(1)).put("role", "master")),
                "role 'master'"),
            Arguments.of("no server node", edited(d -> ((ObjectNode) d.get("nodes").get(0)).put("role", "agent")),
                "no node with role 'server'"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badDocuments")
    void parseRefusesWithBadInput(String what, String text, String expected) {
        Cli.Failure failure = assertThrows(Cli.Failure.class, () -> Cluster.parse(text, "stdin"), what);
        assertEquals(Cli.BAD_INPUT, failure.exitCode, what);
        assertTrue(failure.getMessage().contains(expected), what + ": '" + expected + "' in: " + failure.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badDocuments")
    void joinAndKubeconfigExit4WithOneLineAndNoStdout(String what, String text, String expected) {
        join join = new join();
        join.server.stdin = stdin(text);
        assertRefusedInput(Repo.step(join, "--machine", "wilSW2"), "k3s-join", expected);

        kubeconfig kubeconfig = new kubeconfig();
        kubeconfig.server.stdin = stdin(text);
        assertRefusedInput(Repo.step(kubeconfig, "--output", tmp.resolve("never-written").toString()), "k3s-kubeconfig",
            expected);
        assertFalse(Files.exists(tmp.resolve("never-written")));
    }

    @Test
    void realJoinAndKubeconfigProcessesRefuseBadStdinTheSameWay() {
        String valid = CLUSTER.toJson();
        Repo.Run join = jbang(List.of("k3s-join", "--machine", "wilSW2"), Map.of(), valid.substring(0, 40));
        assertRefusedInput(withoutJbangLines(join), "k3s-join", "is not valid JSON");
        Repo.Run kubeconfig = jbang(List.of("k3s-kubeconfig"), Map.of(), "[1, 2]");
        assertRefusedInput(withoutJbangLines(kubeconfig), "k3s-kubeconfig", "is not a JSON object");
    }

    private static ByteArrayInputStream stdin(String text) {
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
    }

    private static void assertRefusedInput(Repo.Run run, String step, String expected) {
        assertEquals(Cli.BAD_INPUT, run.exit(), step + " exit code; stderr: " + run.stderr());
        assertEquals("", run.stdout(), step + " must print nothing on stdout");
        List<String> lines = run.stderr().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), step + " prints one line: " + run.stderr());
        assertTrue(lines.get(0).startsWith(step + ": "), lines.get(0));
        assertTrue(lines.get(0).contains(expected), "'" + expected + "' in: " + lines.get(0));
        assertFalse(run.stderr().contains("Exception") || run.stderr().contains("\tat "),
            "no stack trace: " + run.stderr());
    }

    // ---------------------------------------------------------------- up's flags

    static Stream<Arguments> badUpFlags() {
        return Stream.of(
            Arguments.of(List.of("--login", "1wil"), "--login \"1wil\" is not a valid host name"),
            Arguments.of(List.of("--login", "wil_s"), "--login \"wil_s\""),
            Arguments.of(List.of("--server-ip", "192.168.56.256"),
                "--server-ip \"192.168.56.256\" is not an IPv4 address"),
            Arguments.of(List.of("--worker-ip", "wilsw"), "--worker-ip \"wilsw\" is not an IPv4 address"),
            Arguments.of(List.of("--server-ip", "192.168.56.120", "--worker-ip", "192.168.56.120"),
                "are both 192.168.56.120"),
            Arguments.of(List.of("--provider", "virtualbox", "--server-ip", "192.168.100.10",
                "--worker-ip", "192.168.100.11"),
                "\"192.168.100.10\" is outside 192.168.56.0/21"),
            Arguments.of(List.of("--worker-ip", "8.8.8.8"), "\"8.8.8.8\" is not a private address"),
            Arguments.of(List.of("--server-memory", "1023"), "--server-memory \"1023\" MB"),
            Arguments.of(List.of("--worker-memory", "511"), "--worker-memory \"511\" MB"),
            Arguments.of(List.of("--k3s-version", "1.31.4"), "--k3s-version \"1.31.4\" is not a K3s version"),
            Arguments.of(List.of("--k3s-version", "v1.31.4"), "--k3s-version \"v1.31.4\" is not a K3s version"),
            Arguments.of(List.of("--provider", "docker"), "'docker' (--provider) is not supported"),
            Arguments.of(List.of("--airgap-dir", "AIRGAP"), "has no install.sh"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("badUpFlags")
    void upRefusesBadValuesBeforeDoingAnything(List<String> flags, String expected) throws IOException {
        Path clusterDir = tmp.resolve("cluster");
        List<String> args = new ArrayList<>();
        for (String flag : flags) {
            if (flag.equals("AIRGAP")) {
                Path airgap = Files.createDirectories(tmp.resolve("airgap"));
                Files.writeString(airgap.resolve("k3s"), "the binary, but no install.sh\n");
                flag = airgap.toString();
            }
            args.add(flag);
        }
        // a provider is named so no case depends on which providers this machine has
        if (!args.contains("--provider")) args.addAll(List.of("--provider", "libvirt"));
        args.addAll(List.of("--dir", clusterDir.toString()));
        Repo.Run run = Repo.step(new up(), args.toArray(String[]::new));
        assertEquals(Cli.USAGE, run.exit(), args + ": " + run.stderr());
        assertTrue(run.stderr().contains(expected), "'" + expected + "' in: " + run.stderr());
        assertTrue(run.stderr().startsWith("k3s-up: "), "a plain one-line message: " + run.stderr());
        assertEquals("", run.stdout());
        assertFalse(Files.exists(clusterDir), "the cluster folder must not be created for a refused command");
    }

    @Test
    void upDryRunPrintsTheSettingsOnStderrOnlyAndCreatesNothing() {
        Path clusterDir = tmp.resolve("cluster");
        Repo.Run run = Repo.step(new up(), "--dry-run", "--login", "wil", "--provider", "libvirt", "--cpus", "2",
            "--libvirt-driver", "qemu", "--dir", clusterDir.toString());
        assertEquals(0, run.exit(), run.stderr());
        assertEquals("", run.stdout(), "stdout is for the cluster JSON only");
        for (String expected : List.of("cluster folder: " + clusterDir, "K3S_VAGRANT_LOGIN=wil",
            "K3S_VAGRANT_SERVER_IP=192.168.56.110", "K3S_VAGRANT_WORKER_IP=192.168.56.111", "K3S_VAGRANT_CPUS=2",
            "K3S_VAGRANT_LIBVIRT_DRIVER=qemu", "vagrant up --provider libvirt")) {
            assertTrue(run.stderr().contains(expected), "'" + expected + "' in:\n" + run.stderr());
        }
        assertFalse(Files.exists(clusterDir), "--dry-run starts nothing and writes nothing");
    }

    @Test
    void joinNeedsExactlyOneOfHostAndMachine() {
        join none = new join();
        none.server.stdin = stdin(CLUSTER.toJson());
        Repo.Run run = Repo.step(none);
        assertEquals(Cli.USAGE, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("--host") && run.stderr().contains("--machine"), run.stderr());
        assertEquals("", run.stdout());

        join both = new join();
        both.server.stdin = stdin(CLUSTER.toJson());
        assertEquals(Cli.USAGE, Repo.step(both, "--host", "pi@192.168.56.20", "--machine", "wilSW2").exit());
    }

    // ---------------------------------------------------------------- missing tools (real processes)

    @Test
    void upWithoutVagrantExits3NamingVagrantAndHowToInstallIt() throws IOException {
        Path path = pathWithout(Set.of("vagrant"));
        Path clusterDir = tmp.resolve("cluster");
        Repo.Run run = withoutJbangLines(jbang(
            List.of("k3s-up", "--provider", "libvirt", "--dir", clusterDir.toString()),
            Map.of("PATH", path.toString()), null));
        assertEquals(Cli.MISSING_TOOL, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("vagrant is not installed"), run.stderr());
        assertTrue(run.stderr().contains("apt-get install vagrant"), "says how to install it: " + run.stderr());
        assertEquals("", run.stdout());
        assertFalse(Files.exists(clusterDir), "no cluster folder without vagrant");
    }

    @Test
    void upWithVirtualboxButNoVBoxManageExits3NamingVirtualBox() throws IOException {
        ProvisionTest.requireTool("vagrant", "apt-get install vagrant: k3s-up checks it before the provider");
        Path path = pathWithout(Set.of("VBoxManage"));
        Path clusterDir = tmp.resolve("cluster");
        Repo.Run run = withoutJbangLines(jbang(
            List.of("k3s-up", "--provider", "virtualbox", "--dir", clusterDir.toString()),
            Map.of("PATH", path.toString()), null));
        assertEquals(Cli.MISSING_TOOL, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("needs VirtualBox"), run.stderr());
        assertTrue(run.stderr().contains("virtualbox.org"), "says where to get it: " + run.stderr());
        assertEquals("", run.stdout());
        assertFalse(Files.exists(clusterDir), "no cluster folder without VirtualBox");
    }

    @Test
    void upWithNoProviderAtAllExits3ButABadFlagIsStillAUsageError() throws IOException {
        Path path = pathWithout(Set.of("VBoxManage", "virsh"));
        Path clusterDir = tmp.resolve("cluster");
        Map<String, String> env = Map.of("PATH", path.toString(), "VAGRANT_DEFAULT_PROVIDER", "");
        Repo.Run badFlag = withoutJbangLines(jbang(
            List.of("k3s-up", "--workers", "10", "--dir", clusterDir.toString()), env, null));
        assertEquals(Cli.USAGE, badFlag.exit(),
            "the flag is checked before the provider is looked for: " + badFlag.stderr());
        Repo.Run none = withoutJbangLines(jbang(List.of("k3s-up", "--dir", clusterDir.toString()), env, null));
        assertEquals(Cli.MISSING_TOOL, none.exit(), none.stderr());
        assertTrue(none.stderr().contains("no Vagrant provider found: install VirtualBox")
            && none.stderr().contains("apt-get install"), none.stderr());
        assertFalse(Files.exists(clusterDir), "nothing made without a provider");
    }

    @Test
    void anUnsupportedProviderFromTheEnvironmentIsAUsageErrorNamingTheVariable() {
        Path clusterDir = tmp.resolve("cluster");
        Repo.Run run = withoutJbangLines(jbang(List.of("k3s-up", "--dir", clusterDir.toString()),
            Map.of("VAGRANT_DEFAULT_PROVIDER", "docker"), null));
        assertEquals(Cli.USAGE, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("provider 'docker' ($VAGRANT_DEFAULT_PROVIDER) is not supported: use"
            + " virtualbox or libvirt"), run.stderr());
        assertFalse(Files.exists(clusterDir), "nothing made for a refused provider");
    }

    @Test
    void kubeconfigWithoutKubectlOnTheHostSaysSoFirstNamingHowToInstallIt() throws IOException {
        ProvisionTest.requireTool("kubectl", "it is what this test hides");
        Path path = pathWithout(Set.of("kubectl"));
        Path output = tmp.resolve("kube/config");
        Repo.Run run = withoutJbangLines(jbang(List.of("k3s-kubeconfig", "--output", output.toString()),
            Map.of("PATH", path.toString()), "{"));
        String first = run.stderr().lines().findFirst().orElse("");
        assertTrue(first.contains("warning: kubectl is not installed on this host:"
            + " the kubeconfig is written all the same; install kubectl to use it"
            + " (https://kubernetes.io/docs/tasks/tools/"), run.stderr());
        // the step itself goes on without kubectl: here to the bad stdin, as it would without the warning
        assertEquals(Cli.BAD_INPUT, run.exit(), run.stderr());
        assertFalse(Files.exists(output));
    }

    /**
     * A bin folder holding a symlink to every program on this PATH except the named ones:
     * java, bash and the rest stay, so bin/jbang and the step run as usual.
     */
    private Path pathWithout(Set<String> missing) throws IOException {
        bin = Files.createTempDirectory("k3sv-test-bin");
        for (String entry : System.getenv("PATH").split(":")) {
            Path dir = Path.of(entry.isEmpty() ? "." : entry);
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> files = Files.list(dir)) {
                for (Path program : files.toList()) {
                    String name = program.getFileName().toString();
                    if (missing.contains(name) || Files.exists(bin.resolve(name), LinkOption.NOFOLLOW_LINKS)) continue;
                    if (Files.isRegularFile(program) && Files.isExecutable(program)) {
                        Files.createSymbolicLink(bin.resolve(name), program.toAbsolutePath());
                    }
                }
            }
        }
        for (String needed : List.of("java", "bash")) {
            if (!Files.exists(bin.resolve(needed))) fail(needed + " is not on PATH: bin/jbang needs it");
        }
        for (String gone : missing) assertFalse(Files.exists(bin.resolve(gone)), gone + " still reachable");
        return bin;
    }

    /** bin/jbang ARGS from the repository's root (where its catalog defines the aliases). */
    static Repo.Run jbang(List<String> args, Map<String, String> env, String stdin) {
        List<String> command = new ArrayList<>();
        command.add(Repo.root().resolve("bin/jbang").toString());
        command.addAll(args);
        return Repo.exec(command, Repo.root(), env, stdin, 180);
    }

    /** JBang's own notes ("[jbang] Building jar for ...") are not the step's output. */
    static Repo.Run withoutJbangLines(Repo.Run run) {
        String stderr = String.join("\n", run.stderr().lines().filter(l -> !l.startsWith("[jbang] ")).toList());
        return new Repo.Run(run.exit(), run.stdout(), stderr.isEmpty() ? "" : stderr + "\n");
    }
}
