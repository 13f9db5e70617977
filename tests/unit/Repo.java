import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** Test support: the repository's root, running real commands, running a step in-process. */
final class Repo {
    private Repo() {}

    /** The clone's root: the nearest folder up from the working directory holding jbang-catalog.json. */
    static Path root() {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            if (Files.exists(d.resolve("jbang-catalog.json")) && Files.isDirectory(d.resolve("provision"))) return d;
        }
        throw new IllegalStateException("run the tests from the repository (no jbang-catalog.json above " + dir + ")");
    }

    /** A finished process. */
    record Run(int exit, String stdout, String stderr) { }

    /**
     * Writes to harness a Ruby program that loads the Vagrantfile named by its first argument under a
     * recorder standing for Vagrant's configuration object: record is Ruby run on every call made on it
     * (name, args, options; $machine is the machine being defined), to print what the test asserts.
     */
    static void vagrantfileRecorder(Path harness, String record) throws IOException {
        Files.writeString(harness, """
            $machine = nil
            class Recorder
              def method_missing(name, *args, **options, &block)
                $machine = args[0] if name == :define
                RECORD
                block.call(Recorder.new, Recorder.new) if block
                Recorder.new
              end

              def respond_to_missing?(*) = true
            end

            module Vagrant
              def self.configure(_version) = yield(Recorder.new)
            end

            load ARGV[0]
            """.replace("RECORD", record.stripTrailing().indent(4).strip()));
    }

    /**
     * Runs a real command with extra environment and optional stdin, bounded in time. A step it
     * starts sees a fresh K3S_VAGRANT_HOME unless env names one: never the user's own clusters.
     */
    static Run exec(List<String> command, Path dir, Map<String, String> env, String stdin, long timeoutSeconds) {
        Path home = null;
        try {
            ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile());
            if (!env.containsKey(HOME_VARIABLE)) {
                home = Files.createTempDirectory("k3sv-test-home");
                builder.environment().put(HOME_VARIABLE, home.toString());
            }
            builder.environment().putAll(env);
            Path out = Files.createTempFile("k3sv-test-out", ".txt");
            Path err = Files.createTempFile("k3sv-test-err", ".txt");
            builder.redirectOutput(out.toFile()).redirectError(err.toFile());
            if (stdin == null) builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            Process process = builder.start();
            if (stdin != null) {
                try (var in = process.getOutputStream()) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            }
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " did not finish within " + timeoutSeconds + " s");
            }
            Run run = new Run(process.exitValue(), Files.readString(out), Files.readString(err));
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
            return run;
        } catch (IOException e) {
            throw new AssertionError("cannot run " + command + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        } finally {
            deleteTree(home);
        }
    }

    /** A step run in-process through picocli, as its main() would: exit code, stdout, stderr. */
    static Run step(Callable<Integer> command, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cmd = Cli.commandLine(command);
        cmd.setOut(new PrintWriter(out));
        cmd.setErr(new PrintWriter(err));
        // a fresh clusters folder unless the test chose one: the user's own clusters (k3s-up checks
        // them for clashes) must not change a test's result, nor a test touch them
        Path home = null;
        if (ClusterFolder.clustersRoot == null) {
            try {
                home = Files.createTempDirectory("k3sv-test-home");
            } catch (IOException e) {
                throw new AssertionError("cannot make a k3s-vagrant home for the step: " + e, e);
            }
            ClusterFolder.clustersRoot = home.resolve("clusters");
        }
        try {
            int exit = cmd.execute(args);
            return new Run(exit, out.toString(), err.toString());
        } finally {
            if (home != null) {
                ClusterFolder.clustersRoot = null;
                deleteTree(home);
            }
        }
    }

    /** The variable naming the k3s-vagrant home (its clusters/ folder) to a step run as a process. */
    static final String HOME_VARIABLE = "K3S_VAGRANT_HOME";

    /** Removes a test-made folder and everything in it; null: nothing. */
    static void deleteTree(Path folder) {
        if (folder == null || !Files.exists(folder)) return;
        try (var paths = Files.walk(folder)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(path);
        } catch (IOException e) {
            throw new AssertionError("cannot remove " + folder + ": " + e, e);
        }
    }
}
