import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10, item 6: a server started with K3s's --https-listen-port N is reached on N everywhere: the
 * cluster JSON's serverUrl (k3s-up), the agents' K3S_URL (the Vagrantfile and agent.sh), the waits, the
 * kubeconfig's server, and a server named with --server-host (its port read from the kubeconfig K3s wrote).
 * The server is the K3s STAND-IN on loopback, listening on the port it is given, as K3s does.
 */
class ApiPortTest {

    @TempDir Path tmp;
    final List<Process> servers = new ArrayList<>();

    /** Server flags and the port K3s would listen on: both of urfave/cli's forms, one dash or two, the last winning. */
    static final Map<String, Integer> FORMS = Map.of(
        "", 6443,
        "--disable traefik", 6443,
        "--https-listen-port 7443", 7443,
        "--https-listen-port=16443 --disable traefik", 16443,
        "-https-listen-port 1", 1,
        "--https-listen-port 7443 --https-listen-port=65535", 65535);

    @Test
    void k3sUpAndTheVagrantfileTakeThePortFromTheServerFlagsAlike() throws IOException {
        for (var form : FORMS.entrySet()) {
            assertEquals(form.getValue(), ApiPort.fromServerFlags(form.getKey(), "--server-flags"), form.getKey());
            // picocli takes no value that starts like an option ("-https-listen-port 1"): that form is checked above
            if (!form.getKey().startsWith("-https")) {
                Repo.Run dry = Repo.step(new up(), "--dry-run", "--provider", "libvirt",
                    "--server-flags=" + form.getKey());
                assertEquals(0, dry.exit(), form.getKey() + ": " + dry.stderr());
            }
            Repo.Run run = vagrantfile(Map.of("K3S_VAGRANT_SERVER_FLAGS", form.getKey(), "K3S_VAGRANT_SERVERS", "3"));
            assertEquals(0, run.exit(), run.stderr());
            List<String> urls = run.stdout().lines().toList();
            assertEquals(4, urls.size(), "three servers and a worker: " + run.stdout());
            for (String line : urls) {
                assertEquals("https://192.168.56.110:" + form.getValue(), line.split("\t")[1],
                    "every machine joins the first server on its port (" + form.getKey() + "): " + line);
            }
        }
    }

    @Test
    void aPortThatIsNoneIsRefusedByK3sUpAndByTheVagrantfileBeforeAnythingStarts() throws IOException {
        for (String flags : List.of("--https-listen-port 0", "--https-listen-port=65536", "--https-listen-port abc",
                "--https-listen-port 0x1f90", "--https-listen-port 07443", "--disable traefik --https-listen-port")) {
            Cli.Failure failure = assertThrows(Cli.Failure.class,
                () -> ApiPort.fromServerFlags(flags, "--server-flags"), flags);
            assertEquals(Cli.USAGE, failure.exitCode, flags);
            Repo.Run up = Repo.step(new up(), "--dry-run", "--provider", "libvirt", "--server-flags", flags);
            assertEquals(Cli.USAGE, up.exit(), flags + ": " + up.stderr());
            assertTrue(up.stderr().contains("K3s's API port is a number from 1 to 65535 (default 6443)"), up.stderr());
            Repo.Run vagrant = vagrantfile(Map.of("K3S_VAGRANT_SERVER_FLAGS", flags));
            assertNotEquals(0, vagrant.exit(), flags + ": " + vagrant.stdout());
            assertTrue(vagrant.stderr().contains("k3s-vagrant: K3S_VAGRANT_SERVER_FLAGS \"")
                && vagrant.stderr().contains("K3s's API port is a number from 1 to 65535 (default 6443)"),
                vagrant.stderr());
        }
    }

    @Test
    void anAgentJoinsAServerOnAnotherPortWithItInK3sUrl() throws Exception {
        int port = Sshd.freePort();
        Path root = startStandIn(port);
        String url = "https://127.0.0.1:" + port;
        Path token = tmp.resolve("token");
        Files.copy(root.resolve("var/lib/rancher/k3s/server/node-token"), token);
        Repo.Run run = agentSh(url, token, "20");
        assertEquals(0, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("waiting up to 20 s for the K3s server at " + url), run.stderr());
        assertEquals(url, Files.readString(tmp.resolve("k3s-url")).strip());
        // issue 13: a new agent is installed (not started) first, while the server may still be starting, and
        // started once the server answered and its CA matched the token
        assertEquals(List.of("installed, start skipped: true", "systemctl restart k3s-agent"), events());
        assertTrue(run.stderr().indexOf("starting K3s's agent") > run.stderr().indexOf("waiting up to 20 s"),
            run.stderr());
    }

    @Test
    void aNewAgentWhoseServerNeverAnswersIsRemovedAgainAndAnAgentThereAlreadyIsNotTouched() throws Exception {
        String url = "https://127.0.0.1:" + Sshd.freePort(); // nothing listens there
        Path token = Files.writeString(tmp.resolve("token"), "K10abc::server:secret\n");
        Repo.Run run = agentSh(url, token, "2");
        assertNotEquals(0, run.exit());
        assertTrue(run.stderr().contains("removing the agent installed above: it never started"), run.stderr());
        assertEquals(List.of("installed, start skipped: true", "uninstalled"), events(), "never started");

        // a host joining a running server (k3s-join: no INSTALL_WHILE_SERVER_STARTS): nothing before it answers
        Files.delete(tmp.resolve("events"));
        Files.delete(tmp.resolve("bin-dir/k3s-agent-uninstall.sh"));
        Repo.Run joining = agentSh(url, token, "2", Map.of());
        assertNotEquals(0, joining.exit());
        assertTrue(joining.stderr().contains("did not answer within 2 s"), joining.stderr());
        assertTrue(Files.notExists(tmp.resolve("events")), "neither installed nor removed");

        // an agent installed before (its uninstall script is there): nothing changes before the server answers
        Files.writeString(tmp.resolve("token"), "K10abc::server:secret\n");
        writeScript(tmp.resolve("bin-dir/k3s-agent-uninstall.sh"), "echo uninstalled >> " + tmp.resolve("events"));
        Repo.Run again = agentSh(url, token, "2");
        assertNotEquals(0, again.exit());
        assertTrue(again.stderr().contains("did not answer within 2 s"), again.stderr());
        assertTrue(Files.notExists(tmp.resolve("events")), "neither installed nor removed");
    }

    /**
     * agent.sh under a folder of its own (MACHINE_ROOT, the binaries in tmp/bin-dir) with K3s's installer and
     * systemctl as stand-ins noting what they do on tmp/events (the installer: its K3S_URL too, on tmp/k3s-url, and
     * the uninstall script K3s's writes): the waits and the token check are real.
     */
    private Repo.Run agentSh(String url, Path token, String apiWait) throws IOException {
        return agentSh(url, token, apiWait, Map.of("INSTALL_WHILE_SERVER_STARTS", "1")); // as the Vagrantfile says
    }

    private Repo.Run agentSh(String url, Path token, String apiWait, Map<String, String> more) throws IOException {
        Path events = tmp.resolve("events");
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path binDir = Files.createDirectories(tmp.resolve("bin-dir"));
        writeScript(bin.resolve("systemctl"), "case \"$1\" in is-active) exit 3 ;; esac; echo \"systemctl $*\" >> "
            + events);
        Path airgap = Files.createDirectories(tmp.resolve("airgap"));
        String uninstall = "\"$INSTALL_K3S_BIN_DIR/k3s-agent-uninstall.sh\"";
        Files.writeString(airgap.resolve("install.sh"), "printf '%s\\n' \"$K3S_URL\" > " + tmp.resolve("k3s-url")
            + "\necho \"installed, start skipped: $INSTALL_K3S_SKIP_START\" >> " + events
            + "\nprintf '#!/bin/sh\\necho uninstalled >> " + events + "\\n' > " + uninstall
            + "\nchmod 755 " + uninstall + "\n");
        Files.writeString(airgap.resolve("k3s"), "");
        Map<String, String> env = new java.util.HashMap<>(Map.of("PATH", bin + ":" + System.getenv("PATH"),
            "NODE_IP", "127.0.0.1", "FLANNEL_IFACE", "lo", "TOKEN_FILE", token.toString(), "SERVER_URL", url,
            "AIRGAP_DIR", airgap.toString(), "API_WAIT", apiWait, "INSTALL_K3S_BIN_DIR", binDir.toString(),
            "MACHINE_ROOT", tmp.resolve("root").toString()));
        env.putAll(more);
        return Repo.exec(List.of("bash", Repo.root().resolve("provision/agent.sh").toString()), tmp, env, null, 90);
    }

    private List<String> events() throws IOException {
        return Files.readAllLines(tmp.resolve("events"));
    }

    @Test
    void theWaitForAServerThatIsDownNamesItsPort() {
        ProvisionTest.requireTool("curl", "apt-get install curl");
        int port = Sshd.freePort(); // nothing listens there
        Repo.Run run = Repo.exec(List.of("bash", "-c", ". provision/k3s-common.sh && wait_for_server \"$1\"", "wait",
            "https://127.0.0.1:" + port), Repo.root(), Map.of("API_WAIT", "2"), null, 60);
        assertNotEquals(0, run.exit());
        assertTrue(run.stderr().contains("is " + port + "/tcp open between the machines?"), run.stderr());
    }

    @Test
    void aServerNamedByItsHostIsReachedOnThePortItsKubeconfigNames() throws Exception {
        int port = Sshd.freePort();
        Path root = startStandIn(port);
        // K3s writes its --https-listen-port into the kubeconfig (pkg/server/server.go, writeKubeConfig)
        String k3sYaml = Files.readString(root.resolve("etc/rancher/k3s/k3s.yaml"));
        assertTrue(k3sYaml.contains("server: https://127.0.0.1:" + port + "\n"), k3sYaml);

        ClusterSource options = new ClusterSource();
        options.serverHost = "ubuntu@127.0.0.1";
        Cluster named = options.cluster();
        assertEquals("https://127.0.0.1:6443", named.serverUrl(), "K3s's default until the server is read");
        Cluster cluster = options.withApiPortOf(named, k3sYaml);
        assertEquals("https://127.0.0.1:" + port, cluster.serverUrl());
        // the kubeconfig k3s-kubeconfig writes keeps it
        assertEquals(cluster.serverUrl(), Kubeconfig.forHost(k3sYaml, cluster.serverUrl(), "edge")
            .get("clusters").get(0).get("cluster").get("server").asText());
        // and the server answers there, as agents reach it
        Repo.Run ping = Repo.exec(List.of("curl", "-ksf", cluster.serverUrl() + "/ping"), tmp, Map.of(), null, 30);
        assertEquals("pong", ping.stdout().strip(), ping.stderr());

        // a cluster JSON's serverUrl is kept as it is
        ClusterSource piped = new ClusterSource();
        assertEquals(cluster, piped.withApiPortOf(cluster, k3sYaml.replace(":" + port, ":1")));
        Cli.Failure notK3s = assertThrows(Cli.Failure.class,
            () -> options.withApiPortOf(named, k3sYaml.replace("https://127.0.0.1:" + port, "http://127.0.0.1")));
        assertTrue(notK3s.getMessage().contains("not https://ADDRESS:PORT as K3s writes it"), notK3s.getMessage());
    }

    @AfterEach
    void stopServers() {
        for (Process server : servers) {
            server.descendants().forEach(ProcessHandle::destroyForcibly);
            server.destroyForcibly();
        }
    }

    // ---------------------------------------------------------------- helpers

    /** provision/Vagrantfile under Ruby with a recorder for Vagrant's config: each machine's SERVER_URL. */
    private Repo.Run vagrantfile(Map<String, String> settings) throws IOException {
        ProvisionTest.requireTool("ruby", "apt-get install ruby");
        Path harness = tmp.resolve("record.rb");
        Repo.vagrantfileRecorder(harness, """
            puts "#{$machine}\\t#{options[:env]["SERVER_URL"]}" if name == :provision && args[0] == "k3s"
            """);
        Map<String, String> env = new java.util.HashMap<>(settings);
        env.put("K3S_VAGRANT_TOKEN_FILE", tmp.resolve("vagrant-token").toString());
        env.put("K3S_VAGRANT_AGENT_TOKEN_FILE", tmp.resolve("vagrant-agent-token").toString());
        List<String> command = new ArrayList<>(List.of("env"));
        for (String key : System.getenv().keySet()) {
            if (key.startsWith("K3S_VAGRANT_") && !env.containsKey(key)) command.addAll(List.of("-u", key));
        }
        command.addAll(List.of("ruby", harness.toString(), Repo.root().resolve("provision/Vagrantfile").toString()));
        return Repo.exec(command, tmp, env, null, 60);
    }

    private static void writeScript(Path file, String body) throws IOException {
        Files.writeString(file, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    /** The K3s stand-in's server on loopback with --https-listen-port, its files under the returned root. */
    private Path startStandIn(int port) throws Exception {
        ProvisionTest.requireTool("curl", "apt-get install curl");
        Path root = tmp.resolve("root-" + port);
        ProcessBuilder builder = new ProcessBuilder(Repo.root().resolve("tests/k3s-standin/k3s").toString(), "server",
            "--node-ip", "127.0.0.1", "--bind-address", "127.0.0.1", "--https-listen-port", Integer.toString(port),
            "--node-name", "port-test").redirectErrorStream(true)
            .redirectOutput(tmp.resolve("server-" + port + ".log").toFile());
        builder.environment().put("K3S_STANDIN_ROOT", root.toString());
        builder.environment().put("K3S_TOKEN", "port-test-secret");
        servers.add(builder.start());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            Repo.Run ping = Repo.exec(List.of("curl", "-ksf", "--max-time", "2",
                "https://127.0.0.1:" + port + "/ping"), tmp, Map.of(), null, 10);
            if (ping.exit() == 0 && Files.exists(root.resolve("etc/rancher/k3s/k3s.yaml"))) return root;
            Thread.sleep(300);
        }
        fail("the K3s stand-in did not answer on port " + port + " within 30 s");
        return root;
    }
}
