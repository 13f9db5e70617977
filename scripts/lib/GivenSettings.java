//SOURCES Settings.java
//SOURCES ClusterSettingsFile.java
//SOURCES K3sCache.java
//SOURCES ClusterFolder.java
//SOURCES K3s.java

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * k3s-up's settings on a cluster that exists: a flag given on the command line sets its value, a flag left
 * out keeps the one cluster.env recorded (never the table's default, which would undo an earlier --workers 3).
 */
final class GivenSettings {
    private GivenSettings() {}

    /**
     * A flag's value: option's (the given value, or picocli's default) when given or nothing was recorded,
     * else the recorded one (null: recorded as unset). A setting k3s-up always records but this cluster.env
     * lacks was added after an older k3s-up made it: the default then, as that k3s-up had no other.
     */
    static Function<String, String> values(Predicate<String> given, Function<String, String> option,
                                           Map<String, String> recorded) {
        return flag -> {
            if (given.test(flag) || recorded.isEmpty()) return option.apply(flag);
            JsonNode setting = settingOf(flag);
            String env = setting.path("env").asText();
            boolean older = !recorded.containsKey(env) && setting.path("record").asBoolean();
            return older ? option.apply(flag) : recorded.get(env);
        };
    }

    /**
     * The cluster's folder (--dir, else the one of --name, else of the login), which must be free or k3s-up's;
     * the login is checked first, as the folder's name may come from it.
     */
    static Path folder(String name, String login, Path dir) {
        Settings.require("LOGIN", login, "--login", null);
        ClusterFolder.requireName(name != null ? name : login, "--name");
        if (dir != null) K3s.requirePath(dir, "--dir");
        Path folder = dir != null ? dir.toAbsolutePath() : ClusterFolder.defaultPath(name != null ? name : login);
        ClusterFolder.requireFreeOrOurs(folder, dir != null);
        return folder;
    }

    /** The provider: the given one, else the recorded one, else null (then whichever is installed). */
    static String provider(String given, Map<String, String> recorded) {
        return given != null ? given : recorded.get("PROVIDER");
    }

    /**
     * Whether the host fetches K3s for the machines: not when --airgap-dir is given, nor when the cluster
     * recorded an air-gap folder of the user's own (one outside the host's K3s cache) and none is given, nor
     * when it recorded none (made with --no-host-cache: a re-run keeps its machines downloading K3s themselves).
     */
    static boolean hostFetchesK3s(String airgapFlag, Map<String, String> recorded) {
        if (airgapFlag != null) return false;
        String kept = recorded.get("AIRGAP_DIR");
        if (kept == null) return recorded.isEmpty();
        return Path.of(kept).startsWith(K3sCache.defaultCache());
    }

    private static JsonNode settingOf(String flag) {
        for (JsonNode setting : Settings.table().path("settings")) {
            if (setting.path("flag").asText().equals(flag)) return setting;
        }
        throw new IllegalArgumentException("no setting of " + flag + " in " + Settings.FILE);
    }
}
