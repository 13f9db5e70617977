//SOURCES Settings.java
//SOURCES Addresses.java
//SOURCES Cli.java
//SOURCES Cluster.java

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The machines of a cluster from its settings, by provision/settings.yaml's groups and address rules (the
 * Vagrantfile counts them with provision/plan.rb from the same table). Holds no cluster rule of its own.
 */
final class Plan {
    private Plan() {}

    /** A machine: its name, role (server or agent) and address on the private network. */
    record Machine(String name, String role, String ip) { }

    /** The machines, servers first; bad counts or addresses are refused (exit 2) naming k3s-up's flags. */
    static List<Machine> machines(Map<String, String> settings) {
        JsonNode table = Settings.table();
        JsonNode rules = table.path("addresses");
        List<List<String>> groups = new ArrayList<>();
        for (JsonNode group : table.path("groups")) {
            String first = settings.get(group.path("address").asText());
            int count = Integer.parseInt(settings.get(group.path("count").asText()));
            List<String> ips = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                long ip = Addresses.toLong(first) + (long) i * group.path("step").asInt();
                long last = ip & 255;
                // the first address is checked by the address rules; the counted ones must stay in its /24
                boolean room = ip >> 8 == Addresses.toLong(first) >> 8 && last >= rules.path("room").path(0).asInt()
                    && last <= rules.path("room").path(1).asInt();
                if (i > 0 && !room) {
                    throw usage(group.path("no_room").asText(), Map.of("setting", flag(group.path("address")),
                        "value", first, "count", Integer.toString(count)));
                }
                ips.add(Addresses.ipOf(ip));
            }
            groups.add(ips);
        }
        checkAddresses(table, groups, settings);
        List<Machine> machines = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            JsonNode group = table.path("groups").path(g);
            List<String> ips = groups.get(g);
            for (int i = 0; i < ips.size(); i++) {
                String name = settings.get("LOGIN") + group.path("suffix").asText() + (i == 0 ? "" : i + 1);
                machines.add(new Machine(name, group.path("role").asText(), ips.get(i)));
            }
        }
        return machines;
    }

    private static void checkAddresses(JsonNode table, List<List<String>> groups, Map<String, String> settings) {
        JsonNode rules = table.path("addresses");
        JsonNode first = table.path("groups").path(0).path("address");
        JsonNode second = table.path("groups").path(1).path("address");
        String a = settings.get(first.asText());
        String b = settings.get(second.asText());
        Map<String, String> words = Map.of("setting", flag(first), "value", a, "other", flag(second), "other_value", b);
        if (!groups.get(1).isEmpty()) {
            if (a.equals(b)) throw usage(rules.path("same").asText(), words);
            boolean oneNetwork = Addresses.toLong(a) >> 8 == Addresses.toLong(b) >> 8;
            if (!oneNetwork) throw usage(rules.path("one_network").asText(), words);
        }
        for (int g = 0; g < groups.size(); g++) {
            for (String ip : groups.get(g)) {
                String last = ip.substring(ip.lastIndexOf('.') + 1);
                for (JsonNode reserved : rules.path("reserved_last")) {
                    if (reserved.asText().equals(last)) {
                        throw usage(rules.path("reserved").asText(), Map.of("ip", ip, "last", last,
                            "setting", flag(table.path("groups").path(g).path("address"))));
                    }
                }
            }
        }
        for (String ip : groups.get(0)) {
            if (groups.get(1).contains(ip)) {
                Map<String, String> twice = new HashMap<>(words);
                twice.put("ip", ip);
                throw usage(rules.path("twice").asText(), twice);
            }
        }
    }

    /** The API port from the server flags, read as K3s's flag parser reads them; option names them. */
    static int apiPort(String flags, String option) {
        JsonNode rule = Settings.table().path("api_port");
        String name = rule.path("flag").asText();
        int port = rule.path("default").asInt();
        if (flags == null) return port;
        String[] words = flags.trim().split("\\s+");
        for (int i = 0; i < words.length; i++) {
            String word = words[i];
            String value;
            if (word.equals("-" + name) || word.equals("--" + name)) {
                if (i + 1 >= words.length) {
                    Map<String, String> words2 = Map.of("setting", option, "value", Cluster.shown(flags));
                    throw usage(rule.path("no_value").asText(), words2);
                }
                value = words[++i];
            } else if (word.startsWith("-" + name + "=") || word.startsWith("--" + name + "=")) {
                value = word.substring(word.indexOf('=') + 1);
            } else {
                continue;
            }
            if (!value.matches(rule.path("match").asText()) || Integer.parseInt(value) > rule.path("max").asInt()) {
                throw usage(rule.path("bad").asText(), Map.of("setting", option, "value", Cluster.shown(flags),
                    "port", Cluster.shown(value)));
            }
            port = Integer.parseInt(value);
        }
        return port;
    }

    /** The box when none is set: the table's for the provider. */
    static String defaultBox(String provider) {
        return Settings.table().path("boxes").path(provider).asText("");
    }

    private static String flag(JsonNode env) {
        return Settings.flagOf(env.asText());
    }

    private static Cli.Failure usage(String template, Map<String, String> words) {
        return Cli.fail(Cli.USAGE, Settings.say(template, words));
    }
}
