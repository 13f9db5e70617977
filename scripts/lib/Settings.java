//SOURCES Cli.java
//SOURCES Addresses.java
//FILES provision/settings.yaml=../../provision/settings.yaml
//SOURCES Cluster.java
//SOURCES KubeconfigFile.java
//SOURCES Vagrant.java

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The interpreter of provision/settings.yaml for the steps: defaults, and each setting's rules with their
 * messages. It holds no cluster rule of its own (provision/plan.rb reads the same table for the Vagrantfile).
 */
final class Settings {
    private Settings() {}

    static final String FILE = "settings.yaml";
    private static JsonNode table;

    /** The table, shipped beside the Vagrantfile in each step's resources (//FILES). */
    static synchronized JsonNode table() {
        if (table == null) {
            try (InputStream in = Settings.class.getResourceAsStream("/provision/" + FILE)) {
                if (in == null) {
                    throw Cli.fail(Cli.FAILED, "provision/" + FILE + " is missing from this build of the step: "
                        + "rebuild it (jbang build --fresh)");
                }
                table = new ObjectMapper(new YAMLFactory()).readTree(in);
            } catch (IOException e) {
                throw Cli.fail(Cli.FAILED, "cannot read provision/" + FILE + ": " + e.getMessage());
            }
        }
        return table;
    }

    static JsonNode setting(String env) {
        for (JsonNode setting : table().path("settings")) {
            if (setting.path("env").asText().equals(env)) return setting;
        }
        throw new IllegalArgumentException("no setting " + env + " in " + FILE);
    }

    /** The setting's default: "" for none; the login one from the host's login name. */
    static String defaultOf(String env) {
        JsonNode setting = setting(env);
        JsonNode login = setting.get("default_from_login");
        return login != null ? defaultLogin(login) : setting.path("default").asText("");
    }

    private static String defaultLogin(JsonNode rule) {
        String user = System.getenv("USER");
        if (user == null || user.isEmpty()) user = System.getenv("USERNAME");
        if (user == null || user.isEmpty()) user = System.getProperty("user.name", "");
        String keep = rule.path("keep").asText();
        String login = user.toLowerCase(Locale.ROOT).replaceAll("[^" + keep.substring(1, keep.length() - 1) + "]", "");
        boolean refused = false;
        for (JsonNode name : rule.path("refused")) refused |= name.asText().equals(login);
        boolean ok = !login.isEmpty() && !refused && login.substring(0, 1).matches(rule.path("first").asText());
        return ok ? login : rule.path("fallback").asText();
    }

    /** k3s-up's flag for a setting, as its messages name it. */
    static String flagOf(String env) {
        return setting(env).path("flag").asText(Vagrant.SETTINGS_PREFIX + env);
    }

    /** picocli's defaults (and help's ${DEFAULT-VALUE}) from the table, for the options that are settings. */
    static final class Defaults implements IDefaultValueProvider {
        @Override
        public String defaultValue(ArgSpec arg) {
            if (!(arg instanceof OptionSpec option)) return null;
            for (JsonNode setting : table().path("settings")) {
                if (setting.path("flag").asText().equals(option.longestName())) {
                    String value = defaultOf(setting.path("env").asText());
                    return value.isEmpty() ? null : value;
                }
            }
            return null;
        }
    }

    /** Refuses a value its setting's rules refuse (exit 2), naming it as shownAs; null or "" is unset. */
    static void require(String env, String value, String shownAs, String provider) {
        if (value == null || value.isEmpty()) return;
        JsonNode setting = setting(env);
        JsonNode rules = setting.has("rules_of") ? setting(setting.path("rules_of").asText()).path("rules")
            : setting.path("rules");
        check(rules, value, shownAs, provider, Map.of());
    }

    /**
     * Refuses a value one of the rules refuses (exit 2): its message names the value as shownAs, and words
     * (and a reject pattern's named groups) fill the rest.
     */
    static void check(JsonNode rules, String value, String shownAs, String provider, Map<String, String> words) {
        for (JsonNode rule : rules) {
            if (rule.has("provider") && !rule.path("provider").asText().equals(provider)) continue;
            Map<String, String> said = new HashMap<>(words);
            boolean ok;
            if (rule.has("match")) {
                ok = value.matches(rule.path("match").asText());
            } else if (rule.has("reject")) {
                Matcher found = Pattern.compile(rule.path("reject").asText()).matcher(value);
                ok = !found.find();
                if (!ok) said.putAll(namedGroups(found, rule.path("reject").asText()));
            } else if (rule.has("ipv4")) {
                ok = Addresses.isIpv4(value);
            } else if (rule.has("one_of")) {
                ok = false;
                for (JsonNode one : rule.path("one_of")) ok |= one.asText().equals(value);
            } else if (rule.has("min")) {
                ok = Long.parseLong(value) >= rule.path("min").asLong();
            } else if (rule.has("networks")) {
                ok = false;
                for (JsonNode network : rule.path("networks")) ok |= Addresses.inCidr(value, network.asText());
            } else if (rule.has("files")) {
                String missing = null;
                for (JsonNode file : rule.path("files")) {
                    if (missing == null && !Files.isRegularFile(Path.of(value).resolve(file.asText()))) {
                        missing = file.asText();
                    }
                }
                ok = missing == null;
                said.put("file", String.valueOf(missing));
            } else {
                throw new IllegalArgumentException(FILE + ": a rule of " + shownAs + " says nothing I know: " + rule);
            }
            if (!ok) {
                said.put("setting", shownAs);
                said.put("value", Cluster.shown(value));
                throw Cli.fail(Cli.USAGE, say(rule.path("message").asText(), said));
            }
        }
    }

    /** The named groups of a match (Java 17's Matcher cannot list them: read from the pattern). */
    private static Map<String, String> namedGroups(Matcher match, String pattern) {
        Map<String, String> groups = new HashMap<>();
        Matcher name = Pattern.compile("\\(\\?<([A-Za-z][A-Za-z0-9]*)>").matcher(pattern);
        while (name.find()) groups.put(name.group(1), String.valueOf(match.group(name.group(1))));
        return groups;
    }

    /** Whether a value passes its setting's rules (a pattern other code also needs, e.g. a K3s version). */
    static boolean valid(String env, String value) {
        try {
            require(env, value, env, null);
            return value != null && !value.isEmpty();
        } catch (Cli.Failure e) {
            return false;
        }
    }

    /**
     * The settings of k3s-up's options, each checked, as the Vagrantfile names them (K3S_VAGRANT_ less its
     * prefix): those with record: true always, the others when set. option gives a flag's value.
     */
    static Map<String, String> fromOptions(Function<String, String> option, String provider) {
        Map<String, String> settings = new LinkedHashMap<>();
        for (JsonNode setting : table().path("settings")) {
            String flag = setting.path("flag").asText("");
            if (flag.isEmpty() || setting.has("only")) continue;
            String env = setting.path("env").asText();
            String value = option.apply(flag);
            require(env, value, flag, provider);
            if (value != null && (!value.isEmpty() || setting.path("record").asBoolean())) settings.put(env, value);
        }
        return settings;
    }

    /**
     * The settings whose change word (settings.yaml's change) is word or word:ROLE, in the table's order, each
     * with its ROLE ("" for every machine): what k3s-up's plan does when a running cluster is given another value.
     */
    static Map<String, String> changing(String word) {
        Map<String, String> found = new LinkedHashMap<>();
        for (JsonNode setting : table().path("settings")) {
            String change = setting.path("change").asText("");
            if (change.equals(word) || change.startsWith(word + ":")) {
                found.put(setting.path("env").asText(), change.substring(Math.min(change.length(), word.length() + 1)));
            }
        }
        return found;
    }

    /** Fills {name} in a message template. */
    static String say(String template, Map<String, String> words) {
        Matcher matcher = Pattern.compile("\\{(\\w+)}").matcher(template);
        StringBuilder out = new StringBuilder();
        while (matcher.find()) {
            String word = words.getOrDefault(matcher.group(1), matcher.group());
            matcher.appendReplacement(out, Matcher.quoteReplacement(word));
        }
        return matcher.appendTail(out).toString();
    }

}
