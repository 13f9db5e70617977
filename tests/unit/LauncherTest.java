import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/jbang on a Mac's tools: macOS ships no sha256sum (shasum instead) and bash 3.2.
 * Run here with a PATH that lacks sha256sum; bash 3.2 itself is not in Debian, so the
 * scripts a Mac runs are read for what bash 3.2 lacks.
 */
class LauncherTest {
    @TempDir Path tmp;

    /** Every tool of /usr/bin and /bin but sha256sum, as links in one folder. */
    private Path toolsWithoutSha256sum() throws IOException {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        for (String dir : List.of("/usr/bin", "/bin", "/usr/local/bin")) {
            try (var tools = Files.list(Path.of(dir))) {
                for (Path tool : tools.toList()) {
                    Path link = bin.resolve(tool.getFileName());
                    boolean taken = Files.exists(link, LinkOption.NOFOLLOW_LINKS);
                    if (!tool.getFileName().toString().equals("sha256sum") && !taken) {
                        Files.createSymbolicLink(link, tool);
                    }
                }
            }
        }
        assertFalse(Files.exists(bin.resolve("sha256sum")));
        return bin;
    }

    private static void removeLinks(Path bin) throws IOException {
        try (var links = Files.list(bin)) {
            // quietly: JUnit warns of each link it has to remove
            for (Path link : links.toList()) Files.delete(link);
        }
    }

    @Test
    void binJbangRunsWithoutSha256sumAndFindsTheSameJbang() throws IOException {
        Path bin = toolsWithoutSha256sum();
        Repo.Run run = Repo.exec(List.of(Repo.root().resolve("bin/jbang").toString(), "version"), tmp,
            Map.of("PATH", bin.toString(), "K3S_VAGRANT_BUNDLED_JBANG", "1"), null, 180);
        removeLinks(bin);
        assertEquals(0, run.exit(), run.stderr());
        assertTrue(run.stdout().strip().matches("\\d+\\.\\d+\\.\\d+.*"), "JBang's version: " + run.stdout());
        assertFalse(run.stderr().contains("fetching JBang"),
            "the same cached JBang as with sha256sum: " + run.stderr());
    }

    /** What bash 3.2 (macOS's /bin/bash) does not have. */
    static final Map<String, Pattern> BASH4 = Map.of(
        "mapfile/readarray", Pattern.compile("\\b(mapfile|readarray)\\b"),
        "associative arrays", Pattern.compile("\\b(declare|local|typeset) +-[a-zA-Z]*A"),
        "case conversion ${x,,} ${x^^}", Pattern.compile("\\$\\{[^}]*(,,|\\^\\^|,|\\^)\\}"),
        "|& and &>>", Pattern.compile("\\|&|&>>"),
        "coproc", Pattern.compile("\\bcoproc\\b"),
        "${x: -1}-style negative length", Pattern.compile("\\$\\{[^}]*:[^}]*: *-[0-9]"));

    @Test
    void theScriptsAMacRunsUseNothingBash32Lacks() throws IOException {
        List<String> found = new ArrayList<>();
        List<String> scripts =
            List.of("bin/jbang", "bin/jbang-launch.sh", "tests/vm/real-k3s-check.sh", "tests/host/check-host.sh",
                "tests/host/node-ready.sh");
        for (String script : scripts) {
            List<String> lines = Files.readAllLines(Repo.root().resolve(script));
            for (int i = 0; i < lines.size(); i++) {
                for (var construct : BASH4.entrySet()) {
                    if (construct.getValue().matcher(lines.get(i)).find()) {
                        found.add(script + ":" + (i + 1) + ": " + construct.getKey());
                    }
                }
            }
        }
        assertEquals(List.of(), found);
    }

    // The launch cache: a small real script with a //SOURCES and a //FILES file, run through bin/jbang;
    // a `java` first on PATH logs each JVM start, so JBang's own JVM (dev.jbang.Main) can be counted.

    static final String SCRIPT = """
        //SOURCES lib/Greet.java
        //FILES note.txt
        import java.io.IOException;
        import java.io.InputStream;

        public class echo {
            public static void main(String[] args) throws IOException {
                System.out.println(Greet.WORD);
                try (InputStream note = echo.class.getResourceAsStream("/note.txt")) {
                    System.out.println("note:" + new String(note.readAllBytes()).strip());
                }
                for (String arg : args) System.out.println("[" + arg + "]");
                System.out.print("stdin:" + new String(System.in.readAllBytes()));
                System.out.flush();
                boolean code = args.length > 0 && args[0].startsWith("exit=");
                System.exit(code ? Integer.parseInt(args[0].substring(5)) : 0);
            }
        }
        """;

    /** The script folder, the logging java and the environment bin/jbang runs with. */
    private Map<String, String> launchSetup() throws IOException {
        Files.createDirectories(tmp.resolve("s/lib"));
        Files.writeString(tmp.resolve("s/echo.java"), SCRIPT);
        Files.writeString(tmp.resolve("s/lib/Greet.java"), "class Greet { static final String WORD = \"hello\"; }\n");
        Files.writeString(tmp.resolve("s/note.txt"), "one\n");
        Path javaBin = Files.createDirectories(tmp.resolve("jdk/bin"));
        String realJava = ProcessHandle.current().info().command().orElseThrow();
        Files.writeString(javaBin.resolve("java"), "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '" + tmp.resolve("jvm.log")
            + "'\nexec '" + realJava + "' \"$@\"\n");
        javaBin.resolve("java").toFile().setExecutable(true);
        Map<String, String> env = new HashMap<>();
        env.put("PATH", javaBin + ":" + System.getenv("PATH"));
        env.put("JAVA_HOME", "");
        env.put("K3S_VAGRANT_BUNDLED_JBANG", "1");
        env.put("JBANG_CACHE_DIR", tmp.resolve("jbang-cache").toString());
        env.put("K3S_VAGRANT_LAUNCH_DIR", tmp.resolve("launch").toString());
        return env;
    }

    private Repo.Run launch(Map<String, String> env, String stdin, String... args) {
        List<String> command = new ArrayList<>(List.of(Repo.root().resolve("bin/jbang").toString(), "echo.java"));
        command.addAll(List.of(args));
        return Repo.exec(command, tmp.resolve("s"), env, stdin, 300);
    }

    /** How many times JBang's own JVM started. */
    private long jbangStarts() throws IOException {
        Path log = tmp.resolve("jvm.log");
        if (!Files.exists(log)) return 0;
        return Files.readAllLines(log).stream().filter(line -> line.contains("dev.jbang.Main")).count();
    }

    private List<String> entries() throws IOException {
        Path dir = tmp.resolve("launch");
        if (!Files.isDirectory(dir)) return List.of();
        try (var files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aWarmRunExecutesTheCachedCommandWithoutJbangsJvm() throws IOException {
        Map<String, String> env = launchSetup();
        Repo.Run cold = launch(env, "", "a");
        assertEquals(0, cold.exit(), cold.stderr());
        assertEquals("hello\nnote:one\n[a]\nstdin:", cold.stdout());
        assertEquals(1, jbangStarts(), "a miss asks JBang once");
        assertEquals(1, entries().size(), "one cache entry, no private names left: " + entries());
        Repo.Run warm = launch(env, "", "a");
        assertEquals(new Repo.Run(0, cold.stdout(), ""), warm, "the same output and exit code; the jar is built");
        assertEquals(1, jbangStarts(), "a warm run starts no JBang JVM");
    }

    @Test
    void anEditedScriptSourcesOrFilesFileIsSeenAtOnce() throws IOException {
        Map<String, String> env = launchSetup();
        assertEquals("hello\nnote:one\nstdin:", launch(env, "").stdout());
        Files.writeString(tmp.resolve("s/lib/Greet.java"), "class Greet { static final String WORD = \"bye\"; }\n");
        assertEquals("bye\nnote:one\nstdin:", launch(env, "").stdout(), "a //SOURCES file edited");
        Files.writeString(tmp.resolve("s/note.txt"), "two\n");
        assertEquals("bye\nnote:two\nstdin:", launch(env, "").stdout(), "a //FILES file edited");
        Files.writeString(tmp.resolve("s/echo.java"), SCRIPT.replace("\"note:\"", "\"NOTE:\""));
        assertEquals("bye\nNOTE:two\nstdin:", launch(env, "").stdout(), "the script edited");
        Files.writeString(tmp.resolve("s/lib/Greet.java"), "class Greet { static final String WORD = \"hello\"; }\n");
        Files.writeString(tmp.resolve("s/note.txt"), "one\n");
        Files.writeString(tmp.resolve("s/echo.java"), SCRIPT);
        long before = jbangStarts();
        assertEquals("hello\nnote:one\nstdin:", launch(env, "").stdout(), "back to the first content");
        assertEquals(before, jbangStarts(), "the first content's entry serves it again");
    }

    @Test
    void argumentsStdinAndTheExitCodePassThroughOnAMissAndAHit() throws IOException {
        Map<String, String> env = launchSetup();
        String[] args = {"exit=42", "a b", "it's", "\"q\"", "$HOME `id` $(id)", "x\ny", "", "*", "-v", "\\"};
        String expected = "hello\nnote:one\n" + Arrays.stream(args).map(a -> "[" + a + "]\n")
            .reduce("", String::concat) + "stdin:{\"a\": 1}\n";
        launch(env, ""); // JBang builds the jar (and says so on stderr): then a miss is as quiet as a hit
        Repo.deleteTree(tmp.resolve("launch"));
        for (String which : List.of("miss", "hit")) {
            Repo.Run run = launch(env, "{\"a\": 1}\n", args);
            assertEquals(42, run.exit(), which + ": " + run.stderr());
            assertEquals(expected, run.stdout(), which);
            assertEquals("", run.stderr(), which);
        }
        assertEquals(2, jbangStarts(), "JBang's JVM for the build and the miss, not for the hit");
    }

    @Test
    void twoLaunchesAtOnceBothWorkColdAndWarm() throws Exception {
        Map<String, String> env = launchSetup();
        launch(env, ""); // JBang's own build of one jar is not what is tested here
        Repo.deleteTree(tmp.resolve("launch"));
        for (String which : List.of("cold", "warm")) {
            var first = CompletableFuture.supplyAsync(() -> launch(env, "1\n", "first"));
            var second = CompletableFuture.supplyAsync(() -> launch(env, "2\n", "second"));
            assertEquals("hello\nnote:one\n[first]\nstdin:1\n", first.get().stdout(), which + first.get().stderr());
            assertEquals("hello\nnote:one\n[second]\nstdin:2\n", second.get().stdout(), which + second.get().stderr());
            assertEquals(1, entries().size(), which + ": one entry, no private names left: " + entries());
        }
    }

    @Test
    void aClearedJbangCacheOrTheSwitchOffFallsBackToJbang() throws IOException {
        Map<String, String> env = launchSetup();
        assertEquals(0, launch(env, "").exit());
        Repo.deleteTree(tmp.resolve("jbang-cache"));
        Repo.Run run = launch(env, "");
        assertEquals("hello\nnote:one\nstdin:", run.stdout(), "a jar gone: JBang again: " + run.stderr());
        assertEquals(2, jbangStarts());
        Map<String, String> off = new HashMap<>(env);
        off.put("K3S_VAGRANT_LAUNCH_CACHE", "off");
        off.put("K3S_VAGRANT_LAUNCH_DIR", tmp.resolve("launch-off").toString());
        assertEquals("hello\nnote:one\nstdin:", launch(off, "").stdout());
        assertEquals(3, jbangStarts(), "the switch off: JBang's JVM every time");
        assertFalse(Files.exists(tmp.resolve("launch-off")), "the switch off writes no cache");
    }

    @Test
    void withShasumInsteadOfSha256sumTheSameEntryIsFound() throws IOException {
        Map<String, String> env = launchSetup();
        assertEquals(0, launch(env, "").exit());
        Path bin = toolsWithoutSha256sum();
        Map<String, String> mac = new HashMap<>(env);
        mac.put("PATH", tmp.resolve("jdk/bin") + ":" + bin);
        Repo.Run run = launch(mac, "", "x");
        removeLinks(bin);
        assertEquals("hello\nnote:one\n[x]\nstdin:", run.stdout(), run.stderr());
        assertEquals(1, jbangStarts(), "the entry written with sha256sum's digest, found with shasum's");
    }
}
