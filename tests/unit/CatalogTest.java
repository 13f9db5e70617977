import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * jbang-catalog.json as users reach it: real JBang processes through bin/jbang, from the
 * repository's root (the catalog of the folder) and from elsewhere (catalog add).
 */
class CatalogTest {

    static final List<String> ALIASES = List.of("k3s-up", "k3s-join", "k3s-kubeconfig", "k3s-status", "k3s-down",
        "k3s-leave", "k3s-snapshot");

    @TempDir Path tmp;

    private static Repo.Run jbang(Path dir, String... args) {
        List<String> command = new ArrayList<>();
        command.add(Repo.root().resolve("bin/jbang").toString());
        command.addAll(List.of(args));
        return Repo.exec(command, dir, Map.of(), null, 180);
    }

    private static void assertHelp(Repo.Run run, String alias) {
        assertEquals(0, run.exit(), alias + " --help; stderr:\n" + run.stderr());
        for (String section : List.of("Usage: " + alias, "Examples:", "Exit codes:")) {
            assertTrue(run.stdout().contains(section), alias + " --help should show '" + section + "':\n"
                + run.stdout());
        }
    }

    @Test
    void everyAliasPrintsItsHelpFromTheRepository() {
        for (String alias : ALIASES) {
            assertHelp(jbang(Repo.root(), alias, "--help"), alias);
        }
    }

    @Test
    void aliasListShowsTheThreeSteps() {
        Repo.Run run = jbang(Repo.root(), "alias", "list");
        assertEquals(0, run.exit(), run.stderr());
        for (String alias : ALIASES) {
            assertTrue(run.stdout().lines().anyMatch(line -> line.strip().equals(alias)), alias + " in:\n"
                + run.stdout());
        }
        String script = Repo.root().resolve("scripts/up.java").toString();
        assertTrue(run.stdout().contains(script), "k3s-up runs " + script + ":\n" + run.stdout());
    }

    @Test
    void theCatalogWorksFromOutsideTheRepositoryOnceAdded() {
        String name = "k3sv-test-" + UUID.randomUUID().toString().substring(0, 8);
        String catalog = Repo.root().resolve("jbang-catalog.json").toString();
        try {
            Repo.Run add = jbang(tmp, "catalog", "add", "--name", name, catalog);
            assertEquals(0, add.exit(), "jbang catalog add: " + add.stderr());
            assertHelp(jbang(tmp, "k3s-up@" + name, "--help"), "k3s-up");
        } finally {
            Repo.Run remove = jbang(tmp, "catalog", "remove", name);
            assertEquals(0, remove.exit(), "jbang catalog remove " + name + ": " + remove.stderr());
        }
        Repo.Run list = jbang(tmp, "catalog", "list");
        assertTrue(!list.stdout().contains(name), "the test catalog is gone: " + list.stdout());
    }
}
