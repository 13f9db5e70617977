//SOURCES Cli.java
//SOURCES Cluster.java
//SOURCES Shell.java
//SOURCES Ssh.java

import java.time.Duration;

/**
 * The private folder on a host that one k3s-join's agent install uploads into (agent.sh, the
 * air-gap files, the token). The join's retry loop owns it: a folder an attempt could not
 * remove, its connection dropped, is removed by the next attempt before anything else.
 */
final class InstallFolder {
    /** The folder on the host; null before an install makes it and once it is removed. */
    private String path;

    /** Makes a new private folder (mktemp, mode 700) on the host; its path. */
    String make(Ssh agent) {
        String dir = agent.run("umask 077 && mktemp -d /tmp/k3s-join.XXXXXX", "creating a private temporary folder")
            .strip();
        if (!dir.matches("/tmp/k3s-join\\.[A-Za-z0-9]{6,}")) {
            throw Cli.fail(Cli.FAILED, "mktemp on " + agent.target.label() + " made " + Cluster.shown(dir)
                + ", not a folder /tmp/k3s-join.XXXXXX: check the host's mktemp");
        }
        path = dir;
        return dir;
    }

    /** Removes the folder, if there is one, stopping an agent.sh still running there; kept when that fails. */
    void remove(Ssh agent) {
        if (path == null) return;
        // the dropped attempt's agent.sh may still run there (waiting for the server): stop it first
        Ssh.Result removed = agent.exec(stopAndRemove(agent, path), null, Duration.ofSeconds(30));
        if (removed.ok()) path = null;
    }

    /**
     * Stops an agent.sh still running from dir and removes dir ("[/]tmp": pkill must not match
     * this very command). The script is fixed; the values reach it as $1 and $2, each quoted.
     */
    static String stopAndRemove(Ssh agent, String dir) {
        String pattern = "[" + dir.charAt(0) + "]" + dir.substring(1) + "/agent[.]sh";
        return agent.sudo() + "sh -c " + Shell.quote("pkill -f \"$1\"; rm -rf \"$2\"") + " sh " + Shell.quote(pattern)
            + " " + Shell.quote(dir);
    }
}
