//SOURCES Cli.java
//SOURCES Log.java
//SOURCES K3sRelease.java
//SOURCES ClusterFolder.java

import java.util.Map;

/**
 * K3s downloaded once on the host (or found in its cache) for all of a cluster's machines, which
 * get it as their air-gap folder instead of each downloading it.
 */
final class HostK3s {
    private HostK3s() {}

    /**
     * Fetches K3s (version: --k3s-version, else the one the cluster recorded; else the channel's) and
     * puts its version and folder into settings. A cluster made before keeps its recorded version.
     */
    static void intoSettings(Map<String, String> settings, K3sRelease.Options source, String version,
                             String channel, ClusterFolder cluster, long deadline, Log log) {
        String wanted = version != null ? version : cluster.readSettings().get("K3S_VERSION");
        String arch = K3sRelease.arch(System.getProperty("os.arch"));
        K3sRelease.Fetched k3s = source.airgapDir(wanted, channel, arch, deadline, log);
        if (k3s != null) {
            settings.put("K3S_VERSION", k3s.version());
            settings.put("AIRGAP_DIR", k3s.dir().toString());
        }
    }
}
