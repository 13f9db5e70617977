//SOURCES Cli.java

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A yes/no question on the controlling terminal: /dev/tty, so that it works when stdin and stdout are pipes. */
final class TerminalQuestion {
    private TerminalQuestion() {}

    /** The terminal asked on; tests point it elsewhere (a missing file: no terminal). */
    static Path tty = Path.of("/dev/tty");

    /** Whether the answer is yes; null when there is no terminal to ask on (none opens, or it closed). */
    static Boolean yes(String question) {
        try (OutputStream out = Files.newOutputStream(tty, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
             BufferedReader in = new BufferedReader(new InputStreamReader(Files.newInputStream(tty),
                 StandardCharsets.UTF_8))) {
            out.write((question + " ").getBytes(StandardCharsets.UTF_8));
            out.flush();
            String answer = in.readLine();
            if (answer == null) return null;
            return answer.strip().equalsIgnoreCase("y") || answer.strip().equalsIgnoreCase("yes");
        } catch (IOException e) {
            return null;
        }
    }
}
