///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//DEPS org.junit.platform:junit-platform-launcher:6.0.1
//DEPS org.junit.jupiter:junit-jupiter:6.0.1
//DEPS com.google.jimfs:jimfs:1.3.0
//SOURCES ../scripts/up.java
//SOURCES ../scripts/join.java
//SOURCES ../scripts/kubeconfig.java
//SOURCES ../scripts/status.java
//SOURCES ../scripts/down.java
//SOURCES ../scripts/leave.java
//SOURCES ../scripts/snapshot.java
//SOURCES unit/*.java
//SOURCES vm/*.java

import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;
import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TagFilter;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * The test suite's one command: `bin/jbang tests/run.java [--tier unit|vm|all] [--class TestClass] [--repeat N]`.
 * Runs the JUnit tests compiled into this script's jar (the steps and their helper come
 * in through //SOURCES, so tests use the very dependency versions the steps declare),
 * prints one line per test, and ends with "N passed, N failed, N skipped".
 */
class run {
    public static void main(String... args) throws URISyntaxException {
        String tier = "all";
        List<String> classes = new ArrayList<>();
        int repeat = 1;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--tier") && i + 1 < args.length) tier = args[++i];
            else if (args[i].startsWith("--tier=")) tier = args[i].substring("--tier=".length());
            else if (args[i].equals("--class") && i + 1 < args.length) classes.add(args[++i]);
            else if (args[i].equals("--repeat") && i + 1 < args.length
                && args[i + 1].matches("[1-9]\\d{0,2}")) repeat = Integer.parseInt(args[++i]);
            else {
                System.err.println("usage: run.java [--tier unit|vm|all] [--class TestClass]... [--repeat N]");
                System.exit(2);
            }
        }
        Path jar = Path.of(run.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        // --class runs only the named test classes (while working on one); the default is every class
        LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request()
            .selectors(classes.isEmpty()
                ? DiscoverySelectors.selectClasspathRoots(Set.of(jar)).toArray(new DiscoverySelector[0])
                : classes.stream().map(DiscoverySelectors::selectClass).toArray(DiscoverySelector[]::new));
        switch (tier) {
            case "unit" -> request.filters(TagFilter.excludeTags("vm"));
            case "vm" -> request.filters(TagFilter.includeTags("vm"));
            case "all" -> { }
            default -> {
                System.err.println("unknown tier '" + tier + "': use unit, vm or all");
                System.exit(2);
            }
        }
        LauncherDiscoveryRequest discovery = request.build();
        if (classes.isEmpty()) requireEveryTestClass(jar);
        if (repeat == 1) {
            Report report = new Report(System.out);
            LauncherFactory.create().execute(discovery, report);
            report.finish();
            System.exit(report.failed > 0 || report.passed == 0 ? 1 : 0);
        }
        System.exit(repeated(discovery, repeat));
    }

    /**
     * --repeat N: the same tests N times in a row, a flakiness measure. Each run prints its
     * own lines and totals; then one line per run (its first error line when it failed),
     * "repeat: P of N runs passed", and the totals of all runs.
     */
    static int repeated(LauncherDiscoveryRequest discovery, int times) {
        List<String> outcomes = new ArrayList<>();
        int passedRuns = 0;
        Report all = new Report(System.out);
        for (int i = 1; i <= times; i++) {
            System.out.println("== run " + i + " of " + times);
            Report report = new Report(System.out);
            LauncherFactory.create().execute(discovery, report);
            report.finish();
            boolean passed = report.failed == 0 && report.passed > 0;
            if (passed) passedRuns++;
            String firstError = report.failures.isEmpty() ? "no test passed"
                : report.failures.get(0).lines().findFirst().orElse("");
            outcomes.add("run " + i + ": " + (passed ? "passed" : "FAILED: " + firstError) + " (" + report.seconds()
                + " s)");
            all.passed += report.passed;
            all.failed += report.failed;
            all.skipped += report.skipped;
        }
        System.out.println();
        outcomes.forEach(System.out::println);
        System.out.println("repeat: " + passedRuns + " of " + times + " runs passed");
        System.out.println(all.passed + " passed, " + all.failed + " failed, " + all.skipped + " skipped");
        return passedRuns == times ? 0 : 1;
    }

    /**
     * Every test source file's class must be in the build: a stale or half-written JBang
     * cache (two builds of this script at once) can hold a jar missing classes, and the
     * suite would then pass on fewer tests without a word. Exits 1 naming them.
     */
    static void requireEveryTestClass(Path jar) {
        Set<String> built = new TreeSet<>();
        try (var entries = new JarFile(jar.toFile()).stream()) {
            entries.map(ZipEntry::getName).filter(n -> n.endsWith(".class") && !n.contains("$")
                && !n.contains("/"))
                .forEach(n -> built.add(n.substring(0, n.length() - ".class".length())));
        } catch (IOException e) {
            System.err.println("run.java: cannot read its own jar " + jar + ": " + e.getMessage());
            System.exit(1);
        }
        List<String> missing = new ArrayList<>();
        for (String tier : List.of("unit", "vm")) {
            Path folder = Repo.root().resolve("tests").resolve(tier);
            try (var files = Files.list(folder)) {
                for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                    String text = Files.readString(file);
                    String name = file.getFileName().toString().replace(".java", "");
                    if ((text.contains("@Test") || text.contains("@ParameterizedTest"))
                        && !built.contains(name)) missing.add(name);
                }
            } catch (IOException e) {
                System.err.println("run.java: cannot list " + folder + ": " + e.getMessage());
                System.exit(1);
            }
        }
        if (!missing.isEmpty()) {
            System.out.println("FAILED  the suite: test classes missing from the build: " + missing
                + " (a broken JBang cache? "
                + "remove " + jar.getParent() + " and run again)");
            System.out.println("0 passed, " + missing.size() + " failed, 0 skipped");
            System.exit(1);
        }
    }

    /** One line per test as it ends; failures with their message; the totals last. */
    static final class Report implements TestExecutionListener {
        final PrintStream out;
        int passed;
        int failed;
        int skipped;
        final List<String> failures = new ArrayList<>();
        final long started = System.nanoTime();
        TestPlan plan;

        Report(PrintStream out) {
            this.out = out;
        }

        @Override
        public void executionSkipped(TestIdentifier test, String reason) {
            if (!test.isTest()) return;
            skipped++;
            out.println("SKIPPED " + name(test) + ": " + reason);
        }

        @Override
        public void testPlanExecutionStarted(TestPlan testPlan) {
            plan = testPlan;
        }

        @Override
        public void executionFinished(TestIdentifier test, TestExecutionResult result) {
            if (!test.isTest() && result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                // a whole class failed or was aborted in @BeforeAll: its tests never ran; count each, loudly
                long tests = Math.max(1, plan.getDescendants(test).stream().filter(TestIdentifier::isTest).count());
                String message = result.getThrowable().map(Throwable::getMessage).orElse("");
                if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
                    skipped += tests;
                    out.println("SKIPPED " + name(test) + ": all " + tests + " tests: " + message);
                } else {
                    failed += tests;
                    failures.add(name(test) + " (all " + tests + " tests, in setup): " + message);
                    out.println("FAILED  " + name(test) + " (all " + tests + " tests, in setup): " + message);
                }
                return;
            }
            if (!test.isTest()) return;
            switch (result.getStatus()) {
                case SUCCESSFUL -> {
                    passed++;
                    out.println("ok      " + name(test));
                }
                case ABORTED -> {
                    skipped++;
                    out.println("SKIPPED " + name(test) + ": "
                        + result.getThrowable().map(Throwable::getMessage).orElse(""));
                }
                case FAILED -> {
                    failed++;
                    Throwable error = result.getThrowable().orElse(null);
                    String message = error == null ? "failed" : error.toString();
                    failures.add(name(test) + ": " + message);
                    out.println("FAILED  " + name(test) + ": " + message);
                    if (error != null && System.getenv("K3S_VAGRANT_DEBUG") != null) error.printStackTrace(out);
                }
            }
            out.flush();
        }

        long seconds() {
            return (System.nanoTime() - started) / 1_000_000_000L;
        }

        void finish() {
            long seconds = seconds();
            if (!failures.isEmpty()) {
                out.println();
                out.println("Failures:");
                failures.forEach(f -> out.println("  " + f));
            }
            out.println();
            out.println("Took " + seconds + " s.");
            out.println(passed + " passed, " + failed + " failed, " + skipped + " skipped");
            out.flush();
        }

        private static String name(TestIdentifier test) {
            String id = test.getUniqueId();
            String cls = id.replaceAll(".*\\[class:([^\\]]*)\\].*", "$1");
            return cls + " > " + test.getDisplayName();
        }
    }
}
