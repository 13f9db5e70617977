import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Whether stdin, stdout or stderr is a terminal, and so whether progress is drawn live. */
final class Terminal {
    private Terminal() {}

    /** Set by a step's main: live progress on its own stderr, never in a step run in-process by a test. */
    private static volatile boolean live;

    static void chooseLive(Map<String, String> env) {
        live = liveProgressWanted(env);
    }

    static boolean live() {
        return live;
    }

    /**
     * Live progress when stderr is a terminal: fd 2 itself, since stdout is a pipe in `k3s-up | k3s-join`
     * (System.console() asks about stdin and stdout); not on a terminal that cannot move the cursor.
     */
    static boolean liveProgressWanted(Map<String, String> env) {
        return isTerminal(2) && !"dumb".equals(env.get("TERM")) && env.get("TERM") != null;
    }

    static boolean stdinIsTerminal() {
        return isTerminal(0);
    }

    static boolean stdoutIsTerminal() {
        return isTerminal(1);
    }

    /** isatty(fd): Java has no call for it; Linux shows it in /proc, elsewhere ask for a console. */
    private static boolean isTerminal(int fd) {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (IOException | UnsupportedOperationException e) {
            return System.console() != null;
        }
    }
}
