import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The facts about the host that change what a step does there: its OS, its environment
 * (PATH, PATHEXT, VBOX_MSI_INSTALL_PATH, USERPROFILE, KUBECONFIG) and its home folder.
 * Read once by current(); everything else takes them as plain inputs, so each host's
 * behaviour is tested on Linux with that host's facts. The home's file system is the one
 * paths are made in (a test passes a Windows-shaped in-memory one).
 */
record HostFacts(String osName, Map<String, String> env, Path home) {

    static HostFacts current() {
        return new HostFacts(System.getProperty("os.name", ""), System.getenv(),
            Path.of(System.getProperty("user.home")));
    }

    boolean windows() {
        return osName.toLowerCase(Locale.ROOT).startsWith("windows");
    }

    boolean mac() {
        return osName.toLowerCase(Locale.ROOT).startsWith("mac");
    }

    /** The separator of PATH-like lists (PATH, KUBECONFIG): ';' on Windows, ':' elsewhere. */
    String listSeparator() {
        return windows() ? ";" : ":";
    }

    /** A variable's value, or "" when unset; Windows's variable names ignore case (Path, PATH). */
    String get(String name) {
        String value = env.get(name);
        if (value == null && windows()) {
            for (Map.Entry<String, String> e : env.entrySet()) {
                if (e.getKey().equalsIgnoreCase(name)) return e.getValue();
            }
        }
        return value == null ? "" : value;
    }

    /** The endings Windows tries on a bare command name, in its order; none elsewhere. */
    List<String> pathExt() {
        if (!windows()) return List.of("");
        String value = get("PATHEXT");
        // cmd.exe's own default when PATHEXT is unset
        if (value.isBlank()) value = ".COM;.EXE;.BAT;.CMD";
        return Arrays.stream(value.split(";")).filter(s -> !s.isBlank()).toList();
    }

    /** The entries of a list variable, empty ones dropped. */
    List<String> list(String name) {
        return Arrays.stream(get(name).split(Pattern.quote(listSeparator())))
            .filter(s -> !s.isBlank()).toList();
    }

    /** A path on this host's file system. */
    Path path(String first, String... more) {
        return home.getFileSystem().getPath(first, more);
    }
}
