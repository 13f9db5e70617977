//SOURCES Cli.java
//SOURCES Cluster.java
//SOURCES Kubeconfig.java
//SOURCES Plan.java
//SOURCES K3sServer.java
//SOURCES Settings.java

import com.fasterxml.jackson.databind.JsonNode;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The port of the K3s server's API (and supervisor): K3s's own --https-listen-port, default 6443.
 * It is read from where K3s takes it, the server's flags (the rule: provision/settings.yaml's api_port), so
 * the URL never names another port than the server listens on.
 */
final class ApiPort {
    private ApiPort() {}

    /** K3s's default, until a server is read. */
    static final int DEFAULT = Settings.table().path("api_port").path("default").asInt();

    /** The port a `k3s server` with these extra flags listens on (settings.yaml's api_port rule). */
    static int fromServerFlags(String flags, String option) {
        return Plan.apiPort(flags, option);
    }

    /** The server's API as agents, k3s-join and kubectl reach it. */
    static String url(String ip, int port) {
        return "https://" + ip + ":" + port;
    }

    private static final Pattern SERVER = Pattern.compile("https://[^/]+:([0-9]{1,5})/?");

    /**
     * The port a running server listens on, from its kubeconfig (/etc/rancher/k3s/k3s.yaml): K3s writes its
     * --https-listen-port there (pkg/server/server.go, writeKubeConfig), whatever file or flag set it.
     */
    static int fromK3sKubeconfig(String k3sYaml) {
        JsonNode clusters = Kubeconfig.parse(k3sYaml, "the server's " + K3sServer.KUBECONFIG_PATH).path("clusters");
        String server = clusters.path(0).path("cluster").path("server").asText("");
        Matcher matcher = SERVER.matcher(server);
        int port = matcher.matches() ? Integer.parseInt(matcher.group(1)) : 0;
        if (port < 1 || port > 65535) {
            throw Cli.fail(Cli.FAILED, "the server's " + K3sServer.KUBECONFIG_PATH + " names the API as "
                + Cluster.shown(server) + ", not https://ADDRESS:PORT as K3s writes it: is it K3s's?");
        }
        return port;
    }
}
