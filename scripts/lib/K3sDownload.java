//SOURCES Cli.java
//SOURCES Proxy.java
//SOURCES K3sRelease.java
//SOURCES DownloadBody.java

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Authenticator;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * HTTP downloads of K3s's files through the host's proxy: given up when nothing arrives for
 * the idle timeout or at the step's deadline, failures naming the proxy and the flags that help.
 */
final class K3sDownload {
    private K3sDownload() {
    }

    /** GET url, its body in memory (checksum files). */
    static byte[] download(String url, long deadline) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        get(url, body, deadline, null);
        return body.toByteArray();
    }

    /** Streams url into file; returns the sha256 of what was written. */
    static String downloadTo(String url, Path file, long deadline, Received received) {
        try {
            MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
            try (OutputStream out = new DigestOutputStream(Files.newOutputStream(file), sha256)) {
                get(url, out, deadline, received);
            }
            return HexFormat.of().formatHex(sha256.digest());
        } catch (IOException e) {
            throw unreachable(url, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** GET url into out, following redirects; anything but 200 is a failure naming the url. */
    private static void get(String url, OutputStream out, long deadline, Received received) {
        try {
            HttpResponse<Void> response = exchange(url, HttpClient.Redirect.NORMAL, out, deadline, received);
            if (response.statusCode() == 407) throw proxyRefused(url, "HTTP 407");
            if (response.statusCode() != 200) {
                throw Cli.fail(Cli.FAILED, "downloading " + url + " failed: HTTP " + response.statusCode());
            }
        } catch (IOException e) {
            throw unreachable(url, e);
        }
    }

    /**
     * GET url, its body written to out when the answer is 200 (else read and dropped). HttpClient's
     * own timeout ends when the headers arrive, so a connection that stalls mid-body would hang
     * forever: this gives up when nothing arrives for the idle timeout, and at deadline.
     */
    static HttpResponse<Void> exchange(String url, HttpClient.Redirect redirects, OutputStream out,
            long deadline, Received received) throws IOException {
        Duration idle = K3sRelease.idleTimeout();
        DownloadBody body = new DownloadBody(out);
        CompletableFuture<HttpResponse<Void>> response = client(redirects)
            .sendAsync(HttpRequest.newBuilder(URI.create(url)).GET().build(), body);
        long tick = Math.max(10, Math.min(250, idle.toMillis() / 4));
        try {
            while (true) {
                try {
                    return response.get(tick, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    if (received != null && body.answered) received.bytes(body.received, body.length);
                    long now = System.nanoTime();
                    if (now - body.lastProgress >= idle.toNanos()) {
                        body.stop();
                        response.cancel(true);
                        throw Cli.fail(Cli.FAILED, "the download of " + url + " stalled: nothing received for "
                            + idle.toSeconds() + " s " + body.progress() + "; nothing was cached (the partial file"
                            + " was removed): run the step again to retry, or use --k3s-mirror URL (a mirror nearer"
                            + " to you), or --airgap-dir DIR (K3s from a folder, see the README's Offline); a link"
                            + " that pauses longer: " + K3sRelease.IDLE_TIMEOUT_VARIABLE + "=SECONDS");
                    }
                    if (deadline != K3sRelease.NO_DEADLINE && now - deadline >= 0) {
                        body.stop();
                        response.cancel(true);
                        throw Cli.fail(Cli.TIMED_OUT, "--timeout reached while downloading " + url + " ("
                            + body.progress() + "); nothing was cached (the partial file was removed). Pass a larger"
                            + " --timeout, a nearer --k3s-mirror URL, or --airgap-dir DIR");
                    }
                }
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) throw io;
            throw new IOException(Cli.rootMessage(e), e.getCause());
        } catch (InterruptedException e) {
            body.stop();
            response.cancel(true);
            Thread.currentThread().interrupt();
            throw Cli.fail(Cli.FAILED, "interrupted");
        }
    }

    /** Told the bytes of a download so far, a few times a second (total -1: the server did not say). */
    interface Received {
        void bytes(long received, long total);
    }

    private static Cli.Failure unreachable(String url, IOException e) {
        String reason = Cli.rootMessage(e);
        // HttpClient reports a CONNECT answered with 407, and credentials refused 3 times, as IOExceptions
        if (reason.contains("407") || reason.contains("too many authentication attempts")) {
            return proxyRefused(url, reason);
        }
        Proxy.Endpoint through = K3sRelease.proxy().forUri(URI.create(url));
        if (through != null) {
            return new Cli.Failure(Cli.FAILED, "cannot download " + url + " (" + reason + ") through the proxy "
                + through.host() + ":" + through.port() + " (" + through.variable() + "): is the proxy up and its"
                + " address right? A host your network reaches directly belongs in NO_PROXY; or use --airgap-dir", e);
        }
        return new Cli.Failure(Cli.FAILED, "cannot download " + url + " (" + reason + "): no internet on this host? "
            + "Use --airgap-dir, or --no-host-cache to let each VM download K3s itself; behind a proxy, set"
            + " HTTPS_PROXY (see the README's Proxies)", e);
    }

    /** The proxy wants credentials it was not given, or refused those it was. */
    private static Cli.Failure proxyRefused(String url, String reason) {
        Proxy.Endpoint through = K3sRelease.proxy().forUri(URI.create(url));
        String proxyName = through == null ? "the proxy" : "the proxy " + through.host() + ":" + through.port()
            + " (" + through.variable() + ")";
        return Cli.fail(Cli.FAILED, proxyName + " refused to fetch " + url + " (" + reason + "): it asks for"
            + " credentials; give them in the URL, http://USER:PASSWORD@HOST:PORT (percent-encoded), and check them");
    }

    /** Release downloads redirect to a CDN; a channel's answer is the redirect itself. */
    private static HttpClient client(HttpClient.Redirect redirects) {
        Proxy through = K3sRelease.proxy(); // first: it sets what HttpClient reads once, when its classes load
        HttpClient.Builder builder = HttpClient.newBuilder().followRedirects(redirects)
            .connectTimeout(Duration.ofSeconds(20)).proxy(through.selector());
        Authenticator authenticator = through.authenticator();
        if (authenticator != null) builder.authenticator(authenticator);
        return builder.build();
    }
}
