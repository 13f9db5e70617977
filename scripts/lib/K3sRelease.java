//SOURCES Cli.java
//SOURCES KubeconfigFile.java

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;

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
    static final String INSTALLER = "https://get.k3s.io";

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
            description = "Fetch K3s from a mirror: URL/releases/VERSION/k3s, URL/channels/CHANNEL, URL/install.sh (default: K3s's own sites).")
        String mirror;

        /**
         * The folder a machine installs K3s from: K3s of that version and architecture,
         * fetched once into the host's cache; null when each machine downloads it itself.
         * version may be null: then the channel's current version.
         */
        Fetched airgapDir(String version, String channel, String arch, Cli.Log log) {
            if (noHostCache) {
                if (offline) throw Cli.fail(Cli.USAGE, "--offline and --no-host-cache exclude each other: offline, K3s can only come from the host");
                return null;
            }
            Source source = Source.of(mirror);
            if (version == null) {
                if (offline) throw Cli.fail(Cli.USAGE, "--offline needs --k3s-version: the version to take from the host's cache");
                version = resolveChannel(channel, source, log);
            }
            Path dir = fetch(version, arch, defaultCache(), source, offline, log);
            if (images) fetchImages(version, arch, defaultCache(), source, offline, log);
            return new Fetched(version, dir);
        }
    }

    /** K3s of a version, in a folder holding install.sh and k3s. */
    record Fetched(String version, Path dir) { }

    static Path defaultCache() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("k3s-vagrant").resolve("k3s");
    }

    /** K3s's name of an architecture (uname -m or os.arch). */
    static String arch(String machine) {
        return switch (machine) {
            case "x86_64", "amd64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            case "armv7l", "armhf", "arm" -> "arm";
            default -> throw Cli.fail(Cli.FAILED, "K3s has no build for the architecture '" + machine + "'");
        };
    }

    /** The version a channel (stable, latest, v1.31) points at now: the channel server redirects to it. */
    static String resolveChannel(String channel, Source source, Cli.Log log) {
        String url = source.channels() + "/" + channel;
        try {
            HttpResponse<Void> response = client(HttpClient.Redirect.NEVER).send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.discarding());
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
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Cli.fail(Cli.FAILED, "interrupted");
        }
    }

    /**
     * The cache folder of a version and architecture, downloading what is missing unless
     * offline. The binary is checked against the release's sha256sum-ARCH.txt.
     */
    static Path fetch(String version, String arch, Path cache, Source source, boolean offline, Cli.Log log) {
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
            String asset = arch.equals("amd64") ? "k3s" : "k3s-" + arch;
            String base = releaseBase(source, version);
            String expected = checksum(base, asset, arch, version);
            log.info("downloading K3s " + version + " (" + arch + ") once, for every machine");
            Path temp = downloadChecked(base, asset, expected, dir, "the K3s binary", log);
            try {
                Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rwx------"));
                byte[] script = download(source.installer());
                KubeconfigFile.writeAtomically(installer, new String(script, java.nio.charset.StandardCharsets.UTF_8));
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
    static Path fetchImages(String version, String arch, Path cache, Source source, boolean offline, Cli.Log log) {
        Path dir = cacheDir(cache, version, arch);
        String asset = "k3s-airgap-images-" + arch + ".tar.zst";
        Path images = dir.resolve(asset);
        if (Files.isRegularFile(images)) return images;
        if (offline) {
            throw Cli.fail(Cli.FAILED, "--offline: " + asset + " of K3s " + version + " is not in the cache " + dir
                + ": run once with internet and --airgap-images, or put it there yourself");
        }
        String base = releaseBase(source, version);
        String expected = checksum(base, asset, arch, version);
        log.info("downloading " + asset + " of K3s " + version + " once, for every machine");
        Path temp = downloadChecked(base, asset, expected, dir, "K3s's air-gap images", log);
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

    /** The sha256 that the release's sha256sum-ARCH.txt gives an asset. */
    private static String checksum(String base, String asset, String arch, String version) {
        String sums = new String(download(base + "sha256sum-" + arch + ".txt"), java.nio.charset.StandardCharsets.UTF_8);
        for (String line : sums.split("\n")) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length == 2 && fields[1].equals(asset)) return fields[0];
        }
        throw Cli.fail(Cli.FAILED, "sha256sum-" + arch + ".txt of " + version + " lists no " + asset);
    }

    /** Downloads base+asset into a temporary file in dir and returns it once its sha256 matches; else removes it and fails. */
    private static Path downloadChecked(String base, String asset, String expected, Path dir, String what, Cli.Log log) {
        Path temp = partFile(dir, asset);
        try (Cli.Interruption onInterrupt = Cli.onInterrupt(log, "the download of " + what + " was stopped and its partial file removed: "
                + "run the step again to download it", () -> deleteQuietly(temp))) {
            String actual = downloadTo(base + asset, temp);
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
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            return Files.createTempFile(dir, "." + asset + ".", ".part");
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot write the K3s cache " + dir + ": " + e.getMessage());
        }
    }

    private static byte[] download(String url) {
        return get(url, Duration.ofMinutes(2), HttpResponse.BodyHandlers.ofByteArray());
    }

    /** Streams url into file; returns the sha256 of what was written. */
    private static String downloadTo(String url, Path file) {
        try (InputStream body = get(url, Duration.ofMinutes(10), HttpResponse.BodyHandlers.ofInputStream())) {
            MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
            try (DigestInputStream in = new DigestInputStream(body, sha256)) {
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            }
            return HexFormat.of().formatHex(sha256.digest());
        } catch (IOException e) {
            throw unreachable(url, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** GET url, following redirects; anything but 200 is a failure naming the url. */
    private static <T> T get(String url, Duration timeout, HttpResponse.BodyHandler<T> handler) {
        try {
            HttpResponse<T> response = client(HttpClient.Redirect.NORMAL).send(HttpRequest.newBuilder(URI.create(url)).timeout(timeout).GET().build(), handler);
            if (response.statusCode() != 200) {
                if (response.body() instanceof InputStream stream) stream.close();
                throw Cli.fail(Cli.FAILED, "downloading " + url + " failed: HTTP " + response.statusCode());
            }
            return response.body();
        } catch (IOException e) {
            throw unreachable(url, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Cli.fail(Cli.FAILED, "interrupted");
        }
    }

    private static Cli.Failure unreachable(String url, IOException e) {
        return new Cli.Failure(Cli.FAILED, "cannot download " + url + " (" + Cli.rootMessage(e) + "): no internet on this host? "
            + "Use --airgap-dir, or --no-host-cache to let each VM download K3s itself", e);
    }

    /** Release downloads redirect to a CDN; a channel's answer is the redirect itself. */
    private static HttpClient client(HttpClient.Redirect redirects) {
        return HttpClient.newBuilder().followRedirects(redirects).connectTimeout(Duration.ofSeconds(20)).build();
    }
}
