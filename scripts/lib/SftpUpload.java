//DEPS com.github.mwiede:jsch:2.28.8
//SOURCES Cli.java
//SOURCES Ssh.java
//SOURCES SshFailures.java

import com.jcraft.jsch.ChannelSftp;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Session;
import com.jcraft.jsch.SftpException;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;

/** Files written to an SSH host over SFTP, each created with its final mode before a byte of it is written. */
final class SftpUpload {
    private SftpUpload() {
    }

    /** Writes content to remotePath with the given mode. */
    static void bytes(Session session, Ssh.Target target, byte[] content, String remotePath, String octalMode) {
        put(session, target, remotePath, octalMode,
            sftp -> sftp.put(new ByteArrayInputStream(content), remotePath, ChannelSftp.OVERWRITE),
            "cannot write " + remotePath);
    }

    /** Copies a local file to remotePath with the given mode, streaming it. */
    static void file(Session session, Ssh.Target target, Path local, String remotePath, String octalMode) {
        put(session, target, remotePath, octalMode,
            sftp -> sftp.put(local.toString(), remotePath, ChannelSftp.OVERWRITE),
            "cannot copy " + local + " to " + remotePath);
    }

    private interface SftpWrite {
        void to(ChannelSftp sftp) throws SftpException;
    }

    /** Creates remotePath empty with its final mode first, so a secret is never readable by others, then writes it. */
    private static void put(Session session, Ssh.Target target, String remotePath, String octalMode, SftpWrite write,
            String what) {
        ChannelSftp sftp = null;
        try {
            sftp = (ChannelSftp) session.openChannel("sftp");
            sftp.connect(20_000);
            sftp.put(new ByteArrayInputStream(new byte[0]), remotePath, ChannelSftp.OVERWRITE);
            sftp.chmod(Integer.parseInt(octalMode, 8), remotePath);
            write.to(sftp);
        } catch (JSchException e) {
            throw SshFailures.explain(target, e);
        } catch (SftpException e) {
            throw Cli.fail(Cli.SSH_FAILED, what + " on " + target.label() + ": " + e.getMessage());
        } finally {
            if (sftp != null) sftp.disconnect();
        }
    }
}
