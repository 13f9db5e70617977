import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The live block of a step on a terminal, as kind and Vagrant show theirs: one line per
 * machine (its phase and seconds) and one per download, redrawn in place below the log's
 * lines. Only for a terminal: in a pipe the log prints its plain lines and this is unused.
 * Every write to the terminal goes through here while the block is shown, so that moving
 * the cursor up over the block never overwrites a line of someone else's.
 */
final class Progress {
    private static final String ESC = "\u001b[";
    /** Every block of this process, settled before an error is printed outside the log. */
    private static final List<Progress> ALL = new java.util.concurrent.CopyOnWriteArrayList<>();

    private final PrintWriter err;
    private final int width;
    private final Map<String, Line> lines = new LinkedHashMap<>();
    private int drawn; // rows of the block now on the screen, the cursor below them
    private long lastDraw;
    private Thread ticker;

    private static final class Line {
        final long started = System.nanoTime();
        String text;
        long ended = -1;
        long received;
        long total = -1;
        boolean download;
    }

    Progress(PrintWriter err) {
        this.err = err;
        this.width = columns();
        ALL.add(this);
    }

    /** The terminal's width: $COLUMNS if exported, else 80; longer lines are cut (a wrapped one breaks the redraw). */
    private static int columns() {
        try {
            int columns = Integer.parseInt(System.getenv().getOrDefault("COLUMNS", "80").strip());
            return columns >= 20 ? columns : 80;
        } catch (NumberFormatException e) {
            return 80;
        }
    }

    /** A permanent line: printed above the block, which is redrawn below it. */
    synchronized void above(String line) {
        erase();
        err.print(line + "\n");
        draw();
    }

    /** A machine's phase now: its seconds count from its first phase. */
    synchronized void phase(String machine, String phase) {
        Line line = lines.computeIfAbsent(machine, key -> new Line());
        line.text = phase;
        line.ended = -1;
        redraw();
        startTicker();
    }

    /** A machine's last phase: its seconds stop. */
    synchronized void end(String machine, String phase) {
        Line line = lines.computeIfAbsent(machine, key -> new Line());
        line.text = phase;
        if (line.ended < 0) line.ended = System.nanoTime();
        redraw();
    }

    /** Bytes of a download so far (total -1: not known); redrawn at most ten times a second. */
    synchronized void download(String what, long received, long total) {
        Line line = lines.get(what);
        if (line == null) {
            line = new Line();
            line.download = true;
            lines.put(what, line);
        }
        line.received = received;
        line.total = total;
        if (System.nanoTime() - lastDraw >= 100_000_000L) redraw();
    }

    /** A download is over: its line goes (the log says what came of it). */
    synchronized void downloadEnd(String what) {
        if (lines.remove(what) != null) redraw();
    }

    /** Stops every timer: the block stays as it is, and nothing redraws it over what is printed next. */
    static void settleAll() {
        for (Progress progress : ALL) progress.settle();
    }

    synchronized void settle() {
        long now = System.nanoTime();
        lines.values().removeIf(line -> line.download);
        for (Line line : lines.values()) if (line.ended < 0) line.ended = now;
        redraw();
        drawn = 0; // what is on the screen stays; the next block starts below it
        lines.clear();
    }

    private void startTicker() {
        if (ticker != null) return;
        // the seconds of running machines move on even when vagrant prints nothing
        ticker = new Thread(() -> {
            while (true) {
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
                synchronized (this) {
                    if (lines.values().stream().anyMatch(line -> !line.download && line.ended < 0)) redraw();
                }
            }
        }, "k3s-vagrant-progress");
        ticker.setDaemon(true);
        ticker.start();
    }

    private void redraw() {
        erase();
        draw();
    }

    /** Up to the block's first row, and clear from there down. */
    private void erase() {
        if (drawn > 0) err.print(ESC + drawn + "A\r" + ESC + "J");
        drawn = 0;
    }

    private void draw() {
        int nameWidth = lines.entrySet().stream().filter(e -> !e.getValue().download)
            .mapToInt(e -> e.getKey().length()).max().orElse(0);
        long now = System.nanoTime();
        for (Map.Entry<String, Line> entry : lines.entrySet()) {
            Line line = entry.getValue();
            String text = line.download ? downloadText(entry.getKey(), line, now)
                : String.format("  %-" + nameWidth + "s %4ds  %s", entry.getKey(),
                    ((line.ended < 0 ? now : line.ended) - line.started) / 1_000_000_000L, line.text);
            err.print(cut(text) + "\n");
            drawn++;
        }
        err.flush();
        lastDraw = now;
    }

    private String cut(String text) {
        return text.length() < width ? text : text.substring(0, width - 2) + "~";
    }

    static String downloadText(String what, Line line, long now) {
        double seconds = Math.max(0.001, (now - line.started) / 1e9);
        String size = megabytes(line.received) + (line.total >= 0 ? " of " + megabytes(line.total) : "");
        return "  " + what + "  " + size + "  " + megabytes((long) (line.received / seconds)) + "/s";
    }

    static String megabytes(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    /** Rows in columns, each as wide as its widest cell: the final table. */
    static List<String> table(List<String> header, List<List<String>> rows) {
        List<List<String>> all = new ArrayList<>();
        all.add(header);
        all.addAll(rows);
        int[] widths = new int[header.size()];
        for (List<String> row : all) {
            for (int i = 0; i < row.size(); i++) widths[i] = Math.max(widths[i], row.get(i).length());
        }
        List<String> out = new ArrayList<>();
        for (List<String> row : all) {
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < row.size(); i++) {
                text.append(i == row.size() - 1 ? row.get(i) : String.format("%-" + widths[i] + "s   ", row.get(i)));
            }
            out.add(text.toString());
        }
        return out;
    }
}
