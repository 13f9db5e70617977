import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * provision/ as Vagrant sees it: the real `vagrant validate` / `vagrant status` on a copy
 * of the folder (no VM is created: neither command creates one), the join token the
 * Vagrantfile makes, and shellcheck on every script.
 *
 * The virtualbox provider: this machine has no VirtualBox, and Vagrant checks a
 * Vagrantfile's virtualbox blocks only when it detects VirtualBox. tests/unit/shims/VBoxManage
 * is a TEST STAND-IN that answers only `VBoxManage --version`, so that Vagrant's real
 * VirtualBox config validation runs; a misspelt setting proves it does.
 */
class ProvisionTest {

    @TempDir Path tmp;

    @Test
    void workersCountUpInNameAndAddress() {
        Path dir = copyOfProvision("workers");
        Map<String, String> settings = Map.of("K3S_VAGRANT_LOGIN", "wil", "K3S_VAGRANT_WORKERS", "3");
        assertEquals(Set.of("wilS", "wilSW", "wilSW2", "wilSW3"), machines(dir, settings));
        assertEquals(Set.of("wilS"), machines(dir, Map.of("K3S_VAGRANT_LOGIN", "wil", "K3S_VAGRANT_WORKERS", "0")));
        Repo.Run clash = validate(dir, "libvirt",
            Map.of("K3S_VAGRANT_WORKERS", "3", "K3S_VAGRANT_SERVER_IP", "192.168.56.113"));
        assertNotEquals(0, clash.exit());
        assertTrue(clash.stderr().contains("192.168.56.113 would be both a server's and a worker's address"),
            clash.stderr());
        Repo.Run tooMany = validate(dir, "libvirt",
            Map.of("K3S_VAGRANT_WORKERS", "3", "K3S_VAGRANT_WORKER_IP", "192.168.56.253"));
        assertTrue(tooMany.exit() != 0 && tooMany.stderr().contains("leaves no room for 3 workers"), tooMany.stderr());
    }

    @Test
    void serversCountDownInNameAndAddressAndOnlyOddCountsAreTaken() {
        Path dir = copyOfProvision("servers");
        Map<String, String> settings =
            Map.of("K3S_VAGRANT_LOGIN", "wil", "K3S_VAGRANT_SERVERS", "3", "K3S_VAGRANT_WORKERS", "2");
        assertEquals(Set.of("wilS", "wilS2", "wilS3", "wilSW", "wilSW2"), machines(dir, settings));
        Repo.Run even = validate(dir, "libvirt", Map.of("K3S_VAGRANT_SERVERS", "2"));
        assertTrue(even.exit() != 0 && even.stderr().contains("K3S_VAGRANT_SERVERS \"2\" is not 1, 3, 5 or 7 servers"),
            even.stderr());
        Repo.Run low = validate(dir, "libvirt",
            Map.of("K3S_VAGRANT_SERVERS", "3", "K3S_VAGRANT_SERVER_IP", "192.168.56.2"));
        assertTrue(low.exit() != 0 && low.stderr().contains("leaves no room for 3 servers below it"), low.stderr());
        Repo.Run clash = validate(dir, "libvirt",
            Map.of("K3S_VAGRANT_SERVERS", "3", "K3S_VAGRANT_WORKER_IP", "192.168.56.108"));
        assertTrue(clash.exit() != 0
            && clash.stderr().contains("192.168.56.108 would be both a server's and a worker's address"),
            clash.stderr());
    }

    @Test
    void theFirstServerStartsEtcdAndTheOthersJoinItWithEveryServerInTheirCertificates() throws IOException {
        // server.sh up to K3s's installer, which is a stand-in here that records what it is asked to
        // run; `install` (the copy to /usr/local/bin) and curl (the first server answering, same clock,
        // its CA written where -o says) too
        Path bin = Files.createDirectories(tmp.resolve("ha-bin"));
        writeScript(bin.resolve("install"), "exit 0");
        writeScript(bin.resolve("curl"), "case \"$*\" in *'-D -'*) printf 'HTTP/1.1 200 OK\\r\\nDate: %s\\r\\n\\r\\n' "
            + "\"$(date -u '+%a, %d %b %Y %H:%M:%S GMT')\" ;;\n"
            + "*/cacerts) prev=; for a; do [ \"$prev\" = -o ] && echo the-ca > \"$a\"; prev=$a; done ;; esac; exit 0");
        Path recorded = tmp.resolve("exec-line");
        for (String ha : List.of("init", "join")) {
            Path airgap = Files.createDirectories(tmp.resolve("airgap-" + ha)); // server.sh removes it when done
            Files.writeString(airgap.resolve("install.sh"),
                "printf '%s\\n' \"$INSTALL_K3S_EXEC\" > " + recorded + "; exit 1\n");
            Files.writeString(airgap.resolve("k3s"), "");
            Map<String, String> env = Map.of("PATH", bin + ":" + System.getenv("PATH"), "NODE_IP", "127.0.0.1",
                "FLANNEL_IFACE", "lo",
                "K3S_TOKEN", "t", "HA", ha, "SERVER_IPS", "192.168.56.110,192.168.56.109,192.168.56.108",
                "SERVER_URL", "https://192.168.56.110:6443", "AIRGAP_DIR", airgap.toString(), "API_WAIT", "5");
            Files.deleteIfExists(recorded);
            Repo.Run run = Repo.exec(List.of("bash", Repo.root().resolve("provision/server.sh").toString()), tmp, env,
                null, 60);
            assertTrue(run.stderr().contains("K3s's installer failed"),
                "stops at the installer stand-in: " + run.stderr());
            String line = Files.readString(recorded);
            assertTrue(line.startsWith(ha.equals("init") ? "server --cluster-init "
                : "server --server https://192.168.56.110:6443 "), line);
            assertTrue(line.contains("--tls-san 127.0.0.1 --tls-san 192.168.56.108 --tls-san 192.168.56.109"
                + " --tls-san 192.168.56.110 "), line);
        }
    }

    // issue 10, item 12: K3s's installer copies HTTP(S)_PROXY and NO_PROXY (either case) into K3s's env file
    @Test
    void theHostsProxyReachesK3sEnvFileWithTheClusterInNoProxyAndItsFileIsGoneOnceRead() throws IOException {
        // agent.sh up to K3s's installer, the stand-in's (tests/k3s-standin/install.sh, which writes the env file
        // as K3s's does) under a private root, then stopped: `install`, systemctl and curl are stand-ins too
        Path bin = Files.createDirectories(tmp.resolve("proxy-bin"));
        writeScript(bin.resolve("install"), "exit 0");
        writeScript(bin.resolve("systemctl"), "exit 3");
        writeScript(bin.resolve("curl"), "case \"$*\" in *'-D -'*) printf 'HTTP/1.1 200 OK\\r\\nDate: %s\\r\\n\\r\\n' "
            + "\"$(date -u '+%a, %d %b %Y %H:%M:%S GMT')\" ;;\n"
            + "*/cacerts) prev=; for a; do [ \"$prev\" = -o ] && echo the-ca > \"$a\"; prev=$a; done ;; esac; exit 0");
        Path root = Files.createDirectories(tmp.resolve("proxy-root"));
        Files.createDirectories(root.resolve("usr/local/bin"));
        writeScript(root.resolve("usr/local/bin/k3s"), "exit 0");
        Path airgap = Files.createDirectories(tmp.resolve("proxy-airgap"));
        Files.writeString(airgap.resolve("install.sh"), "sh " + Repo.root().resolve("tests/k3s-standin/install.sh")
            + " \"$@\"; exit 1\n"); // stopped before the marker in /etc
        Files.writeString(airgap.resolve("k3s"), "");
        Path proxyFile = tmp.resolve("proxy.env");
        Files.writeString(proxyFile, "HTTPS_PROXY=http://user:s3cret@proxy.corp.example:3128\n"
            + "HTTP_PROXY=http://proxy.corp.example:3128\nNO_PROXY=.corp.example,10.0.0.0/8\n");
        Files.setPosixFilePermissions(proxyFile, PosixFilePermissions.fromString("rw-------"));
        Map<String, String> env = new LinkedHashMap<>(Map.of("PATH", bin + ":" + System.getenv("PATH"),
            "NODE_IP", "127.0.0.1", "FLANNEL_IFACE", "lo", "K3S_TOKEN", "t",
            "SERVER_URL", "https://192.168.56.110:6443",
            "AIRGAP_DIR", airgap.toString(), "API_WAIT", "5", "PROXY_FILE", proxyFile.toString(),
            "TOKEN_FILE_REMOVE", "1"));
        env.putAll(Map.of("NO_PROXY_ADDRESSES", "192.168.56.0/24,192.168.56.110,192.168.56.111",
            "K3S_STANDIN_ROOT", root.toString(), "K3S_STANDIN_SYSTEMCTL", "true"));
        Repo.Run run = Repo.exec(List.of("bash", Repo.root().resolve("provision/agent.sh").toString()), tmp, env,
            null, 60);
        assertTrue(run.stderr().contains("K3s's installer failed"), "stops after the installer stand-in: "
            + run.stderr());
        assertTrue(Files.notExists(proxyFile), "the uploaded proxy file is removed once read");
        assertFalse((run.stdout() + run.stderr()).contains("s3cret"), "the proxy's password is never logged: "
            + run.stderr());
        List<String> lines = Files.readAllLines(root.resolve("etc/systemd/system/k3s-agent.service.env"));
        for (String name : List.of("HTTPS_PROXY", "https_proxy")) {
            assertTrue(lines.contains(name + "=http://user:s3cret@proxy.corp.example:3128"), name + " in " + lines);
        }
        assertTrue(lines.contains("http_proxy=http://proxy.corp.example:3128"), "curl reads only this case: " + lines);
        for (String name : List.of("NO_PROXY", "no_proxy")) {
            String value = lines.stream().filter(line -> line.startsWith(name + "=")).findFirst()
                .orElseThrow(() -> new AssertionError(name + " missing from " + lines)).substring(name.length() + 1);
            assertEquals(List.of(".corp.example", "10.0.0.0/8", "192.168.56.0/24", "192.168.56.110", "192.168.56.111",
                "127.0.0.1", "localhost", "10.42.0.0/16", "10.43.0.0/16", ".svc", ".cluster.local"),
                List.of(value.split(",")), "the user's entries, the cluster's, then K3s's own (no duplicates)");
        }
    }

    private static void writeScript(Path file, String body) throws IOException {
        Files.writeString(file, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @Test
    void upRefusesWorkersThatCollideWithTheServerOrLeaveTheirSubnet() {
        Repo.Run clash = Repo.step(new up(), "--dry-run", "--provider", "libvirt", "--workers", "3",
            "--server-ip", "192.168.56.112");
        assertEquals(Cli.USAGE, clash.exit(), clash.stderr());
        Repo.Run tooMany = Repo.step(new up(), "--dry-run", "--provider", "libvirt", "--workers", "10");
        assertEquals(Cli.USAGE, tooMany.exit(), tooMany.stderr());
        Repo.Run even = Repo.step(new up(), "--dry-run", "--provider", "libvirt", "--servers", "2");
        assertEquals(Cli.USAGE, even.exit(), even.stderr());
        assertTrue(even.stderr().contains("--servers \"2\" is not 1, 3, 5 or 7 servers"), even.stderr());
        Repo.Run clashHa = Repo.step(new up(), "--dry-run", "--provider", "libvirt", "--servers", "3",
            "--worker-ip", "192.168.56.109");
        assertEquals(Cli.USAGE, clashHa.exit(), clashHa.stderr());
        assertTrue(clashHa.stderr().contains("192.168.56.109 would be both a server's and a worker's address"),
            clashHa.stderr());
        Repo.Run ha = Repo.step(new up(), "--dry-run", "--provider", "libvirt", "--servers", "3");
        assertEquals(Cli.OK, ha.exit(), ha.stderr());
        assertTrue(ha.stderr().contains("K3S_VAGRANT_SERVERS=3"), ha.stderr());
        Repo.Run fine = Repo.step(new up(), "--dry-run", "--provider", "libvirt", "--workers", "3");
        assertEquals(Cli.OK, fine.exit(), fine.stderr());
        assertTrue(fine.stderr().contains("K3S_VAGRANT_WORKERS=3"), fine.stderr());
    }

    // issue 9, item 10: .0 is the network, .255 its broadcast, .1 the host's own address on the private network
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"--server-ip=192.168.56.1", "--server-ip=192.168.56.255", "--worker-ip=192.168.56.0",
        "--worker-ip=192.168.56.1", "--servers=3 --server-ip=192.168.56.3"})
    void upRefusesTheNetworkBroadcastAndHostAddresses(String flags) {
        List<String> args = new ArrayList<>(List.of("--dry-run", "--provider", "libvirt"));
        args.addAll(List.of(flags.split("[ =]")));
        if (!flags.contains("--worker-ip")) args.addAll(List.of("--worker-ip", "192.168.56.111"));
        Repo.Run run = Repo.step(new up(), args.toArray(String[]::new));
        assertEquals(Cli.USAGE, run.exit(), flags + " should be refused: " + run.stderr());
        assertTrue(run.stderr().matches("(?s).*ends in \\.(0|1|255).*"), run.stderr());
    }

    @Test
    void upRefusesServersAndWorkersInDifferentSubnets() {
        Repo.Run split = Repo.step(new up(), "--dry-run", "--provider", "libvirt", "--worker-ip", "192.168.57.111");
        assertEquals(Cli.USAGE, split.exit(), split.stderr());
        assertTrue(split.stderr().contains("not in one /24"), split.stderr());
    }

    @Test
    void upTakesALoginOfAtMost60Characters() {
        String sixty = "a".repeat(60);
        Repo.Run fits = Repo.step(new up(), "--dry-run", "--provider", "libvirt", "--login", sixty, "--workers", "9");
        assertEquals(Cli.OK, fits.exit(), fits.stderr());
        Repo.Run tooLong = Repo.step(new up(), "--dry-run", "--provider", "libvirt", "--login", sixty + "b");
        assertEquals(Cli.USAGE, tooLong.exit(), tooLong.stderr());
        assertTrue(tooLong.stderr().contains("at most 60 characters"), tooLong.stderr());
    }

    // issue 9, item 10: a download in progress in the K3s cache is a hidden .part file beside the release's files
    @Test
    void theVagrantfileUploadsNoPartialDownloadFromTheAirgapFolder() throws IOException {
        requireTool("ruby", "apt-get install ruby");
        Path airgap = Files.createDirectories(tmp.resolve("cache"));
        for (String name : List.of("install.sh", "k3s", ".k3s.123.part", "k3s-airgap-images-amd64.tar.zst.part")) {
            Files.writeString(airgap.resolve(name), name);
        }
        // provision/Vagrantfile run by Ruby under a recorder standing for Vagrant's configuration object
        Path harness = tmp.resolve("record.rb");
        Repo.vagrantfileRecorder(harness, """
            if name == :provision
              puts "#{args[0]} #{options[:path]} #{options[:upload_path]}"
            end
            """);
        Path vagrantfile = Repo.root().resolve("provision/Vagrantfile");
        Repo.Run run = Repo.exec(List.of("ruby", harness.toString(), vagrantfile.toString()),
            tmp, Map.of("K3S_VAGRANT_WORKERS", "0", "K3S_VAGRANT_AIRGAP_DIR", airgap.toString(),
                "K3S_VAGRANT_TOKEN_FILE", tmp.resolve("token").toString(),
                "K3S_VAGRANT_AGENT_TOKEN_FILE", tmp.resolve("agent-token").toString()), null, 60);
        assertEquals(0, run.exit(), run.stderr());
        // one provisioner: the server's packed script, whose archive holds the air-gap files without any .part
        List<String> uploads = run.stdout().lines().toList();
        assertEquals(1, uploads.size(), uploads.toString());
        assertTrue(uploads.get(0).matches("k3s " + Pattern.quote(tmp.resolve("k3s-upload").toString())
            + "/server-[0-9a-f]{16}\\.sh /tmp/k3s-vagrant\\.sh"), uploads.get(0));
        Path unpacked = MachineUploadTest.unpack(Path.of(uploads.get(0).split(" ")[1]), tmp.resolve("guest"));
        assertEquals(Set.of("k3s-common.sh", "machine.sh", "server.sh", "airgap/install.sh", "airgap/k3s", "token",
            "agent-token"), MachineUploadTest.entries(unpacked));
        for (String name : List.of("install.sh", "k3s")) {
            assertEquals(name, Files.readString(unpacked.resolve("airgap/" + name)), "the cache's file");
        }
    }

    // issue 13: Vagrant's guest detection runs ~17 guest commands (7 s under QEMU) in every vagrant up and provision
    @Test
    void aBoxNamedDebianIsTakenAsDebianWithoutVagrantsGuestDetection() throws IOException {
        requireTool("ruby", "apt-get install ruby");
        Path harness = tmp.resolve("record.rb");
        Repo.vagrantfileRecorder(harness, """
            puts "guest #{args[0]}" if name == :guest=
            """);
        Map<String, String> expected = Map.of("", "guest debian", "k3s-vagrant/debian12-test", "guest debian",
            "generic/ubuntu2204", "", "Debian/Bookworm64", "guest debian");
        for (var box : expected.entrySet()) {
            Map<String, String> env = new LinkedHashMap<>(Map.of("K3S_VAGRANT_WORKERS", "0",
                "K3S_VAGRANT_TOKEN_FILE", tmp.resolve("token").toString(),
                "K3S_VAGRANT_AGENT_TOKEN_FILE", tmp.resolve("agent-token").toString()));
            if (!box.getKey().isEmpty()) env.put("K3S_VAGRANT_BOX", box.getKey());
            Repo.Run run = Repo.exec(List.of("ruby", harness.toString(),
                Repo.root().resolve("provision/Vagrantfile").toString()), tmp, env, null, 60);
            assertEquals(0, run.exit(), run.stderr());
            assertEquals(box.getValue(), run.stdout().strip(), "box '" + box.getKey() + "' (empty: the defaults)");
        }
    }

    // ---------------------------------------------------------------- helpers

    /** A fresh copy of provision/ (Vagrantfile and scripts) in its own folder. */
    private Path copyOfProvision(String name) {
        Path target = tmp.resolve(name);
        try {
            Files.createDirectories(target);
            try (Stream<Path> files = Files.list(Repo.root().resolve("provision"))) {
                for (Path file : files.filter(Files::isRegularFile).toList()) {
                    Files.copy(file, target.resolve(file.getFileName()));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return target;
    }

    /**
     * Runs vagrant in dir with the given settings. K3S_VAGRANT_* variables of the caller's
     * own environment are removed (env -u) so only the test's settings count.
     */
    private static Repo.Run vagrant(Path dir, String provider, Map<String, String> settings, String pathPrefix,
                                    String... args) {
        requireTool("vagrant", "apt-get install vagrant vagrant-libvirt");
        List<String> command = new ArrayList<>(List.of("env"));
        for (String key : System.getenv().keySet()) {
            if (key.startsWith("K3S_VAGRANT_") && !settings.containsKey(key)) command.addAll(List.of("-u", key));
        }
        command.add("vagrant");
        command.addAll(List.of(args));
        Map<String, String> env = new LinkedHashMap<>(settings);
        env.put("VAGRANT_DEFAULT_PROVIDER", provider);
        env.put("VAGRANT_CHECKPOINT_DISABLE", "1"); // no version check over the network
        env.put("VAGRANT_NO_COLOR", "1");
        env.putIfAbsent("USER", "root"); // the default login is then "k3s"
        if (pathPrefix != null) env.put("PATH", pathPrefix + ":" + System.getenv("PATH"));
        return Repo.exec(command, dir, env, null, 120);
    }

    private static Repo.Run validate(Path dir, String provider, Map<String, String> settings) {
        return vagrant(dir, provider, settings, null, "validate");
    }

    /** The machine names `vagrant status --machine-readable` lists. */
    private static Set<String> machines(Path dir, Map<String, String> settings) {
        Repo.Run run = vagrant(dir, "libvirt", settings, null, "status", "--machine-readable");
        assertEquals(0, run.exit(), "vagrant status failed: " + run.stderr() + run.stdout());
        Set<String> names = new TreeSet<>();
        for (String line : run.stdout().split("\n")) {
            String[] fields = line.split(",", 5);
            if (fields.length >= 4 && fields[2].equals("state") && !fields[1].isEmpty()) names.add(fields[1]);
        }
        return names;
    }

    private static void assertValid(Repo.Run run, String what) {
        assertEquals(0, run.exit(),
            what + " should pass `vagrant validate`; stderr:\n" + run.stderr() + "\nstdout:\n" + run.stdout());
        assertTrue(run.stdout().contains("validated successfully"), what + ": " + run.stdout());
    }

    static void requireTool(String tool, String install) {
        if (!Vagrant.onPath(tool)) {
            fail(tool + " is not installed or not on PATH: this test needs it (" + install + ")");
        }
    }

    /** A folder holding the VBoxManage TEST STAND-IN, executable whatever mode git gave the file. */
    private Path vboxShimDir() throws IOException {
        Path bin = Files.createDirectories(tmp.resolve("vbox-shim-bin"));
        Path shim = bin.resolve("VBoxManage");
        Files.copy(Repo.root().resolve("tests/unit/shims/VBoxManage"), shim);
        Files.setPosixFilePermissions(shim, PosixFilePermissions.fromString("rwxr-xr-x"));
        return bin;
    }

    private static final Map<String, String> OVERRIDES = Map.of(
        "K3S_VAGRANT_LOGIN", "wil",
        "K3S_VAGRANT_SERVER_IP", "192.168.57.10",
        "K3S_VAGRANT_WORKER_IP", "192.168.57.11",
        "K3S_VAGRANT_SERVER_MEMORY", "2048",
        "K3S_VAGRANT_WORKER_MEMORY", "1024",
        "K3S_VAGRANT_CPUS", "2",
        "K3S_VAGRANT_LIBVIRT_DRIVER", "qemu",
        "K3S_VAGRANT_LIBVIRT_CPU_MODEL", "qemu64");

    // ---------------------------------------------------------------- libvirt

    @Test
    void defaultsValidateWithLibvirtAndNameTheMachinesAfterTheLogin() {
        Path dir = copyOfProvision("defaults");
        assertValid(validate(dir, "libvirt", Map.of()), "the defaults");
        // USER=root gives the login "k3s"
        assertEquals(Set.of("k3sS", "k3sSW"), machines(dir, Map.of()));
        assertEquals(Set.of("wilsmithS", "wilsmithSW"), machines(dir, Map.of("USER", "Wil.Smith")),
            "the default login is $USER, lowercased, letters/digits/'-' only");
    }

    @Test
    void overridesFromTheEnvironmentValidateWithLibvirt() {
        Path dir = copyOfProvision("overrides");
        assertValid(validate(dir, "libvirt", OVERRIDES), "the overrides " + OVERRIDES);
        assertEquals(Set.of("wilS", "wilSW"), machines(dir, OVERRIDES));
    }

    @Test
    void clusterEnvIsHonouredAndTheEnvironmentWinsOverIt() throws IOException {
        Path dir = copyOfProvision("cluster-env");
        Files.writeString(dir.resolve("cluster.env"),
            "# as k3s-up writes it\n\nK3S_VAGRANT_LOGIN=wil\nK3S_VAGRANT_CPUS=0\n");
        // cluster.env's bad CPUS is read (and refused) ...
        Repo.Run refused = validate(dir, "libvirt", Map.of());
        assertNotEquals(0, refused.exit(), "CPUS=0 from cluster.env should be refused: " + refused.stdout());
        assertTrue(refused.stderr().contains("K3S_VAGRANT_CPUS"), refused.stderr());
        // ... and the environment's value replaces it
        assertValid(validate(dir, "libvirt", Map.of("K3S_VAGRANT_CPUS", "2")),
            "CPUS=2 from the environment over cluster.env's 0");
        assertEquals(Set.of("wilS", "wilSW"), machines(dir, Map.of("K3S_VAGRANT_CPUS", "1")), "LOGIN from cluster.env");
        assertEquals(Set.of("bobS", "bobSW"),
            machines(dir, Map.of("K3S_VAGRANT_CPUS", "1", "K3S_VAGRANT_LOGIN", "bob")),
            "LOGIN from the environment wins over cluster.env");
    }

    static Stream<Arguments> badSettings() {
        return Stream.of(
            Arguments.of(Map.of("K3S_VAGRANT_LOGIN", "1wil"), "K3S_VAGRANT_LOGIN"),
            Arguments.of(Map.of("K3S_VAGRANT_LOGIN", "wil_s"), "K3S_VAGRANT_LOGIN"),
            // issue 9, item 10: <login>SW9 must fit a 63-character host name
            Arguments.of(Map.of("K3S_VAGRANT_LOGIN", "a".repeat(61)), "at most 60 characters"),
            Arguments.of(Map.of("K3S_VAGRANT_SERVER_IP", "192.168.56.1"), "ends in .1, which no machine may take"),
            Arguments.of(Map.of("K3S_VAGRANT_SERVER_IP", "192.168.56.255"), "ends in .255, which no machine may take"),
            Arguments.of(Map.of("K3S_VAGRANT_WORKER_IP", "192.168.56.0"), "ends in .0, which no machine may take"),
            Arguments.of(Map.of("K3S_VAGRANT_SERVERS", "3", "K3S_VAGRANT_SERVER_IP", "192.168.56.3"),
                "ends in .1, which no machine may take"),
            Arguments.of(Map.of("K3S_VAGRANT_WORKER_IP", "192.168.57.111"), "not in one /24"),
            Arguments.of(Map.of("K3S_VAGRANT_SERVER_IP", "192.168.56.300"), "K3S_VAGRANT_SERVER_IP"),
            Arguments.of(Map.of("K3S_VAGRANT_WORKER_IP", "8.8.8.8"),
                "K3S_VAGRANT_WORKER_IP \"8.8.8.8\" is not a private address"),
            Arguments.of(Map.of("K3S_VAGRANT_SERVER_IP", "192.168.56.120", "K3S_VAGRANT_WORKER_IP", "192.168.56.120"),
                "K3S_VAGRANT_SERVER_IP and K3S_VAGRANT_WORKER_IP are both"),
            Arguments.of(Map.of("K3S_VAGRANT_SERVER_MEMORY", "1023"), "K3S_VAGRANT_SERVER_MEMORY \"1023\" MB is below"),
            Arguments.of(Map.of("K3S_VAGRANT_WORKER_MEMORY", "256"), "K3S_VAGRANT_WORKER_MEMORY \"256\" MB is below"),
            Arguments.of(Map.of("K3S_VAGRANT_K3S_VERSION", "1.31.4"), "K3S_VAGRANT_K3S_VERSION"),
            Arguments.of(Map.of("K3S_VAGRANT_AIRGAP_DIR", "AIRGAP_WITHOUT_INSTALL_SH"), "has no install.sh"),
            // Vagrant's shell provisioner puts env values in double quotes: $(...) would run in the machine
            Arguments.of(Map.of("K3S_VAGRANT_SERVER_FLAGS", "--tls-san $(touch /tmp/x)"), "K3S_VAGRANT_SERVER_FLAGS"),
            Arguments.of(Map.of("K3S_VAGRANT_AGENT_FLAGS", "--node-label \"a=b\""), "K3S_VAGRANT_AGENT_FLAGS"),
            // issue 10, item 6: the API port is K3s's --https-listen-port in the server flags
            Arguments.of(Map.of("K3S_VAGRANT_SERVER_FLAGS", "--https-listen-port=70000"), "which is not a port"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("badSettings")
    void badSettingsAreRefusedNamingTheSettingBeforeAnyTokenIsMade(Map<String, String> settings, String expected)
            throws IOException {
        Path dir = copyOfProvision("bad");
        Map<String, String> env = new LinkedHashMap<>(settings);
        if (env.containsValue("AIRGAP_WITHOUT_INSTALL_SH")) {
            Path airgap = Files.createDirectories(tmp.resolve("airgap"));
            Files.writeString(airgap.resolve("k3s"), "not really k3s\n"); // the binary, but no install.sh
            env.put("K3S_VAGRANT_AIRGAP_DIR", airgap.toString());
        }
        Repo.Run run = validate(dir, "libvirt", env);
        assertNotEquals(0, run.exit(), settings + " should be refused; stdout: " + run.stdout());
        assertTrue(run.stderr().contains("k3s-vagrant: "), "the message says who refuses: " + run.stderr());
        assertTrue(run.stderr().contains(expected), "the message should contain '" + expected + "':\n" + run.stderr());
        assertFalse(Files.exists(dir.resolve(".vagrant/k3s-token")),
            "a refused configuration must not make a join token");
    }

    // ---------------------------------------------------------------- virtualbox (with the TEST STAND-IN VBoxManage)

    @Test
    void virtualboxDefaultsAndOverridesValidateWithTheVBoxManageStandIn() throws IOException {
        // TEST STAND-IN: the VBoxManage on PATH only answers --version; Vagrant's own VirtualBox
        // provider then validates the virtualbox blocks for real (see the misspelt-setting test).
        String shim = vboxShimDir().toString();
        Path dir = copyOfProvision("vbox");
        assertValid(vagrant(dir, "virtualbox", Map.of(), shim, "validate"), "the defaults (virtualbox)");
        assertValid(vagrant(dir, "virtualbox", Map.of("K3S_VAGRANT_LOGIN", "wil", "K3S_VAGRANT_CPUS", "2",
            "K3S_VAGRANT_SERVER_MEMORY", "2048", "K3S_VAGRANT_WORKER_MEMORY", "1024",
            "K3S_VAGRANT_SERVER_IP", "192.168.56.10", "K3S_VAGRANT_WORKER_IP", "192.168.56.11"), shim, "validate"),
            "the overrides (virtualbox)");
    }

    @Test
    void aMisspeltVirtualboxSettingFailsWithTheStandInSoTheValidationIsReal() throws IOException {
        Path dir = copyOfProvision("vbox-misspelt");
        Path vagrantfile = dir.resolve("Vagrantfile");
        String text = Files.readString(vagrantfile);
        assertTrue(text.contains("vb.cpus ="), "the Vagrantfile sets vb.cpus: the misspelling below relies on it");
        Files.writeString(vagrantfile, text.replace("vb.cpus =", "vb.cpuz ="));

        // Without VirtualBox detected, Vagrant does not look at the virtualbox block ...
        assertValid(validate(dir, "libvirt", Map.of()), "the misspelt virtualbox setting under libvirt");
        // ... with the TEST STAND-IN VBoxManage it does, and refuses the unknown setting.
        Repo.Run run = vagrant(dir, "virtualbox", Map.of(), vboxShimDir().toString(), "validate");
        assertNotEquals(0, run.exit(), "vb.cpuz must fail VirtualBox's config validation: " + run.stdout());
        assertTrue((run.stderr() + run.stdout()).contains("cpuz"), "the error names the bad setting:\n" + run.stderr());
    }

    // ---------------------------------------------------------------- the join token

    @Test
    void theJoinTokenIs32RandomBytesMode600StablePerFolderAndDifferentPerCluster() throws IOException {
        Path a = copyOfProvision("token-a");
        Path b = copyOfProvision("token-b");
        Path tokenA = a.resolve(".vagrant/k3s-token");
        assertFalse(Files.exists(tokenA));

        assertValid(validate(a, "libvirt", Map.of()), "folder a");
        assertTrue(Files.isRegularFile(tokenA), "vagrant validate should make " + tokenA);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tokenA)),
            "the token is a secret");
        String first = Files.readString(tokenA);
        assertTrue(first.matches("[0-9a-f]{64}\n"),
            "64 hex characters (32 random bytes) and a newline: '" + first + "'");

        assertValid(validate(a, "libvirt", Map.of()), "folder a again");
        assertEquals(first, Files.readString(tokenA),
            "the token must not change between two vagrant commands of one cluster");

        assertValid(validate(b, "libvirt", Map.of()), "folder b");
        assertNotEquals(first, Files.readString(b.resolve(".vagrant/k3s-token")), "each cluster gets its own token");
    }

    @Test
    void theTokensReachTheMachinesAsMode600FilesAndAgentsGetOnlyTheAgentToken() throws IOException {
        // Vagrant logs a provisioner's env at INFO (VAGRANT_LOG=info), and the server token makes its holder an
        // admin: the provisioners are recorded by running the Vagrantfile under Ruby with a recorder for `config`
        Path harness = tmp.resolve("record.rb");
        Repo.vagrantfileRecorder(harness, """
            if name == :provision
              puts [$machine, args[0], options[:type], options[:path], options.inspect].join("\t")
            end
            """);
        Path serverTokenFile = tmp.resolve("token");
        Path agentTokenFile = tmp.resolve("agent-token");
        Repo.Run run = Repo.exec(
            List.of("ruby", harness.toString(), Repo.root().resolve("provision/Vagrantfile").toString()), tmp,
            Map.of("K3S_VAGRANT_SERVERS", "3", "K3S_VAGRANT_WORKERS", "2", "K3S_VAGRANT_LOGIN", "t",
                "K3S_VAGRANT_TOKEN_FILE", serverTokenFile.toString(),
                "K3S_VAGRANT_AGENT_TOKEN_FILE", agentTokenFile.toString()),
            null, 60);
        assertEquals(0, run.exit(), run.stderr());
        assertTrue(Files.isRegularFile(agentTokenFile),
            "the Vagrantfile makes the agent token beside the server token");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(agentTokenFile)));
        String serverToken = Files.readString(serverTokenFile).strip();
        String agentToken = Files.readString(agentTokenFile).strip();
        assertTrue(agentToken.matches("[0-9a-f]{64}"), "32 random bytes: " + agentToken);
        assertNotEquals(serverToken, agentToken);
        List<String> lines = run.stdout().lines().toList();
        assertFalse(lines.isEmpty(), "no provisioner recorded:\n" + run.stderr());
        Map<String, List<String>> sources = new LinkedHashMap<>();
        for (String line : lines) {
            assertFalse(line.contains(serverToken) || line.contains(agentToken),
                "a token in a provisioner's options: " + line);
            String[] f = line.split("\t", -1);
            if (f[2].equals("shell")) sources.computeIfAbsent(f[0], k -> new ArrayList<>()).add(f[3]);
        }
        assertEquals(List.of("tS", "tS2", "tS3", "tSW", "tSW2"), List.copyOf(sources.keySet()));
        sources.forEach((machine, uploaded) -> {
            boolean server = !machine.startsWith("tSW");
            assertEquals(1, uploaded.size(), "one provisioner, the role's packed script: " + uploaded);
            assertTrue(Path.of(uploaded.get(0)).getFileName().toString().startsWith(server ? "server-" : "agent-"));
            try {
                Path unpacked = MachineUploadTest.unpack(Path.of(uploaded.get(0)), tmp.resolve("guest-" + machine));
                assertEquals(server, Files.exists(unpacked.resolve("token")), machine + " holds the server token");
                if (server) MachineUploadTest.assertSecret(unpacked.resolve("token"), serverToken);
                MachineUploadTest.assertSecret(unpacked.resolve("agent-token"), agentToken);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    // issue 10, item 12: a proxy URL may hold a password: a mode-600 file, never a provisioner's env (Vagrant logs it)
    @Test
    void theHostsProxyReachesTheMachinesAsAMode600FileWithTheClusterForNoProxy() throws IOException {
        Path harness = tmp.resolve("record.rb");
        Repo.vagrantfileRecorder(harness, """
            if name == :provision
              detail = "#{options[:path]} #{options[:env].inspect}"
              puts [$machine, options[:type], detail].join("\t")
            end
            """);
        Path proxyFile = tmp.resolve("folder/.vagrant/k3s-proxy.env");
        Map<String, String> settings = Map.of("K3S_VAGRANT_WORKERS", "2", "K3S_VAGRANT_LOGIN", "t",
            "K3S_VAGRANT_TOKEN_FILE", tmp.resolve("token").toString(),
            "K3S_VAGRANT_AGENT_TOKEN_FILE", tmp.resolve("agent-token").toString(),
            "K3S_VAGRANT_PROXY_FILE", proxyFile.toString());
        Map<String, String> proxied = new LinkedHashMap<>(settings);
        proxied.putAll(Map.of("HTTPS_PROXY", "http://user:s3cret@proxy.corp.example:3128",
            "http_proxy", "proxy.corp.example:3128", "no_proxy", ".corp.example, 10.0.0.0/8"));
        Repo.Run run = recordVagrantfile(harness, proxied);
        assertEquals(0, run.exit(), run.stderr());
        assertFalse((run.stdout() + run.stderr()).contains("s3cret"), "no password in a provisioner: " + run.stdout());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(proxyFile)));
        assertEquals("HTTPS_PROXY=http://user:s3cret@proxy.corp.example:3128\nHTTP_PROXY=proxy.corp.example:3128\n"
            + "NO_PROXY=.corp.example,10.0.0.0/8\n", Files.readString(proxyFile));
        List<String> lines = run.stdout().lines().toList();
        for (String machine : List.of("tS", "tSW", "tSW2")) {
            List<String> own = lines.stream().filter(line -> line.startsWith(machine + "\t")).toList();
            String upload = own.stream().filter(line -> line.contains("\tshell\t")).findFirst().orElseThrow();
            Path archive = Path.of(upload.split("\t")[2].split(" ")[0]);
            Path unpacked = MachineUploadTest.unpack(archive, tmp.resolve("guest-" + machine));
            MachineUploadTest.assertSecret(unpacked.resolve("proxy.env"), Files.readString(proxyFile).strip());
            String env = own.stream().filter(line -> line.contains("\tshell\t") && line.contains("PROXY_FILE"))
                .findFirst().orElseThrow();
            assertTrue(env.contains("\"PROXY_FILE\"=>\"/tmp/k3s-vagrant/proxy.env\""), env);
            assertTrue(env.contains("\"NO_PROXY_ADDRESSES\"=>\"192.168.56.0/24,192.168.56.110,192.168.56.111,"
                + "192.168.56.112\""), env);
        }

        Repo.Run none = recordVagrantfile(harness, settings);
        assertEquals(0, none.exit(), none.stderr());
        for (Path archive : MachineUploadTest.entries(tmp.resolve("k3s-upload")).stream()
                .map(tmp.resolve("k3s-upload")::resolve).toList()) {
            Path unpacked = MachineUploadTest.unpack(archive, tmp.resolve("guest-none-" + archive.getFileName()));
            assertTrue(Files.notExists(unpacked.resolve("proxy.env")), "no proxy, no upload");
        }
        assertTrue(Files.notExists(proxyFile), "a proxy no longer set leaves no file holding its password");

        for (var bad : Map.of("http://user:s3cret@proxy.corp.example:3128/path", "HTTPS_PROXY is not a proxy URL",
                "https://user:s3cret@proxy.corp.example:3128", "HTTPS_PROXY names a https:// proxy").entrySet()) {
            Map<String, String> refused = new LinkedHashMap<>(settings);
            refused.put("HTTPS_PROXY", bad.getKey());
            Repo.Run badRun = recordVagrantfile(harness, refused);
            assertNotEquals(0, badRun.exit(), bad.getKey());
            assertTrue(badRun.stderr().contains(bad.getValue()) && badRun.stderr().contains("http://HOST:PORT"),
                badRun.stderr());
            assertFalse(badRun.stderr().contains("s3cret"), badRun.stderr());
        }
    }

    /** The Vagrantfile run by Ruby under harness, with only the given proxy variables of the environment. */
    private Repo.Run recordVagrantfile(Path harness, Map<String, String> env) {
        List<String> command = new ArrayList<>(List.of("env"));
        for (String name : List.of("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")) {
            if (!env.containsKey(name)) command.addAll(List.of("-u", name));
        }
        command.addAll(List.of("ruby", harness.toString(), Repo.root().resolve("provision/Vagrantfile").toString()));
        return Repo.exec(command, tmp, env, null, 60);
    }

    // ---------------------------------------------------------------- the scripts

    @Test
    void shellcheckPassesOnEveryScript() throws IOException {
        requireTool("shellcheck", "apt-get install shellcheck");
        Path root = Repo.root();
        List<Path> scripts = new ArrayList<>();
        try (Stream<Path> files = Files.list(root.resolve("provision"))) {
            files.filter(p -> p.toString().endsWith(".sh")).forEach(scripts::add);
        }
        assertTrue(scripts.size() >= 3, "provision/ should hold k3s-common.sh, server.sh and agent.sh: " + scripts);
        try (Stream<Path> files = Files.walk(root.resolve("tests"))) {
            files.filter(p -> p.toString().endsWith(".sh") && Files.isRegularFile(p)).forEach(scripts::add);
        }
        // the script people run against real K3s is checked here only: CI cannot run it
        assertTrue(scripts.contains(root.resolve("tests/vm/real-k3s-check.sh")),
            "tests/vm/real-k3s-check.sh: " + scripts);
        scripts.add(root.resolve("tests/unit/shims/VBoxManage"));
        List<String> problems = new ArrayList<>();
        for (Path script : scripts) {
            // run in the script's folder so `source` of a sibling (-x) resolves as it does at run time
            Repo.Run run = Repo.exec(List.of("shellcheck", "-x", script.getFileName().toString()), script.getParent(),
                Map.of(), null, 60);
            if (run.exit() != 0) problems.add(root.relativize(script) + ":\n" + run.stdout() + run.stderr());
        }
        assertTrue(problems.isEmpty(), "shellcheck -x found problems:\n" + String.join("\n", problems));
    }

    @Test
    void theVagrantfileDisablesTheVagrantSyncedFolder() throws IOException {
        String vagrantfile = Files.readString(Repo.root().resolve("provision/Vagrantfile"));
        Pattern disabled = Pattern.compile(
            "(?m)^\\s*config\\.vm\\.synced_folder\\s+\"\\.\",\\s*\"/vagrant\",\\s*disabled:\\s*true\\s*$");
        assertTrue(disabled.matcher(vagrantfile).find(), "config.vm.synced_folder \".\", \"/vagrant\", disabled: true");
    }

    @Test
    void theTokenNeverGoesOnACommandLine() throws IOException {
        Path provision = Repo.root().resolve("provision");
        List<String> problems = new ArrayList<>();
        try (Stream<Path> files = Files.list(provision)) {
            for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
                List<String> lines = Files.readAllLines(file);
                for (int i = 0; i < lines.size(); i++) {
                    int first = i;
                    String line = lines.get(i);
                    // a command continued over lines (a trailing backslash) is judged whole
                    while (line.endsWith("\\") && !line.strip().startsWith("#") && i + 1 < lines.size()) {
                        line = line.substring(0, line.length() - 1) + lines.get(++i).strip();
                    }
                    String code = line.strip().startsWith("#") ? "" : line;
                    String where = file.getFileName() + ":" + (first + 1) + ": " + line.strip();
                    if (code.contains("--token")) problems.add(where + "  (a --token flag puts the secret in argv)");
                    boolean shell = file.getFileName().toString().endsWith(".sh");
                    if (shell && expandsToken(code) && !tokenUseIsBuiltin(code)) {
                        problems.add(where + "  ($K3S_TOKEN expanded as an argument of a command)");
                    }
                }
            }
        }
        // Vagrantfile: the tokens reach the machines only as uploaded files (theTokensReachTheMachinesAs...).
        String vagrantfile = Files.readString(provision.resolve("Vagrantfile"));
        assertFalse(vagrantfile.contains("\"K3S_TOKEN\""), "no K3S_TOKEN in a provisioner's env: Vagrant logs it");
        assertFalse(Pattern.compile("\\bargs:|inline:").matcher(vagrantfile).find(),
            "no provisioner arguments or inline scripts");
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    private static boolean expandsToken(String line) {
        return line.matches(".*\\$\\{?K3S_(AGENT_)?TOKEN.*"); // the agent token is a secret too
    }

    /**
     * Expanded only by the shell itself (test, case, an assignment of it or a parameter expansion
     * of it to a variable, printf into a pipe): nothing of it reaches any process's argv.
     */
    private static boolean tokenUseIsBuiltin(String line) {
        String s = line.strip().replaceAll("\\[ -[nz] \"\\$\\{K3S_(AGENT_)?TOKEN:-\\}\" \\]", "[ TEST ]");
        return !expandsToken(s) || s.matches("(\\w+=\\$\\()?printf '[^']*' [^|]*\\| sha256sum.*")
            || s.equals("case \"$K3S_TOKEN\" in") || s.matches("\\w+=\\$\\{K3S_TOKEN[#%]{1,2}[^}$()`]*\\}")
            || s.matches("\\w+=\\$K3S_TOKEN");
    }
}
