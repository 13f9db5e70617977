//SOURCES Cli.java
//SOURCES Vagrant.java
//SOURCES HostFacts.java
//SOURCES Log.java

import java.io.IOException;
import java.util.Deque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/** Stopping a running vagrant: after a timeout, or gently (its cleanup first) after a Ctrl-C or kill of the step. */
final class VagrantStop {
    private VagrantStop() {
    }

    /** A timeout must not leave vagrant's ruby children behind. */
    static void withChildren(Process process) {
        process.descendants().forEach(ProcessHandle::destroy);
        process.destroy();
    }

    /**
     * After a Ctrl-C or kill of the step: let vagrant finish its own cleanup (it undoes a
     * half-made machine), then stop what is still running. A terminal's Ctrl-C reaches
     * vagrant too (one process group), and a second SIGINT would make it skip the cleanup:
     * send one only when vagrant shows no sign of having had it.
     */
    static void gently(Process process, Deque<String> tail, Log log) {
        if (!process.isAlive()) return;
        long end = System.nanoTime() + 2_000_000_000L;
        while (process.isAlive() && System.nanoTime() < end && !sawCleanup(tail)) Vagrant.sleep(100);
        if (process.isAlive() && !sawCleanup(tail)) {
            interrupt(process.toHandle(), HostFacts.current());
        }
        if (!saidWaiting.getAndSet(true)) log.info("waiting up to 3 min for vagrant to clean up");
        try {
            if (!process.waitFor(3, TimeUnit.MINUTES)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
        }
    }

    /**
     * Asks vagrant to stop as Ctrl-C does: SIGINT through `kill` on Linux and macOS, where
     * vagrant then cleans up. Windows has neither `kill` nor a signal to send one process
     * (a console's Ctrl-C already reached vagrant, which shares it): there vagrant and what
     * it started are ended outright.
     */
    static void interrupt(ProcessHandle process, HostFacts host) {
        if (!host.windows()) {
            try {
                new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).inheritIO().start()
                    .waitFor(10, TimeUnit.SECONDS);
                return;
            } catch (IOException | InterruptedException e) {
                // no kill after all (or no time to wait for it): end it as on Windows
            }
        }
        process.descendants().forEach(ProcessHandle::destroy);
        process.destroy();
    }

    /** Several vagrant processes (--separate-up) wait at once: the line is said once. */
    private static final AtomicBoolean saidWaiting = new AtomicBoolean();

    /** Vagrant's words on its first SIGINT (templates/locales/en.yml: actions.runner.waiting_cleanup). */
    private static boolean sawCleanup(Deque<String> tail) {
        synchronized (tail) {
            return tail.stream().anyMatch(line -> line.contains("Waiting for cleanup before exiting"));
        }
    }
}
