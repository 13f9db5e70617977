//DEPS com.github.mwiede:jsch:2.28.8
//SOURCES Proxy.java

import com.jcraft.jsch.Channel;
import com.jcraft.jsch.Proxy;
import com.jcraft.jsch.Session;
import com.jcraft.jsch.SocketFactory;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;

/**
 * A jump host, as ssh -J uses it: the next session's bytes go through a direct-tcpip channel of
 * the jump host's session (the jump's sshd connects onward), never through a local listening port
 * that other local users could reach too. JSch checks the next host's key as for a direct connection.
 */
final class SshJump implements Proxy {
    private final Session through;
    private Channel channel;
    private InputStream in;
    private OutputStream out;

    SshJump(Session through) {
        this.through = through;
    }

    @Override
    public void connect(SocketFactory ignored, String host, int port, int timeout) throws Exception {
        channel = through.getStreamForwarder(host, port);
        in = channel.getInputStream();
        out = channel.getOutputStream();
        channel.connect(timeout);
    }

    @Override
    public InputStream getInputStream() {
        return in;
    }

    @Override
    public OutputStream getOutputStream() {
        return out;
    }

    /** No socket of its own: JSch then sets no socket timeout, the jump session's keepalives watch the path. */
    @Override
    public Socket getSocket() {
        return null;
    }

    @Override
    public void close() {
        if (channel != null) channel.disconnect();
    }
}
