//DEPS com.fasterxml.jackson.dataformat:jackson-dataformat-yaml:2.20.1
//SOURCES Cli.java
//SOURCES HostFacts.java
//SOURCES OwnerOnly.java
//SOURCES AtomicFile.java
//SOURCES KubeconfigLock.java

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.fasterxml.jackson.dataformat.yaml.util.StringQuotingChecker;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * K3s's kubeconfig made usable from the host: its YAML fields edited (never a text
 * search-and-replace), merged into the user's kubeconfig keeping every other entry,
 * written atomically with mode 600.
 */
final class KubeconfigFile {
    private KubeconfigFile() {}

    /** What to do when a kubeconfig (or its backup) cannot be written. */
    static final String FIX_WRITE = "fix the permissions of that file and its folder, or name another kubeconfig "
        + "first in $KUBECONFIG";

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

    /**
     * Merges ours into file: read, merged, the old file backed up, written, all under kubectl's
     * lock, so merges (and kubectl config commands) at the same moment each keep the others' change.
     */
    static void mergeInto(Path file, ObjectNode ours, boolean replace, Log log) {
        try (KubeconfigLock lock = KubeconfigLock.acquire(file, KubeconfigLock.WAIT, log)) {
            ObjectNode merged = merge(parse(read(file), file.toString()), ours, replace, file.toString());
            if (Files.exists(file)) log.info("backed up " + file + " to " + backup(file));
            AtomicFile.write(file, toYaml(merged), FIX_WRITE);
        }
    }

    /** Removes context name (its cluster, user) of serverUrl from file, under its lock; whether there was one. */
    static boolean removeFrom(Path file, String name, String serverUrl, Log log) {
        if (!Files.exists(file)) return false;
        try (KubeconfigLock lock = KubeconfigLock.acquire(file, KubeconfigLock.WAIT, log)) {
            ObjectNode config = parse(read(file), file.toString());
            if (!remove(config, name, serverUrl)) return false;
            // no backup: one more copy of a destroyed cluster's credentials
            AtomicFile.write(file, toYaml(config), FIX_WRITE);
            return true;
        }
    }

    /** The file `kubectl` uses: the first entry of $KUBECONFIG, else ~/.kube/config. */
    static Path defaultPath(Map<String, String> environment) {
        HostFacts here = HostFacts.current();
        return defaultPath(new HostFacts(here.osName(), environment, here.home()));
    }

    /** The same on a given host: KUBECONFIG split by ';' on Windows, and %USERPROFILE%\.kube\config there. */
    static Path defaultPath(HostFacts host) {
        List<String> entries = host.list("KUBECONFIG");
        if (!entries.isEmpty()) return host.path(entries.get(0));
        String profile = host.get("USERPROFILE");
        Path home = host.windows() && !profile.isBlank() ? host.path(profile) : host.home();
        return home.resolve(".kube").resolve("config");
    }

    static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        } catch (AccessDeniedException e) {
            throw Cli.fail(Cli.FAILED, "cannot read " + file + " (permission denied): nothing was changed");
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot read " + file + ": " + e.getMessage() + "; nothing was changed");
        }
    }

    /** Backups kept of one kubeconfig: each holds every cluster's credentials, so not without end. */
    static final int KEPT_BACKUPS = 5;

    /** Copies file to file.k3s-vagrant-backup-TIME (mode 600) and returns the copy's path. */
    static Path backup(Path file) {
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        String base = file.getFileName() + ".k3s-vagrant-backup-" + stamp;
        // two merges within a second must not overwrite the first backup; numbered after the newest of that
        // second, not into a gap pruning left (that copy would sort as the oldest and go at once)
        int newest = 0;
        for (Path other : backups(file)) {
            String name = other.getFileName().toString();
            if (name.equals(base)) newest = Math.max(newest, 1);
            if (name.startsWith(base + "-") && name.substring(base.length() + 1).matches("\\d{1,9}")) {
                newest = Math.max(newest, Integer.parseInt(name.substring(base.length() + 1)));
            }
        }
        Path copy = file.resolveSibling(newest == 0 ? base : base + "-" + (newest + 1));
        AtomicFile.write(copy, read(file), FIX_WRITE);
        List<Path> all = backups(file);
        for (Path old : all.subList(0, Math.max(0, all.size() - KEPT_BACKUPS))) {
            try {
                Files.deleteIfExists(old);
            } catch (IOException e) {
                throw Cli.fail(Cli.FAILED, "cannot remove the old backup " + old + ": " + e.getMessage());
            }
        }
        return copy;
    }

    /** file's backups, oldest first (by the time in their names, then the number of one made in the same second). */
    static List<Path> backups(Path file) {
        String prefix = file.getFileName() + ".k3s-vagrant-backup-";
        Path dir = file.toAbsolutePath().getParent();
        try (var files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().startsWith(prefix) && Files.isRegularFile(f))
                .sorted(Comparator.comparing(
                    f -> backupOrder(f.getFileName().toString().substring(prefix.length()))))
                .toList();
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot list " + dir + ": " + e.getMessage());
        }
    }

    private static String backupOrder(String suffix) {
        Matcher m = Pattern.compile("(\\d{8}-\\d{6})(?:-(\\d+))?").matcher(suffix);
        if (!m.matches()) return suffix; // not one of ours: named otherwise, sorted before them
        return m.group(1) + String.format("-%09d", m.group(2) == null ? 1 : Integer.parseInt(m.group(2)));
    }

    /**
     * Removes a destroyed cluster's entries (as remove does) from file's backups too, so no
     * copy of its credentials is left. Returns the backups it could not read, left as they are.
     */
    static List<Path> removeFromBackups(Path file, String name, String serverUrl) {
        List<Path> unreadable = new ArrayList<>();
        for (Path copy : backups(file)) {
            try {
                ObjectNode config = parse(read(copy), copy.toString());
                if (remove(config, name, serverUrl)) AtomicFile.write(copy, toYaml(config), FIX_WRITE);
            } catch (Cli.Failure e) {
                unreadable.add(copy);
            }
        }
        return unreadable;
    }

    private static String firstLine(String text) {
        if (text == null) return "";
        int newline = text.indexOf('\n');
        return newline < 0 ? text : text.substring(0, newline);
    }
}
