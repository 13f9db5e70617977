//SOURCES Cli.java
//SOURCES Cluster.java
//SOURCES Kubeconfig.java

import com.fasterxml.jackson.databind.JsonNode;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The port of the K3s server's API (and supervisor): K3s's own --https-listen-port, default 6443.
 * It is read from where K3s takes it, the server's flags, so the URL never names another port than
 * the server listens on; provision/Vagrantfile (api_port) applies the same rule to plain `vagrant up`.
 */
final class ApiPort {
    private ApiPort() {}

    /** K3s's default (pkg/cli/cmds/server.go: the https-listen-port flag's Value). */
    static final int DEFAULT = 6443;

    static final String FLAG = "https-listen-port";

    /**
     * The port a `k3s server` with these extra flags listens on. K3s's flag parser (urfave/cli over Go's
     * flag package) takes -name and --name, each with the value as the next word or after '='; the last
     * one given wins. Only a decimal port from 1 to 65535 is taken: Go would also read 0x1f90 or 07443
     * (octal), which nobody means. option names the setting in the message.
     */
    static int fromServerFlags(String flags, String option) {
        int port = DEFAULT;
        if (flags == null) return port;
        String[] words = flags.trim().split("\\s+");
        for (int i = 0; i < words.length; i++) {
            String word = words[i];
            String value;
            if (word.equals("-" + FLAG) || word.equals("--" + FLAG)) {
                if (i + 1 >= words.length) throw bad(option, flags, "gives --" + FLAG + " no value");
                value = words[++i];
            } else if (word.startsWith("-" + FLAG + "=") || word.startsWith("--" + FLAG + "=")) {
                value = word.substring(word.indexOf('=') + 1);
            } else {
                continue;
            }
            if (!value.matches("[1-9][0-9]{0,4}") || Integer.parseInt(value) > 65535) {
                throw bad(option, flags, "gives --" + FLAG + " " + Cluster.shown(value) + ", which is not a port");
            }
            port = Integer.parseInt(value);
        }
        return port;
    }

    private static Cli.Failure bad(String option, String flags, String what) {
        return Cli.fail(Cli.USAGE, option + " " + Cluster.shown(flags) + " " + what + ": K3s's API port is a number "
            + "from 1 to 65535 (default " + DEFAULT + "), e.g. \"--" + FLAG + " 7443\"");
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
