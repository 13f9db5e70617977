//SOURCES Cli.java
//SOURCES Log.java
//SOURCES Ssh.java
//SOURCES Shell.java
//SOURCES Nodes.java

import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** What a step reads from or changes on a K3s server over SSH: the agent token, the kubeconfig, its nodes. */
final class K3sServer {
    private K3sServer() {}

    /** The token agents join with (K3s's --agent-token; the server token when the server has none of its own). */
    static final String AGENT_TOKEN_PATH = "/var/lib/rancher/k3s/server/agent-token";
    static final String KUBECONFIG_PATH = "/etc/rancher/k3s/k3s.yaml";

    /**
     * The agents' join token (K10<ca-hash>::node:<secret>): a secret, kept in memory only. The server token
     * makes its holder an admin of the cluster, so a host that only runs an agent never gets it.
     */
    static byte[] agentToken(Ssh server, Log log) {
        String token = server.run(server.sudo() + "cat " + AGENT_TOKEN_PATH,
            "reading the K3s agent token (" + AGENT_TOKEN_PATH + ")").strip();
        if (token.isEmpty()) {
            throw Cli.fail(Cli.FAILED, AGENT_TOKEN_PATH + " is empty on " + server.target.label()
                + ": is K3s's server running?");
        }
        // K3s writes the server token there when started without --agent-token (a cluster of an older k3s-up)
        if (token.matches("K10[0-9a-f]*::server:.*")) {
            log.warn("the server " + server.target.label() + " has no agent token of its own, "
                + "so this host gets the server token: run k3s-up on the cluster (it gives the servers an agent "
                + "token), then k3s-join again");
        }
        return token.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The cluster's identity: the CA hash that K3s puts in its full token (K10<sha256 hex>::...),
     * or null for a token without one. Only the hash is read: the secret stays in the bytes.
     */
    static String caHash(byte[] token) {
        if (token.length < 69 || token[67] != ':' || token[68] != ':') return null;
        if (!new String(token, 0, 3, StandardCharsets.US_ASCII).equals("K10")) return null;
        String hash = new String(token, 3, 64, StandardCharsets.US_ASCII);
        return hash.matches("[0-9a-f]{64}") ? hash : null;
    }

    static String kubeconfig(Ssh server) {
        return server.run(server.sudo() + "cat " + KUBECONFIG_PATH,
            "reading " + KUBECONFIG_PATH + " (is this a K3s server?)");
    }

    /** Deletes a node on the server; a node already gone is no error. */
    static Ssh.Result deleteNode(Ssh server, String name) {
        String command = server.sudo() + "k3s kubectl delete node --ignore-not-found "
            + Shell.quote(Nodes.nodeName(name));
        return server.exec(command, null, Duration.ofMinutes(2));
    }
}
