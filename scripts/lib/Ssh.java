//DEPS com.github.mwiede:jsch:2.28.8
//SOURCES Cli.java
//SOURCES Interruption.java
//SOURCES Shell.java
//SOURCES SshAgent.java
//SOURCES SshConnect.java
//SOURCES SshFailures.java
//SOURCES LineCollector.java
//SOURCES SftpUpload.java
//SOURCES Sudo.java
//SOURCES Log.java

import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Session;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import picocli.CommandLine.Option;

/** SSH to a Vagrant machine or any host, with JSch: run commands, upload files. */
final class Ssh implements AutoCloseable {

    /** How an unknown or changed host key is treated (OpenSSH's StrictHostKeyChecking). */
    enum HostKeyCheck {
        /** remember a new host's key in known_hosts, refuse a changed one (OpenSSH's accept-new) */
        ACCEPT_NEW,
        /** refuse any host whose key is not already in known_hosts */
        STRICT,
        /** check nothing: Vagrant machines, whose keys change with every new VM */
        OFF;

        static HostKeyCheck parse(String text) {
            return switch (text) {
                case "accept-new" -> ACCEPT_NEW;
                case "strict", "yes" -> STRICT;
                case "off", "no" -> OFF;
                default -> throw Cli.fail(Cli.USAGE,
                    "--host-key-check must be accept-new, strict or off, not '" + text + "'");
            };
        }
    }

    /** The host key options of every step that reaches SSH hosts (Vagrant machines are never checked). */
    static final class HostKeyOptions {
        @Option(names = "--host-key-check", paramLabel = "MODE",
            description = "For SSH hosts: accept-new (record a new host's key, refuse a changed one), strict, or off "
                + "(default: ssh_config's StrictHostKeyChecking, else accept-new).")
        String hostKeyCheck;

        @Option(names = "--known-hosts", paramLabel = "FILE",
            description = "known_hosts file for SSH hosts (default: ~/.ssh/known_hosts).")
        Path knownHosts;

        HostKeyCheck check() {
            return hostKeyCheck == null ? HostKeyCheck.ACCEPT_NEW : HostKeyCheck.parse(hostKeyCheck);
        }

        /** The mode given, or null: then ssh_config's StrictHostKeyChecking decides (see SshConfig). */
        HostKeyCheck chosen() {
            return hostKeyCheck == null ? null : HostKeyCheck.parse(hostKeyCheck);
        }
    }

    /** Where and how to connect. */
    record Target(String host, int port, String user, List<Path> keys, Path knownHosts, HostKeyCheck hostKeyCheck,
            String label) {

        /** "user@host" or "host" (user defaults to the caller's login name). */
        static Target ofAddress(String address, int port, Path key, Path knownHosts, HostKeyCheck check) {
            String user = System.getProperty("user.name");
            String host = address;
            int at = address.lastIndexOf('@');
            if (at >= 0) {
                user = address.substring(0, at);
                host = address.substring(at + 1);
            }
            if (host.isEmpty() || user.isEmpty() || host.contains(" ")) {
                throw Cli.fail(Cli.USAGE,
                    "'" + address + "' is not an SSH address: use user@host, e.g. pi@192.168.1.20");
            }
            if (port < 1 || port > 65535) {
                throw Cli.fail(Cli.USAGE, "SSH port " + port + " is not a port number (1-65535)");
            }
            List<Path> keys = new ArrayList<>();
            if (key != null) {
                if (!Files.isReadable(key)) {
                    throw Cli.fail(Cli.USAGE, "SSH key " + key
                        + " does not exist or is not readable: pass --ssh-key with a private key file");
                }
                keys.add(key);
            } else {
                keys.addAll(SshAgent.defaultKeys());
            }
            String label = user + "@" + host + (port == 22 ? "" : ":" + port);
            return new Target(host, port, user, keys, knownHosts, check, label);
        }

        /**
         * From `vagrant ssh-config` output: HostName, Port, User and IdentityFile. Vagrant
         * quotes an IdentityFile path holding a space; the quotes are not part of the path.
         */
        static Target ofVagrantSshConfig(String machine, String sshConfig) {
            String host = null;
            String user = "vagrant";
            int port = 22;
            List<Path> keys = new ArrayList<>();
            for (String raw : sshConfig.split("\n")) {
                String line = raw.strip();
                int space = line.indexOf(' ');
                if (space < 0) continue;
                String key = line.substring(0, space);
                String value = line.substring(space + 1).strip();
                if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
                    value = value.substring(1, value.length() - 1);
                }
                switch (key) {
                    case "HostName" -> host = value;
                    case "User" -> user = value;
                    case "Port" -> port = Integer.parseInt(value);
                    case "IdentityFile" -> keys.add(Path.of(value));
                    default -> { }
                }
            }
            if (host == null) {
                throw Cli.fail(Cli.FAILED,
                    "vagrant ssh-config " + machine + " gave no HostName: is the machine running?");
            }
            return new Target(host, port, user, keys, null, HostKeyCheck.OFF, machine + " (vagrant)");
        }
    }

    /** A finished remote command. */
    record Result(int exitStatus, String stdout, String stderr) {
        boolean ok() {
            return exitStatus == 0;
        }
    }

    private final Session session;
    final Target target;
    /** The sessions of the jump hosts this one goes through, first hop first. */
    private final List<Session> jumpSessions;

    /** What runs a command as root, or null when the user is root; tests point it at a stand-in. */
    String sudoProgram;
    private boolean sudoChecked;

    Ssh(Session session, Target target, List<Session> jumpSessions) {
        this.session = session;
        this.target = target;
        this.jumpSessions = jumpSessions;
        this.sudoProgram = target.user().equals("root") ? null : "sudo";
    }

    /**
     * Connects, retrying with backoff while the host is not reachable yet (a booting
     * machine refuses connections), never after an authentication or host key failure.
     */
    static Ssh connect(Target target, Duration retryFor, Log log) {
        return connect(target, List.of(), retryFor, log);
    }

    /** As connect, through the jump hosts in order (ssh -J), each host key checked like target's. */
    static Ssh connect(Target target, List<Target> jumps, Duration retryFor, Log log) {
        return SshConnect.connect(target, jumps, retryFor, log);
    }

    /** Whether the connection is still up, as far as SSH knows (a silent drop shows on the next command). */
    boolean connected() {
        return session.isConnected();
    }

    /** Runs a command; stdin (may be null) is written to it, then closed. */
    Result exec(String command, byte[] stdin, Duration timeout) {
        return exec(command, stdin, timeout, null);
    }

    /** As exec, and hands every output line to lines (for progress) as it comes. */
    Result exec(String command, byte[] stdin, Duration timeout, Consumer<String> lines) {
        ChannelExec channel = null;
        try {
            channel = (ChannelExec) session.openChannel("exec");
            channel.setCommand(command);
            channel.setInputStream(new ByteArrayInputStream(stdin == null ? new byte[0] : stdin), false);
            LineCollector out = new LineCollector(lines);
            LineCollector err = new LineCollector(lines);
            channel.setOutputStream(out, true);
            // "true": closing the channel must not close the stream we hand it
            channel.setErrStream(err, true);
            channel.connect(20_000);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!channel.isClosed()) {
                if (System.nanoTime() > deadline) {
                    throw Cli.fail(Cli.TIMED_OUT, "'" + firstWord(command) + "' on " + target.label()
                        + " did not finish within " + timeout.toSeconds() + " s");
                }
                if (!session.isConnected()) throw dropped(command);
                Interruption.pause(50, "for a remote command");
            }
            out.flushLine();
            err.flushLine();
            // no exit status and no session: the channel closed because the connection went
            if (channel.getExitStatus() == -1 && sessionGone()) throw dropped(command);
            return new Result(channel.getExitStatus(), out.text(), err.text());
        } catch (JSchException e) {
            if (!session.isConnected()) throw dropped(command);
            throw SshFailures.explain(target, e);
        } finally {
            if (channel != null) channel.disconnect();
        }
    }

    /** The connection went away while a command ran: what the command did on the host is unknown. */
    static final class ConnectionDropped extends Cli.Failure {
        ConnectionDropped(String message) {
            super(Cli.SSH_FAILED, message);
        }
    }

    /**
     * Whether the session is gone. JSch closes a dead session's channels before it marks
     * the session disconnected, so a channel can end without an exit status while the
     * session still reads as connected: give it a moment (at most 2 s) to say.
     */
    private boolean sessionGone() {
        long end = System.nanoTime() + 2_000_000_000L;
        while (session.isConnected() && System.nanoTime() < end) Interruption.pause(20, "for SSH to close");
        return !session.isConnected();
    }

    private ConnectionDropped dropped(String command) {
        return new ConnectionDropped("the connection to " + target.label() + " dropped while running '"
            + firstWord(command) + "'");
    }

    /** Runs a command that must succeed; its stdout. */
    String run(String command, String what) {
        Result result = exec(command, null, Duration.ofMinutes(2));
        if (!result.ok()) {
            throw Cli.fail(Cli.FAILED, what + " failed on " + target.label() + " (exit " + result.exitStatus() + "): "
                + Cli.lastLines(result.stderr().isBlank() ? result.stdout() : result.stderr(), 5));
        }
        return result.stdout();
    }

    /** "sudo -n " when the user is not root: commands that need root go through it. */
    String sudo() {
        requireRoot();
        return sudoProgram == null ? "" : sudoProgram + " -n ";
    }

    /** Fails, naming the fix, unless the user is root or may sudo without a password (asked once). */
    void requireRoot() {
        if (sudoProgram == null || sudoChecked) return;
        Sudo.require(this, sudoProgram);
        sudoChecked = true;
    }

    /** Writes content to remotePath with the given mode, via SFTP; the file is created with that mode. */
    void upload(byte[] content, String remotePath, String octalMode) {
        SftpUpload.bytes(session, target, content, remotePath, octalMode);
    }

    /** Copies a local file to remotePath with the given mode, streaming it (K3s's binary is large). */
    void upload(Path local, String remotePath, String octalMode) {
        SftpUpload.file(session, target, local, remotePath, octalMode);
    }

    @Override
    public void close() {
        session.disconnect();
        for (int i = jumpSessions.size() - 1; i >= 0; i--) jumpSessions.get(i).disconnect();
    }

    private static String firstWord(String command) {
        String trimmed = command.strip();
        int space = trimmed.indexOf(' ');
        return space < 0 ? trimmed : trimmed.substring(0, space) + " ...";
    }


}
