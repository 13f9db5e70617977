//SOURCES Cli.java
//SOURCES OwnerOnly.java
//SOURCES AtomicFile.java
//SOURCES Proxy.java
//SOURCES K3sCache.java
//SOURCES K3sDownload.java
//SOURCES K3s.java
//SOURCES Log.java

import java.io.IOException;
import java.io.OutputStream;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Option;

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
        @Option(names = "--no-host-cache",
            description = "Let each machine download K3s itself, instead of the host downloading it once into "
                + "~/.cache/k3s-vagrant/k3s.")
        boolean noHostCache;

        @Option(names = "--offline",
            description = "Use only K3s already in the host's cache, or --airgap-dir: no download.")
        boolean offline;

        @Option(names = "--airgap-images",
            description = "Also fetch K3s's air-gap images (k3s-airgap-images-ARCH.tar.zst, ~200 MB) once into the "
                + "cache: the machines then pull no system image.")
        boolean images;

        @Option(names = "--k3s-mirror", paramLabel = "URL",
            description = {"Fetch K3s from a mirror: URL/releases/VERSION/k3s, URL/channels/CHANNEL,",
                "URL/install.sh and URL/install.sh.sha256sum (default: K3s's own sites)."})
        String mirror;

        @Option(names = "--insecure-mirror",
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
                if (offline) {
                    throw Cli.fail(Cli.USAGE,
                        "--offline and --no-host-cache exclude each other: offline, K3s can only come from the host");
                }
                return null;
            }
            Source source = Source.of(mirror);
            if (version == null) {
                if (offline) {
                    throw Cli.fail(Cli.USAGE,
                        "--offline needs --k3s-version: the version to take from the host's cache");
                }
                version = resolveChannel(channel, source, deadline, log);
            }
            Path dir = K3sCache.fetch(version, arch, K3sCache.defaultCache(), source, offline, deadline, log);
            if (images) K3sCache.fetchImages(version, arch, K3sCache.defaultCache(), source, offline, deadline, log);
            return new Fetched(version, dir);
        }
    }

    /** K3s of a version, in a folder holding install.sh and k3s. */
    record Fetched(String version, Path dir) { }

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
            HttpResponse<Void> response = K3sDownload.exchange(url, HttpClient.Redirect.NEVER,
                OutputStream.nullOutputStream(), deadline, null);
            String location = response.headers().firstValue("location").orElse("");
            // the tag in the redirect, its '+' sometimes escaped (URLDecoder would turn a bare '+' into a space)
            String version = location.substring(location.lastIndexOf('/') + 1).replace("%2B", "+").replace("%2b", "+");
            if (response.statusCode() / 100 != 3 || !K3s.isVersion(version)) {
                throw Cli.fail(Cli.FAILED,
                    url + " did not name a K3s version (HTTP " + response.statusCode() + "): pass --k3s-version");
            }
            log.info("channel " + channel + " is " + version);
            return version;
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot reach " + url + " to resolve the K3s channel (" + Cli.rootMessage(e)
                + "): no internet on this host? Pass --airgap-dir, --k3s-version (with --offline when it is in the "
                + "cache), or --no-host-cache to let each VM download K3s itself");
        }
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
}
