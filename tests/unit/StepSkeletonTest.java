import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** What every step gets from the skeleton: its exit codes' texts from one place, its stages numbered. */
class StepSkeletonTest {

    @Test
    void everyStepListsItsExitCodesWithTheSharedMeanings() {
        Map<String, Callable<Integer>> steps = Map.of("k3s-up", new up(), "k3s-join", new join(),
            "k3s-kubeconfig", new kubeconfig(), "k3s-status", new status(), "k3s-down", new down(),
            "k3s-leave", new leave(), "k3s-snapshot", new snapshot());
        steps.forEach((name, step) -> {
            Repo.Run help = Repo.step(step, "--help");
            assertEquals(0, help.exit(), name + ": " + help.stderr());
            String text = help.stdout();
            assertTrue(text.contains("Exit codes:"), name + ": " + text);
            assertTrue(text.contains("--version"), name + " has the standard options: " + text);
            int listed = 0;
            for (int code : ((Step) step).exitCodes()) {
                String meaning = Cli.MEANINGS.get(code);
                // picocli may wrap a long text: its first words are on the code's line
                String start = meaning.substring(0, Math.min(meaning.length(), 30));
                assertTrue(text.lines().anyMatch(line -> line.strip().startsWith(code + " ")
                    && line.contains(start)), name + " lists " + code + " as '" + meaning + "':\n" + text);
                listed++;
            }
            assertTrue(listed >= 3, name);
        });
    }

    @Test
    void theSkeletonNumbersTheStagesFromTheirPlaceInTheList() {
        Repo.Run run = Repo.step(new Staged());
        assertEquals(Cli.OK, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("==> 2/3 the second"), run.stderr());
        assertTrue(run.stderr().contains("==> 3/3 the third"), run.stderr());
        assertEquals("{}\n", run.stdout());
    }

    @Test
    void aStageNotInTheListIsAProgrammingError() {
        Repo.Run run = Repo.step(new Staged(), "--unknown-stage");
        assertEquals(Cli.FAILED, run.exit(), run.stderr());
        assertTrue(run.stderr().contains("stage 'nope' is not one of [first, second, third]"), run.stderr());
    }

    @Command(name = "staged")
    static final class Staged extends Step {
        @Option(names = "--unknown-stage")
        boolean unknown;

        @Override
        int[] exitCodes() {
            return new int[] {Cli.OK, Cli.FAILED};
        }

        @Override
        List<String> stages() {
            return List.of("first", "second", "third");
        }

        @Override
        int run() {
            stage(unknown ? "nope" : "second", "the second");
            stage("third", "the third");
            print("{}\n");
            return Cli.OK;
        }
    }
}
