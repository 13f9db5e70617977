//DEPS org.zeroturnaround:zt-exec:1.12
//SOURCES Cli.java
//SOURCES Log.java
//SOURCES Vagrant.java

import java.util.Deque;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.zeroturnaround.exec.stream.LogOutputStream;

/**
 * What a vagrant command prints, read line by line: machines' steps as their live lines (or log
 * lines), the rest as details, the last lines kept for a failure without Ruby's backtrace.
 */
final class VagrantOutput extends LogOutputStream {
    private final Log log;
    /** The last lines, for a failure's message; shared with the stopper, which reads it. */
    private final Deque<String> tail;
    /** The machines with a live line. */
    private final Set<String> seen;
    private final Consumer<String> watcher;

    VagrantOutput(Log log, Deque<String> tail, Set<String> seen, Consumer<String> watcher) {
        this.log = log;
        this.tail = tail;
        this.seen = seen;
        this.watcher = watcher;
    }

    @Override
    protected void processLine(String line) {
        // Ruby's backtrace lines ("\tfrom .../create_domain.rb:452:in `call'") would push the error out of the tail
        if (!rubyBacktrace(line)) {
            synchronized (tail) {
                tail.addLast(line);
                if (tail.size() > 40) tail.removeFirst();
            }
        }
        if (watcher != null) watcher.accept(line);
        // Vagrant's own step lines ("==> wilS: Booting VM...") are the progress;
        // their indented details ("==> wilS:  -- Memory: 1024M") are for -v
        if (line.startsWith("==> ") && !line.matches("==> [^:]+: +(--|\\s).*")) {
            Matcher machine = MACHINE_STEP.matcher(line);
            if (log.live() && machine.matches()) {
                seen.add(machine.group(1));
                log.phase(machine.group(1), machine.group(2));
            } else {
                log.info(line.substring(4));
            }
        } else {
            log.detail(line);
        }
    }

    /** A machine's step, "==> NAME: Booting VM...", for its live line ("==> vagrant:" is Vagrant's own notice). */
    private static final Pattern MACHINE_STEP =
        Pattern.compile("==> (?!vagrant:)([^:\\s]+): (.+)");

    /** A machine's live line once its vagrant command has finished well. */
    static final Map<String, String> DONE =
        Map.of("up", "up (booted and provisioned)", "provision", "provisioned", "destroy", "destroyed");

    private static final Pattern RUBY_BACKTRACE = Pattern.compile("^\\s*(from )?\\S+\\.rb:\\d+:in ");

    /** A line of Ruby's backtrace: indented with "from", or bare when Vagrant prints an error it did not expect. */
    static boolean rubyBacktrace(String line) {
        return RUBY_BACKTRACE.matcher(line).find();
    }

    private static final Pattern MISSING_BOX = Pattern.compile("The box '([^']+)' could not be found");

    /** What to do about the failures users meet most, read from Vagrant's own words. */
    static String hint(String vagrantOutput) {
        var box = MISSING_BOX.matcher(vagrantOutput);
        if (box.find()) {
            return ": the box '" + box.group(1) + "' is not installed and could not be downloaded (no internet, or a "
                + "wrong name): add it first (vagrant box add " + box.group(1) + ", or a .box file), or choose an "
                + "installed one with --box (vagrant box list)";
        }
        if (vagrantOutput.contains("another process is already executing an action on the machine")) {
            return ": another vagrant process is still working on these machines (left by a k3s-up or k3s-down "
                + "that was killed?): wait for it to end, or stop it ('pgrep -af vagrant'), then run the step again";
        }
        return "";
    }

    /** Collects a child's stderr for error messages. */
    static final class Collected extends LogOutputStream {
        private final StringBuilder text = new StringBuilder();

        @Override
        protected synchronized void processLine(String line) {
            text.append(line).append('\n');
        }

        synchronized String text() {
            return text.toString();
        }
    }
}
