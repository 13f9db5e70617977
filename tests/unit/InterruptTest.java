import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a step stops vagrant after a Ctrl-C, per host: SIGINT (vagrant's cleanup) where
 * there is `kill`; on Windows, which has no `kill`, vagrant and its children are ended
 * through ProcessHandle. Real processes stand in for vagrant: a shell that notes SIGINT.
 */
class InterruptTest {
    @TempDir Path tmp;

    /** A vagrant stand-in: on SIGINT it writes "cleanup" and exits; it has a child of its own. */
    Process standIn(Path trace) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("sh", "-c", "trap 'echo cleanup > \"$1\"; exit 130' INT; sleep 60 & wait",
            "sh", trace.toString()).start();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (p.toHandle().descendants().findAny().isEmpty() && System.nanoTime() < end) Thread.sleep(20);
        return p;
    }

    @Test
    void linuxAndMacSendSigintSoVagrantCleansUp() throws Exception {
        for (String os : List.of("Linux", "Mac OS X")) {
            Path trace = tmp.resolve(os.replace(' ', '_'));
            Process p = standIn(trace);
            Vagrant.interrupt(p.toHandle(), new HostFacts(os, Map.of(), tmp));
            assertTrue(p.waitFor(10, TimeUnit.SECONDS), os);
            assertEquals(130, p.exitValue(), os);
            assertEquals("cleanup\n", Files.readString(trace), os + ": vagrant got SIGINT");
            p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
        }
    }

    @Test
    void windowsEndsVagrantAndItsChildrenWithoutKill() throws Exception {
        Path trace = tmp.resolve("windows");
        Process p = standIn(trace);
        List<ProcessHandle> children = p.toHandle().descendants().toList();
        assertFalse(children.isEmpty(), "the stand-in's child must be running");
        Vagrant.interrupt(p.toHandle(), new HostFacts("Windows 11", Map.of(), tmp));
        assertTrue(p.waitFor(10, TimeUnit.SECONDS), "vagrant was not ended");
        for (ProcessHandle child : children) {
            assertTrue(child.onExit().get(10, TimeUnit.SECONDS) != null && !child.isAlive(), "its child is left");
        }
        assertFalse(Files.exists(trace), "SIGINT is nothing Windows can send: it was ended, not signalled");
    }
}
