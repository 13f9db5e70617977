//DEPS info.picocli:picocli:4.7.7
//DEPS org.slf4j:slf4j-nop:2.0.17
//SOURCES Progress.java
//SOURCES Log.java
//SOURCES Terminal.java
//SOURCES Stdin.java
//SOURCES Interruption.java
//SOURCES Step.java
// short-lived, I/O-bound steps: C1 only and the serial GC start faster and use less memory
//RUNTIME_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;

/** How a step ends: its exit codes, one-line error messages instead of stack traces, the command line that runs it. */
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
    static final int INTERRUPTED = 130;   // Ctrl-C (143: kill); the step says what it left and what to run next

    /** What each exit code means, once: a step's --help lists the codes it uses with these texts. */
    static final Map<Integer, String> MEANINGS = meanings();

    private static Map<Integer, String> meanings() {
        Map<Integer, String> meanings = new LinkedHashMap<>();
        meanings.put(OK, "success");
        meanings.put(FAILED, "the step failed (the message says why)");
        meanings.put(USAGE, "bad flags or values, nothing done");
        meanings.put(MISSING_TOOL, "a required tool is missing (vagrant, a provider)");
        meanings.put(BAD_INPUT, "no cluster given, or its JSON is malformed, of another format, "
            + "or names a folder k3s-up did not make");
        meanings.put(SSH_FAILED, "SSH connection or authentication failed (a key with a passphrase no ssh-agent "
            + "holds), or the user's sudo asks for a password");
        meanings.put(TIMED_OUT, "timed out: nodes not Ready in time, or --timeout reached");
        meanings.put(REFUSED, "refused to overwrite something without consent, or another step is working on "
            + "the same cluster: run it again");
        meanings.put(INTERRUPTED, "interrupted (Ctrl-C): the message says what is left and what to run");
        return meanings;
    }

    /**
     * picocli's exitCodeList for these codes: the shared meaning, then what the step adds (own, by code).
     * Annotation values must be constants, so a step's list is set here rather than in its @Command.
     */
    static Map<String, String> exitCodeList(Map<Integer, String> own, int... codes) {
        Map<String, String> list = new LinkedHashMap<>();
        for (int code : codes) {
            String meaning = MEANINGS.get(code);
            if (meaning == null) throw new IllegalArgumentException("exit code " + code + " has no meaning in Cli");
            list.put(String.valueOf(code), own.containsKey(code) ? meaning + "; " + own.get(code) : meaning);
        }
        return list;
    }

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

    /** Builds the command line of a step with the shared error handling, help and exit-code list. */
    static CommandLine commandLine(Callable<Integer> command) {
        CommandLine cmd = new CommandLine(command);
        if (command instanceof Step step) step.describe(cmd.getCommandSpec());
        cmd.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            String name = commandLine.getCommandName();
            Progress.settleAll(); // the live lines stay above the message, and nothing redraws over it
            if (Interruption.shuttingDown()) {
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

    /** A step's main: live progress only here, on the step's own stderr (never in a step a test runs in-process). */
    static int run(Callable<Integer> command, String... args) {
        Terminal.chooseLive(System.getenv());
        return commandLine(command).execute(args);
    }

    /** What went wrong at the bottom of an exception, for a message: its text, else its kind. */
    static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null) root = root.getCause();
        // a bare ConnectException has no text
        return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    }

    /** The last count lines of a tool's output, for error messages. */
    static String lastLines(String text, int count) {
        String[] lines = text.strip().split("\n");
        return String.join("\n", Arrays.copyOfRange(lines, Math.max(0, lines.length - count), lines.length));
    }
}
