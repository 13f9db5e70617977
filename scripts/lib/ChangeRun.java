//SOURCES Cli.java
//SOURCES Log.java
//SOURCES Cluster.java
//SOURCES ClusterChange.java
//SOURCES ClusterFolder.java
//SOURCES ClusterHalt.java
//SOURCES Vagrant.java
//SOURCES AgentsRemoval.java
//SOURCES ChangePending.java
//SOURCES ServersRemoval.java
//SOURCES ServersAdd.java
//SOURCES RollingUpgrade.java
//SOURCES MachineSettingsChange.java

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Carries out a confirmed ClusterChange around k3s-up's own vagrant up, each kind of step in a file of its
 * own: what leaves the cluster goes before the new settings are written (the Vagrantfile still names it),
 * the upgrade and new servers after them and before vagrant up (which boots the new agents), and the
 * machines' own settings after it.
 */
final class ChangeRun {
    /** What a step's action is given: the cluster as recorded, the settings before and after, the time left. */
    record Context(Path folder, String provider, Map<String, String> recorded, Map<String, String> settings,
                   Vagrant vagrant, Supplier<Duration> remaining, Log log) {
        /** cluster.json as the last step recorded it: the nodes and how to reach them. */
        Cluster cluster() {
            Path file = folder.resolve(ClusterFolder.CLUSTER_FILE);
            try {
                return Cluster.parse(Files.readString(file), file.toString());
            } catch (IOException e) {
                throw Cli.fail(Cli.FAILED, "cannot read " + file + " (" + e.getMessage() + "): the change needs the"
                    + " cluster's nodes; run k3s-up without a change first, which writes it again");
            }
        }
    }

    /** One kind of step, carried out. */
    interface Action {
        void apply(ClusterChange.Step step, Context context);
    }

    private static final Map<ClusterChange.Kind, Action> BEFORE_SETTINGS = Map.of(
        ClusterChange.Kind.REMOVE_AGENTS, AgentsRemoval::apply,
        ClusterChange.Kind.REMOVE_SERVERS, ServersRemoval::apply);
    private static final Map<ClusterChange.Kind, Action> BEFORE_UP = Map.of(
        ClusterChange.Kind.UPGRADE, RollingUpgrade::apply,
        ClusterChange.Kind.ADD_SERVERS, ServersAdd::apply);
    private static final Map<ClusterChange.Kind, Action> AFTER_UP = Map.of(
        ClusterChange.Kind.PER_MACHINE, MachineSettingsChange::apply);

    private final ClusterChange change;
    private final Context context;

    /** context.recorded: cluster.env's settings; the actions get those a change that did not finish began from. */
    ChangeRun(ClusterChange change, Context context) {
        this.change = change;
        this.context = new Context(context.folder(), context.provider(), ChangePending.planFrom(context.folder(),
            context.recorded()), context.settings(), context.vagrant(), context.remaining(), context.log());
    }

    /** What leaves the cluster: run while cluster.env still holds the settings the machines were made with. */
    void beforeSettings() {
        if (!change.isEmpty()) ChangePending.begin(context.folder());
        run(BEFORE_SETTINGS);
    }

    /** Run once the new settings are written, before vagrant up. */
    void beforeUp() {
        run(BEFORE_UP);
    }

    /** Run after vagrant up has booted every machine of the new settings. */
    void afterUp() {
        run(AFTER_UP);
    }

    /** Whether afterUp() changes the running machines: what was seen of them before is then out of date. */
    boolean changesAfterUp() {
        return change.steps.stream().anyMatch(step -> AFTER_UP.containsKey(step.kind()));
    }

    private void run(Map<ClusterChange.Kind, Action> actions) {
        for (ClusterChange.Step step : change.steps) {
            Action action = actions.get(step.kind());
            if (action == null) continue;
            context.log().step(step.what());
            action.apply(step, context);
        }
    }

    /**
     * Refuses (exit 7), before anything changes, any step but new agents on a halted cluster: draining,
     * converting and joining servers, upgrading, changing a machine need the nodes running.
     */
    static void require(ClusterChange change, Path folder) {
        if (!ClusterHalt.isHalted(folder)) return;
        for (ClusterChange.Step step : change.steps) {
            if (step.kind() == ClusterChange.Kind.ADD_AGENTS) continue;
            throw Cli.fail(Cli.REFUSED, "the cluster is halted (k3s-down --halt), and this change needs its nodes"
                + " running (" + step.what() + "): run k3s-up without a change to resume it, then again with the"
                + " change; nothing was changed");
        }
    }

    /** Whether some phase carries out a kind of step; new agents are booted and joined by vagrant up itself. */
    static boolean built(ClusterChange.Kind kind) {
        return kind == ClusterChange.Kind.ADD_AGENTS || List.of(BEFORE_SETTINGS, BEFORE_UP, AFTER_UP).stream()
            .anyMatch(phase -> phase.containsKey(kind));
    }
}
