import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Test support: a small HTTP proxy on 127.0.0.1, as a corporate one: CONNECT tunnels for https,
 * absolute-URI requests for http, Basic credentials when asked (407 otherwise). It resolves the
 * names under .test to 127.0.0.1 itself, as a proxy resolves names the host cannot: a URL on
 * such a name is reachable only through it. It records each request line and credential seen.
 */
final class HttpProxy implements AutoCloseable {
    private final ServerSocket server;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    /** "CONNECT host:port HTTP/1.1" or "GET http://... HTTP/1.1", as received. */
    final List<String> requests = new CopyOnWriteArrayList<>();
    /** The Proxy-Authorization values received (decoded "user:password"). */
    final List<String> credentials = new CopyOnWriteArrayList<>();
    private final String required;

    /** required: "user:password" the proxy asks for, or null for none. */
    HttpProxy(String required) throws IOException {
        this.required = required;
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        threads.submit(this::accept);
    }

    int port() {
        return server.getLocalPort();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                threads.submit(() -> serve(client));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket client) {
        try (client) {
            InputStream in = client.getInputStream();
            OutputStream out = client.getOutputStream();
            List<String> head = readHead(in);
            if (head.isEmpty()) return;
            String requestLine = head.get(0);
            requests.add(requestLine);
            String given = null;
            for (String line : head) {
                if (line.toLowerCase(Locale.ROOT).startsWith("proxy-authorization: basic ")) {
                    given = new String(Base64.getDecoder().decode(line.substring(27).strip()), StandardCharsets.UTF_8);
                    credentials.add(given);
                }
            }
            if (required != null && !required.equals(given)) {
                out.write(("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\n"
                    + "Content-Length: 0\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                return;
            }
            String[] parts = requestLine.split(" ");
            if (parts[0].equals("CONNECT")) {
                String target = parts[1];
                int colon = target.lastIndexOf(':');
                try (Socket origin = new Socket(resolve(target.substring(0, colon)),
                        Integer.parseInt(target.substring(colon + 1)))) {
                    out.write("HTTP/1.1 200 Connection established\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    pump(client, origin);
                }
                return;
            }
            URI uri = URI.create(parts[1]);
            int port = uri.getPort() < 0 ? 80 : uri.getPort();
            try (Socket origin = new Socket(resolve(uri.getHost()), port)) {
                StringBuilder request = new StringBuilder(parts[0] + " " + uri.getRawPath() + " HTTP/1.1\r\n");
                for (String line : head.subList(1, head.size())) {
                    String name = line.toLowerCase(Locale.ROOT);
                    if (!name.startsWith("proxy-")
                        && !name.startsWith("connection:")) request.append(line).append("\r\n");
                }
                request.append("Connection: close\r\n\r\n");
                origin.getOutputStream().write(request.toString().getBytes(StandardCharsets.ISO_8859_1));
                origin.getOutputStream().flush();
                origin.getInputStream().transferTo(out);
                out.flush();
            }
        } catch (IOException e) {
            // a client or origin gone: the test's own assertions tell
        }
    }

    /** Names under .test are this proxy's to resolve: 127.0.0.1. */
    private static InetAddress resolve(String host) throws IOException {
        if (host.endsWith(".test")) return InetAddress.getLoopbackAddress();
        return InetAddress.getByName(host);
    }

    private void pump(Socket client, Socket origin) throws IOException {
        var up = threads.submit(() -> {
            try {
                client.getInputStream().transferTo(origin.getOutputStream());
                origin.shutdownOutput();
            } catch (IOException e) {
                // either side closed
            }
            return null;
        });
        try {
            origin.getInputStream().transferTo(client.getOutputStream());
        } catch (IOException e) {
            // either side closed
        }
        up.cancel(true);
    }

    /** The request line and headers, up to the empty line; nothing is read past it. */
    private static List<String> readHead(InputStream in) throws IOException {
        List<String> lines = new ArrayList<>();
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            if (b == '\n') {
                String text = line.toString(StandardCharsets.ISO_8859_1).replaceAll("\r$", "");
                if (text.isEmpty()) return lines;
                lines.add(text);
                line.reset();
            } else {
                line.write(b);
            }
        }
        return lines;
    }

    @Override
    public void close() throws IOException {
        server.close();
        threads.shutdownNow();
    }

}
