//DEPS info.picocli:picocli:4.7.7
//DEPS org.slf4j:slf4j-nop:2.0.17
//SOURCES Progress.java
// short-lived, I/O-bound steps: C1 only and the serial GC start faster and use less memory
//RUNTIME_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * What every step shares: exit codes, one-line error messages instead of stack traces,
 * the log (stderr only; stdout carries nothing but the step's JSON), and reading stdin.
 */
final class Cli {
    private Cli() {}

    // Exit codes: each step lists those it uses in its --help; the README lists them all.
    static final int OK = 0;
    static final int FAILED = 1;          // the step ran and failed (see the message)
    static final int USAGE = 2;           // bad flags or values, refused before doing anything
    static final int MISSING_TOOL = 3;    // vagrant, a provider or kubectl is not installed
    static final int BAD_INPUT = 4;       // the JSON on stdin is missing, malformed or of another format
    static final int SSH_FAILED = 5;      // a host could not be reached or refused us
    static final int TIMED_OUT = 6;       // nodes did not become Ready in time
    static final int REFUSED = 7;         // would overwrite something of the user's without consent
    // 130 (Ctrl-C) and 143 (kill): interrupted; the step says what it left and what to run next

    /** A failure the user can act on: its message is printed alone, with its exit code. */
    static class Failure extends RuntimeException {
        final int exitCode;

        Failure(int exitCode, String message) {
            super(message);
            this.exitCode = exitCode;
        }

        Failure(int exitCode, String message, Throwable cause) {
            super(message, cause);
            this.exitCode = exitCode;
        }
    }

    static Failure fail(int exitCode, String message) {
        return new Failure(exitCode, message);
    }

    /** Builds the command line of a step with the shared error handling. */
    static CommandLine commandLine(Callable<Integer> command) {
        CommandLine cmd = new CommandLine(command);
        cmd.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            String name = commandLine.getCommandName();
            Progress.settleAll(); // the live lines stay above the message, and nothing redraws over it
            if (shuttingDown) {
                return FAILED; // interrupted: the interruption's own message says what is left
            }
            if (ex instanceof Failure failure) {
                err.println(name + ": " + failure.getMessage());
                err.flush();
                return failure.exitCode;
            }
            err.println(name + ": unexpected error: " + ex);
            if (System.getenv("K3S_VAGRANT_DEBUG") != null) {
                ex.printStackTrace(err);
            } else {
                err.println(name + ": set K3S_VAGRANT_DEBUG=1 for the stack trace");
            }
            err.flush();
            return FAILED;
        });
        return cmd;
    }

    static int run(Callable<Integer> command, String... args) {
        live = liveProgressWanted(System.getenv());
        return commandLine(command).execute(args);
    }

    /** Set by run(), a step's main: live progress on its own stderr, never in a step run in-process by a test. */
    private static volatile boolean live;

    /**
     * Live progress when stderr is a terminal: fd 2 itself, since stdout is a pipe in `k3s-up | k3s-join`
     * (System.console() asks about stdin and stdout); not on a terminal that cannot move the cursor.
     */
    static boolean liveProgressWanted(java.util.Map<String, String> env) {
        return isTerminal(2) && !"dumb".equals(env.get("TERM")) && env.get("TERM") != null;
    }

    private static volatile boolean shuttingDown;
    private static final java.util.Set<String> interruptionsTold = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** The scope of an onInterrupt hook; closing it cannot fail. */
    interface Interruption extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * While open, a Ctrl-C or kill of this process runs cleanup (bounded by the caller) and
     * then logs what the user should do next, instead of dying silently mid-step. A JVM
     * runs its shutdown hooks on SIGINT, SIGTERM and SIGHUP (not on SIGKILL: the next run
     * of the step copes with what is left). Closing removes the hook.
     */
    static Interruption onInterrupt(Log log, String whatToDo, Runnable cleanup) {
        Thread hook = new Thread(() -> {
            shuttingDown = true;
            try {
                cleanup.run();
            } catch (RuntimeException e) {
                log.warn("cleaning up after the interruption failed: " + e.getMessage());
            }
            if (interruptionsTold.add(whatToDo)) log.error("interrupted: " + whatToDo); // once, however many hooks say it
        }, "k3s-vagrant-interrupt");
        hook.setDaemon(false);
        try {
            Runtime.getRuntime().addShutdownHook(hook);
        } catch (IllegalStateException e) {
            throw fail(FAILED, "interrupted"); // shutting down already: start nothing new
        }
        return () -> {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // already shutting down: the hook runs
            }
        };
    }

    /** Logging options shared by every step. */
    static final class LogOptions {
        @Option(names = {"-q", "--quiet"}, description = "Print only errors on stderr.")
        boolean quiet;

        @Option(names = {"-v", "--verbose"}, description = "Also print every line the tools print (vagrant, installers).")
        boolean verbose;
    }

    /** The log: stderr only, plain lines, "==>" for a step, so pipelines keep stdout clean. */
    static final class Log {
        private final PrintWriter err;
        private final String name;
        private final LogOptions options;
        private final long started = System.nanoTime();
        /** The live lines on a terminal; null in a pipe, with -v (every line then) or -q. */
        private final Progress progress;

        Log(PrintWriter err, String name, LogOptions options) {
            this.err = err;
            this.name = name;
            this.options = options == null ? new LogOptions() : options;
            this.progress = live && !this.options.verbose && !this.options.quiet ? new Progress(err) : null;
        }

        /** Whether machines and downloads are shown as live lines (a terminal) rather than log lines (a pipe). */
        boolean live() {
            return progress != null;
        }

        /** A machine's phase, on its live line; nothing in a pipe (the caller logs its own line there). */
        void phase(String machine, String phase) {
            if (progress != null) progress.phase(machine, phase);
        }

        /** A machine's last phase, its seconds stopped; nothing in a pipe. */
        void phaseEnd(String machine, String phase) {
            if (progress != null) progress.end(machine, phase);
        }

        /** Bytes received of a download (total -1: unknown), on its live line; nothing in a pipe. */
        void download(String what, long received, long total) {
            if (progress != null) progress.download(what, received, total);
        }

        void downloadEnd(String what) {
            if (progress != null) progress.downloadEnd(what);
        }

        /** Rows as a table with a header on a terminal; in a pipe one log line per row, its cells joined by spaces. */
        void table(java.util.List<String> header, java.util.List<java.util.List<String>> rows) {
            if (options.quiet) return;
            if (progress == null) {
                for (java.util.List<String> row : rows) info(String.join(" ", row));
                return;
            }
            progress.settle();
            for (String line : Progress.table(header, rows)) progress.above(line);
        }

        void step(String message) {
            if (!options.quiet) print("==> " + message);
        }

        void info(String message) {
            if (!options.quiet) print("    " + message);
        }

        /** A line printed by a tool we run: shown with -v only, and always kept for errors. */
        void detail(String line) {
            if (options.verbose && !options.quiet) print("    | " + line);
        }

        void error(String message) {
            print("error: " + message);
        }

        void warn(String message) {
            print("warning: " + message);
        }

        private synchronized void print(String line) {
            long seconds = (System.nanoTime() - started) / 1_000_000_000L;
            if (progress != null) {
                progress.above(String.format("%s [%3ds] %s", name, seconds, line));
                return;
            }
            err.printf("%s [%3ds] %s%n", name, seconds, line);
            err.flush();
        }
    }

    /**
     * Reads what is piped into the step. Returns null when nothing is piped (stdin is a
     * terminal), so a step can fall back to its flags instead of hanging on the keyboard.
     */
    static String readPipedStdin(InputStream in) {
        try {
            if (in == System.in && stdinIsTerminal()) {
                return null;
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            in.transferTo(bytes);
            return bytes.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw fail(BAD_INPUT, "cannot read stdin: " + e.getMessage());
        }
    }

    static boolean stdinIsTerminal() {
        return isTerminal(0);
    }

    static boolean stdoutIsTerminal() {
        return isTerminal(1);
    }

    /** What went wrong at the bottom of an exception, for a message: its text, else its kind (a bare ConnectException has none). */
    static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null) root = root.getCause();
        return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    }

    /** The last count lines of a tool's output, for error messages. */
    static String lastLines(String text, int count) {
        String[] lines = text.strip().split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(lines, Math.max(0, lines.length - count), lines.length));
    }

    /** isatty(fd): Java has no call for it; Linux shows it in /proc, elsewhere ask for a console. */
    private static boolean isTerminal(int fd) {
        try {
            String target = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/" + fd)).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (IOException | UnsupportedOperationException e) {
            return System.console() != null;
        }
    }
}
