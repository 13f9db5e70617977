//SOURCES Cli.java
//SOURCES Terminal.java

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** What is piped into a step (the cluster JSON of the step before it). */
final class Stdin {
    private Stdin() {}

    /**
     * Reads what is piped into the step. Returns null when nothing is piped (stdin is a
     * terminal), so a step can fall back to its flags instead of hanging on the keyboard.
     */
    static String readPiped(InputStream in) {
        try {
            if (in == System.in && Terminal.stdinIsTerminal()) {
                return null;
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            in.transferTo(bytes);
            return bytes.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw Cli.fail(Cli.BAD_INPUT, "cannot read stdin: " + e.getMessage());
        }
    }
}
