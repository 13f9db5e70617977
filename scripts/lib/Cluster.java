//DEPS com.fasterxml.jackson.core:jackson-databind:2.20.1
//SOURCES Cli.java

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

    /** How a step reaches a node: a Vagrant machine of vagrantDir, or an SSH address. */
    record Access(String vagrantMachine, String address, Integer port, String key) {
        static Access vagrant(String machine) {
            return new Access(machine, null, null, null);
        }
    }

    record Node(String name, String role, String ip, Access ssh) {
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
        String serverUrl = requiredText(root, "serverUrl", source);
        if (!serverUrl.matches("https://[^/\\s]+:\\d+")) {
            throw Cli.fail(Cli.BAD_INPUT, source + ": serverUrl '" + serverUrl + "' is not of the form https://ADDRESS:6443");
        }
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
            JsonNode ssh = n.path("ssh");
            Access access = new Access(text(ssh, "vagrantMachine"), text(ssh, "address"),
                ssh.hasNonNull("port") ? ssh.get("port").asInt() : null, text(ssh, "key"));
            if (access.vagrantMachine() == null && access.address() == null) {
                throw Cli.fail(Cli.BAD_INPUT, where + " has neither ssh.vagrantMachine nor ssh.address: cannot reach it");
            }
            nodes.add(new Node(requiredText(n, "name", where), role, requiredText(n, "ip", where), access));
        }
        String vagrantDir = text(root, "vagrantDir");
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
        return new Cluster(name, text(root, "provider"), vagrantDir, serverUrl, List.copyOf(nodes), kubeconfig);
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
