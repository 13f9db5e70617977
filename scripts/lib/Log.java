//SOURCES Progress.java
//SOURCES Terminal.java

import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine.Option;

/** The log: stderr only, plain lines, "==>" for a step, so pipelines keep stdout clean. */
final class Log {
    private final PrintWriter err;
    private final String name;
    private final Options options;
    private final long started = System.nanoTime();
    /** The live lines on a terminal; null in a pipe, with -v (every line then) or -q. */
    private final Progress progress;

    Log(PrintWriter err, String name, Options options) {
        this.err = err;
        this.name = name;
        this.options = options == null ? new Options() : options;
        this.progress = Terminal.live() && !this.options.verbose && !this.options.quiet ? new Progress(err) : null;
    }

    /** Logging options shared by every step. */
    static final class Options {
        @Option(names = {"-q", "--quiet"}, description = "Print only errors on stderr.")
        boolean quiet;

        @Option(names = {"-v", "--verbose"},
            description = "Also print every line the tools print (vagrant, installers).")
        boolean verbose;
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
    void table(List<String> header, List<List<String>> rows) {
        if (options.quiet) return;
        if (progress == null) {
            for (List<String> row : rows) info(String.join(" ", row));
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
