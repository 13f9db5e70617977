//DEPS com.github.mwiede:jsch:2.28.8
//SOURCES Cli.java
//SOURCES OwnerOnly.java
//SOURCES Shell.java
//SOURCES SshAgent.java
//SOURCES SshJump.java
//SOURCES Sudo.java

import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.ChannelSftp;
import com.jcraft.jsch.HostKey;
import com.jcraft.jsch.HostKeyRepository;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Session;
import com.jcraft.jsch.SftpException;
import com.jcraft.jsch.UserInfo;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.Consumer;

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
                default -> throw Cli.fail(Cli.USAGE, "--host-key-check must be accept-new, strict or off, not '" + text + "'");
            };
        }
    }

    /** The host key options of every step that reaches SSH hosts (Vagrant machines are never checked). */
    static final class HostKeyOptions {
        @picocli.CommandLine.Option(names = "--host-key-check", paramLabel = "MODE",
            description = "For SSH hosts: accept-new (record a new host's key, refuse a changed one), strict, or off "
                + "(default: ssh_config's StrictHostKeyChecking, else accept-new).")
        String hostKeyCheck;

        @picocli.CommandLine.Option(names = "--known-hosts", paramLabel = "FILE", description = "known_hosts file for SSH hosts (default: ~/.ssh/known_hosts).")
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
    record Target(String host, int port, String user, List<Path> keys, Path knownHosts, HostKeyCheck hostKeyCheck, String label) {

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
                throw Cli.fail(Cli.USAGE, "'" + address + "' is not an SSH address: use user@host, e.g. pi@192.168.1.20");
            }
            if (port < 1 || port > 65535) {
                throw Cli.fail(Cli.USAGE, "SSH port " + port + " is not a port number (1-65535)");
            }
            List<Path> keys = new ArrayList<>();
            if (key != null) {
                if (!Files.isReadable(key)) {
                    throw Cli.fail(Cli.USAGE, "SSH key " + key + " does not exist or is not readable: pass --ssh-key with a private key file");
                }
                keys.add(key);
            } else {
                keys.addAll(SshAgent.defaultKeys());
            }
            return new Target(host, port, user, keys, knownHosts, check, user + "@" + host + (port == 22 ? "" : ":" + port));
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
                throw Cli.fail(Cli.FAILED, "vagrant ssh-config " + machine + " gave no HostName: is the machine running?");
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

    private Ssh(Session session, Target target, List<Session> jumpSessions) {
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
        long deadline = System.nanoTime() + retryFor.toNanos();
        long backoffMillis = 1000;
        while (true) {
            List<Session> opened = new ArrayList<>();
            Target hop = target;
            try {
                for (Target jump : jumps) {
                    hop = jump;
                    opened.add(open(jump, opened.isEmpty() ? null : opened.get(opened.size() - 1)));
                }
                hop = target;
                Session session = open(target, opened.isEmpty() ? null : opened.get(opened.size() - 1));
                return new Ssh(session, target, List.copyOf(opened));
            } catch (JSchException e) {
                for (int i = opened.size() - 1; i >= 0; i--) opened.get(i).disconnect();
                Target failed = hop;
                if (failed != target) {
                    failed = new Target(hop.host(), hop.port(), hop.user(), hop.keys(), hop.knownHosts(),
                        hop.hostKeyCheck(), hop.label() + ", the jump host to " + target.label() + ",");
                }
                if (!isUnreachable(e) || System.nanoTime() + backoffMillis * 1_000_000 > deadline) {
                    throw explain(failed, e);
                }
                if (log != null) {
                    log.info(failed.label() + " not reachable yet (" + Cli.rootMessage(e) + "), retrying in "
                        + backoffMillis / 1000 + " s");
                }
                sleep(backoffMillis);
                backoffMillis = Math.min(backoffMillis * 2, 10_000);
            }
        }
    }

    /** A session to target, directly or (through not null) over a channel of the jump host's session. */
    private static Session open(Target target, Session through) throws JSchException {
        JSch jsch = new JSch();
        SshAgent.offer(jsch, target.keys(), target.label());
        if (target.hostKeyCheck() != HostKeyCheck.OFF) {
            Path knownHosts = target.knownHosts() != null ? target.knownHosts()
                : Path.of(System.getProperty("user.home"), ".ssh", "known_hosts");
            ensurePrivateFile(knownHosts);
            jsch.setKnownHosts(knownHosts.toString());
            if (target.hostKeyCheck() == HostKeyCheck.ACCEPT_NEW) {
                jsch.setHostKeyRepository(new AcceptNewHostKeys(jsch.getHostKeyRepository(), knownHosts));
            }
        }
        Session session = jsch.getSession(target.user(), target.host(), target.port());
        session.setConfig("StrictHostKeyChecking", target.hostKeyCheck() == HostKeyCheck.OFF ? "no" : "yes");
        session.setConfig("PreferredAuthentications", "publickey");
        session.setServerAliveInterval(15_000);
        session.setServerAliveCountMax(4);
        if (through != null) session.setProxy(new SshJump(through));
        session.connect(20_000);
        return session;
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
            channel.setInputStream(stdin == null ? new ByteArrayInputStream(new byte[0]) : new ByteArrayInputStream(stdin), false);
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
                sleep(50);
            }
            out.flushLine();
            err.flushLine();
            // no exit status and no session: the channel closed because the connection went
            if (channel.getExitStatus() == -1 && sessionGone()) throw dropped(command);
            return new Result(channel.getExitStatus(), out.text(), err.text());
        } catch (JSchException e) {
            if (!session.isConnected()) throw dropped(command);
            throw explain(target, e);
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
        while (session.isConnected() && System.nanoTime() < end) sleep(20);
        return !session.isConnected();
    }

        private ConnectionDropped dropped(String command) {
        return new ConnectionDropped("the connection to " + target.label() + " dropped while running '" + firstWord(command) + "'");
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
        put(remotePath, octalMode, sftp -> sftp.put(new ByteArrayInputStream(content), remotePath, ChannelSftp.OVERWRITE),
            "cannot write " + remotePath);
    }

    /** Copies a local file to remotePath with the given mode, streaming it (K3s's binary is large). */
    void upload(Path local, String remotePath, String octalMode) {
        put(remotePath, octalMode, sftp -> sftp.put(local.toString(), remotePath, ChannelSftp.OVERWRITE),
            "cannot copy " + local + " to " + remotePath);
    }

    private interface SftpWrite {
        void to(ChannelSftp sftp) throws SftpException;
    }

    /** Creates remotePath empty with its final mode first, so a secret is never readable by others, then writes it. */
    private void put(String remotePath, String octalMode, SftpWrite write, String what) {
        ChannelSftp sftp = null;
        try {
            sftp = (ChannelSftp) session.openChannel("sftp");
            sftp.connect(20_000);
            sftp.put(new ByteArrayInputStream(new byte[0]), remotePath, ChannelSftp.OVERWRITE);
            sftp.chmod(Integer.parseInt(octalMode, 8), remotePath);
            write.to(sftp);
        } catch (JSchException e) {
            throw explain(target, e);
        } catch (SftpException e) {
            throw Cli.fail(Cli.SSH_FAILED, what + " on " + target.label() + ": " + e.getMessage());
        } finally {
            if (sftp != null) sftp.disconnect();
        }
    }

    @Override
    public void close() {
        session.disconnect();
        for (int i = jumpSessions.size() - 1; i >= 0; i--) jumpSessions.get(i).disconnect();
    }

    private static boolean isUnreachable(JSchException e) {
        Throwable cause = e.getCause();
        if (cause instanceof ConnectException || cause instanceof NoRouteToHostException || cause instanceof SocketTimeoutException) {
            return true;
        }
        String message = String.valueOf(e.getMessage());
        // a machine still booting: sshd accepts, then closes before the banner
        return message.contains("timeout") || message.contains("Connection refused") || message.contains("connection is closed by foreign host");
    }

    private static Cli.Failure explain(Target target, JSchException e) {
        String message = String.valueOf(e.getMessage());
        String where = target.label();
        if (message.contains("Auth fail") || message.contains("USERAUTH fail")) {
            return new Cli.Failure(Cli.SSH_FAILED, "SSH authentication failed for " + where + " with "
                + SshAgent.describe(target.keys())
                + ": check the user name and --ssh-key, and that the key is in the host's ~/.ssh/authorized_keys"
                + SshAgent.lockedHint(target.keys()), e);
        }
        if (message.contains("HostKey has been changed") || message.contains("has been changed")) {
            return new Cli.Failure(Cli.SSH_FAILED, "the host key of " + where + " has CHANGED since it was recorded in known_hosts: "
                + "someone may be intercepting the connection, or the host was reinstalled. If you trust it, remove the old key "
                + "(" + removeKnownHostCommand(target) + ") or pass --host-key-check off", e);
        }
        if (message.contains("UnknownHostKey") || message.contains("reject HostKey")) {
            return new Cli.Failure(Cli.SSH_FAILED, "the host key of " + where + " is not in known_hosts and --host-key-check is strict: "
                + "connect once with ssh to check and record it, or pass --host-key-check accept-new", e);
        }
        if (e.getCause() instanceof UnknownHostException) {
            return new Cli.Failure(Cli.SSH_FAILED, "cannot resolve host name " + target.host() + ": check the address", e);
        }
        if (isUnreachable(e)) {
            return new Cli.Failure(Cli.SSH_FAILED, "cannot reach " + where + " over SSH (" + Cli.rootMessage(e)
                + "): is the host up, the address and port right, and sshd running?", e);
        }
        return new Cli.Failure(Cli.SSH_FAILED, "SSH to " + where + " failed: " + Cli.rootMessage(e), e);
    }

    /**
     * The ssh-keygen command that forgets target's recorded key. known_hosts names a host on
     * another port than 22 "[host]:port" (quoted: brackets are shell globs), and a file other
     * than ~/.ssh/known_hosts must be named with -f, or the advice would remove nothing.
     */
    private static String removeKnownHostCommand(Target target) {
        String name = target.port() == 22 ? target.host() : "'[" + target.host() + "]:" + target.port() + "'";
        return "ssh-keygen -R " + name + (target.knownHosts() == null ? "" : " -f '" + target.knownHosts() + "'");
    }

    private static String firstWord(String command) {
        String trimmed = command.strip();
        int space = trimmed.indexOf(' ');
        return space < 0 ? trimmed : trimmed.substring(0, space) + " ...";
    }

    private static void ensurePrivateFile(Path file) {
        try {
            if (Files.exists(file)) return;
            Path parent = file.toAbsolutePath().getParent();
            if (!Files.exists(parent)) {
                OwnerOnly.createDirectories(parent);
            }
            OwnerOnly.createFile(file);
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot create " + file + ": " + e.getMessage());
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Cli.fail(Cli.FAILED, "interrupted");
        }
    }

    /**
     * OpenSSH's accept-new: a host never seen is recorded; a changed key is still refused. The new
     * key is appended to known_hosts as one line under a lock, as ssh appends it: JSch's own add
     * rewrites the whole file from what it read at the start, through a truncating stream, so lines
     * other steps added meanwhile were lost and the user's own lines reformatted.
     */
    private static final class AcceptNewHostKeys implements HostKeyRepository {
        /** A file lock does not keep out this process's other threads (it throws for them instead). */
        private static final Object IN_PROCESS = new Object();
        private final HostKeyRepository known;
        private final Path file;

        AcceptNewHostKeys(HostKeyRepository known, Path file) {
            this.known = known;
            this.file = file;
        }

        @Override
        public int check(String host, byte[] key) {
            int result = known.check(host, key);
            if (result != NOT_INCLUDED) return result;
            try {
                return append(new HostKey(host, key));
            } catch (JSchException e) {
                return NOT_INCLUDED; // a key type JSch cannot name: not recorded, so refused
            }
        }

        @Override
        public void add(HostKey hostkey, UserInfo ui) {
            append(hostkey);
        }

        /** Appends hostkey unless another step recorded this host meanwhile; what the file now says of it. */
        private int append(HostKey hostkey) {
            synchronized (IN_PROCESS) {
                try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
                     FileLock lock = channel.lock()) {
                    JSch fresh = new JSch();
                    fresh.setKnownHosts(file.toString());
                    byte[] key = Base64.getDecoder().decode(hostkey.getKey());
                    int now = fresh.getHostKeyRepository().check(hostkey.getHost(), key);
                    if (now != NOT_INCLUDED) return now; // recorded by another step meanwhile: CHANGED is refused
                    String line = hostkey.getHost() + " " + hostkey.getType() + " " + hostkey.getKey() + "\n";
                    if (!endsWithNewline(file)) line = "\n" + line;
                    ByteBuffer bytes = ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8));
                    while (bytes.hasRemaining()) channel.write(bytes);
                    return OK;
                } catch (IOException | JSchException e) {
                    // no cause: wrapped by JSch or not, this message is the one shown
                    throw Cli.fail(Cli.FAILED, "cannot record the host key of " + hostkey.getHost() + " in " + file
                        + ": " + Cli.rootMessage(e) + "; fix its permissions, or pass --known-hosts FILE");
                }
            }
        }

        private static boolean endsWithNewline(Path file) throws IOException {
            try (FileChannel read = FileChannel.open(file, StandardOpenOption.READ)) {
                if (read.size() == 0) return true;
                ByteBuffer last = ByteBuffer.allocate(1);
                read.read(last, read.size() - 1);
                return last.get(0) == '\n';
            }
        }

        @Override public void remove(String host, String type) { known.remove(host, type); }
        @Override public void remove(String host, String type, byte[] key) { known.remove(host, type, key); }
        @Override public String getKnownHostsRepositoryID() { return known.getKnownHostsRepositoryID(); }
        @Override public HostKey[] getHostKey() { return known.getHostKey(); }
        @Override public HostKey[] getHostKey(String host, String type) { return known.getHostKey(host, type); }
    }

    /** Keeps a stream's text, and passes each complete line on. */
    private static final class LineCollector extends java.io.OutputStream {
        private final ByteArrayOutputStream all = new ByteArrayOutputStream();
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();
        private final Consumer<String> lines;

        LineCollector(Consumer<String> lines) {
            this.lines = lines;
        }

        @Override
        public synchronized void write(int b) {
            all.write(b);
            if (b == '\n') {
                flushLine();
            } else {
                line.write(b);
            }
        }

        synchronized void flushLine() {
            if (lines != null && line.size() > 0) lines.accept(line.toString(StandardCharsets.UTF_8));
            line.reset();
        }

        synchronized String text() {
            return all.toString(StandardCharsets.UTF_8);
        }
    }
}
