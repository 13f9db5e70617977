import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Values from the cluster JSON (or a remote host) never run as commands. First wall: a
 * hostile value in the JSON is refused when it is read (exit 4 naming the field), before
 * any SSH connection. Second wall: a value that reaches a remote command anyway is one
 * quoted word there. Against a real OpenSSH server on 127.0.0.1 (see Sshd), whose every
 * login its log records; a marker file that a broken-out command would create tells.
 */
class CommandInjectionTest {
    @RegisterExtension
    static final Sshd sshd = Sshd.perClass();

    /** Lowercase (Nodes.nodeName lowercases node names) and outside every test's own folder. */
    Path markers;
    Path marker;
    Path knownHosts;

    @BeforeEach
    void makeMarkerFolder() throws IOException {
        markers = Files.createTempDirectory("k3sv-injection-");
        assertEquals(markers.toString().toLowerCase(Locale.ROOT), markers.toString());
        marker = markers.resolve("ran");
        knownHosts = markers.resolve("known_hosts");
    }

    @AfterEach
    void removeMarkerFolder() {
        Repo.deleteTree(markers);
    }

    /** A cluster whose server and one agent are this sshd, as k3s-join writes SSH hosts. */
    private ObjectNode cluster() {
        ObjectNode doc = Cluster.JSON.createObjectNode();
        doc.put("format", Cluster.FORMAT);
        doc.put("name", "edge");
        doc.put("serverUrl", "https://127.0.0.1:6443");
        var nodes = doc.putArray("nodes");
        for (String[] node : new String[][] {{"srv", "server", "127.0.0.1"}, {"agent1", "agent", "127.0.0.2"}}) {
            ObjectNode n = nodes.addObject();
            n.put("name", node[0]);
            n.put("role", node[1]);
            n.put("ip", node[2]);
            ObjectNode ssh = n.putObject("ssh");
            ssh.put("address", sshd.user + "@127.0.0.1");
            ssh.put("port", sshd.port);
            ssh.put("key", sshd.clientKey.toString());
        }
        return doc;
    }

    private static ObjectNode node(ObjectNode doc, int index) {
        return (ObjectNode) doc.get("nodes").get(index);
    }

    // ---------------------------------------------------------------- first wall: the JSON is checked when read

    @Test
    void leaveWithANodeNameHoldingACommandExits4AndRunsNothing() {
        String hostile = "w;touch " + marker;
        ObjectNode doc = cluster();
        node(doc, 1).put("name", hostile);
        int logins = logins();

        Repo.Run run = step(new leave(), doc.toString(), "--cluster", "-", "--node", hostile,
            "--known-hosts", knownHosts.toString());

        assertFalse(Files.exists(marker), "the node name ran as a command on the server: " + run.stderr());
        assertEquals(Cli.BAD_INPUT, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("node 2: 'name'"), "names the field: " + run.stderr());
        assertEquals("", run.stdout());
        assertEquals(logins, logins(), "no SSH login may happen for a refused document");
    }

    /** One field of a valid document made hostile, and how the message names it. */
    static Stream<Arguments> hostileFields() {
        List<Arguments> cases = new ArrayList<>();
        cases.add(hostile("node name with ;", "node 2: 'name'", (d, m) -> node(d, 1).put("name", "w;touch " + m)));
        cases.add(hostile("node name with $(...)", "node 2: 'name'",
            (d, m) -> node(d, 1).put("name", "$(touch " + m + ")")));
        cases.add(hostile("server name with a newline", "node 1: 'name'",
            (d, m) -> node(d, 0).put("name", "srv\ntouch " + m)));
        cases.add(hostile("node name starting with -", "node 2: 'name'", (d, m) -> node(d, 1).put("name", "-agent")));
        cases.add(hostile("ip with ;", "node 2: 'ip'", (d, m) -> node(d, 1).put("ip", "127.0.0.2;touch " + m)));
        cases.add(hostile("ip as a host name", "node 1: 'ip'", (d, m) -> node(d, 0).put("ip", "localhost")));
        cases.add(hostile("serverUrl with quotes", "'serverUrl'",
            (d, m) -> d.put("serverUrl", "https://127.0.0.1';true;'x:6443")));
        cases.add(hostile("serverUrl with $(...)", "'serverUrl'",
            (d, m) -> d.put("serverUrl", "https://$(true):6443")));
        cases.add(hostile("serverUrl with a port out of range", "'serverUrl'",
            (d, m) -> d.put("serverUrl", "https://127.0.0.1:99999")));
        cases.add(hostile("relative vagrantDir", "'vagrantDir'", (d, m) -> d.put("vagrantDir", "clusters/edge")));
        cases.add(hostile("vagrantDir with a newline", "'vagrantDir'",
            (d, m) -> d.put("vagrantDir", "/tmp/x\nK3S_VAGRANT_BOX=evil")));
        cases.add(hostile("vagrantMachine leaving .vagrant", "node 2: 'ssh.vagrantMachine'", (d, m) -> {
            d.put("vagrantDir", m.getParent().toString());
            ssh(d, 1).put("vagrantMachine", "../../x");
        }));
        cases.add(hostile("ssh.address with ;", "node 1: 'ssh.address'",
            (d, m) -> ssh(d, 0).put("address", "r;touch@127.0.0.1")));
        cases.add(hostile("ssh.port as text", "node 1: 'ssh.port'", (d, m) -> ssh(d, 0).put("port", "22;x")));
        cases.add(hostile("ssh.port out of range", "node 1: 'ssh.port'", (d, m) -> ssh(d, 0).put("port", 0)));
        cases.add(hostile("cluster name with ;", "stdin: 'name'", (d, m) -> d.put("name", "edge;touch " + m)));
        return cases.stream();
    }

    private static ObjectNode ssh(ObjectNode doc, int index) {
        return (ObjectNode) node(doc, index).get("ssh");
    }

    private static Arguments hostile(String what, String field, BiConsumer<ObjectNode, Path> edit) {
        return Arguments.of(what, field, edit);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostileFields")
    void aHostileFieldIsRefusedByEveryStepWithExit4NamingItAndNothingRuns(String what, String field,
            BiConsumer<ObjectNode, Path> edit) {
        ObjectNode doc = cluster();
        edit.accept(doc, marker);
        String agentName = node(doc, 1).path("name").asText();
        int logins = logins();
        List<String> common = List.of("--cluster", "-", "--known-hosts", knownHosts.toString());

        List<Callable<Integer>> steps = List.of(new status(), new leave(), new join());
        List<List<String>> args = List.of(common, plus(common, "--node", agentName),
            plus(common, "--host", sshd.user + "@127.0.0.1", "--ssh-port", String.valueOf(sshd.port),
                "--ssh-key", sshd.clientKey.toString()));
        for (int i = 0; i < steps.size(); i++) {
            Repo.Run run = step(steps.get(i), doc.toString(), args.get(i).toArray(String[]::new));
            String name = steps.get(i).getClass().getSimpleName();
            assertEquals(Cli.BAD_INPUT, run.exit(), what + ", k3s-" + name + ": " + run.stderr());
            assertTrue(run.stderr().contains(field), what + ", k3s-" + name + " names " + field + ": " + run.stderr());
            assertEquals(1, run.stderr().lines().count(), "one line: " + run.stderr());
            assertEquals("", run.stdout());
        }
        assertFalse(Files.exists(marker), what + ": a command ran");
        assertEquals(logins, logins(), what + ": no SSH login may happen for a refused document");
    }

    @Test
    void whatK3sUpAndK3sJoinWriteIsStillRead() {
        // mixed-case Vagrant machine names (wilS, wilSW2), a joined host's dotted host name, a DNS server URL
        ObjectNode doc = cluster();
        doc.put("vagrantDir", "/home/wil/.k3s-vagrant/clusters/wil");
        doc.put("serverUrl", "https://k3s.example.org:6443");
        node(doc, 0).put("name", "wilS");
        ((ObjectNode) node(doc, 0).get("ssh")).removeAll().put("vagrantMachine", "wilS");
        node(doc, 1).put("name", "pi-4.lan");
        Cluster cluster = Cluster.parse(doc.toString(), "stdin");
        assertEquals(List.of("wilS", "pi-4.lan"), cluster.nodes().stream().map(Cluster.Node::name).toList());
        assertEquals(StepInputTest.CLUSTER, Cluster.parse(StepInputTest.CLUSTER.toJson(), "stdin"));
    }

    // ---------------------------------------------------------------- second wall: quoted in remote commands

    /** Values that break out of a command unless quoted; each would create the marker. */
    private List<String> breakouts() {
        String touch = "touch " + marker;
        return List.of("w;" + touch, "$(" + touch + ")", "`" + touch + "`", "x' ; " + touch + " ; '",
            "x\" ; " + touch + " ; \"",
            "x\n" + touch, "x && " + touch, "x | " + touch, "'\\''; " + touch + " #");
    }

    @Test
    void shellQuoteHandsEveryValueOverAsOneWordThatRunsNothing() {
        try (Ssh ssh = connect()) {
            for (String value : breakouts()) {
                String command = "printf '%s|' " + Shell.quote(value) + " " + Shell.quote("second");
                Ssh.Result result = ssh.exec(command, null, Duration.ofSeconds(20));
                assertEquals(0, result.exitStatus(), value + ": " + result.stderr());
                assertEquals(value + "|second|", result.stdout(), "arrives as one word, unchanged");
                assertFalse(Files.exists(marker), "ran: " + value);
            }
        }
    }

    @Test
    void deletingANodeWhoseNameHoldsACommandRunsNoCommand() {
        try (Ssh ssh = connect()) {
            for (String name : breakouts()) {
                K3sServer.deleteNode(ssh, name);
                assertFalse(Files.exists(marker), "the node name ran on the server: " + name);
            }
        }
    }

    @Test
    void checkingAnExistingJoinWithValuesHoldingACommandRunsNoCommand() {
        try (Ssh ssh = connect()) {
            for (String value : breakouts()) {
                // the server URL no longer reaches the host at all; the folder and command the check reads do
                assertFalse(AgentOnHost.read(ssh, markers + "/root" + value, "systemctl" + value,
                    "rc-service" + value).present());
                assertFalse(Files.exists(marker), "a value ran on the joining host: " + value);
                assertFalse(AgentOnHost.holdsToken(ssh, markers + "/root" + value, "K10abc::node:secret".getBytes()));
                assertFalse(Files.exists(marker), "a value ran on the joining host: " + value);
            }
        }
    }

    @Test
    void removingAnInstallFolderWithACommandInItsNameRunsNoCommand() throws IOException {
        Path keep = Files.createDirectories(markers.resolve("keep"));
        try (Ssh ssh = connect()) {
            for (String value : breakouts()) {
                ssh.exec(InstallFolder.stopAndRemove(ssh, markers + "/k3s-join.x" + value), null,
                    Duration.ofSeconds(20));
                assertFalse(Files.exists(marker), "the folder name ran on the host: " + value);
            }
            // and what it is for still works: the folder named goes, nothing else
            Path dir = Files.createDirectories(markers.resolve("k3s-join.abc123"));
            Files.writeString(dir.resolve("token"), "secret");
            assertTrue(ssh.exec(InstallFolder.stopAndRemove(ssh, dir.toString()), null, Duration.ofSeconds(20)).ok());
            assertFalse(Files.exists(dir));
            assertTrue(Files.isDirectory(keep));
        }
    }

    // ---------------------------------------------------------------- flags whose values reach files or commands

    static Stream<Arguments> hostileUpFlags() {
        return Stream.of(
            Arguments.of(List.of("--server-flags", "--disable traefik\nK3S_VAGRANT_AIRGAP_DIR=/etc"), "--server-flags"),
            Arguments.of(List.of("--server-flags", "--tls-san $(touch /tmp/x)"), "--server-flags"),
            Arguments.of(List.of("--agent-flags", "--node-label 'team=a'"), "--agent-flags"),
            Arguments.of(List.of("--agent-flags", "--node-label \"team=a\""), "--agent-flags"),
            Arguments.of(List.of("--agent-flags", "--node-label `id`"), "--agent-flags"),
            Arguments.of(List.of("--box", "bento/debian-13\nK3S_VAGRANT_LOGIN=x"), "--box"),
            Arguments.of(List.of("--box", "a'b"), "--box"),
            Arguments.of(List.of("--libvirt-cpu-model", "qemu64\nK3S_VAGRANT_BOX=x"), "--libvirt-cpu-model"),
            Arguments.of(List.of("--name", "wil;touch"), "--name"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostileUpFlags")
    void upRefusesFlagsThatWouldSplitClusterEnvOrRunInTheMachines(List<String> flags, String option) {
        Path clusterDir = markers.resolve("cluster");
        List<String> args = new ArrayList<>(flags);
        // --dry-run: a flag that passed would end there, having written nothing either
        args.addAll(List.of("--provider", "libvirt", "--dir", clusterDir.toString(), "--dry-run"));
        Repo.Run run = Repo.step(new up(), args.toArray(String[]::new));
        assertEquals(Cli.USAGE, run.exit(), flags + ": " + run.stderr());
        assertTrue(run.stderr().startsWith("k3s-up: " + option + " "), "names " + option + ": " + run.stderr());
        assertEquals(1, run.stderr().lines().count(), "one line, the value's line break shown as \\n: " + run.stderr());
        assertEquals("", run.stdout());
        assertFalse(Files.exists(clusterDir));
    }

    @Test
    void upStillTakesUsualK3sFlagsAndBoxes() {
        String flags = "--disable traefik,servicelb --node-label team=a "
            + "--kubelet-arg=eviction-hard=memory.available<100Mi";
        Repo.Run run = Repo.step(new up(), "--provider", "libvirt", "--dir", markers.resolve("cluster").toString(),
            "--dry-run", "--server-flags", flags, "--agent-flags", "--node-taint dedicated=edge:NoSchedule",
            "--box", "bento/debian-13",
            "--libvirt-cpu-model", "qemu64");
        assertEquals(0, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("K3S_VAGRANT_SERVER_FLAGS=" + flags + "\n"), run.stderr());
    }

    @Test
    void joinRefusesHostileFlagsBeforeAnyLogin() {
        int logins = logins();
        String host = sshd.user + "@127.0.0.1";
        List<List<String>> cases = List.of(
            List.of("--host", host, "--agent-flags", "--node-label a=b\ntouch " + marker),
            List.of("--host", host, "--agent-flags", "--node-label $(touch " + marker + ")"),
            List.of("--host", "r;touch@127.0.0.1"),
            List.of("--machine", "../../x"));
        for (List<String> flags : cases) {
            List<String> args = new ArrayList<>(List.of("--cluster", "-", "--known-hosts", knownHosts.toString(),
                "--ssh-port", String.valueOf(sshd.port), "--ssh-key", sshd.clientKey.toString()));
            args.addAll(flags);
            Repo.Run run = step(new join(), cluster().toString(), args.toArray(String[]::new));
            assertEquals(Cli.USAGE, run.exit(), flags + ": " + run.stderr());
            assertTrue(run.stderr().startsWith("k3s-join: " + flags.get(flags.size() - 2) + " "), run.stderr());
            assertEquals("", run.stdout());
        }
        assertFalse(Files.exists(marker));
        assertEquals(logins, logins(), "no SSH login for refused flags");
    }

    @Test
    void serverFlagsThatWouldMakeABadClusterJsonAreRefusedBeforeAnyLogin() {
        int logins = logins();
        List<String> reach = List.of("--server-ssh-port", String.valueOf(sshd.port),
            "--server-ssh-key", sshd.clientKey.toString(), "--known-hosts", knownHosts.toString());
        List<List<String>> cases = List.of(
            List.of("--server-host", sshd.user + "@127.0.0.1", "--name", "edge;touch"),
            List.of("--server-host", sshd.user + "@127.0.0.1;touch"),
            List.of("--server-machine", "../../x", "--vagrant-dir", markers.toString(),
                "--server-ip", "192.168.56.110"));
        for (List<String> flags : cases) {
            List<String> args = new ArrayList<>(reach);
            args.addAll(flags);
            Repo.Run run = step(new status(), "", args.toArray(String[]::new));
            assertEquals(Cli.USAGE, run.exit(), flags + ": " + run.stderr());
            assertEquals("", run.stdout());
        }
        assertEquals(logins, logins(), "no SSH login for refused flags");
    }

    // ---------------------------------------------------------------- helpers

    private Ssh connect() {
        Ssh.Target target = Ssh.Target.ofAddress(sshd.user + "@127.0.0.1", sshd.port, sshd.clientKey, knownHosts,
            Ssh.HostKeyCheck.ACCEPT_NEW);
        return Ssh.connect(target, Duration.ZERO, null);
    }

    /** SSH logins sshd has accepted so far. */
    private static int logins() {
        return (int) sshd.log().lines().filter(line -> line.contains("Accepted publickey")).count();
    }

    private static List<String> plus(List<String> base, String... more) {
        List<String> all = new ArrayList<>(base);
        all.addAll(List.of(more));
        return all;
    }

    /** A step in-process with the document on its stdin. */
    private static Repo.Run step(Callable<Integer> command, String stdin, String... args) {
        ByteArrayInputStream in = new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8));
        if (command instanceof leave l) l.server.stdin = in;
        if (command instanceof status s) s.server.stdin = in;
        if (command instanceof join j) j.server.stdin = in;
        return Repo.step(command, args);
    }
}
