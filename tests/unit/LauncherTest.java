import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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

    @Test
    void binJbangRunsWithoutSha256sumAndFindsTheSameJbang() throws IOException {
        // every tool of /usr/bin and /bin but sha256sum, as links in one folder
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
        Repo.Run run = Repo.exec(List.of(Repo.root().resolve("bin/jbang").toString(), "version"), tmp,
            Map.of("PATH", bin.toString(), "K3S_VAGRANT_BUNDLED_JBANG", "1"), null, 180);
        try (var links = Files.list(bin)) {
            for (Path link : links.toList()) Files.delete(link); // quietly: JUnit warns of each link it has to remove
        }
        assertEquals(0, run.exit(), run.stderr());
        assertTrue(run.stdout().strip().matches("\\d+\\.\\d+\\.\\d+.*"), "JBang's version: " + run.stdout());
        assertFalse(run.stderr().contains("fetching JBang"), "the same cached JBang as with sha256sum: "
            + run.stderr());
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
        for (String script : List.of("bin/jbang", "tests/vm/real-k3s-check.sh", "tests/host/check-host.sh",
                "tests/host/node-ready.sh")) {
            List<String> lines = Files.readAllLines(Repo.root().resolve(script));
            for (int i = 0; i < lines.size(); i++) {
                for (var construct : BASH4.entrySet()) {
                    if (construct.getValue().matcher(lines.get(i)).find()) found.add(script + ":" + (i + 1) + ": "
                        + construct.getKey());
                }
            }
        }
        assertEquals(List.of(), found);
    }
}
