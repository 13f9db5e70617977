import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;


/** Keeps a stream's text, and passes each complete line on. */
final class LineCollector extends OutputStream {
    private final ByteArrayOutputStream all = new ByteArrayOutputStream();
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private final Consumer<String> lines;

    LineCollector(Consumer<String> lines) {
        this.lines = lines;
    }

    @Override
    public synchronized void write(int b) {
        all.write(b);
        if (b == '\n') {
            flushLine();
        } else {
            line.write(b);
        }
    }

    synchronized void flushLine() {
        if (lines != null && line.size() > 0) lines.accept(line.toString(StandardCharsets.UTF_8));
        line.reset();
    }

    synchronized String text() {
        return all.toString(StandardCharsets.UTF_8);
    }
}
