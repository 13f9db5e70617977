//SOURCES Cli.java
//SOURCES Log.java

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * While open, a Ctrl-C or kill of this process runs cleanup (bounded by the caller) and
 * then logs what the user should do next, instead of dying silently mid-step. A JVM
 * runs its shutdown hooks on SIGINT, SIGTERM and SIGHUP (not on SIGKILL: the next run
 * of the step copes with what is left). Closing removes the hook; it cannot fail.
 */
final class Interruption implements AutoCloseable {
    private static volatile boolean shuttingDown;
    private static final Set<String> told = ConcurrentHashMap.newKeySet();

    private final Thread hook;

    private Interruption(Thread hook) {
        this.hook = hook;
    }

    static Interruption on(Log log, String whatToDo, Runnable cleanup) {
        Thread hook = new Thread(() -> {
            shuttingDown = true;
            try {
                cleanup.run();
            } catch (RuntimeException e) {
                log.warn("cleaning up after the interruption failed: " + e.getMessage());
            }
            if (told.add(whatToDo)) log.error("interrupted: " + whatToDo); // once, however many hooks say it
        }, "k3s-vagrant-interrupt");
        hook.setDaemon(false);
        try {
            Runtime.getRuntime().addShutdownHook(hook);
        } catch (IllegalStateException e) {
            throw Cli.fail(Cli.FAILED, "interrupted"); // shutting down already: start nothing new
        }
        return new Interruption(hook);
    }

    /** Whether the process is being interrupted: then the interruption's own message says what is left. */
    static boolean shuttingDown() {
        return shuttingDown;
    }

    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // already shutting down: the hook runs
        }
    }

    /** Waits; an interrupt of this thread ends the step (exit 1) saying what it was waiting for. */
    static void pause(long millis, String waitingFor) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Cli.fail(Cli.FAILED, "interrupted while waiting " + waitingFor);
        }
    }
}
