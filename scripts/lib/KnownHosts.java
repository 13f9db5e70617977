//DEPS com.github.mwiede:jsch:2.28.8
//SOURCES Cli.java
//SOURCES Ssh.java
//SOURCES OwnerOnly.java

import com.jcraft.jsch.HostKey;
import com.jcraft.jsch.HostKeyRepository;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.UserInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Base64;

/** known_hosts for SSH hosts: which file, how a new host's key is recorded, how a recorded one is forgotten. */
final class KnownHosts {
    private KnownHosts() {
    }

    /** Checks host keys on jsch's sessions as target asks: its known_hosts (made private if new), accept-new. */
    static void use(JSch jsch, Ssh.Target target) throws JSchException {
        if (target.hostKeyCheck() == Ssh.HostKeyCheck.OFF) return;
        Path knownHosts = target.knownHosts() != null ? target.knownHosts()
            : Path.of(System.getProperty("user.home"), ".ssh", "known_hosts");
        ensurePrivateFile(knownHosts);
        jsch.setKnownHosts(knownHosts.toString());
        if (target.hostKeyCheck() == Ssh.HostKeyCheck.ACCEPT_NEW) {
            jsch.setHostKeyRepository(new AcceptNewHostKeys(jsch.getHostKeyRepository(), knownHosts));
        }
    }

    /**
     * The ssh-keygen command that forgets target's recorded key. known_hosts names a host on
     * another port than 22 "[host]:port" (quoted: brackets are shell globs), and a file other
     * than ~/.ssh/known_hosts must be named with -f, or the advice would remove nothing.
     */
    static String removeCommand(Ssh.Target target) {
        String name = target.port() == 22 ? target.host() : "'[" + target.host() + "]:" + target.port() + "'";
        return "ssh-keygen -R " + name + (target.knownHosts() == null ? "" : " -f '" + target.knownHosts() + "'");
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
}
