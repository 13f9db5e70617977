//DEPS com.github.mwiede:jsch:2.28.8
//SOURCES Cli.java
//SOURCES Ssh.java
//SOURCES SshAgent.java
//SOURCES KnownHosts.java

import com.jcraft.jsch.JSchException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;

/** What a failed SSH connection means to the user: the cause in their words and the fix. */
final class SshFailures {
    private SshFailures() {
    }

    /** The host is not up yet, or not there: worth retrying while a machine boots. */
    static boolean isUnreachable(JSchException e) {
        Throwable cause = e.getCause();
        if (cause instanceof ConnectException || cause instanceof NoRouteToHostException
                || cause instanceof SocketTimeoutException) {
            return true;
        }
        String message = String.valueOf(e.getMessage());
        // a machine still booting: sshd accepts, then closes before the banner
        return message.contains("timeout") || message.contains("Connection refused")
            || message.contains("connection is closed by foreign host");
    }

    static Cli.Failure explain(Ssh.Target target, JSchException e) {
        String message = String.valueOf(e.getMessage());
        String where = target.label();
        if (message.contains("Auth fail") || message.contains("USERAUTH fail")) {
            return new Cli.Failure(Cli.SSH_FAILED, "SSH authentication failed for " + where + " with "
                + SshAgent.describe(target.keys())
                + ": check the user name and --ssh-key, and that the key is in the host's ~/.ssh/authorized_keys"
                + SshAgent.lockedHint(target.keys()), e);
        }
        if (message.contains("HostKey has been changed") || message.contains("has been changed")) {
            return new Cli.Failure(Cli.SSH_FAILED, "the host key of " + where
                + " has CHANGED since it was recorded in known_hosts: someone may be intercepting the connection,"
                + " or the host was reinstalled. If you trust it, remove the old key "
                + "(" + KnownHosts.removeCommand(target) + ") or pass --host-key-check off", e);
        }
        if (message.contains("UnknownHostKey") || message.contains("reject HostKey")) {
            return new Cli.Failure(Cli.SSH_FAILED, "the host key of " + where
                + " is not in known_hosts and --host-key-check is strict: "
                + "connect once with ssh to check and record it, or pass --host-key-check accept-new", e);
        }
        if (e.getCause() instanceof UnknownHostException) {
            return new Cli.Failure(Cli.SSH_FAILED,
                "cannot resolve host name " + target.host() + ": check the address", e);
        }
        if (isUnreachable(e)) {
            return new Cli.Failure(Cli.SSH_FAILED, "cannot reach " + where + " over SSH (" + Cli.rootMessage(e)
                + "): is the host up, the address and port right, and sshd running?", e);
        }
        return new Cli.Failure(Cli.SSH_FAILED, "SSH to " + where + " failed: " + Cli.rootMessage(e), e);
    }
}
