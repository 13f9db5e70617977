//SOURCES Cli.java
//SOURCES Cluster.java

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** An upgrade's versions: the one the nodes run, and the step to the new one (no downgrade, one minor at a time). */
final class K3sVersionStep {
    private static final Pattern VERSION = Pattern.compile("v(\\d+)\\.(\\d+)\\.(\\d+)(?:\\+k3s(\\d+))?");

    private K3sVersionStep() {}

    /** The oldest K3s version the nodes reported when last seen Ready (cluster.json), or null. */
    static String running(Path clusterFile) {
        if (!Files.isRegularFile(clusterFile)) return null;
        try {
            return Cluster.parse(Files.readString(clusterFile), clusterFile.toString()).nodes().stream()
                .map(Cluster.Node::k3sVersion).filter(v -> v != null && parts(v) != null)
                .min(Comparator.comparing(K3sVersionStep::parts, Arrays::compare)).orElse(null);
        } catch (IOException | Cli.Failure e) {
            return null; // unreadable: the upgrade is then checked against cluster.env's version only
        }
    }

    /** Refuses a downgrade and a skipped minor version: Kubernetes upgrades one minor version at a time. */
    static void require(String from, String to) {
        int[] a = parts(from);
        int[] b = parts(to);
        if (a == null || b == null) return; // not a release name (e.g. a stand-in): the install checks it
        int order = 0;
        for (int i = 0; i < a.length && order == 0; i++) order = Integer.compare(b[i], a[i]);
        if (order < 0) {
            throw Cli.fail(Cli.REFUSED, "--k3s-version " + to + " is older than the cluster's " + from + ": K3s has"
                + " no downgrade (the datastore may already hold the newer version's data); nothing was changed");
        }
        if (b[0] != a[0] || b[1] > a[1] + 1) {
            throw Cli.fail(Cli.REFUSED, "--k3s-version " + from + " -> " + to + " skips a minor version: Kubernetes"
                + " upgrades one minor version at a time. Upgrade to a v" + a[0] + "." + (a[1] + 1) + " release"
                + " first; nothing was changed");
        }
    }

    private static int[] parts(String version) {
        Matcher m = VERSION.matcher(version);
        if (!m.matches()) return null;
        return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
            m.group(4) == null ? 0 : Integer.parseInt(m.group(4))};
    }
}
