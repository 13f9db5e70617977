//DEPS com.fasterxml.jackson.core:jackson-databind:2.20.1
//SOURCES Cli.java
//SOURCES Addresses.java

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The JSON document every step prints on stdout and the next one reads on stdin:
 * the cluster, its server URL, its nodes and how to reach each over SSH.
 */
record Cluster(String name, String provider, String vagrantDir, String serverUrl, List<Node> nodes, KubeconfigRef kubeconfig) {

    static final String FORMAT = "k3s-vagrant/cluster/v1";
    private static final Pattern FORMAT_PATTERN = Pattern.compile("k3s-vagrant/cluster/v(\\d+)");
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * How a step reaches a node: a Vagrant machine of vagrantDir, or an SSH address (a host or an
     * ssh_config alias), through jump hosts (a --jump list) and an ssh_config file when given.
     */
    record Access(String vagrantMachine, String address, Integer port, String key, String jump, String sshConfig) {
        Access(String vagrantMachine, String address, Integer port, String key) {
            this(vagrantMachine, address, port, key, null, null);
        }

        static Access vagrant(String machine) {
            return new Access(machine, null, null, null);
        }
    }

    /** k3sVersion: the node's K3s version (its kubeletVersion) when last seen Ready; null when not known. */
    record Node(String name, String role, String ip, Access ssh, String k3sVersion) {
        Node(String name, String role, String ip, Access ssh) {
            this(name, role, ip, ssh, null);
        }

        Node withK3sVersion(String version) {
            return new Node(name, role, ip, ssh, version);
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
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("name", name);
        if (provider != null) root.put("provider", provider);
        if (vagrantDir != null) root.put("vagrantDir", vagrantDir);
        root.put("serverUrl", serverUrl);
        ArrayNode list = root.putArray("nodes");
        for (Node node : nodes) {
            ObjectNode n = list.addObject();
            n.put("name", node.name());
            n.put("role", node.role());
            n.put("ip", node.ip());
            ObjectNode ssh = n.putObject("ssh");
            Access access = node.ssh();
            if (access.vagrantMachine() != null) ssh.put("vagrantMachine", access.vagrantMachine());
            if (access.address() != null) ssh.put("address", access.address());
            if (access.port() != null) ssh.put("port", access.port());
            if (access.key() != null) ssh.put("key", access.key());
            if (access.jump() != null) ssh.put("jump", access.jump());
            if (access.sshConfig() != null) ssh.put("config", access.sshConfig());
            if (node.k3sVersion() != null) n.put("k3sVersion", node.k3sVersion());
        }
        if (kubeconfig != null) {
            ObjectNode k = root.putObject("kubeconfig");
            k.put("path", kubeconfig.path());
            k.put("context", kubeconfig.context());
        }
        return root;
    }

    /** Parses and checks a document; every problem is a BAD_INPUT failure naming it and the fix. */
    static Cluster parse(String text, String source) {
        if (text == null || text.isBlank()) {
            throw Cli.fail(Cli.BAD_INPUT, source + " is empty: expected the cluster JSON that k3s-up prints "
                + "(k3s-up | k3s-join ...), or give the server with flags (see --help)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw Cli.fail(Cli.BAD_INPUT, source + " is not valid JSON" + where + " (truncated?): "
                + e.getOriginalMessage() + ". Expected the cluster JSON that k3s-up prints");
        }
        if (root == null || !root.isObject()) {
            throw Cli.fail(Cli.BAD_INPUT, source + " is not a JSON object: expected the cluster JSON that k3s-up prints");
        }
        String format = root.path("format").asText("");
        var matcher = FORMAT_PATTERN.matcher(format);
        if (!matcher.matches()) {
            throw Cli.fail(Cli.BAD_INPUT, source + " is not a k3s-vagrant cluster document (format '" + format
                + "', expected '" + FORMAT + "'): pipe the output of k3s-up, k3s-join or k3s-kubeconfig here");
        }
        int version = Integer.parseInt(matcher.group(1));
        if (version != 1) {
            throw Cli.fail(Cli.BAD_INPUT, source + " has format " + format + ", which this step does not read (it reads "
                + FORMAT + "): run every step of the pipeline from the same k3s-vagrant version");
        }
        String name = requiredText(root, "name", source);
        check(isClusterName(name), source, "name", name,
            "a cluster name: letters, digits, '.', '_' and '-', at most 63");
        String serverUrl = requiredText(root, "serverUrl", source);
        check(isServerUrl(serverUrl), source, "serverUrl", serverUrl, "of the form https://ADDRESS:PORT, "
            + "ADDRESS an IPv4 address or a DNS name (e.g. https://192.168.56.110:6443)");
        JsonNode nodesJson = root.path("nodes");
        if (!nodesJson.isArray() || nodesJson.isEmpty()) {
            throw Cli.fail(Cli.BAD_INPUT, source + ": 'nodes' must be a non-empty list");
        }
        List<Node> nodes = new ArrayList<>();
        for (JsonNode n : nodesJson) {
            String where = source + ": node " + (nodes.size() + 1);
            String role = requiredText(n, "role", where);
            if (!role.equals("server") && !role.equals("agent")) {
                throw Cli.fail(Cli.BAD_INPUT, where + " has role '" + role + "': expected server or agent");
            }
            String nodeName = requiredText(n, "name", where);
            check(isNodeName(nodeName), where, "name", nodeName, NODE_NAME_RULE);
            String ip = requiredText(n, "ip", where);
            check(Addresses.isIpv4(ip), where, "ip", ip, "an IPv4 address (e.g. 192.168.56.111)");
            JsonNode ssh = n.path("ssh");
            Access access = new Access(text(ssh, "vagrantMachine"), text(ssh, "address"), port(ssh, where),
                text(ssh, "key"), text(ssh, "jump"), text(ssh, "config"));
            if (access.vagrantMachine() == null && access.address() == null) {
                throw Cli.fail(Cli.BAD_INPUT, where + " has neither ssh.vagrantMachine nor ssh.address: cannot reach it");
            }
            if (access.vagrantMachine() != null) {
                check(isNodeName(access.vagrantMachine()), where, "ssh.vagrantMachine", access.vagrantMachine(),
                    NODE_NAME_RULE);
            }
            if (access.address() != null) {
                check(isSshAddress(access.address()), where, "ssh.address", access.address(),
                    "USER@HOST or HOST, HOST an IPv4 address or a DNS name (e.g. pi@192.168.56.20)");
            }
            if (access.key() != null) check(isPath(access.key()), where, "ssh.key", access.key(), "a file name");
            if (access.jump() != null) check(isJumpList(access.jump()), where, "ssh.jump", access.jump(), JUMP_RULE);
            if (access.sshConfig() != null) {
                check(isPath(access.sshConfig()), where, "ssh.config", access.sshConfig(), "a file name");
            }
            // a document of an older k3s-vagrant has none: the version is then not known until read again
            String k3sVersion = text(n, "k3sVersion");
            if (k3sVersion != null) {
                check(isK3sVersion(k3sVersion), where, "k3sVersion", k3sVersion, K3S_VERSION_RULE);
            }
            nodes.add(new Node(nodeName, role, ip, access, k3sVersion));
        }
        String vagrantDir = text(root, "vagrantDir");
        if (vagrantDir != null) {
            check(isPath(vagrantDir) && vagrantDir.startsWith("/"), source, "vagrantDir", vagrantDir,
                "an absolute path");
        }
        String provider = text(root, "provider");
        if (provider != null) {
            check(provider.equals("virtualbox") || provider.equals("libvirt"), source, "provider", provider,
                "virtualbox or libvirt");
        }
        if (vagrantDir == null && nodes.stream().anyMatch(node -> node.ssh().vagrantMachine() != null)) {
            throw Cli.fail(Cli.BAD_INPUT, source + ": nodes are Vagrant machines but 'vagrantDir' is missing");
        }
        KubeconfigRef kubeconfig = null;
        if (root.hasNonNull("kubeconfig")) {
            kubeconfig = new KubeconfigRef(text(root.get("kubeconfig"), "path"), text(root.get("kubeconfig"), "context"));
        }
        if (nodes.stream().noneMatch(Node::isServer)) {
            throw Cli.fail(Cli.BAD_INPUT, source + ": lists no node with role 'server': expected the cluster JSON that k3s-up prints");
        }
        return new Cluster(name, provider, vagrantDir, serverUrl, List.copyOf(nodes), kubeconfig);
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

    private static void check(boolean ok, String where, String field, String value, String expected) {
        if (!ok) {
            throw Cli.fail(Cli.BAD_INPUT, where + ": '" + field + "' " + shown(value) + " is not " + expected
                + "; fix it, or pipe in the JSON that k3s-up or k3s-join printed");
        }
    }

    /** A value as JSON writes it, shortened: control characters show as escapes, not as what they do to a terminal. */
    static String shown(String value) {
        String cut = value.length() > 80 ? value.substring(0, 80) + "..." : value;
        char[] escaped = com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance().quoteAsString(cut);
        return "\"" + new String(escaped) + "\"";
    }

    private static Integer port(JsonNode ssh, String where) {
        JsonNode port = ssh.get("port");
        if (port == null || port.isNull()) return null;
        boolean ok = port.isIntegralNumber() && port.canConvertToInt() && port.asInt() >= 1 && port.asInt() <= 65535;
        check(ok, where, "ssh.port", port.asText(), "a port number (1-65535)");
        return port.asInt();
    }

    private static String requiredText(JsonNode node, String field, String where) {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual() || value.asText().isBlank()) {
            throw Cli.fail(Cli.BAD_INPUT, where + ": '" + field + "' is missing or not a string");
        }
        return value.asText();
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node == null ? null : node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }
}
