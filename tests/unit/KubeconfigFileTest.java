import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * KubeconfigFile checked with the real kubectl: what it writes must be what kubectl reads,
 * with the user's other entries and K3s's certificates left exactly as they were.
 */
class KubeconfigFileTest {
    static final String SERVER_110 = "https://192.168.56.110:6443";

    /** base64 of real PEM files made by openssl, as K3s embeds them. */
    static String caData;
    static String clientCertData;
    static String clientKeyData;
    static Path pems;

    @TempDir Path temp;

    @BeforeAll
    static void makeCertificates() throws IOException {
        pems = Files.createTempDirectory("k3sv-pem-");
        caData = base64(selfSigned("k3s-server-ca")[0]);
        String[] client = selfSigned("system:admin");
        clientCertData = base64(client[0]);
        clientKeyData = base64(client[1]);
    }

    @AfterAll
    static void deleteCertificates() {
        Repo.deleteTree(pems);
    }

    /** /etc/rancher/k3s/k3s.yaml as K3s writes it. */
    static String k3sYaml() {
        return """
            apiVersion: v1
            clusters:
            - cluster:
                certificate-authority-data: %s
                server: https://127.0.0.1:6443
              name: default
            contexts:
            - context:
                cluster: default
                user: default
              name: default
            current-context: default
            kind: Config
            preferences: {}
            users:
            - name: default
              user:
                client-certificate-data: %s
                client-key-data: %s
            """.formatted(caData, clientCertData, clientKeyData);
    }

    /** A user's kubeconfig with two other clusters, one of them using an exec plugin and a numeric namespace. */
    static String existingKubeconfig() {
        return """
            apiVersion: v1
            kind: Config
            preferences: {}
            current-context: kind-dev
            clusters:
            - name: kind-dev
              cluster:
                server: https://127.0.0.1:39211
                certificate-authority-data: %s
            - name: prod
              cluster:
                server: https://prod.example.com
                tls-server-name: api.prod.example.com
            contexts:
            - name: kind-dev
              context:
                cluster: kind-dev
                user: kind-dev
            - name: prod
              context:
                cluster: prod
                user: prod-admin
                namespace: "2024"
            users:
            - name: kind-dev
              user:
                client-certificate-data: %s
                client-key-data: %s
            - name: prod-admin
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1beta1
                  command: aws
                  args: ["eks", "get-token", "--cluster-name", "prod", "--duration-seconds", "900"]
                  interactiveMode: IfAvailable
                  provideClusterInfo: false
            """.formatted(caData, clientCertData, clientKeyData);
    }

    // ---- forHost -----------------------------------------------------------------------

    @Test
    void forHostRenamesEverythingAndPointsAtTheServerChangingNothingElse() throws IOException {
        ObjectNode ours = Kubeconfig.forHost(k3sYaml(), SERVER_110, "wil");
        JsonNode seen = kubectlView(write("wil.yaml", Kubeconfig.toYaml(ours)));

        assertEquals("wil", seen.path("current-context").asText());
        assertEquals(SERVER_110, seen.at("/clusters/0/cluster/server").asText());
        assertEquals("wil", seen.at("/clusters/0/name").asText());
        assertEquals("wil", seen.at("/users/0/name").asText());
        assertEquals("wil", seen.at("/contexts/0/name").asText());
        assertEquals("wil", seen.at("/contexts/0/context/cluster").asText());
        assertEquals("wil", seen.at("/contexts/0/context/user").asText());
        assertEquals(caData, seen.at("/clusters/0/cluster/certificate-authority-data").asText());
        assertEquals(clientCertData, seen.at("/users/0/user/client-certificate-data").asText());
        assertEquals(clientKeyData, seen.at("/users/0/user/client-key-data").asText());

        // the whole file: K3s's, as kubectl sees it, with exactly those edits and no other
        String expected = k3sYaml().replace("https://127.0.0.1:6443", SERVER_110).replace(": default", ": wil");
        assertEquals(kubectlView(write("expected.yaml", expected)), seen);
        assertEquals(List.of("wil"),
            kubectl("config", "get-contexts", "-o", "name", "--kubeconfig", temp.resolve("wil.yaml").toString())
            .lines().toList());
    }

    @Test
    void forHostRefusesAKubeconfigThatIsNotK3ssOwn() {
        String twoClusters = k3sYaml().replace("clusters:\n",
            "clusters:\n- name: extra\n  cluster: {server: https://x:6443}\n");
        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> Kubeconfig.forHost(twoClusters, SERVER_110, "wil"));
        assertEquals(Cli.FAILED, failure.exitCode);
        assertTrue(failure.getMessage().contains("exactly one entry in 'clusters'"), failure.getMessage());

        String noCa = k3sYaml().replace("certificate-authority-data: " + caData, "insecure-skip-tls-verify: true");
        failure = assertThrows(Cli.Failure.class, () -> Kubeconfig.forHost(noCa, SERVER_110, "wil"));
        assertTrue(failure.getMessage().contains("no certificate-authority-data"), failure.getMessage());
    }

    // ---- merge -------------------------------------------------------------------------

    @Test
    void mergeKeepsTheOtherContextsIntactAndMakesOursCurrent() throws IOException {
        Path before = write("before.yaml", existingKubeconfig());
        ObjectNode merged = Kubeconfig.merge(Kubeconfig.parse(existingKubeconfig(), "before.yaml"),
            Kubeconfig.forHost(k3sYaml(), SERVER_110, "wil"), false, "before.yaml");
        Path after = write("after.yaml", Kubeconfig.toYaml(merged));

        assertEquals(List.of("kind-dev", "prod", "wil"),
            kubectl("config", "get-contexts", "-o", "name", "--kubeconfig",
                after.toString()).lines().sorted().toList());
        assertEquals("wil\n", kubectl("config", "current-context", "--kubeconfig", after.toString()));
        JsonNode old = kubectlView(before);
        JsonNode now = kubectlView(after);
        for (String section : List.of("clusters", "users", "contexts")) {
            for (JsonNode entry : old.path(section)) {
                assertEquals(entry, named(now, section, entry.path("name").asText()), section
                    + " entry changed by the merge");
            }
        }
        assertEquals("2024", named(now, "contexts", "prod").at("/context/namespace").asText());
        assertEquals(SERVER_110, named(now, "clusters", "wil").at("/cluster/server").asText());
    }

    @Test
    void stringsThatLookLikeNumbersOrBooleansStayStringsForKubectl() throws IOException {
        // kubectl reads YAML 1.1: written bare, any of these is a number, a boolean or null to it,
        // and one such value where a string belongs makes it reject the whole kubeconfig
        List<String> tricky = List.of("900", "2024", "012", "1e3", "1e+3", "0.5e-3", "0x1F", "0o17", "0b101", "1_000",
            ".5", "+1", "-1",
            ".inf", "-.Inf", ".NaN", "1:20", "2024-01-01", "yes", "off", "y", "True", "~", "null", "");
        StringBuilder args = new StringBuilder();
        for (String value : tricky) args.append("\n        - \"").append(value).append('"');
        String existing = """
            apiVersion: v1
            kind: Config
            users:
            - name: tool
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1beta1
                  command: tool
                  args:%s
            """.formatted(args);
        assertEquals(tricky, stringList(kubectlView(write("before.yaml", existing)).at("/users/0/user/exec/args")),
            "the test's own input");

        ObjectNode merged = Kubeconfig.merge(Kubeconfig.parse(existing, "config"),
            Kubeconfig.forHost(k3sYaml(), SERVER_110, "wil"), false, "config");
        JsonNode seen = kubectlView(write("after.yaml", Kubeconfig.toYaml(merged)));
        assertEquals(tricky, stringList(named(seen, "users", "tool").at("/user/exec/args")));
    }

    @Test
    void mergeIntoAnEmptyOrMissingFileMakesAWholeKubeconfig() throws IOException {
        ObjectNode merged = Kubeconfig.merge(Kubeconfig.parse(KubeconfigFile.read(temp.resolve("missing")),
            "missing"),
            Kubeconfig.forHost(k3sYaml(), SERVER_110, "wil"), false, "missing");
        JsonNode seen = kubectlView(write("config", Kubeconfig.toYaml(merged)));
        assertEquals("wil", seen.path("current-context").asText());
        assertEquals("v1", seen.path("apiVersion").asText());
        assertEquals("Config", seen.path("kind").asText());
    }

    @Test
    void theSameNameForTheSameServerIsReplacedSilently() throws IOException {
        ObjectNode first = Kubeconfig.merge(Kubeconfig.parse(existingKubeconfig(), "config"),
            Kubeconfig.forHost(k3sYaml().replace(caData, base64("an older CA")), SERVER_110, "wil"), false,
                "config");
        ObjectNode second = Kubeconfig.merge(first, Kubeconfig.forHost(k3sYaml(), SERVER_110, "wil"), false,
            "config");

        JsonNode seen = kubectlView(write("config", Kubeconfig.toYaml(second)));
        assertEquals(3, seen.path("clusters").size(), "one entry per name, not a second 'wil'");
        assertEquals(3, seen.path("users").size());
        assertEquals(3, seen.path("contexts").size());
        assertEquals(caData, named(seen, "clusters", "wil").at("/cluster/certificate-authority-data").asText());
    }

    @Test
    void theSameNameForAnotherServerIsRefusedUnlessReplaceIsGiven() throws IOException {
        ObjectNode existing = Kubeconfig.merge(Kubeconfig.parse(existingKubeconfig(), "config"),
            Kubeconfig.forHost(k3sYaml(), "https://192.168.56.120:6443", "wil"), false, "config");
        ObjectNode ours = Kubeconfig.forHost(k3sYaml(), SERVER_110, "wil");

        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> Kubeconfig.merge(existing, ours, false, "~/.kube/config"));
        assertEquals(Cli.REFUSED, failure.exitCode);
        for (String expected : List.of("~/.kube/config already has entries named 'wil' that are not this cluster's",
                "cluster 'wil' for https://192.168.56.120:6443")) {
            assertTrue(failure.getMessage().contains(expected), "'" + expected + "' in: " + failure.getMessage());
        }
        assertTrue(failure.getMessage().contains("--replace"), failure.getMessage());

        ObjectNode replaced = Kubeconfig.merge(existing, ours, true, "config");
        JsonNode seen = kubectlView(write("config", Kubeconfig.toYaml(replaced)));
        assertEquals(SERVER_110, named(seen, "clusters", "wil").at("/cluster/server").asText());
        assertEquals(3, seen.path("clusters").size());
        assertEquals(3, seen.path("contexts").size());
    }

    @Test
    void aContextOfOurNameOnAnotherClusterNameCountsAsAnotherServer() {
        // "wil" is only a context here; the cluster it points at has another name and server
        ObjectNode existing = Kubeconfig.parse(existingKubeconfig()
            .replace("- name: prod\n  context:", "- name: wil\n  context:"), "config");
        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> Kubeconfig.merge(existing, Kubeconfig.forHost(k3sYaml(), SERVER_110, "wil"), false,
                "config"));
        assertEquals(Cli.REFUSED, failure.exitCode);
        assertTrue(failure.getMessage().contains("https://prod.example.com"), failure.getMessage());
    }

    @Test
    void aUserOfOurNameHoldingAnotherClustersCredentialsIsRefusedUnlessReplaceIsGiven() throws IOException {
        // the user's own context "prod" uses a user entry that happens to be named like the cluster
        String theirs = existingKubeconfig().replace("user: prod-admin", "user: wil")
            .replace("- name: prod-admin", "- name: wil");
        ObjectNode existing = Kubeconfig.parse(theirs, "config");
        ObjectNode ours = Kubeconfig.forHost(k3sYaml(), SERVER_110, "wil");

        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> Kubeconfig.merge(existing, ours, false, "~/.kube/config"));
        assertEquals(Cli.REFUSED, failure.exitCode);
        for (String expected : List.of("~/.kube/config already has entries named 'wil' that are not this cluster's",
                SERVER_110,
                "user 'wil' with other credentials, used by context 'prod'", "--replace", "--context")) {
            assertTrue(failure.getMessage().contains(expected), "'" + expected + "' in: " + failure.getMessage());
        }
        assertEquals(Kubeconfig.parse(theirs, "config"), existing, "nothing of the user's may change");

        // --replace is consent: ours replaces it (the step backs the old file up first)
        ObjectNode replaced = Kubeconfig.merge(existing, ours, true, "config");
        JsonNode seen = kubectlView(write("config", Kubeconfig.toYaml(replaced)));
        assertEquals(clientCertData, named(seen, "users", "wil").at("/user/client-certificate-data").asText());
    }

    @Test
    void aContextOfOurNameUsingTheUsersOwnCredentialsIsRefused() {
        // a context "wil" on this very server, but with the user's own user entry: it is theirs, not ours
        ObjectNode existing = Kubeconfig.merge(Kubeconfig.parse(existingKubeconfig(), "config"),
            Kubeconfig.forHost(k3sYaml(), SERVER_110, "wil"), false, "config");
        ((ObjectNode) named(existing, "contexts", "wil").get("context")).put("user", "prod-admin");
        ObjectNode ours = Kubeconfig.forHost(k3sYaml(), SERVER_110, "wil");
        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> Kubeconfig.merge(existing, ours, false, "config"));
        assertEquals(Cli.REFUSED, failure.exitCode);
        String expected = "context 'wil' for cluster 'wil' (" + SERVER_110 + ") and user 'prod-admin'";
        assertTrue(failure.getMessage().contains(expected), failure.getMessage());
    }

    @Test
    void everyClashIsNamedAtOnce() {
        // cluster, context and user "wil" all belong to a cluster at another address
        ObjectNode existing = Kubeconfig.merge(Kubeconfig.parse(existingKubeconfig(), "config"),
            Kubeconfig.forHost(k3sYaml().replace(clientCertData, base64("another cluster's certificate")),
                "https://192.168.56.120:6443", "wil"), false, "config");
        ObjectNode ours = Kubeconfig.forHost(k3sYaml(), SERVER_110, "wil");
        Cli.Failure failure = assertThrows(Cli.Failure.class,
            () -> Kubeconfig.merge(existing, ours, false, "config"));
        for (String expected : List.of("cluster 'wil' for https://192.168.56.120:6443",
                "context 'wil' for cluster 'wil' (https://192.168.56.120:6443) and user 'wil'",
                "user 'wil' with other credentials")) {
            assertTrue(failure.getMessage().contains(expected), "'" + expected + "' in: " + failure.getMessage());
        }
    }

    @Test
    void ourOwnEarlierMergeIsReplacedSilentlyEvenWithARenewedCertificate() throws IOException {
        // K3s renews its client certificate, and a cluster made again at the same address has new ones:
        // the entries an earlier merge wrote (context -> cluster and user of its name, K3s's certificate user) are ours
        ObjectNode earlier = Kubeconfig.merge(Kubeconfig.parse(existingKubeconfig(), "config"),
            Kubeconfig.forHost(k3sYaml().replace(clientCertData, base64("the old client certificate")),
                SERVER_110, "wil"), false, "config");
        JsonNode seen = kubectlView(write("config", Kubeconfig.toYaml(
            Kubeconfig.merge(earlier, Kubeconfig.forHost(k3sYaml(), SERVER_110, "wil"), false, "config"))));
        assertEquals(clientCertData, named(seen, "users", "wil").at("/user/client-certificate-data").asText());
        assertEquals(3, seen.path("users").size());
    }

    @Test
    void removeKeepsAUserEntryThatAnotherContextStillUses() throws IOException {
        ObjectNode config = Kubeconfig.merge(Kubeconfig.parse(existingKubeconfig(), "config"),
            Kubeconfig.forHost(k3sYaml(), SERVER_110, "wil"), false, "config");
        // the user made a context of their own with the cluster's user entry
        ((ArrayNode) config.get("contexts")).addObject().put("name", "mine")
            .putObject("context").put("cluster", "prod").put("user", "wil");
        assertTrue(Kubeconfig.remove(config, "wil", SERVER_110));

        JsonNode seen = kubectlView(write("config", Kubeconfig.toYaml(config)));
        String contexts = kubectl("config", "get-contexts", "-o", "name",
            "--kubeconfig", temp.resolve("config").toString());
        assertEquals(List.of("kind-dev", "mine", "prod"), contexts.lines().sorted().toList());
        assertEquals(clientCertData, named(seen, "users", "wil").at("/user/client-certificate-data").asText(),
            "context 'mine' still uses it: removing it would leave it only in the backup");
        assertTrue(seen.path("clusters").findValuesAsText("name").stream().noneMatch("wil"::equals),
            "the cluster itself goes");
    }

    @Test
    void invalidYamlAndOtherYamlAreRefusedAndTheFileIsLeftAlone() throws IOException {
        Map<String, String> notKubeconfigs = Map.of(
            "unclosed.yaml", "clusters:\n- name: a\n  cluster: {server: https://a:6443\n",
            "tabs.yaml", "clusters:\n\t- name: a\n",
            "deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
            "list.yaml", "- a\n- b\n",
            "clusters-not-a-list.yaml", "apiVersion: v1\nkind: Config\nclusters: {name: a}\n");
        for (var entry : notKubeconfigs.entrySet()) {
            Path file = write(entry.getKey(), entry.getValue());
            Cli.Failure failure = assertThrows(Cli.Failure.class,
                () -> Kubeconfig.parse(KubeconfigFile.read(file), file.toString()),
                entry.getKey());
            assertEquals(Cli.REFUSED, failure.exitCode, entry.getKey());
            assertTrue(failure.getMessage().startsWith(file.toString()), "names the file: " + failure.getMessage());
            assertTrue(failure.getMessage().contains("untouched"), failure.getMessage());
            assertEquals(entry.getValue(), Files.readString(file));
        }
        assertEquals(notKubeconfigs.size(), filesIn(temp).size(), "no other file appeared: " + filesIn(temp));
    }

    // ---- files -------------------------------------------------------------------------

    @Test
    void writeAtomicallyMakesAMode600FileInAMode700FolderAndLeavesNoTempFile() throws IOException {
        Path file = temp.resolve("new-kube/config"); // the folder does not exist yet, like a first ~/.kube
        AtomicFile.write(file, "apiVersion: v1\n");
        assertEquals("apiVersion: v1\n", Files.readString(file));
        assertEquals("rw-------", permissions(file));
        assertEquals("rwx------", permissions(file.getParent()));
        assertEquals(List.of("config"), filesIn(file.getParent()));
    }

    @Test
    void writeAtomicallyReplacesAnOpenFileWithAMode600One() throws IOException {
        Path file = write("config", "old content, longer than the new one\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        AtomicFile.write(file, "new\n");
        assertEquals("new\n", Files.readString(file));
        assertEquals("rw-------", permissions(file));
        assertEquals(List.of("config"), filesIn(temp));
    }

    @Test
    void aFailedWriteRemovesItsTempFile() throws IOException {
        // a non-empty folder where the file should go: the temp file is written, the rename fails
        Path blocked = Files.createDirectories(temp.resolve("config"));
        Files.writeString(blocked.resolve("inside"), "x");
        Cli.Failure failure = assertThrows(Cli.Failure.class, () -> AtomicFile.write(blocked, "new\n"));
        assertEquals(Cli.FAILED, failure.exitCode);
        assertTrue(failure.getMessage().contains("nothing was changed"), failure.getMessage());
        assertEquals(List.of("config"), filesIn(temp), "the temp file must be gone");
        assertEquals("x", Files.readString(blocked.resolve("inside")));
    }

    @Test
    void writingIntoAReadOnlyFolderFailsAndKeepsTheOriginal() throws IOException {
        Path dir = Files.createDirectories(temp.resolve("kube"));
        Path file = dir.resolve("config");
        Files.writeString(file, "original\n");
        boolean root = System.getProperty("user.name").equals("root");
        if (root) {
            // root ignores permission bits; the immutable attribute stops root too
            Repo.Run chattr = Repo.exec(List.of("chattr", "+i", dir.toString()), temp, Map.of(), null, 10);
            Assumptions.assumeTrue(chattr.exit() == 0,
                "running as root and 'chattr +i' failed (" + chattr.stderr().strip()
                    + "): no way to make a read-only folder for root here");
        } else {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-x------"));
        }
        try {
            Cli.Failure failure = assertThrows(Cli.Failure.class, () -> AtomicFile.write(file, "new\n"));
            assertEquals(Cli.FAILED, failure.exitCode);
            assertTrue(failure.getMessage().startsWith("cannot write " + file), failure.getMessage());
            assertTrue(failure.getMessage().contains("nothing was changed"), failure.getMessage());
        } finally {
            if (root) {
                Repo.Run undo = Repo.exec(List.of("chattr", "-i", dir.toString()), temp, Map.of(), null, 10);
                assertEquals(0, undo.exit(), "chattr -i " + dir + ": " + undo.stderr());
            } else {
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            }
        }
        assertEquals("original\n", Files.readString(file));
        assertEquals(List.of("config"), filesIn(dir), "no temp file left");
    }

    @Test
    void defaultPathIsTheFirstNonEmptyKubeconfigEntryElseHomeKubeConfig() {
        Path home = Path.of(System.getProperty("user.home"), ".kube", "config");
        assertEquals(Path.of("/x/first"), KubeconfigFile.defaultPath(Map.of("KUBECONFIG", "/x/first:/x/second")));
        assertEquals(Path.of("/x/first"), KubeconfigFile.defaultPath(Map.of("KUBECONFIG", "::/x/first::/x/second")));
        assertEquals(Path.of("a"), KubeconfigFile.defaultPath(Map.of("KUBECONFIG", "a::b")));
        assertEquals(home, KubeconfigFile.defaultPath(Map.of("KUBECONFIG", "")));
        assertEquals(home, KubeconfigFile.defaultPath(Map.of("KUBECONFIG", ":")));
        assertEquals(home, KubeconfigFile.defaultPath(Map.of()));
    }

    @Test
    void backupMakesAMode600CopyBesideTheFile() throws IOException {
        Path file = write("config", existingKubeconfig());
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        Path copy = KubeconfigFile.backup(file);
        assertEquals(temp, copy.getParent());
        assertTrue(copy.getFileName().toString().matches("config\\.k3s-vagrant-backup-\\d{8}-\\d{6}"), copy.toString());
        assertEquals(existingKubeconfig(), Files.readString(copy));
        assertEquals("rw-------", permissions(copy));
        assertEquals(existingKubeconfig(), Files.readString(file), "the original is unchanged");
        assertEquals("rw-r--r--", permissions(file));
    }

    // issue 9, item 10: every merge made one more copy of every cluster's credentials, without end
    @Test
    void onlyTheLastFewBackupsAreKept() throws IOException {
        Path file = write("config", existingKubeconfig());
        Path last = null;
        for (int i = 0; i < KubeconfigFile.KEPT_BACKUPS + 3; i++) {
            Files.writeString(file, existingKubeconfig() + "# change " + i + "\n");
            last = KubeconfigFile.backup(file);
        }
        List<Path> kept;
        try (var files = Files.list(temp)) {
            kept = files.filter(f -> f.getFileName().toString().startsWith("config.k3s-vagrant-backup-")).toList();
        }
        assertEquals(KubeconfigFile.KEPT_BACKUPS, kept.size(), kept.toString());
        assertTrue(kept.contains(last), "the newest is kept: " + kept);
        for (int i = 3; i < KubeconfigFile.KEPT_BACKUPS + 3; i++) {
            String change = "# change " + i + "\n";
            assertEquals(1, kept.stream().filter(f -> readQuietly(f).endsWith(change)).count(), change + " kept");
        }
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void twoBackupsWithinOneSecondAreTwoFiles() throws IOException {
        Path file = write("config", existingKubeconfig());
        Path first = KubeconfigFile.backup(file);
        Files.writeString(file, existingKubeconfig() + "# changed\n");
        Path second = KubeconfigFile.backup(file);
        assertNotEquals(first, second);
        assertEquals(existingKubeconfig(), Files.readString(first), "the first backup is not overwritten");
        assertEquals(existingKubeconfig() + "# changed\n", Files.readString(second));
    }

    @Test
    void aSymlinkedKubeconfigStaysASymlinkAndItsTargetIsWritten() throws IOException {
        Path target = write("dotfiles-config", existingKubeconfig());
        Path link = Files.createSymbolicLink(temp.resolve("config"), target);
        AtomicFile.write(link, "apiVersion: v1\nkind: Config\n");
        assertTrue(Files.isSymbolicLink(link), "the link was replaced by a file");
        assertEquals("apiVersion: v1\nkind: Config\n", Files.readString(target));
        assertEquals("rw-------", permissions(target));
    }

    // ---- helpers -----------------------------------------------------------------------

    /** Makes a self-signed EC certificate with openssl; its PEM certificate and PEM key. */
    static String[] selfSigned(String commonName) throws IOException {
        Path key = pems.resolve(commonName.replace(':', '_') + ".key");
        Path cert = pems.resolve(commonName.replace(':', '_') + ".crt");
        Repo.Run run = Repo.exec(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", key.toString(), "-out", cert.toString(), "-subj", "/CN=" + commonName, "-days", "30"),
                pems, Map.of(), null, 30);
        assertEquals(0, run.exit(), "openssl: " + run.stderr());
        return new String[] {Files.readString(cert), Files.readString(key)};
    }

    static String base64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    Path write(String name, String text) throws IOException {
        return Files.writeString(temp.resolve(name), text);
    }

    /** Runs the real kubectl on files of this test only (KUBECONFIG and HOME point into the temp folder). */
    String kubectl(String... args) {
        List<String> command = Stream.concat(Stream.of("kubectl"), Stream.of(args)).toList();
        Repo.Run run = Repo.exec(command, temp,
            Map.of("HOME", temp.toString(), "KUBECONFIG", temp.resolve("unused").toString()), null, 30);
        assertEquals(0, run.exit(), String.join(" ", command) + ": " + run.stderr());
        return run.stdout();
    }

    /** The file as kubectl understands it, secrets included. */
    JsonNode kubectlView(Path file) throws IOException {
        return Cluster.JSON.readTree(kubectl("config", "view", "--raw", "-o", "json", "--kubeconfig", file.toString()));
    }

    static JsonNode named(JsonNode config, String section, String name) {
        for (JsonNode entry : config.path(section)) {
            if (entry.path("name").asText().equals(name)) return entry;
        }
        throw new AssertionError("no " + section + " entry named " + name + " in " + config);
    }

    static List<String> stringList(JsonNode array) {
        List<String> values = new ArrayList<>();
        for (JsonNode value : array) {
            assertTrue(value.isTextual(), "not a string: " + value);
            values.add(value.asText());
        }
        return values;
    }

    static String permissions(Path file) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
    }

    static List<String> filesIn(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
