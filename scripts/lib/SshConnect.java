//DEPS com.github.mwiede:jsch:2.28.8
//SOURCES Cli.java
//SOURCES Interruption.java
//SOURCES Ssh.java
//SOURCES SshAgent.java
//SOURCES SshJump.java
//SOURCES KnownHosts.java
//SOURCES SshFailures.java
//SOURCES Log.java

import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Session;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Opening an SSH connection: retried with backoff while the host is not reachable yet (a booting
 * machine refuses connections), never after an authentication or host key failure; through jump hosts.
 */
final class SshConnect {
    private SshConnect() {
    }

    /** Ssh.connect through the jump hosts in order (ssh -J), each host key checked like target's. */
    static Ssh connect(Ssh.Target target, List<Ssh.Target> jumps, Duration retryFor, Log log) {
        long deadline = System.nanoTime() + retryFor.toNanos();
        long backoffMillis = 1000;
        while (true) {
            List<Session> opened = new ArrayList<>();
            Ssh.Target hop = target;
            try {
                for (Ssh.Target jump : jumps) {
                    hop = jump;
                    opened.add(open(jump, opened.isEmpty() ? null : opened.get(opened.size() - 1)));
                }
                hop = target;
                Session session = open(target, opened.isEmpty() ? null : opened.get(opened.size() - 1));
                return new Ssh(session, target, List.copyOf(opened));
            } catch (JSchException e) {
                for (int i = opened.size() - 1; i >= 0; i--) opened.get(i).disconnect();
                Ssh.Target failed = hop;
                if (failed != target) {
                    failed = new Ssh.Target(hop.host(), hop.port(), hop.user(), hop.keys(), hop.knownHosts(),
                        hop.hostKeyCheck(), hop.label() + ", the jump host to " + target.label() + ",");
                }
                if (!SshFailures.isUnreachable(e) || System.nanoTime() + backoffMillis * 1_000_000 > deadline) {
                    throw SshFailures.explain(failed, e);
                }
                if (log != null) {
                    log.info(failed.label() + " not reachable yet (" + Cli.rootMessage(e) + "), retrying in "
                        + backoffMillis / 1000 + " s");
                }
                Interruption.pause(backoffMillis, "to connect again");
                backoffMillis = Math.min(backoffMillis * 2, 10_000);
            }
        }
    }

    /** A session to target, directly or (through not null) over a channel of the jump host's session. */
    private static Session open(Ssh.Target target, Session through) throws JSchException {
        JSch jsch = new JSch();
        SshAgent.offer(jsch, target.keys(), target.label());
        KnownHosts.use(jsch, target);
        Session session = jsch.getSession(target.user(), target.host(), target.port());
        session.setConfig("StrictHostKeyChecking", target.hostKeyCheck() == Ssh.HostKeyCheck.OFF ? "no" : "yes");
        session.setConfig("PreferredAuthentications", "publickey");
        session.setServerAliveInterval(15_000);
        session.setServerAliveCountMax(4);
        if (through != null) session.setProxy(new SshJump(through));
        session.connect(20_000);
        return session;
    }
}
