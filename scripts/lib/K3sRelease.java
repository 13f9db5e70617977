//SOURCES Cli.java
//SOURCES OwnerOnly.java
//SOURCES AtomicFile.java
//SOURCES Proxy.java

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * K3s fetched once per version and architecture on the host, checked against the
 * release's sha256sum file, and kept in a cache that every VM and every joined host of
 * that architecture is then installed from (K3s's air-gap mode): one download, not one
 * per machine. The cache folder is an air-gap folder: install.sh and k3s.
 */
final class K3sRelease {
    private K3sRelease() {}

    static final String RELEASES = "https://github.com/k3s-io/k3s/releases/download";
    static final String CHANNELS = "https://update.k3s.io/v1-release/channels";
    /** K3s's install.sh in its repository at the release's tag ({tag}), beside install.sh.sha256sum there. */
    static final String INSTALLER = "https://raw.githubusercontent.com/k3s-io/k3s/{tag}/install.sh";

    /** A deadline (System.nanoTime()) meaning none: only the idle timeout ends a download. */
    static final long NO_DEADLINE = Long.MAX_VALUE;

    static final String IDLE_TIMEOUT_VARIABLE = "K3S_VAGRANT_DOWNLOAD_IDLE_TIMEOUT";

    /** Set by tests; null: $K3S_VAGRANT_DOWNLOAD_IDLE_TIMEOUT seconds, else 60. */
    static Duration idleTimeout;

    /** Set by tests; null: the proxy the host's environment names (HTTPS_PROXY, NO_PROXY, ...). */
    static Proxy proxy;

    static Proxy proxy() {
        return proxy != null ? proxy : Proxy.fromEnvironment();
    }

    /** Where the releases come from: K3s's own addresses, or a mirror's. */
    record Source(String releases, String channels, String installer) {
        static Source of(String mirror) {
            if (mirror == null || mirror.isBlank()) return new Source(RELEASES, CHANNELS, INSTALLER);
            String base = mirror.endsWith("/") ? mirror.substring(0, mirror.length() - 1) : mirror;
            return new Source(base + "/releases", base + "/channels", base + "/install.sh");
        }
    }

    /** The options of every step that installs K3s. */
    static final class Options {
        @picocli.CommandLine.Option(names = "--no-host-cache",
            description = "Let each machine download K3s itself, instead of the host downloading it once into ~/.cache/k3s-vagrant/k3s.")
        boolean noHostCache;

        @picocli.CommandLine.Option(names = "--offline", description = "Use only K3s already in the host's cache, or --airgap-dir: no download.")
        boolean offline;

        @picocli.CommandLine.Option(names = "--airgap-images",
            description = "Also fetch K3s's air-gap images (k3s-airgap-images-ARCH.tar.zst, ~200 MB) once into the cache: the machines then pull no system image.")
        boolean images;

        @picocli.CommandLine.Option(names = "--k3s-mirror", paramLabel = "URL",
            description = {"Fetch K3s from a mirror: URL/releases/VERSION/k3s, URL/channels/CHANNEL,",
                "URL/install.sh and URL/install.sh.sha256sum (default: K3s's own sites)."})
        String mirror;

        @picocli.CommandLine.Option(names = "--insecure-mirror",
            description = "Allow an http:// --k3s-mirror: anyone on the way could then swap K3s and its checksums.")
        boolean insecureMirror;

        /**
         * Refuses a proxy variable that is not a proxy URL, and a mirror that is not https (http only
         * with --insecure-mirror): its checksums come from it too.
         */
        void validate() {
            proxy();
            if (mirror == null) return;
            String scheme = mirror.contains("://") ? mirror.substring(0, mirror.indexOf("://")) : "";
            boolean hasHost = mirror.length() > scheme.length() + 3 && mirror.matches("[a-z]+://[^\\s/?#]+(/\\S*)?");
            if (!hasHost || !List.of("https", "http").contains(scheme)) {
                throw Cli.fail(Cli.USAGE, "--k3s-mirror '" + mirror
                    + "' is not an https:// URL (e.g. https://mirror.example/k3s)");
            }
            if (scheme.equals("http") && !insecureMirror) {
                throw Cli.fail(Cli.USAGE, "--k3s-mirror " + mirror + " is plain http: anyone between this host and the"
                    + " mirror could swap K3s and the checksums it is checked against. Use an https:// mirror, or add"
                    + " --insecure-mirror"
                    + " to accept that risk");
            }
        }

        /**
         * The folder a machine installs K3s from: K3s of that version and architecture,
         * fetched once into the host's cache; null when each machine downloads it itself.
         * version may be null: then the channel's current version. Every download ends at
         * deadline (System.nanoTime()), or NO_DEADLINE.
         */
        Fetched airgapDir(String version, String channel, String arch, long deadline, Log log) {
            if (noHostCache) {
                if (offline) throw Cli.fail(Cli.USAGE, "--offline and --no-host-cache exclude each other: offline, K3s can only come from the host");
                return null;
            }
            Source source = Source.of(mirror);
            if (version == null) {
                if (offline) throw Cli.fail(Cli.USAGE, "--offline needs --k3s-version: the version to take from the host's cache");
                version = resolveChannel(channel, source, deadline, log);
            }
            Path dir = fetch(version, arch, defaultCache(), source, offline, deadline, log);
            if (images) fetchImages(version, arch, defaultCache(), source, offline, deadline, log);
            return new Fetched(version, dir);
        }
    }

    /** A file of the cache a machine installs from: not a hidden file nor a download in progress (.part). */
    static boolean isReleaseFile(String name) {
        return !name.startsWith(".") && !name.endsWith(".part");
    }

    /** K3s of a version, in a folder holding install.sh and k3s. */
    record Fetched(String version, Path dir) { }

    static Path defaultCache() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("k3s-vagrant").resolve("k3s");
    }

    /**
     * K3s's name of an architecture (uname -m or os.arch), as its install.sh maps them: the
     * name of the release's sha256sum-ARCH.txt and k3s-airgap-images-ARCH.tar.zst.
     */
    static String arch(String machine) {
        if (machine.startsWith("arm") && !machine.equals("arm64")) return "arm"; // armv6l, armv7l, armhf
        return switch (machine) {
            case "x86_64", "amd64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            case "s390x" -> "s390x";
            default -> throw Cli.fail(Cli.FAILED, "K3s has no build for the architecture '" + machine + "'");
        };
    }

    /** The release's binary for an architecture: install.sh's SUFFIX (32-bit ARM's is k3s-armhf). */
    static String binaryAsset(String arch) {
        return switch (arch) {
            case "amd64" -> "k3s";
            case "arm" -> "k3s-armhf";
            default -> "k3s-" + arch;
        };
    }

    /** The version a channel (stable, latest, v1.31) points at now: the channel server redirects to it. */
    static String resolveChannel(String channel, Source source, Log log) {
        return resolveChannel(channel, source, NO_DEADLINE, log);
    }

    static String resolveChannel(String channel, Source source, long deadline, Log log) {
        String url = source.channels() + "/" + channel;
        try {
            HttpResponse<Void> response = exchange(url, HttpClient.Redirect.NEVER, OutputStream.nullOutputStream(),
                deadline, null);
            String location = response.headers().firstValue("location").orElse("");
            // the tag in the redirect, its '+' sometimes escaped (URLDecoder would turn a bare '+' into a space)
            String version = location.substring(location.lastIndexOf('/') + 1).replace("%2B", "+").replace("%2b", "+");
            if (response.statusCode() / 100 != 3 || !K3s.isVersion(version)) {
                throw Cli.fail(Cli.FAILED, url + " did not name a K3s version (HTTP " + response.statusCode() + "): pass --k3s-version");
            }
            log.info("channel " + channel + " is " + version);
            return version;
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot reach " + url + " to resolve the K3s channel (" + Cli.rootMessage(e)
                + "): no internet on this host? Pass --airgap-dir, --k3s-version (with --offline when it is in the cache), "
                + "or --no-host-cache to let each VM download K3s itself");
        }
    }

    /**
     * The cache folder of a version and architecture, downloading what is missing unless
     * offline. The binary is checked against the release's sha256sum-ARCH.txt.
     */
    static Path fetch(String version, String arch, Path cache, Source source, boolean offline, Log log) {
        return fetch(version, arch, cache, source, offline, NO_DEADLINE, log);
    }

    static Path fetch(String version, String arch, Path cache, Source source, boolean offline, long deadline,
            Log log) {
        Path dir = cacheDir(cache, version, arch);
        Path installer = dir.resolve("install.sh");
        Path binary = dir.resolve("k3s");
        if (Files.isRegularFile(installer) && Files.isRegularFile(binary)) {
            log.info("K3s " + version + " (" + arch + ") from the cache " + dir);
            return dir;
        }
        if (offline) {
            throw Cli.fail(Cli.FAILED, "--offline: K3s " + version + " (" + arch + ") is not in the cache " + dir
                + ": run once with internet, or put install.sh and k3s there yourself");
        }
        try {
            String asset = binaryAsset(arch);
            String base = releaseBase(source, version);
            String expected = checksum(base, asset, arch, version, deadline);
            log.info("downloading K3s " + version + " (" + arch + ") once, for every machine");
            if (!proxy().isEmpty()) log.info("downloads go " + proxy().describe());
            Path temp = downloadChecked(base, asset, expected, dir, "the K3s binary", deadline, log);
            try {
                OwnerOnly.restrictProgram(temp);
                byte[] script = installer(source, version, deadline);
                AtomicFile.write(installer, new String(script, java.nio.charset.StandardCharsets.UTF_8),
                    "fix the permissions of " + dir + ", or free space on its disk");
                Files.move(temp, binary, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(temp);
            }
            return dir;
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot write the K3s cache " + dir + ": " + e.getMessage());
        }
    }

    /**
     * K3s's air-gap images of a version and architecture, beside its binary in the cache
     * (the machines' install copies every k3s-airgap-images-* it finds), checked like it.
     */
    static Path fetchImages(String version, String arch, Path cache, Source source, boolean offline, Log log) {
        return fetchImages(version, arch, cache, source, offline, NO_DEADLINE, log);
    }

    static Path fetchImages(String version, String arch, Path cache, Source source, boolean offline, long deadline,
            Log log) {
        Path dir = cacheDir(cache, version, arch);
        String asset = "k3s-airgap-images-" + arch + ".tar.zst";
        Path images = dir.resolve(asset);
        if (Files.isRegularFile(images)) return images;
        if (offline) {
            throw Cli.fail(Cli.FAILED, "--offline: " + asset + " of K3s " + version + " is not in the cache " + dir
                + ": run once with internet and --airgap-images, or put it there yourself");
        }
        String base = releaseBase(source, version);
        String expected = checksum(base, asset, arch, version, deadline);
        log.info("downloading " + asset + " of K3s " + version + " once, for every machine");
        Path temp = downloadChecked(base, asset, expected, dir, "K3s's air-gap images", deadline, log);
        try {
            Files.move(temp, images, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return images;
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot write the K3s cache " + dir + ": " + e.getMessage());
        } finally {
            deleteQuietly(temp); // moved, or left by a failed move
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // best effort: a failure at hand, or the process ending, matters more
        }
    }

    /** Where a version and architecture live in the cache. */
    private static Path cacheDir(Path cache, String version, String arch) {
        return cache.resolve(version.replace('+', '-')).resolve(arch);
    }

    /** The release's download folder, ending in '/' (the '+' of a K3s tag escaped). */
    private static String releaseBase(Source source, String version) {
        return source.releases() + "/" + version.replace("+", "%2B") + "/";
    }

    /**
     * install.sh of the release (not whatever get.k3s.io serves today), checked against the
     * install.sh.sha256sum beside it.
     */
    private static byte[] installer(Source source, String version, long deadline) {
        String url = source.installer().replace("{tag}", version.replace("+", "%2B"));
        String sums = new String(download(url + ".sha256sum", deadline), java.nio.charset.StandardCharsets.UTF_8);
        String expected = null;
        for (String line : sums.split("\n")) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length == 2 && fields[1].equals("install.sh")) expected = fields[0];
        }
        if (expected == null) throw Cli.fail(Cli.FAILED, url + ".sha256sum lists no install.sh: nothing was cached");
        byte[] script = download(url, deadline);
        String actual;
        try {
            actual = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(script));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        if (!actual.equals(expected)) {
            throw Cli.fail(Cli.FAILED, "install.sh from " + url + " does not match its checksum (sha256 " + actual
                + ", expected " + expected + " from " + url + ".sha256sum): nothing was cached; try again, or check"
                + " your mirror");
        }
        return script;
    }

    /** The sha256 that the release's sha256sum-ARCH.txt gives an asset. */
    private static String checksum(String base, String asset, String arch, String version, long deadline) {
        String sums = new String(download(base + "sha256sum-" + arch + ".txt", deadline),
            java.nio.charset.StandardCharsets.UTF_8);
        for (String line : sums.split("\n")) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length == 2 && fields[1].equals(asset)) return fields[0];
        }
        throw Cli.fail(Cli.FAILED, "sha256sum-" + arch + ".txt of " + version + " lists no " + asset);
    }

    /** Downloads base+asset into a temporary file in dir and returns it once its sha256 matches; else removes it and fails. */
    private static Path downloadChecked(String base, String asset, String expected, Path dir, String what,
            long deadline, Log log) {
        Path temp = partFile(dir, asset);
        try (Interruption onInterrupt = Interruption.on(log, "the download of " + what + " was stopped and its partial file removed: "
                + "run the step again to download it", () -> deleteQuietly(temp))) {
            String label = asset + " " + base.substring(base.lastIndexOf('/', base.length() - 2) + 1, base.length() - 1)
                .replace("%2B", "+");
            String actual;
            log.download(label, 0, -1); // the rate counts from here
            try {
                actual = downloadTo(base + asset, temp, deadline,
                    (received, total) -> log.download(label, received, total));
            } finally {
                log.downloadEnd(label);
            }
            if (!actual.equals(expected)) {
                throw Cli.fail(Cli.FAILED, what + " from " + base + asset + " does not match its checksum (sha256 " + actual
                    + ", expected " + expected + "): nothing was cached; try again, or check your mirror");
            }
            return temp;
        } catch (RuntimeException e) {
            deleteQuietly(temp);
            throw e;
        }
    }

    /** A new hidden .part file in dir (made mode 700 if new), for a download in progress. */
    private static Path partFile(Path dir, String asset) {
        try {
            OwnerOnly.createDirectories(dir);
            return OwnerOnly.createTempFile(dir, "." + asset + ".", ".part");
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot write the K3s cache " + dir + ": " + e.getMessage());
        }
    }

    private static byte[] download(String url, long deadline) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        get(url, body, deadline, null);
        return body.toByteArray();
    }

    /** Streams url into file; returns the sha256 of what was written. */
    private static String downloadTo(String url, Path file, long deadline, Received received) {
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
    private static HttpResponse<Void> exchange(String url, HttpClient.Redirect redirects, OutputStream out,
            long deadline, Received received) throws IOException {
        Duration idle = idleTimeout();
        Body body = new Body(out);
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
                            + " that pauses longer: " + IDLE_TIMEOUT_VARIABLE + "=SECONDS");
                    }
                    if (deadline != NO_DEADLINE && now - deadline >= 0) {
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

    /** The idle timeout: set by a test, else $K3S_VAGRANT_DOWNLOAD_IDLE_TIMEOUT seconds, else 60 s. */
    static Duration idleTimeout() {
        if (idleTimeout != null) return idleTimeout;
        String value = System.getenv(IDLE_TIMEOUT_VARIABLE);
        if (value == null || value.isBlank()) return Duration.ofSeconds(60);
        try {
            long seconds = Long.parseLong(value.strip());
            if (seconds >= 1) return Duration.ofSeconds(seconds);
        } catch (NumberFormatException e) {
            // said below
        }
        throw Cli.fail(Cli.USAGE, IDLE_TIMEOUT_VARIABLE + " must be a whole number of seconds, at least 1, not '"
            + value + "'");
    }

    /**
     * A response body written to out as it arrives, counting its bytes and noting when the
     * last came: the idle timeout's clock, which the headers' arrival also resets.
     */
    private static final class Body implements HttpResponse.BodyHandler<Void>, HttpResponse.BodySubscriber<Void> {
        private final OutputStream out;
        private final CompletableFuture<Void> done = new CompletableFuture<>();
        volatile long lastProgress = System.nanoTime();
        private volatile boolean answered;
        private volatile boolean keep;
        private volatile long received;
        private volatile long length = -1;
        private boolean stopped;
        private Flow.Subscription subscription;

        Body(OutputStream out) {
            this.out = out;
        }

        @Override
        public HttpResponse.BodySubscriber<Void> apply(HttpResponse.ResponseInfo info) {
            keep = info.statusCode() == 200;
            length = info.headers().firstValueAsLong("content-length").orElse(-1);
            answered = true;
            lastProgress = System.nanoTime();
            return this;
        }

        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            synchronized (this) {
                if (stopped) {
                    subscription.cancel();
                    return;
                }
                this.subscription = subscription;
            }
            subscription.request(1);
        }

        @Override
        public void onNext(List<ByteBuffer> buffers) {
            synchronized (this) {
                if (stopped) return;
                try {
                    for (ByteBuffer buffer : buffers) {
                        byte[] bytes = new byte[buffer.remaining()];
                        buffer.get(bytes);
                        if (keep) out.write(bytes);
                        received += bytes.length;
                    }
                } catch (IOException e) {
                    stopped = true;
                    subscription.cancel();
                    done.completeExceptionally(e);
                    return;
                }
                lastProgress = System.nanoTime();
            }
            subscription.request(1);
        }

        @Override
        public void onError(Throwable error) {
            done.completeExceptionally(error);
        }

        @Override
        public void onComplete() {
            done.complete(null);
        }

        @Override
        public CompletionStage<Void> getBody() {
            return done;
        }

        /** No more writes to out once this returns (a write under way finishes first); the connection is dropped. */
        void stop() {
            Flow.Subscription toCancel;
            synchronized (this) {
                stopped = true;
                toCancel = subscription;
            }
            if (toCancel != null) toCancel.cancel();
        }

        String progress() {
            if (!answered) return "(no answer)";
            return "after " + received + (length >= 0 ? " of " + length : "") + " bytes";
        }
    }

    private static Cli.Failure unreachable(String url, IOException e) {
        String reason = Cli.rootMessage(e);
        // HttpClient reports a CONNECT answered with 407, and credentials refused 3 times, as IOExceptions
        if (reason.contains("407") || reason.contains("too many authentication attempts")) {
            return proxyRefused(url, reason);
        }
        Proxy.Endpoint through = proxy().forUri(URI.create(url));
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
        Proxy.Endpoint through = proxy().forUri(URI.create(url));
        String proxyName = through == null ? "the proxy" : "the proxy " + through.host() + ":" + through.port()
            + " (" + through.variable() + ")";
        return Cli.fail(Cli.FAILED, proxyName + " refused to fetch " + url + " (" + reason + "): it asks for"
            + " credentials; give them in the URL, http://USER:PASSWORD@HOST:PORT (percent-encoded), and check them");
    }

    /** Release downloads redirect to a CDN; a channel's answer is the redirect itself. */
    private static HttpClient client(HttpClient.Redirect redirects) {
        Proxy through = proxy(); // first: it sets what HttpClient reads once, when its classes load
        HttpClient.Builder builder = HttpClient.newBuilder().followRedirects(redirects)
            .connectTimeout(Duration.ofSeconds(20)).proxy(through.selector());
        java.net.Authenticator authenticator = through.authenticator();
        if (authenticator != null) builder.authenticator(authenticator);
        return builder.build();
    }
}
