//SOURCES Cli.java
//SOURCES Plan.java
//SOURCES Settings.java
//SOURCES TerminalQuestion.java
//SOURCES Cluster.java
//SOURCES ClusterFolder.java
//SOURCES ChangePending.java
//SOURCES K3sVersionStep.java

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a k3s-up on a cluster that exists changes, from the settings it was made with to the settings now
 * wanted: the plan printed, confirmed, then carried out (only new agents so far), or refused naming why.
 */
final class ClusterChange {
    /** What a kind of change does, in the order a plan runs them. */
    enum Kind { REMOVE_AGENTS, REMOVE_SERVERS, UPGRADE, ADD_SERVERS, ADD_AGENTS, PER_MACHINE }

    /** One step of the plan: its kind, what it does in words, and the machines it acts on, in its order. */
    record Step(Kind kind, List<Plan.Machine> machines, String what) { }

    /**
     * Settings no running machine can take in place (a new cluster is needed): settings.yaml's change: fixed,
     * and the provider, which is no setting of the table (it is Vagrant's own choice, kept in cluster.env).
     */
    static final List<String> FIXED = fixed();
    /** Settings of the machines themselves, applied per machine (halt, change, up): the role they apply to. */
    static final Map<String, String> PER_MACHINE = Settings.changing("machine");
    /** Where K3s comes from: a change is a rolling upgrade. */
    static final Set<String> K3S = Settings.changing("k3s").keySet();

    final List<Step> steps;
    /** The settings the plan changes, which cluster.env may then record. */
    final Set<String> changed = new TreeSet<>();

    private ClusterChange(List<Step> steps) {
        this.steps = steps;
    }

    /**
     * The plan for k3s-up's settings and provider in folder: empty while its machines do not exist yet
     * (a first k3s-up, or one resumed before any machine was made, records what it is given).
     */
    static ClusterChange of(Path folder, Map<String, String> recorded, Map<String, String> settings,
                            String provider) {
        if (!ClusterFolder.machinesExist(folder)) return new ClusterChange(new ArrayList<>());
        Map<String, String> wanted = new LinkedHashMap<>();
        wanted.put("PROVIDER", provider);
        wanted.putAll(settings);
        return plan(ChangePending.planFrom(folder, recorded), wanted,
            K3sVersionStep.running(folder.resolve(ClusterFolder.CLUSTER_FILE)));
    }

    boolean isEmpty() {
        return steps.isEmpty();
    }

    /**
     * The plan from recorded (cluster.env, PROVIDER included; empty for a new cluster) to wanted, in the order
     * it would run: agents removed, servers removed, the upgrade, servers added, agents added, then the machines'
     * own settings. running: the K3s version the nodes last reported, null when not known. A setting that
     * cannot change in place, a downgrade and a skipped minor version are refused (exit 7).
     */
    static ClusterChange plan(Map<String, String> recorded, Map<String, String> wanted, String running) {
        List<Step> steps = new ArrayList<>();
        if (recorded.isEmpty()) return new ClusterChange(steps);
        for (String env : FIXED) {
            if (differs(recorded, wanted, env)) {
                throw refused(flag(env) + " cannot change on a cluster that exists (" + shown(recorded.get(env))
                    + " -> " + shown(wanted.get(env)) + "): nothing was changed. Leave it out to keep it, or make a"
                    + " new cluster (another --name, or k3s-down first)");
            }
        }
        refuseApiPortChange(recorded, wanted);
        List<Plan.Machine> before = Plan.machines(withCounts(recorded));
        List<Plan.Machine> after = Plan.machines(wanted);
        List<Plan.Machine> gone = before.stream().filter(m -> !named(after, m.name())).toList();
        List<Plan.Machine> added = after.stream().filter(m -> !named(before, m.name())).toList();
        List<Plan.Machine> goneAgents = reversed(of(gone, "agent"));
        if (!goneAgents.isEmpty()) {
            steps.add(new Step(Kind.REMOVE_AGENTS, goneAgents, "remove " + list(goneAgents) + ", one at a time,"
                + " highest-numbered first: cordoned, drained (kubectl drain --ignore-daemonsets"
                + " --delete-emptydir-data), deleted from the cluster, K3s uninstalled, the machine destroyed"));
        }
        List<Plan.Machine> goneServers = reversed(of(gone, "server"));
        if (!goneServers.isEmpty()) {
            requireMajority(of(before, "server").size(), of(after, "server").size());
            steps.add(new Step(Kind.REMOVE_SERVERS, goneServers, "remove " + list(goneServers) + ", one at a time,"
                + " keeping etcd's majority: K3s stopped, the node deleted (its etcd member with it), the machine"
                + " destroyed"));
        }
        if (K3S.stream().anyMatch(env -> differs(recorded, wanted, env))) {
            List<Plan.Machine> order = new ArrayList<>(of(before, "server"));
            order.addAll(of(before, "agent"));
            steps.add(new Step(Kind.UPGRADE, order, upgrade(recorded, wanted, running, before)));
        }
        List<Plan.Machine> newServers = of(added, "server");
        if (!newServers.isEmpty()) {
            String convert = recorded.getOrDefault("SERVERS", "1").equals("1") ? "convert " + before.get(0).name()
                + " from SQLite to embedded etcd (K3s restarted with --cluster-init), then " : "";
            steps.add(new Step(Kind.ADD_SERVERS, newServers, convert + "join " + list(newServers)
                + " as servers, one at a time"));
        }
        List<Plan.Machine> newAgents = of(added, "agent");
        if (!newAgents.isEmpty()) {
            steps.add(new Step(Kind.ADD_AGENTS, newAgents, "add " + list(newAgents) + ": booted with vagrant up and"
                + " joined as agents while the other machines keep running"));
        }
        perMachine(recorded, wanted, after, steps);
        ClusterChange change = new ClusterChange(steps);
        Set<String> keys = new TreeSet<>(recorded.keySet());
        keys.addAll(wanted.keySet());
        for (String env : keys) if (differs(withCounts(recorded), wanted, env)) change.changed.add(env);
        return change;
    }

    /** Prints the plan on err: what is added, upgraded, removed, in order. */
    void print(PrintWriter err, String cluster) {
        if (steps.isEmpty()) return;
        err.println("k3s-up: this changes the running cluster " + cluster + " (the flags given; the others keep "
            + "the values it was made with):");
        for (int i = 0; i < steps.size(); i++) err.println("  " + (i + 1) + ". " + steps.get(i).what());
        err.flush();
    }

    /**
     * Asks "apply? [y/N]" on the terminal unless the plan is empty or yes (--yes) is given; refuses (exit 7)
     * a no, and a plan with no terminal to ask on. Nothing is changed before.
     */
    void confirm(boolean yes) {
        if (steps.isEmpty() || yes) return;
        Boolean answer = TerminalQuestion.yes("apply? [y/N]");
        if (answer == null) {
            throw refused("the plan above changes a running cluster and there is no terminal to ask on: run again"
                + " with --yes to apply it; nothing was changed");
        }
        if (!answer) throw refused("not applied: nothing was changed");
    }

    private static String upgrade(Map<String, String> recorded, Map<String, String> wanted, String running,
                                  List<Plan.Machine> machines) {
        String from = recorded.get("K3S_VERSION") != null ? recorded.get("K3S_VERSION") : running;
        String to = wanted.get("K3S_VERSION");
        String target;
        if (to != null && !to.equals(from)) {
            if (from != null) K3sVersionStep.require(from, to);
            target = (from != null ? from : "the version the nodes run") + " -> " + to;
        } else if (differs(recorded, wanted, "K3S_CHANNEL")) {
            target = "channel " + recorded.get("K3S_CHANNEL") + " -> " + wanted.get("K3S_CHANNEL")
                + " (its newest version, checked like --k3s-version once known)";
        } else {
            target = "K3s " + (to != null ? to : "") + " from " + shown(wanted.get("AIRGAP_DIR"));
        }
        List<Plan.Machine> agents = of(machines, "agent");
        return "upgrade K3s, " + target.strip() + ": a rolling upgrade, one node at a time, each Ready at the new"
            + " version before the next: servers " + list(of(machines, "server")) + ", then agents "
            + (agents.isEmpty() ? "" : list(agents) + " and ") + "the hosts k3s-join added";
    }

    /**
     * Refuses fewer servers than a majority of those running: etcd must agree at every step of the way down, and
     * a lone server left on etcd would no longer have --cluster-init in its flags (3 -> 1 is refused).
     */
    static void requireMajority(int servers, int wanted) {
        int majority = servers / 2 + 1;
        int fewest = majority % 2 == 0 ? majority + 1 : majority; // server counts are odd
        if (wanted < majority) {
            throw refused("--servers " + servers + " -> " + wanted + " goes below a majority of the running servers"
                + " (" + majority + " of " + servers + "), which embedded etcd needs to agree on anything: nothing"
                + " was changed. " + (fewest < servers ? "Go down to " + fewest + " first, then again; a"
                : "A cluster of " + servers + " servers cannot shrink in place: a") + " single server needs a new"
                + " cluster (k3s-down, then k3s-up --servers 1)");
        }
    }

    private static void perMachine(Map<String, String> recorded, Map<String, String> wanted,
                                   List<Plan.Machine> machines, List<Step> steps) {
        List<String> changes = new ArrayList<>();
        boolean agents = false;
        boolean servers = false;
        for (String env : PER_MACHINE.keySet().stream().sorted().toList()) {
            if (!differs(recorded, wanted, env)) continue;
            changes.add(flag(env) + " " + shown(recorded.get(env)) + " -> " + shown(wanted.get(env)));
            agents |= !PER_MACHINE.get(env).equals("server");
            servers |= !PER_MACHINE.get(env).equals("agent");
        }
        if (changes.isEmpty()) return;
        List<Plan.Machine> order = new ArrayList<>(agents ? of(machines, "agent") : List.of());
        if (servers) order.addAll(of(machines, "server"));
        steps.add(new Step(Kind.PER_MACHINE, order, String.join(", ", changes) + ": applied one machine at a time"
            + " (halted, changed, booted, Ready again), servers last: " + list(order)));
    }

    private static List<String> fixed() {
        List<String> fixed = new ArrayList<>(List.of("PROVIDER"));
        fixed.addAll(Settings.changing("fixed").keySet());
        return List.copyOf(fixed);
    }

    /** The API port (settings.yaml's api_port, read from the server flags) stays what the cluster was made with. */
    private static void refuseApiPortChange(Map<String, String> recorded, Map<String, String> wanted) {
        var rule = Settings.table().path("api_port");
        String flags = rule.path("flags").asText();
        String option = flag(flags);
        int before = Plan.apiPort(recorded.get(flags), option);
        int after = Plan.apiPort(wanted.get(flags), option);
        if (before != after) {
            throw refused(Settings.say(rule.path("changed").asText(), Map.of("setting", option,
                "before", String.valueOf(before), "after", String.valueOf(after))));
        }
    }

    private static Map<String, String> withCounts(Map<String, String> recorded) {
        Map<String, String> plan = new LinkedHashMap<>(recorded);
        for (String count : List.of("SERVERS", "WORKERS")) plan.putIfAbsent(count, Settings.defaultOf(count));
        return plan;
    }

    /** Whether a setting differs between two settings maps, empty and unset being the same. */
    static boolean differs(Map<String, String> recorded, Map<String, String> wanted, String env) {
        return !Objects.equals(emptyIsUnset(recorded.get(env)), emptyIsUnset(wanted.get(env)));
    }

    private static String emptyIsUnset(String value) {
        return value == null || value.isEmpty() ? null : value;
    }

    private static boolean named(List<Plan.Machine> machines, String name) {
        return machines.stream().anyMatch(m -> m.name().equals(name));
    }

    private static List<Plan.Machine> of(List<Plan.Machine> machines, String role) {
        return machines.stream().filter(m -> m.role().equals(role)).toList();
    }

    private static List<Plan.Machine> reversed(List<Plan.Machine> machines) {
        return machines.stream().sorted(Comparator.comparingInt(machines::indexOf).reversed()).toList();
    }

    private static String list(List<Plan.Machine> machines) {
        return String.join(", ", machines.stream().map(m -> m.name() + " (" + m.ip() + ")").toList());
    }

    private static String flag(String env) {
        return env.equals("PROVIDER") ? "--provider" : Settings.flagOf(env);
    }

    private static String shown(String value) {
        return value == null || value.isEmpty() ? "unset" : value;
    }

    private static Cli.Failure refused(String message) {
        return Cli.fail(Cli.REFUSED, message);
    }
}
