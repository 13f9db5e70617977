//SOURCES Cli.java
//SOURCES Addresses.java
//SOURCES Settings.java

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.Authenticator;
import java.net.InetSocketAddress;
import java.net.PasswordAuthentication;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The host's HTTP proxy, from the variables curl reads: https_proxy or HTTPS_PROXY for https
 * URLs, http_proxy or HTTP_PROXY for http ones, no_proxy or NO_PROXY for the hosts reached
 * directly. Which variables, in which order, and their rules are settings.yaml's (proxy). Java's
 * HttpClient ignores them unless given a ProxySelector; the machines get them in a mode-600 file
 * (a proxy URL may hold a password).
 */
final class Proxy {
    static {
        // HttpClient refuses Basic credentials for an https tunnel (CONNECT) unless this says otherwise;
        // read once, when its classes load: K3sRelease touches this class before it builds a client
        if (System.getProperty("jdk.http.auth.tunneling.disabledSchemes") == null) {
            System.setProperty("jdk.http.auth.tunneling.disabledSchemes", "");
        }
    }

    /** Set by tests; null: the host's environment. */
    static Map<String, String> environment;

    final Endpoint https;
    final Endpoint http;
    /** The user's NO_PROXY entries, checked; empty when none. */
    final List<String> noProxy;

    /** A proxy from its variable: where it is, and who to say we are (null: no credentials). */
    record Endpoint(String variable, String url, String host, int port, String user, String password) { }

    private Proxy(Endpoint https, Endpoint http, List<String> noProxy) {
        this.https = https;
        this.http = http;
        this.noProxy = noProxy;
    }

    static Proxy fromEnvironment() {
        return from(environment != null ? environment : System.getenv());
    }

    /** The proxy the variables name, each checked; a bad one is a usage error naming it and the fix. */
    static Proxy from(Map<String, String> env) {
        JsonNode rules = Settings.table().path("proxy");
        Endpoint https = endpoint(env, rules, "HTTPS_PROXY");
        Endpoint http = endpoint(env, rules, "HTTP_PROXY");
        JsonNode noProxy = rules.path("no_proxy");
        String noProxyVariable = variable(env, noProxy.path("read"));
        List<String> entries = new ArrayList<>();
        if (noProxyVariable != null) {
            for (String entry : env.get(noProxyVariable).split(Pattern.quote(noProxy.path("separator").asText()))) {
                entry = entry.strip();
                if (entry.isEmpty()) continue;
                Settings.check(rules.path("entry_rules"), entry, noProxyVariable, null, Map.of());
                entries.add(entry);
            }
        }
        return new Proxy(https, http, List.copyOf(entries));
    }

    boolean isEmpty() {
        return https == null && http == null;
    }

    /** The variable set (non-empty) among the names, the first found: curl's order. */
    private static String variable(Map<String, String> env, JsonNode names) {
        for (JsonNode name : names) {
            String value = env.get(name.asText());
            if (value != null && !value.isBlank()) return name.asText();
        }
        return null;
    }

    /** The proxy named (HTTPS_PROXY, HTTP_PROXY), checked by the table's url_rules; null when not set. */
    private static Endpoint endpoint(Map<String, String> env, JsonNode rules, String name) {
        String variable = variable(env, rules.path("urls").path(name));
        if (variable == null) return null;
        String url = env.get(variable).strip();
        Settings.check(rules.path("url_rules"), url, variable, null, Map.of("fix", rules.path("fix").asText()));
        // the parts, by the named groups of the form the URL just passed (its last match rule)
        String form = null;
        for (JsonNode rule : rules.path("url_rules")) form = rule.has("match") ? rule.path("match").asText() : form;
        Matcher parts = Pattern.compile(form).matcher(url);
        if (!parts.matches()) throw new IllegalStateException("a proxy URL passed " + Settings.FILE + " unparsed");
        String user = null;
        String password = null;
        String info = parts.group("userinfo");
        if (info != null) {
            int colon = info.indexOf(':');
            // percent-decoded, a '+' kept (URLDecoder would make it a space)
            user = decode(colon < 0 ? info : info.substring(0, colon));
            password = colon < 0 ? "" : decode(info.substring(colon + 1));
        }
        return new Endpoint(variable, url, parts.group("host"), Integer.parseInt(parts.group("port")), user,
            password);
    }

    private static String decode(String userInfo) {
        return URLDecoder.decode(userInfo.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    /** The proxy for a URL: null when it goes directly (no proxy for its scheme, NO_PROXY, or loopback). */
    Endpoint forUri(URI uri) {
        Endpoint proxy = "https".equalsIgnoreCase(uri.getScheme()) ? https : http;
        if (proxy == null || uri.getHost() == null || bypasses(uri.getHost())) return null;
        return proxy;
    }

    /**
     * True when a host is reached directly: a loopback name or address (as Go's net/http does),
     * or a NO_PROXY entry matches it as curl matches them (*, the name or a domain it is in, an
     * address, a CIDR).
     */
    boolean bypasses(String host) {
        String name = host.toLowerCase(Locale.ROOT);
        if (name.startsWith("[") && name.endsWith("]")) name = name.substring(1, name.length() - 1);
        if (name.equals("localhost") || name.endsWith(".localhost") || name.startsWith("127.") || name.equals("::1")) {
            return true;
        }
        for (String entry : noProxy) {
            String e = entry.toLowerCase(Locale.ROOT);
            if (e.equals("*")) return true;
            if (e.contains("/")) {
                if (Addresses.inCidr(name, e)) return true;
                continue;
            }
            if (e.startsWith("[")) e = e.substring(1, Math.max(1, e.indexOf(']')));
            else if (e.indexOf(':') == e.lastIndexOf(':') && e.contains(":")) e = e.substring(0, e.indexOf(':'));
            if (e.startsWith("*.")) e = e.substring(1);
            if (e.startsWith(".")) e = e.substring(1);
            if (name.equals(e) || name.endsWith("." + e)) return true;
        }
        return false;
    }

    /** HttpClient's proxy: this one's choice for each URL (redirects included). */
    ProxySelector selector() {
        return new ProxySelector() {
            // java.net.Proxy in full: this class's own name hides it
            @Override
            public List<java.net.Proxy> select(URI uri) {
                Endpoint proxy = forUri(uri);
                if (proxy == null) return List.of(java.net.Proxy.NO_PROXY);
                SocketAddress address = InetSocketAddress.createUnresolved(proxy.host(), proxy.port());
                return List.of(new java.net.Proxy(java.net.Proxy.Type.HTTP, address));
            }

            @Override
            public void connectFailed(URI uri, SocketAddress address, IOException e) {
                // nothing to fall back on: the download fails naming the URL
            }
        };
    }

    /** Answers a proxy's 407 with the credentials of its URL, and nobody else; null when no URL has any. */
    Authenticator authenticator() {
        if ((https == null || https.user() == null) && (http == null || http.user() == null)) return null;
        return new Authenticator() {
            @Override
            protected PasswordAuthentication getPasswordAuthentication() {
                if (getRequestorType() != RequestorType.PROXY) return null;
                for (Endpoint proxy : Arrays.asList(https, http)) {
                    if (proxy != null && proxy.user() != null && proxy.host().equalsIgnoreCase(getRequestingHost())
                            && proxy.port() == getRequestingPort()) {
                        return new PasswordAuthentication(proxy.user(), proxy.password().toCharArray());
                    }
                }
                return null;
            }
        };
    }

    /**
     * The variables for a machine's K3s (its installer copies them into K3s's env file) as
     * NAME=VALUE lines; provision/k3s-common.sh adds the cluster's own addresses to NO_PROXY.
     * A secret when a URL holds credentials: it goes only into mode-600 files.
     */
    String machineFile() {
        StringBuilder file = new StringBuilder();
        if (https != null) file.append("HTTPS_PROXY=").append(https.url()).append('\n');
        if (http != null) file.append("HTTP_PROXY=").append(http.url()).append('\n');
        if (!noProxy.isEmpty()) file.append("NO_PROXY=").append(String.join(",", noProxy)).append('\n');
        return file.toString();
    }

    /** For the log: where the proxies are, never who we are to them. */
    String describe() {
        List<String> parts = new ArrayList<>();
        if (https != null) parts.add("https through " + https.host() + ":" + https.port());
        if (http != null) parts.add("http through " + http.host() + ":" + http.port());
        if (!noProxy.isEmpty()) parts.add("not for " + String.join(",", noProxy));
        return String.join(", ", parts);
    }
}
