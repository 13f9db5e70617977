//DEPS com.fasterxml.jackson.dataformat:jackson-dataformat-yaml:2.20.1
//SOURCES Cli.java

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.fasterxml.jackson.dataformat.yaml.util.StringQuotingChecker;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A kubeconfig as YAML: K3s's made usable from the host, its fields edited (never a text
 * search-and-replace), merged into the user's keeping every other entry, or a cluster's removed.
 */
final class Kubeconfig {
    private Kubeconfig() {}

    static final YAMLMapper YAML = new YAMLMapper(YAMLFactory.builder()
        .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
        .disable(YAMLGenerator.Feature.SPLIT_LINES)
        .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
        .stringQuotingChecker(new KubectlQuoting())
        .build());

    /**
     * kubectl reads YAML 1.1: a bare 2024, 1e3, 0x1F or .inf is a number to it, and a number
     * where a string belongs (namespace "2024", an exec arg "900") makes it reject the whole
     * file. So every string that starts like a number is quoted; Jackson's own check already
     * quotes true, yes, null and the like.
     */
    private static final class KubectlQuoting extends StringQuotingChecker.Default {
        @Override
        public boolean needToQuoteValue(String value) {
            return super.needToQuoteValue(value) || (!value.isEmpty() && "0123456789+-.".indexOf(value.charAt(0)) >= 0);
        }
    }

    private static final List<String> SECTIONS = List.of("clusters", "users", "contexts");

    /** Parses a kubeconfig; an empty text is an empty config. Invalid YAML is refused, naming the file. */
    static ObjectNode parse(String text, String source) {
        if (text == null || text.isBlank()) {
            ObjectNode empty = YAML.createObjectNode();
            empty.put("apiVersion", "v1");
            empty.put("kind", "Config");
            return empty;
        }
        JsonNode root;
        try {
            root = YAML.readTree(text);
        } catch (IOException e) {
            throw Cli.fail(Cli.REFUSED, source + " is not valid YAML, so it was left untouched: fix or move it, "
                + "or write to another file with --output (" + firstLine(e.getMessage()) + ")");
        }
        if (root == null || root.isMissingNode() || root.isNull()) return parse("", source);
        if (!root.isObject() || (root.has("kind") && !"Config".equals(root.get("kind").asText()))) {
            throw Cli.fail(Cli.REFUSED, source
                + " is not a kubeconfig (no 'kind: Config' mapping), so it was left untouched");
        }
        for (String section : SECTIONS) {
            if (root.has(section) && !root.get(section).isNull() && !root.get(section).isArray()) {
                throw Cli.fail(Cli.REFUSED, source + ": '" + section
                    + "' is not a list, so the file was left untouched");
            }
        }
        return (ObjectNode) root;
    }

    /**
     * K3s's /etc/rancher/k3s/k3s.yaml points at 127.0.0.1 and names everything "default":
     * point its cluster at serverUrl and name cluster, user and context after the cluster.
     */
    static ObjectNode forHost(String k3sYaml, String serverUrl, String name) {
        ObjectNode config = parse(k3sYaml, "the server's /etc/rancher/k3s/k3s.yaml");
        for (String section : SECTIONS) {
            JsonNode list = config.get(section);
            if (list == null || !list.isArray() || list.size() != 1) {
                throw Cli.fail(Cli.FAILED, "the server's kubeconfig should hold exactly one entry in '" + section
                    + "' (K3s writes one); it holds " + (list == null ? 0 : list.size()));
            }
            ObjectNode entry = (ObjectNode) list.get(0);
            entry.put("name", name);
        }
        ObjectNode cluster = (ObjectNode) config.get("clusters").get(0).get("cluster");
        if (cluster == null || !cluster.hasNonNull("certificate-authority-data")) {
            throw Cli.fail(Cli.FAILED, "the server's kubeconfig has no certificate-authority-data: is it K3s's?");
        }
        cluster.put("server", serverUrl);
        ObjectNode context = (ObjectNode) config.get("contexts").get(0).get("context");
        context.put("cluster", name);
        context.put("user", name);
        config.put("current-context", name);
        return config;
    }

    /**
     * Adds ours to existing. An entry of the same name is replaced only when it is this
     * cluster's (see clashes) or replace is set; every other entry stays as it was.
     */
    static ObjectNode merge(ObjectNode existing, ObjectNode ours, boolean replace, String source) {
        String name = ours.get("current-context").asText();
        String ourServer = ours.get("clusters").get(0).get("cluster").get("server").asText();
        List<String> clashes = clashes(existing, ours);
        if (!clashes.isEmpty() && !replace) {
            throw Cli.fail(Cli.REFUSED, source + " already has entries named '" + name + "' that are not this cluster's"
                + " (" + ourServer + "): " + String.join("; ", clashes) + ". Nothing was changed. Pass --replace to"
                + " overwrite them "
                + "(the old file is backed up), or --context to choose another name");
        }
        ObjectNode merged = existing.deepCopy();
        if (!merged.has("apiVersion")) merged.put("apiVersion", "v1");
        if (!merged.has("kind")) merged.put("kind", "Config");
        for (String section : SECTIONS) {
            ArrayNode list = merged.has(section) && merged.get(section).isArray() ? (ArrayNode) merged.get(section)
                : merged.putArray(section);
            JsonNode entry = ours.get(section).get(0);
            boolean replaced = false;
            for (int i = 0; i < list.size(); i++) {
                if (name.equals(list.get(i).path("name").asText(null))) {
                    list.set(i, entry.deepCopy());
                    replaced = true;
                }
            }
            if (!replaced) list.add(entry.deepCopy());
        }
        merged.put("current-context", name);
        return merged;
    }

    /**
     * The entries of existing that bear our name but are not this cluster's, described for
     * the user. This cluster's are: a cluster entry with our server URL; a context pointing
     * at the cluster and user of its own name, that cluster being ours (what forHost writes);
     * a user entry holding our client certificate, or K3s's kind of user (a client
     * certificate and key, nothing else) that only such a context of ours uses: what an
     * earlier merge wrote before K3s renewed its certificate or the cluster was made again.
     */
    static List<String> clashes(ObjectNode existing, ObjectNode ours) {
        String name = ours.get("current-context").asText();
        String ourServer = ours.get("clusters").get(0).get("cluster").get("server").asText();
        JsonNode ourUser = ours.get("users").get(0).get("user");
        List<String> clashes = new ArrayList<>();

        JsonNode cluster = entry(existing, "clusters", name);
        boolean clusterIsOurs = cluster != null && ourServer.equals(cluster.path("cluster").path("server").asText(""));
        if (cluster != null && !clusterIsOurs) {
            clashes.add("cluster '" + name + "' for " + cluster.path("cluster").path("server").asText("no server"));
        }
        JsonNode context = entry(existing, "contexts", name);
        String contextCluster = context == null ? null : context.path("context").path("cluster").asText("");
        String contextUser = context == null ? null : context.path("context").path("user").asText("");
        boolean contextIsOurs = context != null && clusterIsOurs
            && name.equals(contextCluster) && name.equals(contextUser);
        if (context != null && !contextIsOurs) {
            String server = serverOf(existing, contextCluster);
            String where = server == null || server.isEmpty() ? "no server" : server;
            clashes.add("context '" + name + "' for cluster '" + contextCluster + "' (" + where + ") and user '"
                + contextUser + "'");
        }
        JsonNode user = entry(existing, "users", name);
        if (user != null) {
            List<String> usedBy = contextsUsing(existing, name);
            boolean sameCertificate = ourUser.hasNonNull("client-certificate-data")
                && ourUser.get("client-certificate-data").equals(user.path("user").path("client-certificate-data"));
            boolean k3sKind = user.path("user").isObject() && user.path("user").has("client-certificate-data")
                && Set.of("client-certificate-data", "client-key-data").containsAll(fieldNames(user.path("user")));
            boolean ownUser = sameCertificate || (contextIsOurs && k3sKind && usedBy.equals(List.of(name)));
            if (!ownUser) {
                List<String> others = usedBy.stream().filter(c -> !(contextIsOurs && c.equals(name))).toList();
                String users = others.stream().map(c -> "'" + c + "'").collect(Collectors.joining(", "));
                clashes.add("user '" + name + "' with other credentials"
                    + (others.isEmpty() ? "" : ", used by context " + users));
            }
        }
        return clashes;
    }

    /**
     * Removes the cluster, user and context named name, if that cluster is the one at
     * serverUrl (another cluster of the same name is left alone); a cluster or user entry
     * that another context still uses stays, so nothing of the user's is left only in the
     * backup. Returns whether it removed anything.
     */
    static boolean remove(ObjectNode config, String name, String serverUrl) {
        String server = serverOf(config, name);
        if (server == null || !server.equals(serverUrl)) return false;
        removeNamed(config, "contexts", name);
        JsonNode cluster = entry(config, "clusters", name);
        if (cluster != null && serverUrl.equals(cluster.path("cluster").path("server").asText(""))
                && contextsUsing(config, "cluster", name).isEmpty()) {
            removeNamed(config, "clusters", name);
        }
        if (contextsUsing(config, name).isEmpty()) removeNamed(config, "users", name);
        if (name.equals(config.path("current-context").asText(null))) config.put("current-context", "");
        return true;
    }

    private static void removeNamed(ObjectNode config, String section, String name) {
        JsonNode list = config.get(section);
        if (list == null || !list.isArray()) return;
        for (int i = list.size() - 1; i >= 0; i--) {
            if (name.equals(list.get(i).path("name").asText(null))) ((ArrayNode) list).remove(i);
        }
    }

    /** The first entry of a section with that name, or null. */
    private static JsonNode entry(ObjectNode config, String section, String name) {
        for (JsonNode entry : config.path(section)) {
            if (name.equals(entry.path("name").asText(null))) return entry;
        }
        return null;
    }

    /** The names of the contexts whose user is userName. */
    private static List<String> contextsUsing(ObjectNode config, String userName) {
        return contextsUsing(config, "user", userName);
    }

    /** The names of the contexts whose field (cluster or user) is value. */
    private static List<String> contextsUsing(ObjectNode config, String field, String value) {
        List<String> names = new ArrayList<>();
        for (JsonNode context : config.path("contexts")) {
            if (value.equals(context.path("context").path(field).asText(null))) {
                names.add(context.path("name").asText(""));
            }
        }
        return names;
    }

    private static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new HashSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** The server URL of the cluster named name, or of the cluster its context names; null if neither exists. */
    static String serverOf(ObjectNode config, String name) {
        String clusterName = name;
        for (JsonNode context : config.path("contexts")) {
            if (name.equals(context.path("name").asText(null))) {
                clusterName = context.path("context").path("cluster").asText(name);
            }
        }
        for (String candidate : List.of(clusterName, name)) {
            for (JsonNode cluster : config.path("clusters")) {
                if (candidate.equals(cluster.path("name").asText(null))) {
                    return cluster.path("cluster").path("server").asText("");
                }
            }
        }
        for (JsonNode context : config.path("contexts")) {
            if (name.equals(context.path("name").asText(null))) return "";
        }
        return null;
    }

    static String toYaml(ObjectNode config) {
        try {
            return YAML.writeValueAsString(config);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String firstLine(String text) {
        if (text == null) return "";
        int newline = text.indexOf('\n');
        return newline < 0 ? text : text.substring(0, newline);
    }
}
