import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Windows clone (core.autocrlf=true) keeps LF in what runs inside the machines: the
 * VMs' bash refuses CRLF scripts ("/bin/bash^M: bad interpreter"). Cloned here with the
 * same setting, which converts on checkout on any system; the clone is of what is committed.
 */
class LineEndingsTest {
    @TempDir Path tmp;

    @Test
    void k3sUpWritesTheProvisioningFilesWithLfWhateverItRead() throws IOException {
        Path folder = tmp.resolve("cluster");
        Log log = new Log(new PrintWriter(new StringWriter()), "test", null);
        ClusterFolder.claim(folder, false);
        try (ClusterFolder cluster = ClusterFolder.open(folder, log)) {
            cluster.writeProvisioning(file -> {
                try {
                    String text = Files.readString(Repo.root().resolve("provision").resolve(file));
                    return new ByteArrayInputStream(text.replace("\n",
                        "\r\n").getBytes(StandardCharsets.UTF_8));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
        List<String> crlf = new ArrayList<>();
        for (String file : List.of("Vagrantfile", "server.sh", "agent.sh", "k3s-common.sh")) {
            String written = Files.readString(folder.resolve(file));
            if (written.contains("\r")) crlf.add(file);
            assertEquals(Files.readString(Repo.root().resolve("provision").resolve(file)), written, file);
        }
        assertEquals(List.of(), crlf, "files k3s-up wrote with CR line ends");
    }

    @Test
    void aCloneWithAutocrlfKeepsLfInEveryScriptTheMachinesRun() throws IOException {
        Path clone = tmp.resolve("clone");
        Repo.Run run = Repo.exec(List.of("git", "-c", "core.autocrlf=true", "clone", "-q", Repo.root().toString(),
            clone.toString()),
            tmp, Map.of(), null, 120);
        assertEquals(0, run.exit(), run.stderr());
        List<String> crlf = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        for (String dir : List.of("provision", "tests/k3s-standin", "bin")) {
            try (var listed = Files.walk(clone.resolve(dir))) {
                listed.filter(Files::isRegularFile).forEach(files::add);
            }
        }
        for (Path file : files) {
            if (new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1).contains("\r")) {
                crlf.add(clone.relativize(file).toString());
            }
        }
        assertEquals(List.of(), crlf, "files with CR line ends in an autocrlf clone");
        assertEquals(true, files.size() >= 8, "the clone holds the scripts: " + files);
    }
}
