//SOURCES Cli.java
//SOURCES Log.java

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The skeleton of a step: its log, its --help's standard options and exit codes, its numbered
 * stages and its one result on stdout. A step says only what is its own.
 */
abstract class Step implements Callable<Integer> {
    static final String VERSION = "k3s-vagrant 0.1";

    @Spec CommandSpec spec;
    @Mixin Log.Options logOptions;

    /** The log of this run: made before run() starts. */
    Log log;

    /** The exit codes this step can end with; their meanings are Cli's. */
    abstract int[] exitCodes();

    /** What this step adds to the shared meaning of some of its exit codes, by code. */
    Map<Integer, String> exitCodeDetails() {
        return Map.of();
    }

    /** The stages this step goes through, in order: stage() numbers its log lines "2/4" from this list. */
    List<String> stages() {
        return List.of();
    }

    /** Options whose names are not constants (see SshHostOptions): added to the command before it parses. */
    void addOptions(CommandSpec command) {
    }

    /** The step's work, with log ready; returns its exit code. */
    abstract int run();

    @Override
    public final Integer call() {
        log = new Log(spec.commandLine().getErr(), spec.name(), logOptions);
        return run();
    }

    /** The parts of --help every step has, set on its command before it runs (annotations hold constants only). */
    final void describe(CommandSpec command) {
        addOptions(command);
        command.mixinStandardHelpOptions(true);
        command.version(VERSION);
        command.usageMessage().exitCodeListHeading("%nExit codes:%n")
            .exitCodeList(Cli.exitCodeList(exitCodeDetails(), exitCodes()));
    }

    /** Logs the start of one of stages(), numbered by its place there. */
    final void stage(String stage, String message) {
        List<String> all = stages();
        int at = all.indexOf(stage);
        if (at < 0) throw new IllegalArgumentException("stage '" + stage + "' is not one of " + all);
        log.step((at + 1) + "/" + all.size() + " " + message);
    }

    /** Prints the step's result (JSON, or what --print asks for): the only thing on stdout. */
    final void print(String text) {
        PrintWriter out = spec.commandLine().getOut();
        out.print(text);
        out.flush();
    }
}
