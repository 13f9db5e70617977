import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No line of code over 120 characters in scripts/, provision/, tests/ and bench/: Java, shell, Ruby (the
 * Vagrantfiles), PowerShell, Python, whatever the file's name. Prose and data (.md, .tsv) are not code;
 * hidden folders (a .vagrant left by `vagrant up` in provision/) are not the project's.
 */
class LineLengthTest {
    static final int LIMIT = 120;
    static final List<String> FOLDERS = List.of("scripts", "provision", "tests", "bench");

    @TempDir Path tmp;

    @Test
    void noLineInTheCodeIsLongerThan120Characters() throws IOException {
        List<String> found = new ArrayList<>();
        for (String folder : FOLDERS) found.addAll(longLines(Repo.root(), folder));
        assertTrue(found.isEmpty(), found.size() + " lines over " + LIMIT + " characters (wrap them):\n"
            + String.join("\n", found));
    }

    /** A step or helper that grows past 300 lines holds more than one purpose: split it (README, code layout). */
    @Test
    void noJavaFileInScriptsIsLongerThan300Lines() throws IOException {
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(Repo.root().resolve("scripts"))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).sorted().toList()) {
                long lines = Files.readAllLines(file).size();
                if (lines > 300) found.add(Repo.root().relativize(file) + " (" + lines + ")");
            }
        }
        assertEquals(List.of(), found, "files over 300 lines");
    }

    /** The check itself: it names file:line and the length, counts characters not bytes, skips what it should. */
    @Test
    void theCheckNamesEachLongLineAndSkipsProseDataAndHiddenFolders() throws IOException {
        Path code = Files.createDirectories(tmp.resolve("scripts/lib"));
        Files.writeString(code.resolve("A.java"), "ok\n" + "x".repeat(121) + "\n" + "ü".repeat(120) + "\n");
        Files.writeString(tmp.resolve("scripts/run.sh"), "y".repeat(120) + "\n" + "z".repeat(130));
        Files.writeString(tmp.resolve("scripts/notes.md"), "w".repeat(200) + "\n");
        Files.writeString(tmp.resolve("scripts/results.tsv"), "w".repeat(200) + "\n");
        Path hidden = Files.createDirectories(tmp.resolve("scripts/.vagrant"));
        Files.writeString(hidden.resolve("box"), "w".repeat(200) + "\n");
        Files.write(tmp.resolve("scripts/blob"), new byte[] {'a', 0, 'b'});
        List<String> found = longLines(tmp, "scripts");
        assertEquals(List.of("scripts/lib/A.java:2 (121)", "scripts/run.sh:2 (130)"), found.stream().sorted().toList());
        assertTrue(longLines(tmp, "provision").isEmpty(), "a folder that is not there has no long lines");
    }

    /** Every line over LIMIT under root/folder, as "path:line (length)", the path relative to root. */
    static List<String> longLines(Path root, String folder) throws IOException {
        Path top = root.resolve(folder);
        if (!Files.isDirectory(top)) return List.of();
        List<String> found = new ArrayList<>();
        try (Stream<Path> paths = Files.walk(top)) {
            for (Path file : paths.filter(Files::isRegularFile).sorted().toList()) {
                if (skipped(top, file)) continue;
                String text = text(file);
                if (text == null) continue;
                List<String> lines = text.lines().toList();
                for (int i = 0; i < lines.size(); i++) {
                    int length = lines.get(i).codePointCount(0, lines.get(i).length());
                    if (length > LIMIT) found.add(root.relativize(file) + ":" + (i + 1) + " (" + length + ")");
                }
            }
        }
        return found;
    }

    private static boolean skipped(Path top, Path file) {
        for (Path part : top.relativize(file)) {
            if (part.toString().startsWith(".")) return true;
        }
        String name = file.getFileName().toString();
        return name.endsWith(".md") || name.endsWith(".tsv");
    }

    /** The file as UTF-8 text; null for a binary file (a NUL byte, or not UTF-8). */
    private static String text(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        for (byte b : bytes) {
            if (b == 0) return null;
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
