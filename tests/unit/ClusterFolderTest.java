import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whose folder it is: k3s-up writes only into an empty or missing folder or one it made
 * (the .k3s-vagrant-cluster marker), k3s-down removes only what k3s-up wrote, and no step
 * runs vagrant (a folder's Vagrantfile is Ruby code) in a folder a cluster JSON names
 * unless k3s-up made it. Real steps, real vagrant; no machine is ever made: the test
 * Vagrantfiles either stop at once or define machines that do not exist.
 */
class ClusterFolderTest {
    @TempDir Path tmp;

    /** The marker as k3s-up writes it: its fixed first line, then the entries k3s-up wrote. */
    static final String MARKER = """
        # k3s-vagrant cluster folder: k3s-up made it; k3s-down removes the entries below, then the folder if empty
        .k3s-vagrant.lock
        Vagrantfile
        settings.yaml
        plan.rb
        upload.rb
        unpack-and-run.sh
        machine.sh
        server.sh
        agent.sh
        k3s-common.sh
        cluster.env
        cluster.json
        .vagrant/
        snapshots/
        """;

    /**
     * A Vagrantfile of the user's: it leaves a trace when Vagrant runs it, then stops Vagrant before a provider acts.
     */
    static final String USERS_VAGRANTFILE = """
        File.write(File.join(__dir__, "ran"), "Vagrant ran this Vagrantfile\\n")
        raise "the user's own Vagrantfile: a test stops here"
        """;

    // ---------------------------------------------------------------- k3s-up --dir

    @Test
    void upRefusesAFolderItDidNotMakeAndWritesNothing() throws IOException {
        Path project = usersProject(tmp.resolve("proj"));
        Map<String, String> before = snapshot(project);
        // --dry-run: the refusal comes before anything, even before vagrant is looked for
        Repo.Run refused = Repo.step(new up(), "--provider", "libvirt", "--dir", project.toString(), "--dry-run");
        assertEquals(Cli.USAGE, refused.exit(), refused.stderr());
        assertTrue(refused.stderr().contains("is not a folder k3s-up made"), refused.stderr());
        assertTrue(refused.stderr().contains("nothing was written"), refused.stderr());
        assertTrue(refused.stderr().contains(".git"), "names what is there: " + refused.stderr());
        assertEquals(before, snapshot(project), "nothing written in " + project);
        Path file = Files.writeString(tmp.resolve("a-file"), "mine\n");
        Repo.Run run = Repo.step(new up(), "--provider", "libvirt", "--dir", file.toString(), "--dry-run");
        assertEquals(Cli.USAGE, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("is a file, not a folder"), run.stderr());
        assertEquals("mine\n", Files.readString(file));
    }

    @Test
    void upTakesAMissingOrEmptyFolderOrOneItMade() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Path marked = Files.createDirectories(tmp.resolve("marked"));
        Files.writeString(marked.resolve(".k3s-vagrant-cluster"), MARKER);
        Files.writeString(marked.resolve("notes.txt"), "the user's, added later\n");
        for (Path dir : List.of(tmp.resolve("missing"), empty, marked)) {
            Repo.Run run = Repo.step(new up(), "--provider", "libvirt", "--dir", dir.toString(), "--dry-run");
            assertEquals(Cli.OK, run.exit(), dir + ": " + run.stderr());
        }
        assertFalse(Files.exists(tmp.resolve("missing")), "a dry run makes no folder");
    }

    @Test
    void aFolderMadeByTodaysK3sUpIsAdoptedNotRefused() throws IOException {
        Path made = todaysClusterFolder(tmp.resolve("wil"));
        Repo.Run dry = Repo.step(new up(), "--provider", "libvirt", "--dir", made.toString(), "--dry-run");
        assertEquals(Cli.OK, dry.exit(), dry.stderr());
        // a later step reading the cluster's JSON adopts it: the marker is written, nothing else changes
        Map<String, String> before = snapshot(made);
        leave step = new leave();
        step.server.stdin = json(clusterNamingFolder(made));
        Repo.Run run = Repo.step(step, "--cluster", "-", "--node", "nosuch");
        assertEquals(Cli.USAGE, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("has no node 'nosuch'"), "refused for the node, not its folder: "
            + run.stderr());
        Path marker = made.resolve(".k3s-vagrant-cluster");
        assertTrue(Files.isRegularFile(marker), "adopted: " + made + " has the marker");
        assertEquals(MARKER, Files.readString(marker));
        before.put(".k3s-vagrant-cluster", MARKER);
        assertEquals(before, snapshot(made));
    }

    // ---------------------------------------------------------------- a folder named by a cluster JSON

    @Test
    void downRunsNoVagrantAndRemovesNothingInAFolderTheJsonNamesThatK3sUpDidNotMake() throws IOException {
        ProvisionTest.requireTool("vagrant", "apt-get install vagrant");
        Path project = usersProject(tmp.resolve("proj"));
        Files.writeString(project.resolve("Vagrantfile"), USERS_VAGRANTFILE);
        Map<String, String> before = snapshot(project);
        down step = new down();
        step.server.stdin = json(clusterNamingFolder(project));
        Repo.Run run = Repo.step(step, "--cluster", "-");
        assertFalse(Files.exists(project.resolve("ran")), "vagrant ran the folder's Vagrantfile: " + run.stderr());
        assertEquals(before, snapshot(project), "nothing in " + project + " is changed or removed");
        assertEquals(Cli.BAD_INPUT, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("which k3s-up did not make"), run.stderr());
        assertEquals("", run.stdout());
    }

    @Test
    void stepsReachingMachinesRunNoVagrantInAFolderTheJsonNamesThatK3sUpDidNotMake() throws IOException {
        ProvisionTest.requireTool("vagrant", "apt-get install vagrant");
        Path project = usersProject(tmp.resolve("proj"));
        Files.writeString(project.resolve("Vagrantfile"), USERS_VAGRANTFILE);
        status step = new status();
        step.server.stdin = json(clusterNamingFolder(project)); // k3s-status asks `vagrant ssh-config` for the server
        Repo.Run run = Repo.step(step, "--cluster", "-");
        assertFalse(Files.exists(project.resolve("ran")), "vagrant ran the folder's Vagrantfile: " + run.stderr());
        assertEquals(Cli.BAD_INPUT, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("which k3s-up did not make"), run.stderr());
    }

    @Test
    void aFolderNamedByFlagsIsTheUsersOwnChoice() throws IOException {
        ProvisionTest.requireTool("vagrant", "apt-get install vagrant");
        Path project = usersProject(tmp.resolve("proj"));
        Files.writeString(project.resolve("Vagrantfile"), USERS_VAGRANTFILE);
        Repo.Run run = Repo.step(new status(), "--server-machine", "web", "--vagrant-dir", project.toString(),
            "--server-ip", "192.168.59.10");
        assertTrue(Files.exists(project.resolve("ran")), "--vagrant-dir names a project of the user's: it runs. "
            + run.stderr());
    }

    @Test
    void downDestroysNoVagrantProjectNamedByFlags() throws IOException {
        ProvisionTest.requireTool("vagrant", "apt-get install vagrant");
        Path project = usersProject(tmp.resolve("proj"));
        Files.writeString(project.resolve("Vagrantfile"), USERS_VAGRANTFILE);
        Map<String, String> before = snapshot(project);
        Repo.Run run = Repo.step(new down(), "--server-machine", "web", "--vagrant-dir", project.toString(),
            "--server-ip", "192.168.59.10");
        assertFalse(Files.exists(project.resolve("ran")), "vagrant ran the folder's Vagrantfile: " + run.stderr());
        assertEquals(before, snapshot(project), "nothing in " + project + " is changed or removed");
        assertEquals(Cli.USAGE, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("k3s-down destroys only clusters k3s-up made"), run.stderr());
    }

    @Test
    void noStepWritesItsClusterJsonIntoAFolderK3sUpDidNotMake() throws IOException {
        Path project = usersProject(tmp.resolve("proj"));
        Files.writeString(project.resolve("cluster.json"), "{\"the user's\": true}\n");
        Log log = new Log(new PrintWriter(new StringWriter()), "test", null);
        Cluster read = clusterNamingFolder(project);
        ClusterFolder.updateCluster(read, cluster -> cluster.withNode(new Cluster.Node("pi", "agent", "192.168.59.20",
            new Cluster.Access(null, "pi@192.168.59.20", 22, null))), log);
        assertEquals("{\"the user's\": true}\n", Files.readString(project.resolve("cluster.json")));
        assertFalse(Files.exists(project.resolve(ClusterFolder.LOCK_FILE)), "no lock file made there either");
    }

    // ---------------------------------------------------------------- k3s-down removes what k3s-up wrote

    @Test
    void downRemovesOnlyWhatK3sUpWroteAndKeepsAFolderHoldingOtherFiles() throws IOException {
        ProvisionTest.requireTool("vagrant", "apt-get install vagrant");
        Path made = todaysClusterFolder(tmp.resolve("wil"));
        Files.writeString(made.resolve(".k3s-vagrant-cluster"), MARKER);
        Files.writeString(made.resolve("notes.txt"), "the user's, added later\n");
        Files.createDirectories(made.resolve("keep")).resolve("more.txt").toFile().createNewFile();
        down step = new down();
        step.server.stdin = json(clusterNamingFolder(made));
        Repo.Run run = Repo.step(step, "--cluster", "-");
        assertEquals(Cli.OK, run.exit(), run.stderr());
        assertEquals(Map.of("keep/", "", "keep/more.txt", "", "notes.txt", "the user's, added later\n"),
            snapshot(made));
        assertTrue(run.stderr().contains("kept " + made) && run.stderr().contains("notes.txt"), run.stderr());
        assertFalse(run.stdout().contains("folderRemoved"), run.stdout());
        // no vagrant up began there: k3s-down needs neither Vagrant's provider nor libvirt to run
        assertTrue(run.stderr().contains("Vagrant never acted on a machine in " + made), run.stderr());
        assertTrue(run.stdout().contains("\"machinesDestroyed\" : false"), run.stdout());
    }

    /** --halt keeps everything; where Vagrant never made a machine there is nothing to halt, and it says so. */
    @Test
    void downHaltOfAClusterWithoutMachinesChangesNothingAndSaysSo() throws IOException {
        Path made = todaysClusterFolder(tmp.resolve("wil"));
        Files.writeString(made.resolve(".k3s-vagrant-cluster"), MARKER);
        Map<String, String> before = snapshot(made);
        down step = new down();
        step.server.stdin = json(clusterNamingFolder(made));
        Repo.Run run = Repo.step(step, "--cluster", "-", "--halt");
        assertEquals(Cli.FAILED, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("has no machines in " + made + " to halt"), run.stderr());
        assertEquals(before, snapshot(made), "nothing removed, nothing marked");
        assertEquals("", run.stdout());
    }

    /** Every file k3s-up writes today (settings.yaml and plan.rb too) is one k3s-down removes. */
    @Test
    void downRemovesEveryFileK3sUpWritesToday() throws IOException {
        Path made = todaysClusterFolder(tmp.resolve("wil")); // adopted, then written as k3s-up writes it now
        ClusterFolder.claim(made, false);
        Log quiet = new Log(new PrintWriter(new StringWriter()), "test", null);
        try (ClusterFolder folder = ClusterFolder.open(made, quiet)) {
            folder.writeProvisioning(up.class);
        }
        assertTrue(Files.isRegularFile(made.resolve("settings.yaml"))
            && Files.isRegularFile(made.resolve("plan.rb")), "written by k3s-up");
        down step = new down();
        step.server.stdin = json(clusterNamingFolder(made));
        Repo.Run run = Repo.step(step, "--cluster", "-");
        assertEquals(Cli.OK, run.exit(), run.stderr());
        assertFalse(Files.exists(made), "nothing of k3s-up's is left: " + run.stderr());
    }

    /** What k3s-up writes is all its Vagrantfile needs: Vagrant loads it there (upload.rb once was missing). */
    @Test
    void vagrantLoadsTheFolderK3sUpWritesOnItsOwn() throws IOException {
        ProvisionTest.requireTool("vagrant", "apt-get install vagrant");
        Path made = tmp.resolve("wil");
        ClusterFolder.claim(made, false);
        try (ClusterFolder folder = ClusterFolder.open(made, new Log(new PrintWriter(new StringWriter()), "test",
                null))) {
            folder.writeProvisioning(up.class);
        }
        Repo.Run run = Repo.exec(List.of("vagrant", "validate"), made, Map.of("K3S_VAGRANT_LOGIN", "wil",
            "VAGRANT_DEFAULT_PROVIDER", "libvirt"), null, 180);
        assertEquals(0, run.exit(), run.stdout() + run.stderr());
        assertTrue(run.stdout().contains("Vagrantfile validated successfully"), run.stdout());
    }

    @Test
    void downRemovesTheFolderWhenOnlyK3sUpsFilesAreThere() throws IOException {
        ProvisionTest.requireTool("vagrant", "apt-get install vagrant");
        Path made = todaysClusterFolder(tmp.resolve("wil"));
        Files.writeString(made.resolve(".k3s-vagrant-cluster"), MARKER);
        down step = new down();
        step.server.stdin = json(clusterNamingFolder(made));
        Repo.Run run = Repo.step(step, "--cluster", "-");
        assertEquals(Cli.OK, run.exit(), run.stderr());
        assertFalse(Files.exists(made), "removed: " + run.stderr());
        assertTrue(run.stdout().contains("\"folderRemoved\" : \"" + made + "\""), run.stdout());
    }

    // issue 9, item 10: two clusters sharing a machine name or an address break each other once both boot
    @Test
    void upRefusesAClusterSharingAMachineNameOrAnAddressWithAnotherUnderTheHome() throws IOException {
        Path root = Files.createDirectories(tmp.resolve("home").resolve("clusters"));
        Files.writeString(Files.createDirectories(root.resolve("alice")).resolve("cluster.env"), """
            # Written by k3s-up: the settings this cluster was made with (no secrets here).
            K3S_VAGRANT_LOGIN=alice
            K3S_VAGRANT_SERVER_IP=192.168.58.110
            K3S_VAGRANT_SERVERS=1
            K3S_VAGRANT_WORKER_IP=192.168.58.111
            K3S_VAGRANT_WORKERS=2
            """);
        Path before = ClusterFolder.clustersRoot;
        ClusterFolder.clustersRoot = root;
        try {
            Repo.Run address = Repo.step(new up(), "--dry-run", "--provider", "libvirt", "--login", "bob",
                "--dir", tmp.resolve("bob").toString(),
                "--server-ip", "192.168.58.120", "--worker-ip", "192.168.58.112");
            assertEquals(Cli.REFUSED, address.exit(), address.stderr());
            assertTrue(address.stderr().contains("192.168.58.112")
                && address.stderr().contains(root.resolve("alice").toString()),
                address.stderr());
            Repo.Run name = Repo.step(new up(), "--dry-run", "--provider", "libvirt", "--login", "ALICE",
                "--dir", tmp.resolve("other").toString(),
                "--server-ip", "192.168.58.120", "--worker-ip", "192.168.58.121");
            assertEquals(Cli.REFUSED, name.exit(), name.stderr());
            assertTrue(name.stderr().contains("ALICES"), name.stderr());
            Repo.Run apart = Repo.step(new up(), "--dry-run", "--provider", "libvirt", "--login", "bob",
                "--dir", tmp.resolve("bob").toString(),
                "--server-ip", "192.168.58.120", "--worker-ip", "192.168.58.121");
            assertEquals(Cli.OK, apart.exit(), apart.stderr());
            Repo.Run itself = Repo.step(new up(), "--dry-run", "--provider", "libvirt", "--login", "alice",
                "--name", "alice", "--server-ip", "192.168.58.110", "--worker-ip", "192.168.58.111", "--workers", "2",
                "--dir", root.resolve("alice").toString());
            assertEquals(Cli.OK, itself.exit(), "the cluster itself is no clash: " + itself.stderr());
        } finally {
            ClusterFolder.clustersRoot = before;
        }
    }

    // issue 9, item 10: the backups of earlier merges still held the destroyed cluster's credentials
    @Test
    void downLeavesNoKubeconfigBackupHoldingTheDestroyedClustersCredentials() throws IOException {
        ProvisionTest.requireTool("vagrant", "apt-get install vagrant");
        Path made = todaysClusterFolder(tmp.resolve("wil"));
        Files.writeString(made.resolve(".k3s-vagrant-cluster"), MARKER);
        String kubeconfig = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: zzfolder
              cluster: {server: "https://192.168.59.110:6443"}
            - name: other
              cluster: {server: "https://127.0.0.1:16443"}
            users:
            - name: zzfolder
              user: {token: zz-destroyed-secret}
            - name: other
              user: {token: other-secret}
            contexts:
            - name: zzfolder
              context: {cluster: zzfolder, user: zzfolder}
            - name: other
              context: {cluster: other, user: other}
            current-context: zzfolder
            """;
        Files.writeString(tmp.resolve("kubeconfig"), kubeconfig);
        Files.writeString(tmp.resolve("kubeconfig.k3s-vagrant-backup-20260101-000000"), kubeconfig);
        down step = new down();
        step.server.stdin = json(clusterNamingFolder(made));
        Repo.Run run = Repo.step(step, "--cluster", "-");
        assertEquals(Cli.OK, run.exit(), run.stderr());
        Map<String, String> left = snapshot(tmp);
        left.keySet().removeIf(name -> !name.startsWith("kubeconfig"));
        assertTrue(left.containsKey("kubeconfig.k3s-vagrant-backup-20260101-000000"), left.keySet().toString());
        left.forEach((name, text) -> {
            assertFalse(text.contains("zz-destroyed-secret"),
                name + " still holds the destroyed cluster's token:\n" + text);
            assertTrue(text.contains("other-secret"), name + " keeps the other cluster: " + text);
        });
    }

    @Test
    void downRunsNoVagrantInItsFolderWithoutAVagrantfile() throws IOException {
        // k3s-up stopped right after marking its folder; vagrant there would run the Vagrantfile of a folder above
        Files.writeString(tmp.resolve("Vagrantfile"), USERS_VAGRANTFILE);
        Path made = Files.createDirectories(tmp.resolve("wil"));
        Files.writeString(made.resolve(".k3s-vagrant-cluster"), MARKER);
        Files.writeString(made.resolve(".k3s-vagrant.lock"), "");
        down step = new down();
        step.server.stdin = json(clusterNamingFolder(made));
        Repo.Run run = Repo.step(step, "--cluster", "-");
        assertFalse(Files.exists(tmp.resolve("ran")), "vagrant ran the Vagrantfile above the folder: " + run.stderr());
        assertEquals(Cli.OK, run.exit(), run.stderr());
        assertFalse(Files.exists(made), run.stderr());
    }

    @Test
    void upMarksItsFolderBeforeWritingInIt() throws IOException {
        Path dir = tmp.resolve("new");
        ClusterFolder.claim(dir, true);
        assertEquals(MARKER, Files.readString(dir.resolve(".k3s-vagrant-cluster")));
        assertEquals("rwx------",
            PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        Path project = usersProject(tmp.resolve("proj"));
        Map<String, String> before = snapshot(project);
        Cli.Failure refused = assertThrows(Cli.Failure.class,
            () -> ClusterFolder.claim(project, true));
        assertEquals(Cli.USAGE, refused.exitCode);
        assertEquals(before, snapshot(project));
    }

    @Test
    void aProjectTodaysK3sUpWroteIntoIsNotDeleted() throws IOException {
        ProvisionTest.requireTool("vagrant", "apt-get install vagrant");
        // `k3s-up --dir ~/proj` before the marker existed: our files over the user's project
        Path project = todaysClusterFolder(usersProject(tmp.resolve("proj")));
        Map<String, String> before = snapshot(project);
        down step = new down();
        step.server.stdin = json(clusterNamingFolder(project));
        Repo.Run run = Repo.step(step, "--cluster", "-");
        assertEquals(before, snapshot(project), "nothing in " + project + " is changed or removed: " + run.stderr());
        assertEquals(Cli.BAD_INPUT, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("vagrant destroy -f"), "says how to remove that cluster: " + run.stderr());
    }

    @Test
    void aMarkerListingSomethingOutsideItsFolderIsNotOurs() throws IOException {
        Path made = todaysClusterFolder(tmp.resolve("wil"));
        Path victim = Files.writeString(tmp.resolve("victim.txt"), "the user's\n");
        Files.writeString(made.resolve(".k3s-vagrant-cluster"), MARKER + "../victim.txt\n");
        Map<String, String> before = snapshot(made);
        down step = new down();
        step.server.stdin = json(clusterNamingFolder(made));
        Repo.Run run = Repo.step(step, "--cluster", "-");
        assertEquals(Cli.BAD_INPUT, run.exit(), run.stderr());
        assertTrue(Files.exists(victim));
        assertEquals(before, snapshot(made));
    }

    // ---------------------------------------------------------------- helpers

    /** A project of the user's: a git repository with a file of theirs. */
    private static Path usersProject(Path dir) throws IOException {
        Files.createDirectories(dir.resolve(".git"));
        Files.writeString(dir.resolve(".git").resolve("HEAD"), "ref: refs/heads/main\n");
        Files.writeString(dir.resolve("README.md"), "# my project\n");
        return dir;
    }

    /** What today's k3s-up leaves in a cluster's folder (no machine id: Vagrant sees the machines as not created). */
    private Path todaysClusterFolder(Path dir) throws IOException {
        Files.createDirectories(dir.resolve(".vagrant"));
        for (String file : List.of("Vagrantfile", "server.sh", "agent.sh", "k3s-common.sh")) {
            Files.copy(Repo.root().resolve("provision").resolve(file), dir.resolve(file));
        }
        Files.writeString(dir.resolve("cluster.env"), """
            # Written by k3s-up: the settings this cluster was made with (no secrets here).
            # The Vagrantfile reads them; K3S_VAGRANT_* variables in the environment override them.
            K3S_VAGRANT_PROVIDER=libvirt
            K3S_VAGRANT_LOGIN=zzfolder
            K3S_VAGRANT_SERVER_IP=192.168.59.110
            K3S_VAGRANT_SERVERS=1
            K3S_VAGRANT_WORKER_IP=192.168.59.111
            K3S_VAGRANT_WORKERS=1
            """);
        Files.writeString(dir.resolve("cluster.json"), clusterNamingFolder(dir).toJson());
        Files.writeString(dir.resolve(".k3s-vagrant.lock"), "");
        Files.writeString(dir.resolve(".vagrant").resolve("k3s-token"), "K10secret\n");
        return dir;
    }

    /**
     * A cluster JSON naming dir; no provider (k3s-down leaves libvirt's networks alone); a kubeconfig of the test's.
     */
    private Cluster clusterNamingFolder(Path dir) {
        return new Cluster("zzfolder", null, dir.toString(), "https://192.168.59.110:6443",
            List.of(new Cluster.Node("zzfolderS", "server", "192.168.59.110", Cluster.Access.vagrant("zzfolderS"))),
            new Cluster.KubeconfigRef(tmp.resolve("kubeconfig").toString(), "zzfolder"));
    }

    private static ByteArrayInputStream json(Cluster cluster) {
        return new ByteArrayInputStream(cluster.toJson().getBytes(StandardCharsets.UTF_8));
    }

    /** Every file and folder under dir (folders end with '/') with its text. */
    private static Map<String, String> snapshot(Path dir) throws IOException {
        Map<String, String> all = new TreeMap<>();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path path : files.filter(p -> !p.equals(dir)).toList()) {
                String name = dir.relativize(path).toString();
                if (Files.isDirectory(path)) all.put(name + "/", "");
                else all.put(name, Files.readString(path));
            }
        }
        return all;
    }
}
