import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 13: k3s-up asks Vagrant for the server's SSH settings while `vagrant up` still runs (the agents joining),
 * once the server's provisioning prints that K3s is Ready, so that the steps after `vagrant up` connect from the
 * cache at once. k3s-up runs as a real process; `vagrant` is a stand-in that notes each call, whose `up` prints
 * the server's Ready line and then waits (20 s at most, else it fails) for its own `ssh-config` to have been run;
 * that `ssh-config` names a real sshd on 127.0.0.1, where a `k3s` stand-in answers the nodes Ready. On that
 * connection, still while `vagrant up` runs, the agent token is checked and the nodes polled until all are Ready;
 * the Ready stage takes the connection and what was seen (its own `up` then waits for the node list instead).
 */
class ServerEarlyTest {

    @TempDir Path dir;
    Sshd sshd;
    Path calls;

    @BeforeEach
    void standIns() throws IOException {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        calls = Files.writeString(dir.resolve("calls"), "");
        sshd = Sshd.start(Sshd.HOST, "SetEnv PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin");
        Files.copy(Repo.root().resolve("tests/unit/shims/VBoxManage"), bin.resolve("VBoxManage"));
        write(bin.resolve("vagrant"), """
            #!/bin/sh
            # TEST STAND-IN for vagrant (tests/unit/ServerEarlyTest.java only): starts nothing
            case "$1" in
              --version) echo "Vagrant 2.4.1" ;;
              up) echo "up $2" >> CALLS
                  mkdir -p .vagrant # as Vagrant does: where NodeSsh keeps its cache
                  [ "$2" = wilSW ] && { echo "    wilSW: [k3s-vagrant wilSW] K3s agent started"; exit 0; }
                  echo "==> wilS: Booting VM..."
                  echo "==> wilS: Running provisioner: k3s (shell)..."
                  echo "    wilS: [k3s-vagrant wilS] K3s server is Ready at https://192.168.56.110:6443"
                  [ -e WAITS ] || exit 0
                  # until the server is asked for its ssh-config, or (waits holding "nodes") for its node list
                  asked=ssh-config; grep -q nodes WAITS && asked="kubectl get nodes"
                  i=0
                  until grep -q "$asked" CALLS; do
                    i=$((i + 1))
                    [ $i -le 200 ] || { echo "no $asked while vagrant up ran" >&2; exit 1; }
                    sleep 0.1
                  done
                  rm -f K3S_FAILS
                  # the connection opened meanwhile dropped as vagrant up ends: sshd's children serve connections
                  [ -e DROP ] && pkill -P "$(cat DROP)"
                  echo "up ended" >> CALLS ;;
              ssh-config) echo "ssh-config $2" >> CALLS
                  sleep 1 # the answer comes after vagrant up ended (it waits for the call only), as on a busy host
                  if [ -e FAILS ]; then rm FAILS; echo "vagrant stand-in: ssh-config fails once" >&2; exit 1; fi
                  printf 'Host %s\\n  HostName 127.0.0.1\\n  User USER\\n  Port PORT\\n' "$2"
                  printf '  UserKnownHostsFile /dev/null\\n  StrictHostKeyChecking no\\n  IdentityFile KEY\\n' ;;
              provision) echo "provision" >> CALLS ;;
              *) echo "vagrant stand-in: no '$*' here" >&2; exit 1 ;;
            esac
            """.replace("CALLS", Shell.quote(calls.toString())).replace("WAITS", Shell.quote(waits().toString()))
            .replace("K3S_FAILS", Shell.quote(k3sFails().toString()))
            .replace("DROP", Shell.quote(dir.resolve("drop").toString()))
            .replace("FAILS", Shell.quote(dir.resolve("fails").toString())).replace("USER", sshd.user)
            .replace("PORT", String.valueOf(sshd.port)).replace("KEY", sshd.clientKey.toString()));
        write(bin.resolve("k3s"), """
            #!/bin/sh
            # TEST STAND-IN for k3s (tests/unit/ServerEarlyTest.java only): `kubectl get nodes -o json`, all Ready
            echo "k3s $*" >> CALLS
            [ -e K3S_FAILS ] && { echo "k3s stand-in: the API is not up" >&2; exit 1; }
            n() { printf '{"metadata":{"name":"%s","labels":{}},"status":{"conditions":[{"type":"Ready","status":\
            "True"}],"addresses":[{"type":"InternalIP","address":"192.168.56.%s"}]}}' "$1" "$2"; }
            printf '{"items":[%s,%s]}\\n' "$(n wils 110)" "$(n wilsw 111)"
            """.replace("CALLS", Shell.quote(calls.toString()))
            .replace("K3S_FAILS", Shell.quote(k3sFails().toString())));
        write(bin.resolve("grep"), """
            #!/bin/sh
            # TEST STAND-IN for grep (tests/unit/ServerEarlyTest.java only): AgentTokenMove's look into the server's
            # K3s env file answers "token there" unless NO_TOKEN exists; every other grep is the real one
            case "$*" in
              *k3s.service.env) echo "agent token check" >> CALLS; [ -e NO_TOKEN ] && exit 1; exit 0 ;;
            esac
            exec /usr/bin/grep "$@"
            """.replace("CALLS", Shell.quote(calls.toString()))
            .replace("NO_TOKEN", Shell.quote(noToken().toString())));
        bin.resolve("VBoxManage").toFile().setExecutable(true);
    }

    @AfterEach
    void stop() {
        if (sshd != null) sshd.close();
    }

    @ParameterizedTest(name = "--{0}")
    @ValueSource(strings = {"separate-up", "no-separate-up"})
    void theServersSshConfigIsAskedWhileVagrantUpRunsAndNotAgain(String up) throws IOException {
        Files.writeString(waits(), "");
        Repo.Run run = up("--" + up);
        assertEquals(0, run.exit(), run.stderr() + "\ncalls: " + Files.readString(calls));
        List<String> asked = Files.readAllLines(calls);
        assertEquals(List.of("ssh-config wilS"), asked.stream().filter(c -> c.startsWith("ssh-config")).toList(),
            "asked once, while vagrant up ran: " + asked);
        assertTrue(asked.indexOf("ssh-config wilS") < asked.indexOf("up ended"), asked.toString());
        Path cache = dir.resolve("cluster/.vagrant/k3s-ssh-config-wilS");
        assertTrue(Files.readString(cache).contains("Port " + sshd.port), "NodeSsh's cache holds the answer");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cache)));
    }

    @Test
    void aFailedEarlyQuestionOnlyMeansTheServerIsAskedAgainAfterVagrantUp() throws IOException {
        Files.writeString(waits(), "");
        Files.writeString(dir.resolve("fails"), "");
        Repo.Run run = up("--no-separate-up");
        assertEquals(0, run.exit(), run.stderr() + "\ncalls: " + Files.readString(calls));
        List<String> asked = Files.readAllLines(calls);
        assertEquals(List.of("ssh-config wilS", "ssh-config wilS"),
            asked.stream().filter(c -> c.startsWith("ssh-config")).toList(), asked.toString());
        assertTrue(asked.lastIndexOf("ssh-config wilS") > asked.indexOf("up ended"), asked.toString());
    }

    @Test
    void withTheSettingsCachedVagrantIsNotAsked() throws IOException {
        assertEquals(0, up("--no-separate-up").exit(), "the first k3s-up, which keeps the settings");
        Files.writeString(calls, "");
        Repo.Run run = up("--no-separate-up");
        assertEquals(0, run.exit(), run.stderr() + "\ncalls: " + Files.readString(calls));
        assertTrue(Files.readAllLines(calls).stream().noneMatch(c -> c.startsWith("ssh-config")),
            Files.readString(calls));
    }

    @Test
    void theNodesAreSeenReadyWhileVagrantUpRunsOnTheOnlyConnection() throws IOException {
        Repo.Run run = upWaitingForTheNodeList();
        List<String> asked = Files.readAllLines(calls);
        int upEnded = asked.indexOf("up ended");
        assertTrue(asked.indexOf("agent token check") < upEnded, "checked while vagrant up ran: " + asked);
        assertTrue(asked.indexOf("k3s kubectl get nodes -o json") < upEnded, asked.toString());
        assertEquals(List.of(), asked.subList(upEnded, asked.size()).stream().filter(c -> c.startsWith("k3s"))
            .toList(), "every node was seen Ready: no node list after vagrant up: " + asked);
        assertFalse(asked.contains("provision"), asked.toString());
        assertEquals(1, connections(), "one SSH connection in the whole k3s-up; sshd's log:\n" + sshd.log());
        assertTrue(run.stderr().contains("wils") && run.stdout().contains("\"wilSW\""), run.stderr());
    }

    @Test
    void aNodeListFailingWhileVagrantUpRunsIsAskedAgainAfterIt() throws IOException {
        nodeListReadAfterVagrantUp(1, "the same connection after vagrant up");
    }

    @Test
    void aConnectionThatDroppedWhileVagrantUpEndedIsMadeAgainForTheNodeList() throws IOException {
        Files.writeString(dir.resolve("drop"), Long.toString(sshd.pid()));
        nodeListReadAfterVagrantUp(2, "connected again once");
    }

    /** With the node list failing while vagrant up runs: k3s-up reads it after, over so many connections in all. */
    private void nodeListReadAfterVagrantUp(long connections, String why) throws IOException {
        Files.writeString(k3sFails(), "");
        upWaitingForTheNodeList();
        List<String> asked = Files.readAllLines(calls);
        assertTrue(asked.lastIndexOf("k3s kubectl get nodes -o json") > asked.indexOf("up ended"), asked.toString());
        assertEquals(connections, connections(), why + "; sshd's log:\n" + sshd.log());
    }

    @Test
    void anAgentTokenFoundMissingWhileVagrantUpRunsLeadsToVagrantProvision() throws IOException {
        Files.writeString(noToken(), "");
        upWaitingForTheNodeList();
        List<String> asked = Files.readAllLines(calls);
        assertEquals(List.of("agent token check"), asked.stream().filter(c -> c.startsWith("agent")).toList(),
            "checked once: " + asked);
        assertTrue(asked.indexOf("agent token check") < asked.indexOf("up ended"), asked.toString());
        assertTrue(asked.indexOf("provision") > asked.indexOf("up ended"), asked.toString());
        // K3s restarted: what was seen before provisioning is not trusted
        assertTrue(asked.lastIndexOf("k3s kubectl get nodes -o json") > asked.indexOf("provision"), asked.toString());
    }

    /** k3s-up, its stand-in `vagrant up` waiting for the node list; it must succeed. */
    private Repo.Run upWaitingForTheNodeList() throws IOException {
        Files.writeString(waits(), "nodes");
        Repo.Run run = up("--no-separate-up");
        assertEquals(0, run.exit(), run.stderr() + "\ncalls: " + Files.readString(calls));
        return run;
    }

    /** SSH connections sshd accepted (its log at VERBOSE says each). */
    private long connections() {
        return sshd.log().lines().filter(line -> line.contains("Accepted publickey")).count();
    }

    /** A file whose presence makes the stand-in `k3s` fail (the API not up); the stand-in `vagrant up` ends it. */
    private Path k3sFails() {
        return dir.resolve("k3s-fails");
    }

    /** A file whose presence makes the server's K3s env file lack the agent token. */
    private Path noToken() {
        return dir.resolve("no-token");
    }

    /** A file whose presence makes the stand-in's `vagrant up` wait for its ssh-config (or, holding "nodes", the
     * node list). */
    private Path waits() {
        return dir.resolve("waits");
    }

    private Repo.Run up(String separate) throws IOException {
        Path airgap = Files.createDirectories(dir.resolve("airgap"));
        Files.writeString(airgap.resolve("install.sh"), "#!/bin/sh\n");
        Files.writeString(airgap.resolve("k3s"), "the binary\n");
        List<String> words = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
            .toString(), "-cp", System.getProperty("java.class.path"), "up", "--provider", "virtualbox", "--login",
            "wil", "--dir", dir.resolve("cluster").toString(), "--airgap-dir", airgap.toString(), separate, "-v"));
        return Repo.exec(words, dir, Map.of("PATH", dir.resolve("bin") + ":/usr/bin:/bin", "HOME", dir.toString()),
            null, 120);
    }

    private static void write(Path file, String text) throws IOException {
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
