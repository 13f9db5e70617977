import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kubeconfig step in-process, up to where this host allows: bad input, and a real SSH
 * server (see Sshd) that is not a K3s server. It never writes outside its temp folder:
 * every run names --output and --known-hosts there.
 */
class KubeconfigStepTest {
    @RegisterExtension
    static final Sshd sshd = Sshd.perClass();

    @TempDir Path temp;

    @Test
    void truncatedStdinExits4WithAClearMessageAndWritesNothing() {
        Path output = temp.resolve("kube/config");
        Repo.Run run = Repo.step(withStdin("{\"format\": \"k3s-vagrant/cluster/v1\", \"name\": "), "--output",
            output.toString());
        assertEquals(Cli.BAD_INPUT, run.exit(), run.stderr());
        assertTrue(run.stderr().startsWith("k3s-kubeconfig: stdin is not valid JSON at line 1"), run.stderr());
        assertEquals("", run.stdout());
        assertFalse(Files.exists(output.getParent()), "nothing may be written for bad input");
    }

    @Test
    void aHostThatIsNotAK3sServerFailsNamingK3sYamlAndWritesNothing() throws IOException {
        // what this test can reach on a host without K3s: the step must stop at the missing file
        assertFalse(Files.exists(Path.of(K3sServer.KUBECONFIG_PATH)),
            K3sServer.KUBECONFIG_PATH + " exists on this host, so this test cannot show how the step fails without it");
        Path output = temp.resolve("kube/config");
        Path knownHosts = temp.resolve("known_hosts");
        Repo.Run run = Repo.step(withStdin(""), "--server-host", sshd.user + "@127.0.0.1", "--server-ssh-port",
            String.valueOf(sshd.port),
            "--server-ssh-key", sshd.clientKey.toString(), "--known-hosts", knownHosts.toString(), "--output",
                output.toString());

        assertEquals(Cli.FAILED, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("k3s-kubeconfig: reading " + K3sServer.KUBECONFIG_PATH
            + " (is this a K3s server?) failed on "
            + sshd.user + "@127.0.0.1:" + sshd.port), run.stderr());
        assertEquals("", run.stdout());
        assertFalse(Files.exists(output), "no kubeconfig may be written when the server's could not be read");
        // the SSH part did work: accept-new (the default) recorded the server
        assertTrue(Files.readString(knownHosts).startsWith("[127.0.0.1]:" + sshd.port + " ssh-ed25519 "),
            Files.readString(knownHosts));
    }

    @Test
    void strictHostKeyCheckingOfAnUnknownServerExits5AndWritesNothing() throws IOException {
        Path output = temp.resolve("config");
        Path knownHosts = temp.resolve("known_hosts");
        Repo.Run run = Repo.step(withStdin(""), "--server-host", sshd.user + "@127.0.0.1", "--server-ssh-port",
            String.valueOf(sshd.port),
            "--server-ssh-key", sshd.clientKey.toString(), "--known-hosts", knownHosts.toString(), "--host-key-check",
                "strict",
            "--output", output.toString());

        assertEquals(Cli.SSH_FAILED, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("is not in known_hosts and --host-key-check is strict"), run.stderr());
        assertFalse(Files.exists(output));
        assertEquals("", Files.readString(knownHosts), "strict must not record the host");
    }

    /** A fresh step whose stdin is text, never the test runner's own stdin. */
    static kubeconfig withStdin(String text) {
        kubeconfig step = new kubeconfig();
        step.server.stdin = new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
        return step;
    }
}
