import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real OpenSSH server for tests: /usr/sbin/sshd on 127.0.0.1, on a free port, as the
 * current user, with everything (host key, authorized_keys, config, pid file, log) in its
 * own temp folder. It authorizes two client keys it generates (ed25519 and rsa) and also
 * makes one it does NOT authorize, for the wrong-key cases.
 *
 * Every problem starting it is an AssertionError carrying sshd's own log, so a test class
 * using it fails with the reason instead of skipping.
 *
 * A test class that needs one for all its tests registers it, and it starts before the class's
 * tests (and its @BeforeAll methods) and stops after them:
 * {@code @RegisterExtension static final Sshd sshd = Sshd.perClass();}
 */
final class Sshd implements AutoCloseable, BeforeAllCallback, AfterAllCallback {
    static final String SSHD = "/usr/sbin/sshd";
    static final String HOST = "127.0.0.1";

    final Path dir;
    final int port;
    /** The loopback address it listens on (127.0.0.1 unless started on another, e.g. as a jump host). */
    final String address;
    /** Further sshd_config lines (e.g. LogLevel DEBUG1 for a jump host whose log shows its forwarding). */
    private final List<String> extraConfig;
    final String user = System.getProperty("user.name");
    /** ed25519 key listed in authorized_keys. */
    final Path clientKey;
    /** rsa key listed in authorized_keys (Vagrant's older insecure key is rsa). */
    final Path rsaClientKey;
    /** ed25519 key that is NOT in authorized_keys. */
    final Path unauthorizedKey;

    private final Path config;
    private final Path log;
    private Path hostKey;
    private int hostKeyGeneration;
    private Process process;

    private Sshd(Path dir, String address, int port, List<String> extraConfig) {
        this.dir = dir;
        this.address = address;
        this.port = port;
        this.extraConfig = extraConfig;
        this.clientKey = dir.resolve("client_ed25519");
        this.rsaClientKey = dir.resolve("client_rsa");
        this.unauthorizedKey = dir.resolve("stranger_ed25519");
        this.config = dir.resolve("sshd_config");
        this.log = dir.resolve("sshd.log");
    }

    /** The listening sshd's process id: each connection is served by a child of it. */
    long pid() {
        return process.pid();
    }

    /** Generates the keys, writes the config and starts sshd; returns once it answers with its SSH banner. */
    static Sshd start() {
        return start(HOST);
    }

    /** As start(), listening on address (any of 127.0.0.0/8), with further sshd_config lines. */
    static Sshd start(String address, String... extraConfig) {
        Sshd sshd = perClass(address, extraConfig);
        sshd.begin();
        return sshd;
    }

    /** One not started yet, for @RegisterExtension: JUnit starts it before the class's tests, stops it after. */
    static Sshd perClass() {
        return perClass(HOST);
    }

    /** As perClass(), listening on address (any of 127.0.0.0/8), with further sshd_config lines. */
    static Sshd perClass(String address, String... extraConfig) {
        Path dir;
        try {
            dir = Files.createTempDirectory("k3sv-sshd-");
        } catch (IOException e) {
            throw new AssertionError("cannot create a temp folder for sshd: " + e, e);
        }
        return new Sshd(dir, address, freePort(address), List.of(extraConfig));
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        begin();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        close();
    }

    private void begin() {
        try {
            if (!Files.isExecutable(Path.of(SSHD))) {
                throw new AssertionError(SSHD + " is not installed (apt-get install openssh-server):"
                    + " the SSH tests need a real sshd");
            }
            keygen("ed25519", clientKey);
            keygen("rsa", rsaClientKey);
            keygen("ed25519", unauthorizedKey);
            Files.writeString(dir.resolve("authorized_keys"),
                Files.readString(pub(clientKey)) + Files.readString(pub(rsaClientKey)));
            newHostKey();
            writeConfig();
            launch();
        } catch (IOException | RuntimeException | AssertionError e) {
            close();
            throw e instanceof AssertionError a ? a : new AssertionError("cannot start sshd: " + e, e);
        }
    }

    /** The host key's public line as in a .pub file: "ssh-ed25519 AAAA... comment". */
    String hostKeyLine() {
        try {
            return Files.readString(pub(hostKey)).strip();
        } catch (IOException e) {
            throw new AssertionError("cannot read the host key: " + e, e);
        }
    }

    /**
     * Stops sshd and starts it again on the same port with a freshly generated host key, as a reinstalled host would.
     */
    void restartWithNewHostKey() {
        stop();
        try {
            newHostKey();
            writeConfig();
        } catch (IOException e) {
            throw new AssertionError("cannot write the new sshd config: " + e, e);
        }
        launch();
    }

    /** What sshd logged (-e sends it to stderr, which goes to this file): for failure messages. */
    String log() {
        try {
            return Files.exists(log) ? Files.readString(log) : "(no log)";
        } catch (IOException e) {
            return "(cannot read the log: " + e + ")";
        }
    }

    void stop() {
        if (process == null) return;
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    /** Stops sshd and deletes its folder. */
    @Override
    public void close() {
        stop();
        Repo.deleteTree(dir);
    }

    static Path pub(Path privateKey) {
        return privateKey.resolveSibling(privateKey.getFileName() + ".pub");
    }

    private void newHostKey() throws IOException {
        hostKeyGeneration++;
        hostKey = dir.resolve("host_ed25519_" + hostKeyGeneration);
        keygen("ed25519", hostKey);
    }

    private void writeConfig() throws IOException {
        Files.writeString(config, String.join("\n",
            "ListenAddress " + address,
            "Port " + port,
            "HostKey " + hostKey,
            "AuthorizedKeysFile " + dir.resolve("authorized_keys"),
            "PidFile " + dir.resolve("sshd.pid"),
            // the temp folder's modes are not what StrictModes wants for a home directory
            "StrictModes no",
            // PAM would need /etc/pam.d/sshd and root; public keys are all the tests use
            "UsePAM no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            // the tests may run as root, like on this CI machine
            "PermitRootLogin prohibit-password",
            // in-process SFTP: no dependency on where the distribution put sftp-server
            "Subsystem sftp internal-sftp",
            extraConfig.stream().anyMatch(line -> line.startsWith("LogLevel")) ? "" : "LogLevel VERBOSE",
            String.join("\n", extraConfig),
            ""));
    }

    private void launch() {
        try {
            // sshd checks its privilege-separation folder exists when started as root
            if (user.equals("root")) Files.createDirectories(Path.of("/run/sshd"));
            ProcessBuilder builder = new ProcessBuilder(SSHD, "-D", "-e", "-f", config.toString())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            process = builder.start();
        } catch (IOException e) {
            throw new AssertionError("cannot run " + SSHD + ": " + e, e);
        }
        awaitBanner();
    }

    /** Waits until the port answers with "SSH-2.0-": sshd is then ready for a client. */
    private void awaitBanner() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("sshd exited with " + process.exitValue()
                    + " before accepting connections; its log:\n" + log());
            }
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(address, port), 500);
                socket.setSoTimeout(2000);
                if (readLine(socket.getInputStream()).startsWith("SSH-2.0-")) return;
            } catch (IOException notYet) {
                // not listening yet
            }
            sleep(50);
        }
        stop();
        throw new AssertionError("sshd did not accept connections on " + address + ":" + port
            + " within 10 s; its log:\n" + log());
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int b = in.read(); b >= 0 && b != '\n' && line.length() < 256; b = in.read()) line.append((char) b);
        return line.toString();
    }

    private void keygen(String type, Path file) {
        List<String> command = type.equals("rsa")
            ? List.of("ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "k3sv-test", "-f", file.toString())
            : List.of("ssh-keygen", "-q", "-t", type, "-N", "", "-C", "k3sv-test", "-f", file.toString());
        Repo.Run run = Repo.exec(command, dir, Map.of(), null, 30);
        if (run.exit() != 0) throw new AssertionError(String.join(" ", command) + " failed: " + run.stderr());
    }

    /** A port nothing listens on right now (the kernel picks it); used for sshd and for "closed port" cases. */
    static int freePort() {
        return freePort(HOST);
    }

    static int freePort(String address) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(address, 0));
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new AssertionError("cannot find a free port on " + address + ": " + e, e);
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
