import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * k3s-up's progress, run as a real process: on a real pseudo-terminal (util-linux `script`) as stderr, and
 * in a pipe. The K3s download comes from a release-site stand-in on 127.0.0.1 that sends slowly; `vagrant`
 * is a stand-in printing Vagrant's own step lines for each machine (no VM starts), whose `ssh-config`
 * then fails, so the step ends there.
 */
class ProgressTest {
    static final String VERSION = "v1.31.4+k3s1";
    static final byte[] BINARY = new byte[3_000_000];

    @TempDir Path dir;
    HttpServer server;

    @BeforeEach
    void startTheReleaseSiteAndTheVagrantStandIn() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        String installer = "#!/bin/sh\n# installer\n";
        Map<String, byte[]> files = Map.of(
            "/mirror/install.sh", installer.getBytes(StandardCharsets.UTF_8),
            "/mirror/install.sh.sha256sum", (K3sReleaseTest.sha256(installer.getBytes(StandardCharsets.UTF_8))
                + "  install.sh\n").getBytes(StandardCharsets.UTF_8),
            "/mirror/releases/v1.31.4%2Bk3s1/sha256sum-" + arch() + ".txt",
            (K3sReleaseTest.sha256(BINARY) + "  " + asset() + "\n").getBytes(StandardCharsets.UTF_8));
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getRawPath();
            if (path.equals("/mirror/releases/v1.31.4%2Bk3s1/" + asset())) {
                // 3 MB over about 1.5 s: long enough for the live line to show bytes and a rate
                exchange.sendResponseHeaders(200, BINARY.length);
                for (int sent = 0; sent < BINARY.length; sent += 100_000) {
                    exchange.getResponseBody().write(BINARY, sent, 100_000);
                    exchange.getResponseBody().flush();
                    sleep(50);
                }
                exchange.close();
            } else {
                K3sReleaseTest.serveFile(exchange, files);
            }
        });
        server.start();
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Files.copy(Repo.root().resolve("tests/unit/shims/VBoxManage"), bin.resolve("VBoxManage"));
        // Vagrant's words: "==> NAME: step" lines, indented details, and one machine's line after another's
        Files.writeString(bin.resolve("vagrant"), """
            #!/bin/sh
            # TEST STAND-IN for vagrant (tests/unit/ProgressTest.java only): prints, starts nothing
            case "$1" in
              --version) echo "Vagrant 2.4.1" ;;
              up) m=$2
                  echo "Bringing machine '$m' up with 'virtualbox' provider..."
                  echo "==> $m: Importing base box 'bento/debian-13'..."
                  sleep 1.2
                  echo "==> $m: Booting VM..."
                  echo "==> $m:  -- Memory: 1024M"
                  sleep 1.2
                  echo "==> $m: Running provisioner: k3s (shell)..."
                  echo "    $m: [INFO]  k3s installed"
                  sleep 1.2 ;;
              *) echo "vagrant stand-in: no '$*' here" >&2; exit 1 ;;
            esac
            """);
        bin.resolve("vagrant").toFile().setExecutable(true);
        bin.resolve("VBoxManage").toFile().setExecutable(true);
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    @Test
    void onATerminalEachMachineAndTheDownloadIsOneLineUpdatedInPlaceAndStdoutCarriesNone() throws IOException {
        Repo.Run run = onATerminal(false);
        String screen = run.stdout();
        Path stdout = dir.resolve("stdout.txt");
        assertEquals("", Files.readString(stdout), "stdout carries no progress");
        // redrawn in place: the cursor goes up over the live lines and clears them
        assertTrue(screen.contains("\u001b[") && screen.contains("A\r\u001b[J"), screen);
        assertTrue(screen.matches("(?s).*  wilS +\\d+s  Booting VM\\.\\.\\.\\r?\\n.*"), screen);
        assertTrue(screen.matches("(?s).*  wilSW +\\d+s  Running provisioner: k3s \\(shell\\)\\.\\.\\.\\r?\\n.*"),
            screen);
        assertTrue(screen.matches("(?s).*  wilS +[1-9]\\d*s  up \\(booted and provisioned\\)\\r?\\n.*"), screen);
        assertTrue(screen.matches("(?s).*  k3s v1\\.31\\.4\\+k3s1  [0-9.]+ MB of 3\\.0 MB  [0-9.]+ MB/s.*"), screen);
        // the log's own lines stay, once each; Vagrant's per-machine lines are on the live lines only
        assertTrue(screen.contains("==> 3/4 vagrant up: booting wilS, wilSW and installing K3s"), screen);
        assertFalse(screen.contains("]     wilS: Booting VM"), screen);
        assertTrue(screen.contains("k3s-up: vagrant ssh-config wilS"), "the failure is still told: " + screen);
        assertEquals(1, run.exit(), screen);
    }

    @Test
    void inAPipeTheLinesAreTodaysPlainTimestampedLines() {
        Repo.Run run = Repo.exec(List.of("sh", "-c", command()), dir, env(), null, 120);
        assertEquals("", run.stdout());
        assertPlain(run.stderr());
    }

    @Test
    void withVerboseOnATerminalTheLinesArePlainAsInAPipe() {
        String screen = onATerminal(true).stdout();
        assertFalse(screen.contains("\u001b["), screen);
        assertTrue(screen.contains("]     | ==> wilS:  -- Memory: 1024M"), "-v shows the details: " + screen);
        assertTrue(screen.contains("]     wilS: Booting VM..."), screen);
    }

    /** The lines k3s-up printed before live progress existed, byte for byte. */
    static void assertPlain(String err) {
        assertFalse(err.contains("\r") || err.contains("\u001b"), err);
        for (String line : err.split("\n")) {
            // a log line, or the failure's message (and the lines it quotes)
            boolean logLine = line.matches("k3s-up \\[ *\\d+s\\] .*");
            assertTrue(logLine || !line.startsWith("k3s-up") || line.startsWith("k3s-up: "), line);
        }
        for (String expected : List.of("==> 3/4 vagrant up: booting wilS, wilSW and installing K3s",
                "]     downloading K3s " + VERSION + " (" + arch() + ") once, for every machine",
                "]     wilS: Importing base box 'bento/debian-13'...", "]     wilS: Booting VM...",
                "]     wilS: Running provisioner: k3s (shell)...", "]     wilSW: Booting VM...")) {
            assertTrue(err.contains(expected), expected + " in:\n" + err);
        }
    }

    private Repo.Run onATerminal(boolean verbose) {
        // stderr the pseudo-terminal, stdout a file: as in `k3s-up | k3s-join` run from a terminal
        String inner = command() + (verbose ? " -v" : "") + " >" + Shell.quote(dir.resolve("stdout.txt").toString());
        return Repo.exec(List.of("script", "-qfec", inner, "/dev/null"), dir, env(), null, 120);
    }

    private String command() {
        List<String> words = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp", System.getProperty("java.class.path"), "up", "--provider", "virtualbox", "--login", "wil",
            "--dir", dir.resolve("cluster").toString(), "--k3s-version", VERSION, "--insecure-mirror",
            "--k3s-mirror", "http://127.0.0.1:" + server.getAddress().getPort() + "/mirror"));
        return String.join(" ", words.stream().map(Shell::quote).toList());
    }

    private Map<String, String> env() {
        return Map.of("PATH", dir.resolve("bin") + ":/usr/bin:/bin", "HOME", dir.toString(),
            "XDG_CACHE_HOME", dir.resolve("cache").toString(), "TERM", "xterm");
    }

    static String arch() {
        return K3sRelease.arch(System.getProperty("os.arch"));
    }

    /** The binary's name in a release: k3s on amd64, k3s-arm64 ... */
    static String asset() {
        return arch().equals("amd64") ? "k3s" : "k3s-" + (arch().equals("arm") ? "armhf" : arch());
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
