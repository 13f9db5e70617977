import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 10, item 3: K3s has --write-kubeconfig-group only from v1.30.2 (v1.29.6, v1.28.11, v1.27.15);
 * server.sh picks the kubeconfig's flags from the version of the K3s binary actually installed.
 * server.sh runs up to K3s's installer, a stand-in here that records what it is asked to run.
 */
class KubeconfigAccessTest {

    @TempDir Path tmp;

    @ParameterizedTest(name = "air-gap binary {0}, requested {1}")
    @CsvSource({
        "v1.30.2+k3s1, v1.30.0+k3s1, --write-kubeconfig-mode 640 --write-kubeconfig-group vagrant",
        "v1.30.1+k3s1, v1.31.4+k3s1, --write-kubeconfig-mode 644",
        "v1.29.6+k3s1, '',           --write-kubeconfig-mode 640 --write-kubeconfig-group vagrant",
        "v1.29.5+k3s1, '',           --write-kubeconfig-mode 644",
        "v1.28.11+k3s2, '',          --write-kubeconfig-mode 640 --write-kubeconfig-group vagrant",
        "v1.27.14+k3s1, '',          --write-kubeconfig-mode 644",
        "v1.32.0+k3s1, '',           --write-kubeconfig-mode 640 --write-kubeconfig-group vagrant",
    })
    void theKubeconfigFlagsFollowTheAirgapBinaryNotTheRequestedVersion(String binary, String requested, String flags)
            throws IOException {
        Path airgap = Files.createDirectories(tmp.resolve("airgap")); // server.sh removes it when done
        Path recorded = tmp.resolve("runs");
        Files.writeString(airgap.resolve("install.sh"), record(recorded) + "exit 1\n");
        Files.writeString(airgap.resolve("k3s"), "#!/bin/sh\necho 'k3s version " + binary + " (0123abcd)'\n");
        Map<String, String> env = env();
        env.put("AIRGAP_DIR", airgap.toString());
        env.put("INSTALL_K3S_VERSION", requested);
        Repo.Run run = Repo.exec(List.of("bash", Repo.root().resolve("provision/server.sh").toString()), tmp, env, null,
            60);
        assertTrue(run.stderr().contains("K3s's installer failed"), "stops at the installer stand-in: " + run.stderr());
        List<String> runs = Files.readAllLines(recorded).stream().map(l -> l.replaceAll(" +", " ").strip()).toList();
        assertEquals(1, runs.size(), "one installer run: " + runs);
        assertTrue(runs.get(0).startsWith("start= download=true ") && runs.get(0).contains(" exec=server "),
            runs.get(0));
        assertTrue(runs.get(0).endsWith("--flannel-iface lo " + flags), runs.get(0));
    }

    @ParameterizedTest(name = "downloaded {0}")
    @CsvSource({
        "v1.30.1+k3s1, --write-kubeconfig-mode 644",
        "v1.30.2+k3s1, --write-kubeconfig-mode 640 --write-kubeconfig-group vagrant",
    })
    void aDownloadedK3sIsInstalledUnstartedThenStartedWithFlagsForItsVersion(String version, String flags)
            throws IOException {
        // K3s's installer downloads the binary itself: only after its first run is there a version to read
        Path binDir = tmp.resolve("bin-dir");
        Path recorded = tmp.resolve("runs");
        // the machine fetches the installer of the tag (InstallerCheckTest): served here, its checksum beside it
        InstallerCheckTest.serveInstaller(Files.createDirectories(tmp.resolve("site")), record(recorded)
            + "if [ \"$INSTALL_K3S_SKIP_DOWNLOAD\" != true ]; then mkdir -p " + binDir + "; printf '#!/bin/sh\\n"
            + "echo k3s version " + version + "\\n' > " + binDir + "/k3s; chmod 755 " + binDir
                + "/k3s; exit 0; fi\nexit 1\n",
            null);
        Map<String, String> env = env();
        env.put("INSTALL_K3S_BIN_DIR", binDir.toString());
        env.put("INSTALL_K3S_VERSION", InstallerCheckTest.VERSION);
        Repo.Run run = Repo.exec(List.of("bash", Repo.root().resolve("provision/server.sh").toString()), tmp, env, null,
            60);
        assertTrue(run.stderr().contains("K3s's installer failed"), "stops at the installer's second run: "
            + run.stderr());
        List<String> runs = Files.readAllLines(recorded).stream().map(l -> l.replaceAll(" +", " ").strip()).toList();
        assertEquals(2, runs.size(), "downloaded unstarted, then installed with the flags and started: " + runs);
        assertTrue(runs.get(0).startsWith("start=true download= ") && runs.get(0).contains(" exec=server ")
            && runs.get(0).endsWith("--flannel-iface lo"), "first run: no kubeconfig flags yet: " + runs.get(0));
        assertTrue(runs.get(1).startsWith("start= download=true force=true exec=server ")
            && runs.get(1).endsWith("--flannel-iface lo " + flags), "second run, started even if nothing changed: "
                + runs.get(1));
    }

    /** An installer stand-in's first lines: one line per run, what K3s's installer would act on. */
    private static String record(Path recorded) {
        return "printf 'start=%s download=%s force=%s exec=%s\\n' \"$INSTALL_K3S_SKIP_START\" "
            + "\"$INSTALL_K3S_SKIP_DOWNLOAD\" "
            + "\"$INSTALL_K3S_FORCE_RESTART\" \"$INSTALL_K3S_EXEC\" >> " + recorded + "\n";
    }

    /** server.sh's settings, with `install`, `getent` (a vagrant group) and curl (serving site/) stood in. */
    private Map<String, String> env() throws IOException {
        Path site = Files.createDirectories(tmp.resolve("site"));
        return new HashMap<>(InstallerCheckTest.environment(tmp, site, tmp.resolve("curl.log")));
    }
}
