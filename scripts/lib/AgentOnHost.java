//SOURCES Cli.java
//SOURCES Shell.java
//SOURCES Ssh.java
//SOURCES AgentInstall.java

import java.time.Duration;
import java.util.Arrays;

/** The K3s agent already on a host, read without a secret leaving the host: its cluster, its token. */
final class AgentOnHost {
    private AgentOnHost() {
    }

    /**
     * Sets $env to the agent's env file under the root $1: K3s's installer takes openrc where
     * /sbin/openrc-run exists (it looks there first), else systemd, and keeps the file where each reads it.
     */
    static final String AGENT_ENV_FILE = "if [ -x \"$1\"/sbin/openrc-run ]; then "
        + "env=\"$1\"/etc/rancher/k3s/k3s-agent.env;"
        + " else env=\"$1\"/etc/systemd/system/k3s-agent.service.env; fi; ";

    /**
     * A K3s agent's settings on a host, none of them secret: whether its service runs, the
     * server URL and the CA hash its env file names (from a full token), and the hash of the
     * CA its agent fetched from the server (agent/server-ca.crt, K3s's /cacerts, hashed as K3s's
     * hashCA by k3s-common.sh's ca_hash). present is false when the host has no agent.
     */
    record Found(boolean present, boolean active, String serverUrl, String tokenCa, String fetchedCa) {
        /** The cluster it belongs to: the CA its token names, else the one it fetched; null when neither tells. */
        String clusterCa() {
            return tokenCa != null ? tokenCa : fetchedCa;
        }
    }

    /** What joining a host takes: nothing (a running agent of this cluster), an install, or a reinstall. */
    enum Action { NOTHING, INSTALL, REPLACE }

    /**
     * Whether the host's agent belongs to this cluster, judged by the cluster's identity (its CA
     * hash), not by its URL: every default cluster has the same one, so a host kept from an
     * earlier cluster (k3s-down --keep-hosts) would pass for joined and never be installed.
     * An agent of another cluster is refused (exit 7) unless replace (--replace).
     */
    static Action action(Found found, String hostname, String serverUrl, String clusterCa, boolean replace) {
        if (!found.present()) return Action.INSTALL;
        String theirs = found.clusterCa();
        // a short token and an agent that never reached its server: its URL is all there is to go by
        boolean ours = theirs != null ? theirs.equals(clusterCa) : serverUrl.equals(found.serverUrl());
        if (ours) return found.active() ? Action.NOTHING : Action.INSTALL;
        if (replace) return Action.REPLACE;
        String theirUrl = found.serverUrl() != null ? found.serverUrl() : "not named";
        String identity = theirs != null ? "its CA is sha256 " + shortHash(theirs) + "..., this cluster's sha256 "
            + shortHash(clusterCa) + "..." : "its token names no CA, and its server is not this cluster's";
        throw Cli.fail(Cli.REFUSED, hostname + " is a K3s agent of another cluster (server " + theirUrl + "; "
            + identity + "), left perhaps from an earlier cluster (k3s-down --keep-hosts); nothing was changed. "
            + "To make it an agent of this cluster, run the same k3s-join with --replace (it uninstalls that agent "
            + "first), or remove it on the host: sudo /usr/local/bin/k3s-agent-uninstall.sh");
    }

    private static String shortHash(String hash) {
        return hash == null ? "?" : hash.substring(0, Math.min(12, hash.length()));
    }

    /**
     * Reads the agent's env file (K3s's installer writes K3S_URL='URL'; older ones "URL") and
     * prints only the URL and the token's CA hash: the secret never leaves the host. The values
     * reach the fixed script as $1 and $2, each quoted; k3s-common.sh (for ca_hash) comes on stdin.
     */
    static Found read(Ssh host, String root, String systemctl, String rcService) {
        String script = AGENT_ENV_FILE + "[ -f \"$env\" ] || exit 0; echo present; "
            + "if [ -x \"$1\"/sbin/openrc-run ]; then \"$3\" k3s-agent status >/dev/null 2>&1 && echo active;"
            + " elif \"$2\" is-active --quiet k3s-agent; then echo active; fi; "
            + "sed -n -e \"s/^K3S_URL=[\\\"']\\{0,1\\}\\([^\\\"']*\\)[\\\"']\\{0,1\\}\\$/url=\\1/p\" "
            + "-e \"s/^K3S_TOKEN=[\\\"']\\{0,1\\}K10\\([0-9a-f]\\{64\\}\\)::.*/token-ca=\\1/p\" \"$env\"; "
            + "ca=\"$1\"/var/lib/rancher/k3s/agent/server-ca.crt; "
            + "if [ -f \"$ca\" ]; then . /dev/stdin && echo \"fetched-ca=$(ca_hash \"$ca\")\"; fi";
        String command = host.sudo() + "bash -c " + Shell.quote(script) + " bash " + Shell.quote(root) + " "
            + Shell.quote(systemctl) + " " + Shell.quote(rcService);
        Ssh.Result result = host.exec(command, AgentInstall.resource("k3s-common.sh"), Duration.ofSeconds(30));
        // read as "no agent", a failure here would install over an agent it could not see
        if (!result.ok()) {
            throw Cli.fail(Cli.FAILED, "reading the K3s agent's settings on " + host.target.label() + " failed (exit "
                + result.exitStatus() + "): " + Cli.lastLines(result.stderr() + result.stdout(), 5)
                + "; nothing was changed");
        }
        boolean present = false;
        boolean active = false;
        String url = null;
        String tokenCa = null;
        String fetchedCa = null;
        for (String line : result.stdout().split("\n")) {
            if (line.equals("present")) present = true;
            else if (line.equals("active")) active = true;
            else if (line.startsWith("url=")) url = line.substring(4);
            else if (line.startsWith("token-ca=")) tokenCa = line.substring(9);
            else if (line.startsWith("fetched-ca=") && line.length() == 11 + 64) fetchedCa = line.substring(11);
        }
        return new Found(present, active, url, tokenCa, fetchedCa);
    }

    /**
     * True when the host's agent env file holds this token: one holding another (the server token, which
     * older versions handed out, or one from before `k3s token rotate`) is installed again. The token
     * reaches the host's shell on stdin and only builtins expand it: never on a command line.
     */
    static boolean holdsToken(Ssh agent, String root, byte[] token) {
        String script = "IFS= read -r t; " + AGENT_ENV_FILE
            + " { printf 'K3S_TOKEN=%s\\n' \"$t\"; printf \"K3S_TOKEN='%s'\\n\" \"$t\";"
            + " printf 'K3S_TOKEN=\"%s\"\\n' \"$t\"; } | grep -qxF -f - \"$env\"";
        String command = agent.sudo() + "sh -c " + Shell.quote(script) + " sh " + Shell.quote(root);
        byte[] line = Arrays.copyOf(token, token.length + 1);
        line[token.length] = '\n';
        try {
            return agent.exec(command, line, Duration.ofSeconds(30)).ok();
        } finally {
            Arrays.fill(line, (byte) 0);
        }
    }
}
