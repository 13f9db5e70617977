import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The host's proxy variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY, and their lower-case forms):
 * K3s's download must go through a real proxy on 127.0.0.1 (tests/unit/HttpProxy.java), which
 * alone can resolve the release site's name (k3s-mirror.test), as a corporate proxy resolves
 * names the host cannot.
 */
class ProxyTest {
    static final String VERSION = "v1.31.4+k3s1";
    static final byte[] BINARY = "#!/bin/sh\necho k3s test bytes\n".getBytes(StandardCharsets.UTF_8);
    static final byte[] INSTALLER = "#!/bin/sh\n# installer\n".getBytes(StandardCharsets.UTF_8);

    @TempDir Path tmp;
    final StringWriter logged = new StringWriter();
    final Log log = new Log(new PrintWriter(logged, true), "test", null);
    SSLContext previousDefault;

    @AfterEach
    void restore() throws Exception {
        K3sRelease.proxy = null;
        if (previousDefault != null) SSLContext.setDefault(previousDefault);
    }

    @Test
    void anHttpDownloadGoesThroughTheProxyThatHttpProxyNames() throws IOException {
        HttpServer site = releaseSite(HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0), "http");
        try (HttpProxy proxy = new HttpProxy(null)) {
            String base = "http://k3s-mirror.test:" + site.getAddress().getPort();
            K3sRelease.proxy = Proxy.from(Map.of("http_proxy", "http://127.0.0.1:" + proxy.port()));
            Path dir = K3sCache.fetch(VERSION, "amd64", tmp, K3sRelease.Source.of(base + "/mirror"), false, log);
            assertArrayEquals(BINARY, Files.readAllBytes(dir.resolve("k3s")));
            assertTrue(proxy.requests.contains("GET " + base + "/mirror/releases/v1.31.4%2Bk3s1/k3s HTTP/1.1"),
                "the proxy saw the download: " + proxy.requests);
            assertTrue(proxy.requests.contains("GET " + base + "/cdn/k3s HTTP/1.1"), "and the redirect's: "
                + proxy.requests);
        } finally {
            site.stop(0);
        }
    }

    @Test
    void anHttpsDownloadTunnelsThroughTheProxyWithTheCredentialsOfItsUrlNeverLogged() throws Exception {
        HttpsServer site = httpsReleaseSite();
        try (HttpProxy proxy = new HttpProxy("k3s user:p@ss+word")) {
            String base = "https://k3s-mirror.test:" + site.getAddress().getPort();
            K3sRelease.proxy = Proxy.from(Map.of("HTTPS_PROXY",
                "http://k3s%20user:p%40ss+word@127.0.0.1:" + proxy.port(), "NO_PROXY", "example.com"));
            Path dir = K3sCache.fetch(VERSION, "amd64", tmp, K3sRelease.Source.of(base + "/mirror"), false, log);
            assertArrayEquals(BINARY, Files.readAllBytes(dir.resolve("k3s")));
            String target = "CONNECT k3s-mirror.test:" + site.getAddress().getPort() + " HTTP/1.1";
            assertTrue(proxy.requests.contains(target), "the proxy saw the tunnel: " + proxy.requests);
            assertTrue(proxy.credentials.contains("k3s user:p@ss+word"), "percent-decoded credentials: "
                + proxy.credentials);
            assertTrue(logged.toString().contains("downloads go https through 127.0.0.1:" + proxy.port()),
                logged.toString());
            assertFalse(logged.toString().contains("p%40ss") || logged.toString().contains("p@ss"), logged.toString());
        } finally {
            site.stop(0);
        }
    }

    @Test
    void aProxyThatAsksForCredentialsItWasNotGivenIsNamedWithTheFix() throws Exception {
        HttpsServer site = httpsReleaseSite();
        try (HttpProxy proxy = new HttpProxy("user:right")) {
            String base = "https://k3s-mirror.test:" + site.getAddress().getPort();
            String wrong = "http://user:wrong@127.0.0.1:" + proxy.port();
            for (String url : List.of("http://127.0.0.1:" + proxy.port(), wrong)) {
                K3sRelease.proxy = Proxy.from(Map.of("HTTPS_PROXY", url));
                Cli.Failure failure = assertThrows(Cli.Failure.class, () -> K3sCache.fetch(VERSION, "amd64", tmp,
                    K3sRelease.Source.of(base + "/mirror"), false, log));
                String expected = "the proxy 127.0.0.1:" + proxy.port() + " (HTTPS_PROXY) refused";
                assertTrue(failure.getMessage().contains(expected), failure.getMessage());
                assertTrue(failure.getMessage().contains("http://USER:PASSWORD@HOST:PORT"), failure.getMessage());
                assertFalse(failure.getMessage().contains("wrong"), failure.getMessage());
            }
        } finally {
            site.stop(0);
        }
    }

    @Test
    void aHostInNoProxyIsReachedDirectlyAndLoopbackAlways() throws IOException {
        HttpServer site = releaseSite(HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0), "http");
        try (HttpProxy proxy = new HttpProxy(null)) {
            K3sRelease.proxy = Proxy.from(Map.of("HTTP_PROXY", "http://127.0.0.1:" + proxy.port(),
                "no_proxy", "k3s-mirror.test"));
            String base = "http://k3s-mirror.test:" + site.getAddress().getPort();
            // directly, the host cannot resolve the name: the failure proves the proxy was not asked
            Cli.Failure failure = assertThrows(Cli.Failure.class, () -> K3sCache.fetch(VERSION, "amd64", tmp,
                K3sRelease.Source.of(base + "/mirror"), false, log));
            assertTrue(failure.getMessage().contains("cannot download " + base), failure.getMessage());
            String loopback = "http://127.0.0.1:" + site.getAddress().getPort();
            K3sRelease.proxy = Proxy.from(Map.of("HTTP_PROXY", "http://127.0.0.1:" + proxy.port()));
            K3sCache.fetch(VERSION, "amd64", tmp.resolve("direct"), K3sRelease.Source.of(loopback + "/mirror"), false,
                log);
            assertEquals(List.of(), proxy.requests, "the proxy was never asked");
        } finally {
            site.stop(0);
        }
    }

    @Test
    void noProxyMatchesAsCurlDoes() {
        Proxy proxy = Proxy.from(Map.of("HTTPS_PROXY", "http://proxy.example:3128",
            "NO_PROXY", " .corp.example, 10.0.0.0/8,build-host,*.internal ,mirror.example:8443,"));
        for (String host : List.of("a.corp.example", "corp.example", "10.1.2.3", "build-host", "x.internal",
                "mirror.example", "localhost", "127.0.0.1")) {
            assertTrue(proxy.bypasses(host), host + " is reached directly");
        }
        for (String host : List.of("github.com", "notcorp.example", "11.0.0.1", "build-host.other")) {
            assertFalse(proxy.bypasses(host), host + " goes through the proxy");
        }
        assertTrue(Proxy.from(Map.of("HTTPS_PROXY", "http://p:1", "NO_PROXY", "*")).bypasses("github.com"));
        // curl's order: the lower-case variable first; each scheme its own
        Proxy both = Proxy.from(Map.of("https_proxy", "http://lower:1", "HTTPS_PROXY", "http://upper:2",
            "HTTP_PROXY", "plain:3"));
        assertEquals("lower", both.forUri(URI.create("https://github.com/")).host());
        assertEquals("plain", both.forUri(URI.create("http://github.com/")).host());
        assertEquals("HTTPS_PROXY=http://lower:1\nHTTP_PROXY=plain:3\n", both.machineFile());
    }

    @Test
    void joinTellsTheHostWhereTheProxyFileIsAndTheClustersAddressesNeverTheUrl() {
        Proxy proxy = Proxy.from(Map.of("HTTPS_PROXY", "http://user:s3cret@proxy.example:3128"));
        Cluster cluster = new Cluster("c", null, null, "https://192.168.56.110:6443", List.of(
            new Cluster.Node("s", "server", "192.168.56.110", new Cluster.Access(null, "u@192.168.56.110", 22, null)),
            new Cluster.Node("w", "agent", "192.168.56.111", Cluster.Access.vagrant("w"))), null);
        List<String> env = AgentInstall.proxyEnvironment(proxy, "/tmp/k3s-join.abc123", cluster);
        assertEquals(List.of("PROXY_FILE=/tmp/k3s-join.abc123/proxy.env",
            "NO_PROXY_ADDRESSES=192.168.56.110,192.168.56.111"), env);
        assertEquals(List.of(), AgentInstall.proxyEnvironment(Proxy.from(Map.of()), "/tmp/k3s-join.abc123", cluster));
        assertEquals("HTTPS_PROXY=http://user:s3cret@proxy.example:3128\n", proxy.machineFile(), "the file's text");
    }

    static Stream<Arguments> badVariables() {
        return Stream.of(
            Arguments.of(Map.of("HTTPS_PROXY", "https://proxy.example:3128"), "HTTPS_PROXY names a https:// proxy"),
            Arguments.of(Map.of("https_proxy", "socks5://proxy.example:1080"), "https_proxy names a socks5:// proxy"),
            Arguments.of(Map.of("HTTP_PROXY", "http://proxy.example"), "HTTP_PROXY names no port"),
            Arguments.of(Map.of("HTTPS_PROXY", "http://user:se cret@proxy.example:3128"), "HTTPS_PROXY holds a space"),
            Arguments.of(Map.of("HTTPS_PROXY", "http://user:se'cret@proxy.example:3128"), "HTTPS_PROXY holds a space"),
            Arguments.of(Map.of("HTTPS_PROXY", "http://user:se$cret@proxy.example:3128"), "HTTPS_PROXY holds a space"),
            Arguments.of(Map.of("HTTPS_PROXY", "http://user:secret@proxy.example:3128/path"),
                "HTTPS_PROXY is not a proxy URL"),
            Arguments.of(Map.of("HTTPS_PROXY", "http://p:1", "NO_PROXY", "a.example b.example"),
                "NO_PROXY holds \"a.example b.example\", which is not a host name"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("badVariables")
    void aBadProxyVariableIsRefusedNamingItAndTheFixNeverThePassword(Map<String, String> env, String expected) {
        Cli.Failure failure = assertThrows(Cli.Failure.class, () -> Proxy.from(env));
        assertEquals(Cli.USAGE, failure.exitCode);
        assertTrue(failure.getMessage().contains(expected), failure.getMessage());
        assertTrue(failure.getMessage().contains("http://HOST:PORT") || expected.startsWith("NO_PROXY"),
            failure.getMessage());
        assertFalse(failure.getMessage().contains("cret"), "the password is not shown: " + failure.getMessage());
    }

    // ---------------------------------------------------------------- helpers

    /** The release site's files on server (scheme its own), the binary behind a redirect, as GitHub's. */
    private static <S extends HttpServer> S releaseSite(S server, String scheme) {
        String sums = sha256(BINARY) + "  k3s\n";
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getRawPath();
            String host = exchange.getRequestHeaders().getFirst("Host");
            byte[] body = switch (path) {
                case "/mirror/install.sh" -> INSTALLER;
                case "/mirror/install.sh.sha256sum" -> (sha256(INSTALLER) + "  install.sh\n").getBytes(
                    StandardCharsets.UTF_8);
                case "/mirror/releases/v1.31.4%2Bk3s1/sha256sum-amd64.txt" -> sums.getBytes(StandardCharsets.UTF_8);
                case "/cdn/k3s" -> BINARY;
                default -> null;
            };
            if (path.equals("/mirror/releases/v1.31.4%2Bk3s1/k3s")) {
                exchange.getResponseHeaders().add("Location", scheme + "://" + host + "/cdn/k3s");
                exchange.sendResponseHeaders(302, -1);
            } else if (body == null) {
                exchange.sendResponseHeaders(404, -1);
            } else {
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
            }
            exchange.close();
        });
        server.start();
        return server;
    }

    /** A key and self-signed certificate for name (keytool's), trusted by the returned context alone. */
    /** The release site over HTTPS as k3s-mirror.test, its certificate trusted by the client for this test. */
    private HttpsServer httpsReleaseSite() throws Exception {
        HttpsServer site = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        SSLContext tls = tlsFor("k3s-mirror.test");
        site.setHttpsConfigurator(new HttpsConfigurator(tls));
        previousDefault = SSLContext.getDefault();
        SSLContext.setDefault(tls);
        releaseSite(site, "https");
        return site;
    }

    private SSLContext tlsFor(String name) throws Exception {
        Path store = tmp.resolve("tls.p12");
        char[] password = "changeit".toCharArray();
        Repo.Run run = Repo.exec(List.of("keytool", "-genkeypair", "-alias", "site", "-keyalg", "EC", "-dname",
            "CN=" + name, "-ext", "san=dns:" + name, "-validity", "2", "-keystore", store.toString(), "-storetype",
            "PKCS12", "-storepass", "changeit"), tmp, Map.of(), null, 60);
        assertEquals(0, run.exit(), run.stdout() + run.stderr());
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            keys.load(in, password);
        }
        KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(keys, password);
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(keys);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keyManagers.getKeyManagers(), trust.getTrustManagers(), null);
        return context;
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
