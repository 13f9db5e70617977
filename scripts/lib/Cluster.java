//DEPS com.fasterxml.jackson.core:jackson-databind:2.20.1
//SOURCES Cli.java
//SOURCES Addresses.java
//SOURCES ClusterJson.java
//SOURCES Shell.java

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The JSON document every step prints on stdout and the next one reads on stdin:
 * the cluster, its server URL, its nodes and how to reach each over SSH.
 */
record Cluster(String name, String provider, String vagrantDir, String serverUrl, List<Node> nodes,
        KubeconfigRef kubeconfig) {

    static final String FORMAT = "k3s-vagrant/cluster/v1";
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * How a step reaches a node: a Vagrant machine of vagrantDir, or an SSH address (a host or an
     * ssh_config alias), through jump hosts (a --jump list) and an ssh_config file when given.
     */
    record Access(String vagrantMachine, String address, Integer port, String key, String jump, String sshConfig,
                  String knownHosts) {
        Access(String vagrantMachine, String address, Integer port, String key) {
            this(vagrantMachine, address, port, key, null, null, null);
        }

        Access(String vagrantMachine, String address, Integer port, String key, String jump, String sshConfig) {
            this(vagrantMachine, address, port, key, jump, sshConfig, null);
        }

        static Access vagrant(String machine) {
            return new Access(machine, null, null, null);
        }
    }

    /**
     * k3sVersion: the node's K3s version (its kubeletVersion) when last seen Ready; null when not known.
     * agentFlags: the --agent-flags k3s-join installed a host with (no secret), which an upgrade runs again.
     */
    record Node(String name, String role, String ip, Access ssh, String k3sVersion, String agentFlags) {
        Node(String name, String role, String ip, Access ssh) {
            this(name, role, ip, ssh, null);
        }

        Node(String name, String role, String ip, Access ssh, String k3sVersion) {
            this(name, role, ip, ssh, k3sVersion, null);
        }

        Node withK3sVersion(String version) {
            return new Node(name, role, ip, ssh, version, agentFlags);
        }

        boolean isServer() {
            return role.equals("server");
        }
    }

    record KubeconfigRef(String path, String context) { }

    Node server() {
        return nodes.stream().filter(Node::isServer).findFirst()
            .orElseThrow(() -> Cli.fail(Cli.BAD_INPUT, "the cluster JSON lists no node with role 'server'"));
    }

    Cluster withNode(Node node) {
        List<Node> all = new ArrayList<>(nodes);
        all.removeIf(existing -> existing.name().equalsIgnoreCase(node.name()));
        all.add(node);
        return new Cluster(name, provider, vagrantDir, serverUrl, List.copyOf(all), kubeconfig);
    }

    Cluster withoutNode(String nodeName) {
        List<Node> rest = nodes.stream().filter(node -> !node.name().equalsIgnoreCase(nodeName)).toList();
        return new Cluster(name, provider, vagrantDir, serverUrl, rest, kubeconfig);
    }

    Cluster withKubeconfig(KubeconfigRef ref) {
        return new Cluster(name, provider, vagrantDir, serverUrl, nodes, ref);
    }

    String toJson() {
        try {
            return JSON.writeValueAsString(toTree()) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The document as a JSON tree, for a step that adds to it. */
    ObjectNode toTree() {
        return ClusterJson.toTree(this);
    }

    /** Parses and checks a document; every problem is a BAD_INPUT failure naming it and the fix. */
    static Cluster parse(String text, String source) {
        return ClusterJson.parse(text, source);
    }

    // What the fields may hold: checked when a document is read, so that no value from it can
    // break out of a command or a file it reaches later (Shell.quote is the second wall).

    /**
     * Node and Vagrant machine names: DNS-1123 labels (letters, digits, '-' inside), dot-joined
     * as Kubernetes node names may be (a joined host's FQDN), in any case: k3s-up names its
     * machines wilS, wilSW, which K3s lowercases for the node names.
     */
    private static final String LABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    private static final Pattern DNS_NAME = Pattern.compile("(?=.{1,253}$)" + LABEL + "(\\." + LABEL + ")*");
    static final String NODE_NAME_RULE = "a host name: letters, digits and '-' (not first or last), "
        + "parts joined by '.' (a DNS-1123 name, in any case)";
    private static final Pattern SSH_USER = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,31}");
    private static final Pattern SERVER_URL = Pattern.compile("https://([^:/]+):(\\d{1,5})");

    static boolean isNodeName(String text) {
        return text != null && DNS_NAME.matcher(text).matches();
    }

    /** An IPv4 address or a DNS name (not an IPv4-looking name that is no address, such as 1.2.3.999). */
    static boolean isHost(String text) {
        return Addresses.isIpv4(text) || (isNodeName(text) && !text.matches("[\\d.]+"));
    }

    static final String K3S_VERSION_RULE = "a K3s version as its nodes report it (e.g. v1.31.4+k3s1)";
    /** What a kubelet reports: vMAJOR.MINOR.PATCH, then semver's pre-release and build parts. */
    private static final Pattern K3S_VERSION = Pattern.compile("v\\d{1,4}\\.\\d{1,4}\\.\\d{1,4}[0-9A-Za-z.+-]{0,64}");

    static boolean isK3sVersion(String text) {
        return text != null && K3S_VERSION.matcher(text).matches();
    }

    static boolean isClusterName(String text) {
        return text != null && text.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    }

    static boolean isServerUrl(String text) {
        var url = SERVER_URL.matcher(text);
        return url.matches() && isHost(url.group(1)) && Integer.parseInt(url.group(2)) >= 1
            && Integer.parseInt(url.group(2)) <= 65535;
    }

    /** USER@HOST or HOST, as --host and --server-host take it. */
    static boolean isSshAddress(String text) {
        int at = text.lastIndexOf('@');
        return (at < 0 || SSH_USER.matcher(text.substring(0, at)).matches()) && isHost(text.substring(at + 1));
    }

    static final String JUMP_RULE = "USER@HOST[:PORT] jump hosts, several joined by ',' (as ssh -J takes them), "
        + "or none";
    private static final Pattern JUMP = Pattern.compile("(ssh://)?([^,:/]+)(:(\\d{1,5}))?");

    /** ssh -J's list: [ssh://][USER@]HOST[:PORT],...; "none" is no jump host (ProxyJump none). */
    static boolean isJumpList(String text) {
        if (text == null || text.isEmpty()) return false;
        if (text.equals("none")) return true;
        for (String hop : text.split(",", -1)) {
            var m = JUMP.matcher(hop);
            if (!m.matches() || !isSshAddress(m.group(2))) return false;
            if (m.group(4) != null && (Integer.parseInt(m.group(4)) < 1 || Integer.parseInt(m.group(4)) > 65535)) {
                return false;
            }
        }
        return true;
    }

    /** A local path: anything but control characters (a newline would split a line of cluster.env). */
    static boolean isPath(String text) {
        return !text.isEmpty() && text.chars().noneMatch(Character::isISOControl);
    }

    /** A value as JSON writes it, shortened: control characters show as escapes, not as what they do to a terminal. */
    static String shown(String value) {
        String cut = value.length() > 80 ? value.substring(0, 80) + "..." : value;
        char[] escaped = JsonStringEncoder.getInstance().quoteAsString(cut);
        return "\"" + new String(escaped) + "\"";
    }
}
