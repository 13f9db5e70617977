//SOURCES Cli.java
//SOURCES Log.java
//SOURCES Ssh.java

import java.time.Duration;

/** The K3s agent on a host: taking it off again. */
final class K3sAgent {
    private K3sAgent() {}

    /** Removes K3s's agent from a host with K3s's own uninstall script; nothing to do when it is not there. */
    static void uninstall(Ssh host, Log log) {
        String script = "/usr/local/bin/k3s-agent-uninstall.sh";
        Ssh.Result result = host.exec(host.sudo() + "sh -c 'if [ -x " + script + " ]; then " + script + "; "
            + "else echo no K3s agent here; fi'", null, Duration.ofMinutes(5), log::detail);
        if (!result.ok()) {
            throw Cli.fail(Cli.FAILED, "k3s-agent-uninstall.sh failed on " + host.target.label() + " (exit "
                + result.exitStatus() + "): " + Cli.lastLines(result.stdout() + result.stderr(), 5));
        }
    }
}
