//SOURCES Cli.java
//SOURCES OwnerOnly.java
//SOURCES KubeconfigFile.java
//SOURCES K3sRelease.java
//SOURCES K3sDownload.java
//SOURCES AtomicFile.java
//SOURCES Interruption.java
//SOURCES Log.java

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The host's cache of K3s releases, one folder per version and architecture (install.sh, k3s,
 * optionally the air-gap images): what is missing is downloaded once and checked against the
 * release's checksums before it is kept.
 */
final class K3sCache {
    private K3sCache() {
    }

    /** A file of the cache a machine installs from: not a hidden file nor a download in progress (.part). */
    static boolean isReleaseFile(String name) {
        return !name.startsWith(".") && !name.endsWith(".part");
    }


    static Path defaultCache() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("k3s-vagrant").resolve("k3s");
    }

    /**
     * The cache folder of a version and architecture, downloading what is missing unless
     * offline. The binary is checked against the release's sha256sum-ARCH.txt.
     */
    static Path fetch(String version, String arch, Path cache, K3sRelease.Source source, boolean offline, Log log) {
        return fetch(version, arch, cache, source, offline, K3sRelease.NO_DEADLINE, log);
    }

    static Path fetch(String version, String arch, Path cache, K3sRelease.Source source, boolean offline, long deadline,
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
            String asset = K3sRelease.binaryAsset(arch);
            String base = releaseBase(source, version);
            String expected = checksum(base, asset, arch, version, deadline);
            log.info("downloading K3s " + version + " (" + arch + ") once, for every machine");
            if (!K3sRelease.proxy().isEmpty()) log.info("downloads go " + K3sRelease.proxy().describe());
            Path temp = downloadChecked(base, asset, expected, dir, "the K3s binary", deadline, log);
            try {
                OwnerOnly.restrictProgram(temp);
                byte[] script = installer(source, version, deadline);
                AtomicFile.write(installer, new String(script, StandardCharsets.UTF_8));
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
    static Path fetchImages(String version, String arch, Path cache, K3sRelease.Source source, boolean offline,
            Log log) {
        return fetchImages(version, arch, cache, source, offline, K3sRelease.NO_DEADLINE, log);
    }

    static Path fetchImages(String version, String arch, Path cache, K3sRelease.Source source, boolean offline,
            long deadline, Log log) {
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
    private static String releaseBase(K3sRelease.Source source, String version) {
        return source.releases() + "/" + version.replace("+", "%2B") + "/";
    }

    /**
     * install.sh of the release (not whatever get.k3s.io serves today), checked against the
     * install.sh.sha256sum beside it.
     */
    private static byte[] installer(K3sRelease.Source source, String version, long deadline) {
        String url = source.installer().replace("{tag}", version.replace("+", "%2B"));
        String sums = new String(K3sDownload.download(url + ".sha256sum", deadline), StandardCharsets.UTF_8);
        String expected = null;
        for (String line : sums.split("\n")) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length == 2 && fields[1].equals("install.sh")) expected = fields[0];
        }
        if (expected == null) throw Cli.fail(Cli.FAILED, url + ".sha256sum lists no install.sh: nothing was cached");
        byte[] script = K3sDownload.download(url, deadline);
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
        String sums = new String(K3sDownload.download(base + "sha256sum-" + arch + ".txt", deadline),
            StandardCharsets.UTF_8);
        for (String line : sums.split("\n")) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length == 2 && fields[1].equals(asset)) return fields[0];
        }
        throw Cli.fail(Cli.FAILED, "sha256sum-" + arch + ".txt of " + version + " lists no " + asset);
    }

    /** Downloads base+asset into a temporary file in dir: returned once its sha256 matches, else removed. */
    private static Path downloadChecked(String base, String asset, String expected, Path dir, String what,
            long deadline, Log log) {
        Path temp = partFile(dir, asset);
        try (Interruption onInterrupt = Interruption.on(log, "the download of " + what
                + " was stopped and its partial file removed: run the step again to download it",
                () -> deleteQuietly(temp))) {
            String label = asset + " " + base.substring(base.lastIndexOf('/', base.length() - 2) + 1, base.length() - 1)
                .replace("%2B", "+");
            String actual;
            log.download(label, 0, -1); // the rate counts from here
            try {
                actual = K3sDownload.downloadTo(base + asset, temp, deadline,
                    (received, total) -> log.download(label, received, total));
            } finally {
                log.downloadEnd(label);
            }
            if (!actual.equals(expected)) {
                throw Cli.fail(Cli.FAILED, what + " from " + base + asset + " does not match its checksum (sha256 "
                    + actual + ", expected " + expected + "): nothing was cached; try again, or check your mirror");
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
}
