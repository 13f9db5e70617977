//DEPS com.fasterxml.jackson.core:jackson-databind:2.20.1
//SOURCES Cli.java
//SOURCES Addresses.java
//SOURCES Cluster.java

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** The cluster document as JSON: written as a tree, read and checked field by field. */
final class ClusterJson {
    private static final Pattern FORMAT_PATTERN = Pattern.compile("k3s-vagrant/cluster/v(\\d+)");

    private ClusterJson() {
    }

    /** The document as a JSON tree, for a step that adds to it. */
    static ObjectNode toTree(Cluster cluster) {
        ObjectNode root = Cluster.JSON.createObjectNode();
        root.put("format", Cluster.FORMAT);
        root.put("name", cluster.name());
        if (cluster.provider() != null) root.put("provider", cluster.provider());
        if (cluster.vagrantDir() != null) root.put("vagrantDir", cluster.vagrantDir());
        root.put("serverUrl", cluster.serverUrl());
        ArrayNode list = root.putArray("nodes");
        for (Cluster.Node node : cluster.nodes()) {
            ObjectNode n = list.addObject();
            n.put("name", node.name());
            n.put("role", node.role());
            n.put("ip", node.ip());
            ObjectNode ssh = n.putObject("ssh");
            Cluster.Access access = node.ssh();
            if (access.vagrantMachine() != null) ssh.put("vagrantMachine", access.vagrantMachine());
            if (access.address() != null) ssh.put("address", access.address());
            if (access.port() != null) ssh.put("port", access.port());
            if (access.key() != null) ssh.put("key", access.key());
            if (access.jump() != null) ssh.put("jump", access.jump());
            if (access.sshConfig() != null) ssh.put("config", access.sshConfig());
            if (access.knownHosts() != null) ssh.put("knownHosts", access.knownHosts());
            if (node.k3sVersion() != null) n.put("k3sVersion", node.k3sVersion());
            if (node.agentFlags() != null) n.put("agentFlags", node.agentFlags());
        }
        if (cluster.kubeconfig() != null) {
            ObjectNode k = root.putObject("kubeconfig");
            k.put("path", cluster.kubeconfig().path());
            k.put("context", cluster.kubeconfig().context());
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
            root = Cluster.JSON.readTree(text);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? ""
                : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw Cli.fail(Cli.BAD_INPUT, source + " is not valid JSON" + where + " (truncated?): "
                + e.getOriginalMessage() + ". Expected the cluster JSON that k3s-up prints");
        }
        if (root == null || !root.isObject()) {
            throw Cli.fail(Cli.BAD_INPUT,
                source + " is not a JSON object: expected the cluster JSON that k3s-up prints");
        }
        String format = root.path("format").asText("");
        var matcher = FORMAT_PATTERN.matcher(format);
        if (!matcher.matches()) {
            throw Cli.fail(Cli.BAD_INPUT, source + " is not a k3s-vagrant cluster document (format '" + format
                + "', expected '" + Cluster.FORMAT + "'): pipe the output of k3s-up, k3s-join or k3s-kubeconfig here");
        }
        int version = Integer.parseInt(matcher.group(1));
        if (version != 1) {
            throw Cli.fail(Cli.BAD_INPUT, source + " has format " + format
                + ", which this step does not read (it reads " + Cluster.FORMAT
                + "): run every step of the pipeline from the same k3s-vagrant version");
        }
        String name = requiredText(root, "name", source);
        check(Cluster.isClusterName(name), source, "name", name,
            "a cluster name: letters, digits, '.', '_' and '-', at most 63");
        String serverUrl = requiredText(root, "serverUrl", source);
        check(Cluster.isServerUrl(serverUrl), source, "serverUrl", serverUrl, "of the form https://ADDRESS:PORT, "
            + "ADDRESS an IPv4 address or a DNS name (e.g. https://192.168.56.110:6443)");
        JsonNode nodesJson = root.path("nodes");
        if (!nodesJson.isArray() || nodesJson.isEmpty()) {
            throw Cli.fail(Cli.BAD_INPUT, source + ": 'nodes' must be a non-empty list");
        }
        List<Cluster.Node> nodes = new ArrayList<>();
        for (JsonNode n : nodesJson) {
            String where = source + ": node " + (nodes.size() + 1);
            String role = requiredText(n, "role", where);
            if (!role.equals("server") && !role.equals("agent")) {
                throw Cli.fail(Cli.BAD_INPUT, where + " has role '" + role + "': expected server or agent");
            }
            String nodeName = requiredText(n, "name", where);
            check(Cluster.isNodeName(nodeName), where, "name", nodeName, Cluster.NODE_NAME_RULE);
            String ip = requiredText(n, "ip", where);
            check(Addresses.isIpv4(ip), where, "ip", ip, "an IPv4 address (e.g. 192.168.56.111)");
            JsonNode ssh = n.path("ssh");
            Cluster.Access access = new Cluster.Access(text(ssh, "vagrantMachine"), text(ssh, "address"),
                port(ssh, where), text(ssh, "key"), text(ssh, "jump"), text(ssh, "config"), text(ssh, "knownHosts"));
            if (access.vagrantMachine() == null && access.address() == null) {
                throw Cli.fail(Cli.BAD_INPUT,
                    where + " has neither ssh.vagrantMachine nor ssh.address: cannot reach it");
            }
            if (access.vagrantMachine() != null) {
                check(Cluster.isNodeName(access.vagrantMachine()), where, "ssh.vagrantMachine", access.vagrantMachine(),
                    Cluster.NODE_NAME_RULE);
            }
            if (access.address() != null) {
                check(Cluster.isSshAddress(access.address()), where, "ssh.address", access.address(),
                    "USER@HOST or HOST, HOST an IPv4 address or a DNS name (e.g. pi@192.168.56.20)");
            }
            if (access.key() != null) {
                check(Cluster.isPath(access.key()), where, "ssh.key", access.key(), "a file name");
            }
            if (access.jump() != null) {
                check(Cluster.isJumpList(access.jump()), where, "ssh.jump", access.jump(), Cluster.JUMP_RULE);
            }
            if (access.sshConfig() != null) {
                check(Cluster.isPath(access.sshConfig()), where, "ssh.config", access.sshConfig(), "a file name");
            }
            if (access.knownHosts() != null) {
                check(Cluster.isPath(access.knownHosts()), where, "ssh.knownHosts", access.knownHosts(), "a file name");
            }
            // a document of an older k3s-vagrant has none: the version is then not known until read again
            String k3sVersion = text(n, "k3sVersion");
            if (k3sVersion != null) {
                check(Cluster.isK3sVersion(k3sVersion), where, "k3sVersion", k3sVersion, Cluster.K3S_VERSION_RULE);
            }
            // checked by --agent-flags' rules where an upgrade passes it on (RollingUpgrade)
            String agentFlags = text(n, "agentFlags");
            nodes.add(new Cluster.Node(nodeName, role, ip, access, k3sVersion, agentFlags));
        }
        String vagrantDir = text(root, "vagrantDir");
        if (vagrantDir != null) {
            check(Cluster.isPath(vagrantDir) && vagrantDir.startsWith("/"), source, "vagrantDir", vagrantDir,
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
        Cluster.KubeconfigRef kubeconfig = null;
        if (root.hasNonNull("kubeconfig")) {
            JsonNode ref = root.get("kubeconfig");
            kubeconfig = new Cluster.KubeconfigRef(text(ref, "path"), text(ref, "context"));
        }
        if (nodes.stream().noneMatch(Cluster.Node::isServer)) {
            throw Cli.fail(Cli.BAD_INPUT,
                source + ": lists no node with role 'server': expected the cluster JSON that k3s-up prints");
        }
        return new Cluster(name, provider, vagrantDir, serverUrl, List.copyOf(nodes), kubeconfig);
    }

    private static void check(boolean ok, String where, String field, String value, String expected) {
        if (!ok) {
            throw Cli.fail(Cli.BAD_INPUT, where + ": '" + field + "' " + Cluster.shown(value) + " is not " + expected
                + "; fix it, or pipe in the JSON that k3s-up or k3s-join printed");
        }
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
