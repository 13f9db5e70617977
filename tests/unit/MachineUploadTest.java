import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a Vagrant machine gets after its boot, without Vagrant's own steps (issue 13, item 2): one provisioner, whose
 * script the Vagrantfile packs per role (provision/upload.rb: provision/unpack-and-run.sh with an archive appended);
 * it unpacks the archive, sets the host name and address by provision/machine.sh instead of Vagrant's hostname
 * capability, which restarts the network, and runs the role's script. The Vagrantfile runs under Ruby with a recorder
 * standing for Vagrant's configuration object (Repo.vagrantfileRecorder); the packed scripts run with stand-ins for
 * the `sh` and `bash` they start; machine.sh runs under a folder of its own (MACHINE_ROOT) with `hostname` and
 * `hostnamectl` as recording stand-ins.
 */
class MachineUploadTest {

    @TempDir Path tmp;

    @Test
    void eachMachineRunsOneScriptOfItsRoleHoldingOnlyTheSecretsItsRoleNeeds() throws IOException {
        Path cache = Files.createDirectories(tmp.resolve("cache"));
        for (String name : List.of("install.sh", "k3s", ".k3s.1.part")) Files.writeString(cache.resolve(name), name);
        Map<String, String> settings = Map.of("K3S_VAGRANT_WORKERS", "2", "K3S_VAGRANT_LOGIN", "t",
            "K3S_VAGRANT_AIRGAP_DIR", cache.toString(), "K3S_VAGRANT_TOKEN_FILE", tmp.resolve("v/token").toString(),
            "K3S_VAGRANT_AGENT_TOKEN_FILE", tmp.resolve("v/k3s-agent-token").toString(),
            "HTTPS_PROXY", "http://proxy.example:3128");
        Repo.Run run = record(settings);
        assertEquals(0, run.exit(), run.stderr());
        Path uploads = tmp.resolve("v/k3s-upload");
        assertEquals("rwx------", mode(uploads));
        Map<String, Path> packed = new HashMap<>();
        for (String machine : List.of("tS", "tSW", "tSW2")) {
            String role = machine.equals("tS") ? "server" : "agent";
            List<String> own = run.stdout().lines().filter(l -> l.startsWith(machine + " ")).toList();
            assertEquals(1, own.size(), "one provisioner, nothing else: " + own);
            assertTrue(own.get(0).matches(machine + " k3s shell " + Pattern.quote(uploads.toString()) + "/" + role
                + "-[0-9a-f]{16}\\.sh binary /tmp/k3s-vagrant\\.sh \\{.*"), own.get(0));
            assertTrue(own.get(0).contains("\"UNPACK_DIR\"=>\"/tmp/k3s-vagrant\", \"ROLE\"=>\"" + role + "\""),
                own.get(0));
            Path script = Path.of(own.get(0).split(" ")[3]);
            assertEquals(script, packed.computeIfAbsent(role, r -> script), "machines of a role share one");
        }
        assertEquals(Set.of("server", "agent"), packed.keySet());
        assertEquals(2, entries(uploads).size(), "the two scripts, nothing else: " + entries(uploads));
        for (var role : packed.entrySet()) {
            assertEquals("rw-------", mode(role.getValue()));
            Path unpacked = unpack(role.getValue(), tmp.resolve("guest-" + role.getKey()));
            Set<String> expected = new TreeSet<>(Set.of("k3s-common.sh", "machine.sh", role.getKey() + ".sh",
                "airgap/install.sh", "airgap/k3s", "proxy.env", "agent-token"));
            if (role.getKey().equals("server")) expected.add("token");
            assertEquals(expected, entries(unpacked), role.getKey());
            assertEquals("rwx------", mode(unpacked.resolve("airgap")));
            assertEquals("rwx------", mode(unpacked.resolve("machine.sh")), "only its owner (root) reads it");
            assertSecret(unpacked.resolve("agent-token"), Files.readString(tmp.resolve("v/k3s-agent-token")).strip());
            assertEquals("rw-------", mode(unpacked.resolve("proxy.env")));
            assertEquals(Files.readString(Repo.root().resolve("provision/k3s-common.sh")),
                Files.readString(unpacked.resolve("k3s-common.sh")));
            assertEquals("k3s", Files.readString(unpacked.resolve("airgap/k3s")));
        }
        assertSecret(unpack(packed.get("server"), tmp.resolve("guest-again")).resolve("token"),
            Files.readString(tmp.resolve("v/token")).strip());

        // the same settings again (the proxy file written anew): the same files, not packed again (air-gap: large)
        long written = Files.getLastModifiedTime(packed.get("server")).toMillis();
        Files.setLastModifiedTime(packed.get("server"), java.nio.file.attribute.FileTime.fromMillis(written - 5000));
        assertEquals(0, record(settings).exit());
        assertEquals(written - 5000, Files.getLastModifiedTime(packed.get("server")).toMillis());

        // no worker, no proxy, no air-gap folder: the files that held what the settings no longer give are gone
        Repo.Run again = record(Map.of("K3S_VAGRANT_WORKERS", "0", "K3S_VAGRANT_LOGIN", "t",
            "K3S_VAGRANT_TOKEN_FILE", tmp.resolve("v/token").toString(),
            "K3S_VAGRANT_AGENT_TOKEN_FILE", tmp.resolve("v/k3s-agent-token").toString()));
        assertEquals(0, again.exit(), again.stderr());
        Set<String> left = entries(uploads);
        assertEquals(1, left.size(), left.toString());
        String server = left.iterator().next();
        assertTrue(server.startsWith("server-") && !packed.get("server").endsWith(server), server);
        assertEquals(Set.of("k3s-common.sh", "machine.sh", "server.sh", "token", "agent-token"),
            entries(unpack(uploads.resolve(server), tmp.resolve("guest-none"))));
    }

    @Test
    void thePackedScriptUnpacksIntoANewFolderRemovesItselfThenNamesTheMachineThenRunsTheRolesScript()
            throws IOException {
        Path packed = Files.createDirectories(tmp.resolve("packed"));
        script(packed.resolve("machine.sh"), "echo \"machine.sh $MACHINE_NAME\"");
        script(packed.resolve("agent.sh"), "echo \"agent.sh $0\"; ls \"$(dirname \"$0\")\"");
        Path archive = tmp.resolve("archive.tar");
        Repo.Run tar = Repo.exec(List.of("tar", "-cf", archive.toString(), "-C", packed.toString(), "machine.sh",
            "agent.sh"), tmp, Map.of(), null, 30);
        assertEquals(0, tar.exit(), tar.stderr());
        Path script = tmp.resolve("k3s-vagrant.sh"); // as upload.rb packs it: the script, then the archive
        Files.write(script, Files.readAllBytes(Repo.root().resolve("provision/unpack-and-run.sh")));
        Files.write(script, Files.readAllBytes(archive), java.nio.file.StandardOpenOption.APPEND);
        Path guest = Files.createDirectories(tmp.resolve("guest"));
        Files.writeString(guest.resolve("left-from-before"), "");
        List<String> command = List.of("sh", script.toString());
        Repo.Run run = Repo.exec(command, tmp, Map.of("UNPACK_DIR", guest.toString(), "ROLE", "agent",
            "MACHINE_NAME", "tSW"), null, 30);
        assertEquals(0, run.exit(), run.stderr());
        assertEquals(List.of("machine.sh tSW", "agent.sh " + guest.resolve("agent.sh"), "agent.sh", "machine.sh"),
            run.stdout().lines().toList(), "unpacked into the folder made anew, in this order");
        assertEquals("rwx------", mode(guest));
        assertTrue(Files.notExists(script), "the script holding the tokens removed itself");

        // refused before anything is unpacked or removed
        List<String> unpacker = List.of("sh", Repo.root().resolve("provision/unpack-and-run.sh").toString());
        Repo.Run role = Repo.exec(unpacker, tmp, Map.of("UNPACK_DIR", guest.toString(), "ROLE", "server;x"), null, 30);
        assertEquals(1, role.exit());
        assertTrue(role.stderr().contains("ROLE=server;x must be server or agent"), role.stderr());
        Repo.Run root = Repo.exec(unpacker, tmp, Map.of("UNPACK_DIR", "/", "ROLE", "agent"), null, 30);
        assertEquals(1, root.exit());
        assertTrue(root.stderr().contains("UNPACK_DIR=/ must be a folder under /tmp"), root.stderr());
    }

    @Test
    void parallelVagrantProcessesPackTheSameScriptsWithoutFailing() throws Exception {
        Map<String, String> settings = Map.of("K3S_VAGRANT_WORKERS", "3", "K3S_VAGRANT_LOGIN", "t",
            "K3S_VAGRANT_TOKEN_FILE", tmp.resolve("v/token").toString(),
            "K3S_VAGRANT_AGENT_TOKEN_FILE", tmp.resolve("v/k3s-agent-token").toString());
        assertEquals(0, record(settings).exit()); // the tokens first: their own race is ProvisionTest's
        try (Stream<Path> made = Files.list(tmp.resolve("v/k3s-upload"))) {
            for (Path packed : made.toList()) Files.delete(packed); // packed anew by the six at once
        }
        List<Process> runs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            ProcessBuilder builder = new ProcessBuilder("ruby", recorder().toString(), vagrantfile().toString())
                .directory(tmp.toFile()).redirectErrorStream(true);
            builder.environment().putAll(settings);
            runs.add(builder.start());
        }
        for (Process run : runs) {
            String out = new String(run.getInputStream().readAllBytes());
            assertEquals(0, run.waitFor(), out);
        }
        List<String> names;
        try (Stream<Path> files = Files.list(tmp.resolve("v/k3s-upload"))) {
            names = files.map(f -> f.getFileName().toString()).sorted().toList();
        }
        assertEquals(2, names.size(), "one per role, no half-made entry left: " + names);
        assertTrue(names.get(0).startsWith("agent-") && names.get(1).startsWith("server-"), names.toString());
        assertEquals(Set.of("k3s-common.sh", "machine.sh", "agent.sh", "agent-token"),
            entries(unpack(tmp.resolve("v/k3s-upload").resolve(names.get(0)), tmp.resolve("guest"))));
    }

    @Test
    void theVagrantfileLeavesTheHostNameToMachineShWhichSetsItOnceWithoutTouchingTheNetwork() throws IOException {
        String vagrantfile = Files.readString(vagrantfile());
        assertFalse(Pattern.compile("(?m)^[^#]*\\.vm\\.hostname\\s*=").matcher(vagrantfile).find(),
            "no node.vm.hostname: Vagrant's capability restarts every interface");
        Repo.Run run = record(Map.of("K3S_VAGRANT_LOGIN", "t", "K3S_VAGRANT_TOKEN_FILE",
            tmp.resolve("v/token").toString(), "K3S_VAGRANT_AGENT_TOKEN_FILE", tmp.resolve("v/agent").toString()));
        assertTrue(run.stdout().contains("\"ROLE\"=>\"server\", \"MACHINE_NAME\"=>\"tS\", "
            + "\"MACHINE_IP\"=>\"192.168.56.110\""), run.stdout());
        assertTrue(run.stdout().contains("\"ROLE\"=>\"agent\", \"MACHINE_NAME\"=>\"tSW\", "
            + "\"MACHINE_IP\"=>\"192.168.56.111\""), run.stdout());

        Map<String, String> env = guest("debian12", "192.168.56.111");
        Path etc = tmp.resolve("root/etc");
        String hosts = Files.readString(etc.resolve("hosts"));
        Repo.Run first = machineSh(env);
        assertEquals(0, first.exit(), first.stderr());
        assertEquals("wilSW\n", Files.readString(etc.resolve("hostname")));
        assertEquals(hosts + "127.0.2.1 wilSW wilSW\n", Files.readString(etc.resolve("hosts")),
            "as Vagrant's Debian capability: the first free 127.0.X.1");
        assertEquals(List.of("hostnamectl set-hostname wilSW"), calls(), "nothing restarted");

        Repo.Run again = machineSh(env);
        assertEquals(0, again.exit(), again.stderr());
        assertEquals("", again.stdout() + again.stderr());
        assertEquals(hosts + "127.0.2.1 wilSW wilSW\n", Files.readString(etc.resolve("hosts")));
        assertEquals(List.of("hostnamectl set-hostname wilSW"), calls(), "provisioning again");

        // no systemd (openrc, sysvinit): hostnamectl missing or not answering
        script(tmp.resolve("bin/hostnamectl"), "exit 1");
        Files.writeString(tmp.resolve("running-name"), "rc1\n");
        Files.delete(tmp.resolve("calls"));
        assertEquals(0, machineSh(env).exit());
        assertEquals(List.of("hostname wilSW"), calls());

        Map<String, String> bad = new HashMap<>(env);
        bad.put("MACHINE_NAME", "a;b");
        Repo.Run refused = machineSh(bad);
        assertEquals(1, refused.exit());
        assertTrue(refused.stderr().contains("MACHINE_NAME=a;b is not a host name"), refused.stderr());
    }

    @Test
    void machineShWritesTheAddressWhereTheGuestsNetworkReadsItAtBootAndBringsUpOnlyThatCard() throws IOException {
        // ifupdown (the test box, and the openrc one): a file of its own, then ifup of the second card alone
        Map<String, String> env = guest("wilSW", null);
        Path etc = tmp.resolve("root/etc");
        Repo.Run first = machineSh(env);
        assertEquals(0, first.exit(), first.stderr());
        assertEquals("auto eth1\niface eth1 inet static\n    address 192.168.56.111/24\n",
            Files.readString(etc.resolve("network/interfaces.d/k3s-vagrant")));
        assertEquals(List.of("ifup eth1"), calls(), "only eth1, no interface brought down");
        assertEquals(0, machineSh(env).exit());
        assertEquals(List.of("ifup eth1"), calls(), "provisioning again changes nothing");

        // a machine Vagrant configured before: its own stanza for eth1 stays the only one
        Files.writeString(etc.resolve("network/interfaces"), "#VAGRANT-BEGIN\nauto eth1\niface eth1 inet static\n"
            + "      address 192.168.56.111\n#VAGRANT-END\n");
        Files.delete(etc.resolve("network/interfaces.d/k3s-vagrant"));
        Files.writeString(tmp.resolve("addresses"), "");
        assertEquals(0, machineSh(env).exit());
        assertTrue(Files.notExists(etc.resolve("network/interfaces.d/k3s-vagrant")));

        // systemd-networkd running: a .network file, then networkctl reload
        Files.delete(tmp.resolve("calls"));
        Files.writeString(tmp.resolve("addresses"), "");
        script(tmp.resolve("bin/systemctl"), "[ \"$*\" = 'is-active --quiet systemd-networkd' ]");
        assertEquals(0, machineSh(env).exit());
        assertEquals("[Match]\nName=eth1\n\n[Network]\nAddress=192.168.56.111/24\n",
            Files.readString(etc.resolve("systemd/network/50-k3s-vagrant.network")));
        assertEquals(List.of("networkctl reload"), calls());

        // no second card: the private_network is missing
        script(tmp.resolve("bin/ip"), "printf '1: lo: <LOOPBACK>\\n2: eth0: <BROADCAST>\\n'");
        Repo.Run none = machineSh(env);
        assertEquals(1, none.exit());
        assertTrue(none.stderr().contains("no second network card for 192.168.56.111"), none.stderr());
    }

    /**
     * A guest under tmp/root (Debian's /etc/hosts, the box's /etc/network/interfaces) running as runningName, its
     * eth1 holding address (or nothing); stand-ins note on tmp/calls what would change the machine.
     */
    private Map<String, String> guest(String runningName, String address) throws IOException {
        Path etc = Files.createDirectories(tmp.resolve("root/etc"));
        Files.writeString(etc.resolve("hostname"), runningName + "\n");
        Files.writeString(etc.resolve("hosts"),
            "127.0.0.1\tlocalhost\n127.0.1.1\t" + runningName + "\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        Files.createDirectories(etc.resolve("network"));
        Files.writeString(etc.resolve("network/interfaces"), "source /etc/network/interfaces.d/*\nauto lo\n");
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path calls = tmp.resolve("calls");
        Path name = Files.writeString(tmp.resolve("running-name"), runningName + "\n");
        Path addresses = Files.writeString(tmp.resolve("addresses"),
            address == null ? "" : "3: eth1    inet " + address + "/24 brd 192.168.56.255 scope global eth1\n");
        script(bin.resolve("hostname"), "[ $# -eq 0 ] && exec cat " + name + "\necho \"hostname $*\" >> " + calls
            + "\necho \"$1\" > " + name);
        script(bin.resolve("hostnamectl"), "[ $# -eq 0 ] && exit 0\necho \"hostnamectl $*\" >> " + calls
            + "\necho \"$2\" > " + name);
        script(bin.resolve("ip"), "case \"$*\" in\n'-o link show') printf '1: lo: <LOOPBACK>\\n2: eth0: <BROADCAST>"
            + "\\n3: eth1: <BROADCAST>\\n' ;;\n*addr*) cat " + addresses + " ;;\n*) exit 1 ;;\nesac");
        String up = "echo \"3: eth1    inet 192.168.56.111/24 scope global eth1\" > " + addresses;
        script(bin.resolve("ifup"), "echo \"ifup $*\" >> " + calls + "\n" + up);
        script(bin.resolve("networkctl"), "echo \"networkctl $*\" >> " + calls + "\n" + up);
        script(bin.resolve("systemctl"), "exit 3");
        for (String command : List.of("ifdown", "netplan")) {
            script(bin.resolve(command), "echo " + command + " >> " + calls);
        }
        return Map.of("MACHINE_NAME", "wilSW", "MACHINE_IP", "192.168.56.111",
            "MACHINE_ROOT", tmp.resolve("root").toString(), "PATH", bin + ":/usr/bin:/bin");
    }

    private List<String> calls() throws IOException {
        return Files.readAllLines(tmp.resolve("calls"));
    }

    static Set<String> entries(Path folder) throws IOException {
        try (Stream<Path> files = Files.walk(folder)) {
            return files.filter(f -> !Files.isDirectory(f, LinkOption.NOFOLLOW_LINKS))
                .map(f -> folder.relativize(f).toString()).collect(TreeSet::new, Set::add, Set::addAll);
        }
    }

    /**
     * A packed script (provision/upload.rb) run as the guest runs it, its archive unpacked into the folder into (under
     * /tmp), with stand-ins for the `sh` and `bash` it then starts: machine.sh and the role's script do not run.
     */
    static Path unpack(Path packed, Path into) throws IOException {
        Path bin = Files.createDirectories(into.resolveSibling(into.getFileName() + "-bin"));
        for (String shell : List.of("sh", "bash")) script(bin.resolve(shell), "exit 0");
        Path copy = Files.copy(packed, into.resolveSibling(into.getFileName() + ".sh"));
        String role = packed.getFileName().toString().replaceAll("-.*", "");
        Repo.Run run = Repo.exec(List.of("/bin/sh", copy.toString()), into.getParent(), Map.of("UNPACK_DIR",
            into.toString(), "ROLE", role, "PATH", bin + ":/usr/bin:/bin"), null, 30);
        assertEquals(0, run.exit(), run.stderr());
        return into;
    }

    /** A copied secret: the same text, mode 600, as the machine gets it. */
    static void assertSecret(Path file, String text) throws IOException {
        assertEquals(text, Files.readString(file).strip(), file.toString());
        assertEquals("rw-------", mode(file), file.toString());
        assertEquals("rwx------", mode(file.getParent()), file.getParent().toString());
    }

    private static String mode(Path file) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS));
    }

    private Repo.Run machineSh(Map<String, String> env) {
        return Repo.exec(List.of("sh", Repo.root().resolve("provision/machine.sh").toString()), tmp, env, null, 30);
    }

    private static void script(Path file, String body) throws IOException {
        Files.writeString(file, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private static Path vagrantfile() {
        return Repo.root().resolve("provision/Vagrantfile");
    }

    private Path recorder() throws IOException {
        Path harness = tmp.resolve("record.rb");
        if (Files.notExists(harness)) {
            Repo.vagrantfileRecorder(harness, """
                if name == :provision
                  detail = [options[:path], options[:binary] ? "binary" : "text", options[:upload_path]]
                  puts [$machine, args[0], options[:type], *detail, options[:env].inspect].join(" ")
                end
                """);
        }
        return harness;
    }

    private Repo.Run record(Map<String, String> env) throws IOException {
        List<String> command = new ArrayList<>(List.of("env"));
        for (String name : List.of("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")) {
            if (!env.containsKey(name)) command.addAll(List.of("-u", name)); // only the test's proxy
        }
        command.addAll(List.of("ruby", recorder().toString(), vagrantfile().toString()));
        return Repo.exec(command, tmp, env, null, 60);
    }
}
