import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The README's troubleshooting table is drawn from the messages the steps and the
 * provisioning scripts really print: every quoted message there (the "you see" column,
 * "..." standing for the variable parts) must occur in their sources, so a reworded
 * message cannot leave the README describing one that no longer exists.
 */
class ReadmeTest {
    /** Words in the table that other tools print (JBang, the OS), not this project. */
    static final Set<String> FROM_OTHER_TOOLS = Set.of("Script or alias could not be found", "No space left on device");

    @Test
    void everyTroubleshootingMessageIsOneTheToolkitPrints() throws IOException {
        String readme = Files.readString(Repo.root().resolve("README.md"));
        String table = readme.substring(readme.indexOf("## Troubleshooting"));
        String sources = sources();
        List<String> missing = new ArrayList<>();
        int checked = 0;
        List<String> rows = table.lines()
            .filter(l -> l.startsWith("| ") && !l.startsWith("| you see") && !l.startsWith("| ---")).toList();
        for (String row : rows) {
            String youSee = row.split(" \\| ")[0];
            Matcher quoted = Pattern.compile("`([^`]+)`").matcher(youSee);
            while (quoted.find()) {
                for (String fragment : quoted.group(1).split("\\.\\.\\.")) {
                    String words = fragment.strip();
                    if (words.length() < 8 || FROM_OTHER_TOOLS.stream().anyMatch(words::contains)) continue;
                    checked++;
                    if (!sources.contains(words)) missing.add(words);
                }
            }
        }
        assertTrue(checked >= 25, "the table quotes the messages (" + checked + " fragments checked)");
        assertEquals(List.of(), missing, "README troubleshooting quotes words that no step or script prints");
    }

    /** Every script, helper and provisioning file, string literals joined where Java splits them over lines. */
    private static String sources() throws IOException {
        StringBuilder all = new StringBuilder();
        for (String folder : List.of("scripts", "provision", "bench")) {
            try (Stream<Path> files = Files.walk(Repo.root().resolve(folder))) {
                for (Path file : files.filter(Files::isRegularFile).toList()) {
                    all.append(Files.readString(file)).append('\n');
                }
            }
        }
        // "a " + "b" and "a "\n + "b" read as "a b"
        return all.toString().replaceAll("\"\\s*\\+\\s*\"", "");
    }
}
