/**
 * The one way a value enters a command that a remote shell runs: as a single-quoted word.
 * Inside single quotes a POSIX shell treats every character as itself (;, $, `, newline...);
 * a ' ends the quote, so it is written as '\'' (end, an escaped quote, start again).
 */
final class Shell {
    private Shell() {}

    /** text as one shell word, whatever it holds. */
    static String quote(String text) {
        // a NUL would cut the command short on the remote side: no value may carry one
        if (text.indexOf('\0') >= 0) throw new IllegalArgumentException("a NUL character cannot be passed to a shell");
        return "'" + text.replace("'", "'\\''") + "'";
    }
}
