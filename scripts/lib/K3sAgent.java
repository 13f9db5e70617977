//SOURCES Cli.java
//SOURCES Log.java
//SOURCES Ssh.java
//SOURCES Shell.java

import java.time.Duration;

/** K3s on a host, taken off again with its own uninstall script (an agent's, or a server's). */
final class K3sAgent {
    private K3sAgent() {}

    /** Removes K3s's agent from a host with K3s's own uninstall script; nothing to do when it is not there. */
    static void uninstall(Ssh host, Log log) {
        uninstall(host, "k3s-agent-uninstall.sh", log);
    }

    /** script: k3s-agent-uninstall.sh or (a server) k3s-uninstall.sh, as K3s's installer names them. */
    static void uninstall(Ssh host, String name, Log log) {
        String script = "if [ -x \"$1\" ]; then \"$1\"; else echo no K3s here; fi";
        Ssh.Result result = host.exec(host.sudo() + "sh -c " + Shell.quote(script) + " sh "
            + Shell.quote("/usr/local/bin/" + name), null, Duration.ofMinutes(5), log::detail);
        if (!result.ok()) {
            throw Cli.fail(Cli.FAILED, name + " failed on " + host.target.label() + " (exit "
                + result.exitStatus() + "): " + Cli.lastLines(result.stdout() + result.stderr(), 5));
        }
    }
}
