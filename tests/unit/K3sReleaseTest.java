import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * K3s fetched once on the host, against a real HTTP server on 127.0.0.1 standing in for
 * K3s's release site (a mirror, as --k3s-mirror allows): the channel lookup, the checksum
 * check, the cache, the offline mode. The K3s "binary" here is test bytes, not K3s.
 */
class K3sReleaseTest {
    static final String VERSION = "v1.31.4+k3s1";
    static final byte[] BINARY = "#!/bin/sh\necho k3s test bytes\n".getBytes(StandardCharsets.UTF_8);

    static final byte[] IMAGES = "air-gap images test bytes".getBytes(StandardCharsets.UTF_8);

    @TempDir Path cache;
    HttpServer server;
    final Map<String, byte[]> files = new ConcurrentHashMap<>();
    final Map<String, String> redirects = new ConcurrentHashMap<>();
    final AtomicInteger requests = new AtomicInteger();
    K3sRelease.Source source;
    /** Released after each test: ends the stalled and trickling answers. */
    final CountDownLatch release = new CountDownLatch(1);
    final Log log = new Log(new PrintWriter(new StringWriter()), "test", null);

    @BeforeEach
    void startTheReleaseSite() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            requests.incrementAndGet();
            String path = exchange.getRequestURI().getRawPath();
            if (redirects.containsKey(path)) {
                exchange.getResponseHeaders().add("Location", redirects.get(path));
                exchange.sendResponseHeaders(302, -1);
            } else {
                serveFile(exchange, files);
            }
        });
        // a stalled answer must not hold up the others: one thread per exchange
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/stall/", exchange -> {
            // headers and half the body, then nothing: a connection stuck mid-download
            byte[] body = files.get(exchange.getRequestURI().getRawPath().substring("/stall".length()));
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body, 0, body.length / 2);
            exchange.getResponseBody().flush();
            awaitQuietly(release, 60_000);
            exchange.close();
        });
        server.createContext("/trickle/", exchange -> {
            // a byte every 100 ms: never idle, never done
            exchange.sendResponseHeaders(200, 1_000_000);
            for (int i = 0; i < 600 && !awaitQuietly(release, 100); i++) {
                exchange.getResponseBody().write('x');
                exchange.getResponseBody().flush();
            }
            exchange.close();
        });
        server.start();
        String base = "http://127.0.0.1:" + server.getAddress().getPort();
        source = K3sRelease.Source.of(base + "/mirror/");
        files.put("/mirror/install.sh", "#!/bin/sh\n# installer\n".getBytes(StandardCharsets.UTF_8));
        files.put("/mirror/install.sh.sha256sum", (sha256("#!/bin/sh\n# installer\n".getBytes(StandardCharsets.UTF_8))
            + "  install.sh\n").getBytes(StandardCharsets.UTF_8));
        files.put("/mirror/releases/v1.31.4%2Bk3s1/sha256sum-amd64.txt",
            (sha256(BINARY) + "  k3s\n" + sha256(new byte[1]) + "  k3s-airgap-images-amd64.tar\n"
            + sha256(IMAGES) + "  k3s-airgap-images-amd64.tar.zst\n").getBytes(StandardCharsets.UTF_8));
        // the binary is served through a redirect, as GitHub sends release assets to its CDN
        redirects.put("/mirror/releases/v1.31.4%2Bk3s1/k3s", base + "/cdn/k3s");
        files.put("/cdn/k3s", BINARY);
        files.put("/mirror/releases/v1.31.4%2Bk3s1/k3s-airgap-images-amd64.tar.zst", IMAGES);
        redirects.put("/mirror/channels/stable", base + "/mirror/releases/tag/" + VERSION);
        redirects.put("/mirror/channels/latest", base + "/mirror/releases/tag/v1.32.0%2Bk3s1");
    }

    @AfterEach
    void stop() {
        release.countDown();
        server.stop(0);
        K3sRelease.idleTimeout = null; // the default again
    }

    @Test
    void aDownloadThatStallsMidBodyFailsWithinTheIdleTimeoutNamingWhatToDoAndLeavesNothing() throws IOException {
        K3sRelease.idleTimeout = Duration.ofSeconds(1);
        String base = "http://127.0.0.1:" + server.getAddress().getPort();
        // the binary (streamed into the cache) and the installer (read into memory) each stall once
        Map<String, String> stalls = Map.of("/mirror/releases/v1.31.4%2Bk3s1/k3s", base + "/stall/cdn/k3s",
            "/mirror/install.sh", base + "/stall/mirror/install.sh");
        for (var stall : stalls.entrySet()) {
            Path dir = cache.resolve(stall.getKey().endsWith("k3s") ? "binary" : "installer");
            String served = redirects.put(stall.getKey(), stall.getValue());
            long start = System.nanoTime();
            Cli.Failure failure = assertTimeoutPreemptively(Duration.ofSeconds(20),
                () -> assertThrows(Cli.Failure.class,
                    () -> K3sCache.fetch(VERSION, "amd64", dir, source, false, log)),
                stall.getValue() + " stalled, and the download did not give up");
            long seconds = Duration.ofNanos(System.nanoTime() - start).toSeconds();
            assertTrue(seconds < 10, "gave up after " + seconds + " s, the idle timeout being 1 s");
            assertEquals(Cli.FAILED, failure.exitCode);
            int size = files.get(stall.getValue().substring((base + "/stall").length())).length;
            String stalled = "the download of " + base + stall.getKey() + " stalled: nothing received for 1 s after "
                + size / 2 + " of " + size + " bytes";
            for (String expected : List.of(stalled, "partial file was removed", "run the step again", "--k3s-mirror",
                    "--airgap-dir")) {
                assertTrue(failure.getMessage().contains(expected), "'" + expected + "' in: " + failure.getMessage());
            }
            try (var left = Files.walk(cache)) {
                assertEquals(List.of(), left.filter(Files::isRegularFile).toList(), "no partial file left");
            }
            if (served == null) redirects.remove(stall.getKey()); else redirects.put(stall.getKey(), served);
        }
    }

    @Test
    void aDownloadThatTricklesOnPastTheDeadlineStopsThere() throws IOException {
        K3sRelease.idleTimeout = Duration.ofSeconds(1);
        String base = "http://127.0.0.1:" + server.getAddress().getPort();
        redirects.put("/mirror/releases/v1.31.4%2Bk3s1/k3s", base + "/trickle/k3s");
        long start = System.nanoTime();
        long deadline = start + Duration.ofSeconds(3).toNanos();
        Cli.Failure failure = assertTimeoutPreemptively(Duration.ofSeconds(20),
            () -> assertThrows(Cli.Failure.class,
                () -> K3sCache.fetch(VERSION, "amd64", cache, source, false, deadline, log)),
            "a download that never idles must still end at the step's --timeout");
        long seconds = Duration.ofNanos(System.nanoTime() - start).toSeconds();
        assertTrue(seconds >= 2 && seconds < 8, "gave up after " + seconds + " s, the deadline being 3 s");
        assertEquals(Cli.TIMED_OUT, failure.exitCode);
        String url = base + "/mirror/releases/v1.31.4%2Bk3s1/k3s";
        for (String expected : List.of("--timeout reached while downloading " + url, "bytes", "--airgap-dir")) {
            assertTrue(failure.getMessage().contains(expected), "'" + expected + "' in: " + failure.getMessage());
        }
        try (var left = Files.walk(cache)) {
            assertEquals(List.of(), left.filter(Files::isRegularFile).toList(), "no partial file left");
        }
    }

    /** Waits up to millis for latch; true when it was released. */
    static boolean awaitQuietly(CountDownLatch latch, long millis) {
        try {
            return latch.await(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
    }

    @Test
    void aChannelResolvesToTheVersionItRedirectsTo() {
        assertEquals(VERSION, K3sRelease.resolveChannel("stable", source, log));
        assertEquals("v1.32.0+k3s1", K3sRelease.resolveChannel("latest", source, log), "an escaped '+' in the tag");
        Cli.Failure unknown = assertThrows(Cli.Failure.class, () -> K3sRelease.resolveChannel("nosuch", source, log));
        assertTrue(unknown.getMessage().contains("did not name a K3s version"), unknown.getMessage());
    }

    @Test
    void theBinaryIsDownloadedOnceCheckedAndServedFromTheCacheAfterwards() throws IOException {
        Path dir = K3sCache.fetch(VERSION, "amd64", cache, source, false, log);
        assertArrayEquals(BINARY, Files.readAllBytes(dir.resolve("k3s")));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("k3s"))));
        assertTrue(Files.readString(dir.resolve("install.sh")).contains("installer"));
        int after = requests.get();
        server.stop(0);
        assertEquals(dir, K3sCache.fetch(VERSION, "amd64", cache, source, false, log),
            "the second time needs no network");
        assertEquals(dir, K3sCache.fetch(VERSION, "amd64", cache, source, true, log), "nor does --offline");
        assertEquals(after, requests.get());
    }

    @Test
    void airGapImagesAreFetchedOnceWhenAskedCheckedAndKeptBesideTheBinary() throws IOException {
        Path dir = K3sCache.fetch(VERSION, "amd64", cache, source, false, log);
        assertFalse(Files.exists(dir.resolve("k3s-airgap-images-amd64.tar.zst")), "not fetched unless asked");
        Path images = K3sCache.fetchImages(VERSION, "amd64", cache, source, false, log);
        assertEquals(dir.resolve("k3s-airgap-images-amd64.tar.zst"), images,
            "beside the binary: the machines install every k3s-airgap-images-* there");
        assertArrayEquals(IMAGES, Files.readAllBytes(images));
        int after = requests.get();
        assertEquals(images, K3sCache.fetchImages(VERSION, "amd64", cache, source, true, log),
            "then offline, from the cache");
        assertEquals(after, requests.get());
        // a tampered download is refused and leaves nothing
        Path other = cache.resolve("other");
        files.put("/mirror/releases/v1.31.4%2Bk3s1/k3s-airgap-images-amd64.tar.zst",
            "tampered".getBytes(StandardCharsets.UTF_8));
        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> K3sCache.fetchImages(VERSION, "amd64", other, source, false, log));
        assertTrue(failure.getMessage().contains("K3s's air-gap images from")
            && failure.getMessage().contains("does not match its checksum"),
            failure.getMessage());
        try (var left = Files.walk(other)) {
            assertEquals(0, left.filter(Files::isRegularFile).count(), "no partial file left");
        }
        Cli.Failure offline = assertThrows(Cli.Failure.class,
            () -> K3sCache.fetchImages(VERSION, "arm64", cache, source, true, log));
        assertTrue(offline.getMessage().contains("--airgap-images"), offline.getMessage());
    }

    @Test
    void aBinaryThatDoesNotMatchItsChecksumIsRefusedAndNotCached() throws IOException {
        files.put("/cdn/k3s", "tampered".getBytes(StandardCharsets.UTF_8));
        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> K3sCache.fetch(VERSION, "amd64", cache, source, false, log));
        assertTrue(failure.getMessage().contains("does not match its checksum"), failure.getMessage());
        try (var left = Files.walk(cache)) {
            assertEquals(0, left.filter(Files::isRegularFile).count(), "nothing cached, no partial file left");
        }
    }

    @Test
    void offlineWithoutTheVersionInTheCacheSaysWhatToDo() {
        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> K3sCache.fetch(VERSION, "amd64", cache, source, true, log));
        assertTrue(failure.getMessage().contains("--offline") && failure.getMessage().contains("not in the cache"),
            failure.getMessage());
        assertEquals(0, requests.get(), "offline touches no network");
    }

    @Test
    void anUnreachableSiteFailsWithAHintAndCachesNothing() throws IOException {
        server.stop(0);
        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> K3sCache.fetch(VERSION, "amd64", cache, source, false, log));
        assertTrue(failure.getMessage().contains("--no-host-cache"), failure.getMessage());
        assertFalse(Files.exists(cache.resolve("v1.31.4-k3s1/amd64/k3s")));
    }

    @Test
    void architecturesAreNamedTheWayK3sNamesItsBuilds() {
        assertEquals("amd64", K3sRelease.arch("x86_64"));
        assertEquals("arm64", K3sRelease.arch("aarch64"));
        assertEquals("arm", K3sRelease.arch("armv7l"));
        assertEquals("arm", K3sRelease.arch("armv6l")); // a Raspberry Pi Zero or 1
        assertEquals("s390x", K3sRelease.arch("s390x"));
        assertThrows(Cli.Failure.class, () -> K3sRelease.arch("sparc64"));
    }

    @Test
    void a32BitArmHostGetsK3sArmhfCheckedAgainstSha256sumArm() throws IOException {
        // K3s releases name 32-bit ARM's binary k3s-armhf, listed in sha256sum-arm.txt (install.sh: SUFFIX=-${ARCH}hf)
        byte[] armhf = "k3s for armhf".getBytes(StandardCharsets.UTF_8);
        files.put("/mirror/releases/v1.31.4%2Bk3s1/sha256sum-arm.txt",
            (sha256(armhf) + "  k3s-armhf\n").getBytes(StandardCharsets.UTF_8));
        files.put("/mirror/releases/v1.31.4%2Bk3s1/k3s-armhf", armhf);
        Path dir = K3sCache.fetch(VERSION, K3sRelease.arch("armv7l"), cache, source, false, log);
        assertArrayEquals(armhf, Files.readAllBytes(dir.resolve("k3s")), "installed as k3s, as K3s's installer does");
    }

    /** A release site's plain answer: the file at the request's path, or 404; ProgressTest's site uses it too. */
    static void serveFile(HttpExchange exchange, Map<String, byte[]> files) throws IOException {
        byte[] body = files.get(exchange.getRequestURI().getRawPath());
        if (body != null) {
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
        } else {
            exchange.sendResponseHeaders(404, -1);
        }
        exchange.close();
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // issue 9, item 10: over http the mirror's checksum file comes unprotected with the binary it vouches for
    @Test
    void aPlainHttpMirrorIsRefusedUnlessInsecureMirror() {
        Repo.Run http = Repo.step(new up(), "--dry-run", "--provider", "libvirt",
            "--k3s-mirror", "http://mirror.example/k3s");
        assertEquals(Cli.USAGE, http.exit(), http.stderr());
        assertTrue(http.stderr().contains("--insecure-mirror"), http.stderr());
        Repo.Run allowed = Repo.step(new up(), "--dry-run", "--provider", "libvirt",
            "--k3s-mirror", "http://mirror.example/k3s",
            "--insecure-mirror");
        assertEquals(Cli.OK, allowed.exit(), allowed.stderr());
        Repo.Run https = Repo.step(new up(), "--dry-run", "--provider", "libvirt",
            "--k3s-mirror", "https://mirror.example/k3s");
        assertEquals(Cli.OK, https.exit(), https.stderr());
        Repo.Run ftp = Repo.step(new up(), "--dry-run", "--provider", "libvirt",
            "--k3s-mirror", "ftp://mirror.example/k3s",
            "--insecure-mirror");
        assertEquals(Cli.USAGE, ftp.exit(), ftp.stderr());
        Repo.Run join = Repo.step(new join(), "--host", "pi@192.168.56.20",
            "--k3s-mirror", "http://mirror.example/k3s");
        assertEquals(Cli.USAGE, join.exit(), join.stderr());
        assertTrue(join.stderr().contains("--insecure-mirror"), join.stderr());
    }

    // issue 9, item 10: another step's download in progress sits in the cache as a hidden .part file
    @Test
    void joinUploadsNoPartialDownloadAndTheTokenLast() throws IOException {
        Path folder = Files.createDirectories(cache.resolve("v1.31.4+k3s1").resolve("amd64"));
        for (String name : List.of("install.sh", "k3s", "k3s-airgap-images-amd64.tar.zst", ".k3s.123.part",
            ".k3s-airgap-images-amd64.tar.zst.456.part")) {
            Files.writeString(folder.resolve(name), name);
        }
        assertEquals(List.of("agent.sh", "k3s-common.sh", "airgap/install.sh", "airgap/k3s",
            "airgap/k3s-airgap-images-amd64.tar.zst", "token"), AgentInstall.uploads(folder, Proxy.from(Map.of())));
        assertEquals(List.of("agent.sh", "k3s-common.sh", "token"), AgentInstall.uploads(null, Proxy.from(Map.of())));
        // the proxy's file (a URL may hold a password) before the token, which stays last
        assertEquals(List.of("agent.sh", "k3s-common.sh", "proxy.env", "token"),
            AgentInstall.uploads(null, Proxy.from(Map.of("HTTPS_PROXY", "http://proxy.example:3128"))));
    }

    // issue 9, item 10: get.k3s.io serves whatever installer is current, for every version
    @Test
    void theInstallerIsTakenAtTheReleasesTagAndCheckedAgainstItsSha256sum() throws IOException {
        files.put("/mirror/install.sh.sha256sum",
            (sha256(new byte[1]) + "  install.sh\n").getBytes(StandardCharsets.UTF_8));
        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> K3sCache.fetch(VERSION, "amd64", cache, source, false, log));
        assertTrue(failure.getMessage().contains("install.sh from") && failure.getMessage().contains("does not match"),
            failure.getMessage());
        try (var left = Files.walk(cache)) {
            assertEquals(0, left.filter(Files::isRegularFile).count(), "nothing cached");
        }
        assertEquals("https://raw.githubusercontent.com/k3s-io/k3s/{tag}/install.sh",
            K3sRelease.Source.of(null).installer());
    }
}
