//SOURCES Cli.java
//SOURCES Cluster.java
//SOURCES Ssh.java
//SOURCES SshAgent.java

import com.jcraft.jsch.OpenSSHConfig;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A host name resolved through ssh_config as OpenSSH resolves it: HostName, User, Port,
 * IdentityFile, ProxyJump, StrictHostKeyChecking and UserKnownHostsFile. Where the OpenSSH
 * client is installed, `ssh -G` answers (Match, Include and all); elsewhere JSch's parser,
 * which knows neither Match nor Include, so a file using them is refused there rather than
 * read wrongly. Every value is checked like the flag it stands in for: none reaches a shell.
 */
final class SshConfig {
    private SshConfig() {}

    /** The OpenSSH client asked for the resolved settings; tests point it elsewhere to use JSch's parser. */
    static Path ssh = onPath("ssh");

    /** What ssh would use for one host; knownHosts null when the config names none. */
    record Resolved(String host, int port, String user, List<Path> keys, String proxyJump, String proxyCommand,
                    String strictHostKeyChecking, Path knownHosts) { }

    /** How to reach a host: the target, and the jump hosts in the order they are passed through. */
    record Route(Ssh.Target target, List<Ssh.Target> jumps) { }

    /**
     * The route to address ([user@]name): name resolved through configFile (null: ~/.ssh/config and
     * the system's). The flags win over ssh_config: a user in address, port, key, jump, check and
     * knownHosts when not null (jump "none": no jump host).
     */
    static Route route(String address, Integer port, Path key, String jump, Path configFile,
                       Ssh.HostKeyCheck check, Path knownHosts) {
        int at = address.lastIndexOf('@');
        String user = at < 0 ? null : address.substring(0, at);
        String name = address.substring(at + 1);
        Resolved resolved = resolve(name, user, port, configFile);
        Ssh.Target target = target(name, resolved, key, check, knownHosts);
        String jumps = jump != null ? jump : resolved.proxyJump();
        if (jumps == null && resolved.proxyCommand() != null) {
            throw Cli.fail(Cli.USAGE, "ssh_config gives " + name + " a ProxyCommand, which k3s-join cannot run: "
                + "use ProxyJump (or --jump USER@HOST) for a jump host instead");
        }
        List<Ssh.Target> hops = new ArrayList<>();
        if (jumps != null && !jumps.equals("none")) {
            if (!Cluster.isJumpList(jumps)) {
                throw Cli.fail(Cli.USAGE, "the jump hosts " + Cluster.shown(jumps) + " for " + name + " are not "
                    + Cluster.JUMP_RULE);
            }
            for (String hop : jumps.split(",")) hops.add(jumpTarget(hop, configFile, check, knownHosts));
        }
        return new Route(target, List.copyOf(hops));
    }

    /** A jump host "[ssh://][user@]host[:port]", itself resolved through ssh_config, as ssh -J does. */
    private static Ssh.Target jumpTarget(String hop, Path configFile, Ssh.HostKeyCheck check, Path knownHosts) {
        String plain = hop.startsWith("ssh://") ? hop.substring("ssh://".length()) : hop;
        Integer port = null;
        int colon = plain.lastIndexOf(':');
        if (colon >= 0) {
            port = Integer.parseInt(plain.substring(colon + 1));
            plain = plain.substring(0, colon);
        }
        int at = plain.lastIndexOf('@');
        String name = plain.substring(at + 1);
        Resolved resolved = resolve(name, at < 0 ? null : plain.substring(0, at), port, configFile);
        // like ssh -J: the target's -i key is not the jump host's; its own IdentityFile is
        return target(name, resolved, null, check, knownHosts);
    }

    private static Ssh.Target target(String name, Resolved resolved, Path key, Ssh.HostKeyCheck check,
                                     Path knownHosts) {
        String what = "ssh_config's settings for " + name;
        if (!Cluster.isSshAddress(resolved.user() + "@" + resolved.host())) {
            throw Cli.fail(Cli.USAGE, what + " give user " + Cluster.shown(resolved.user()) + " and HostName "
                + Cluster.shown(resolved.host()) + ", not USER@HOST (HOST an IPv4 address or a DNS name): "
                + "fix the ssh_config");
        }
        if (resolved.port() < 1 || resolved.port() > 65535) {
            throw Cli.fail(Cli.USAGE, what + " give Port " + resolved.port() + ", not a port number (1-65535)");
        }
        Ssh.HostKeyCheck mode = check != null ? check : hostKeyCheck(resolved.strictHostKeyChecking(), name);
        Path known = knownHosts != null ? knownHosts : resolved.knownHosts();
        Ssh.Target base = Ssh.Target.ofAddress(resolved.user() + "@" + resolved.host(), resolved.port(), key, known,
            mode);
        List<Path> keys = base.keys();
        if (key == null) keys = resolved.keys().stream().filter(Files::isReadable).toList();
        String label = name.equals(resolved.host()) ? base.label() : name + " (" + base.label() + ")";
        return new Ssh.Target(base.host(), base.port(), base.user(), keys, base.knownHosts(), base.hostKeyCheck(),
            label);
    }

    /** OpenSSH's StrictHostKeyChecking as ours; "ask" (its default; nobody can be asked here) is accept-new. */
    static Ssh.HostKeyCheck hostKeyCheck(String value, String name) {
        if (value == null) return Ssh.HostKeyCheck.ACCEPT_NEW;
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "ask", "accept-new" -> Ssh.HostKeyCheck.ACCEPT_NEW;
            case "yes", "true" -> Ssh.HostKeyCheck.STRICT;
            case "no", "off", "false" -> Ssh.HostKeyCheck.OFF;
            default -> throw Cli.fail(Cli.USAGE, "ssh_config gives " + name + " StrictHostKeyChecking "
                + Cluster.shown(value) + ": expected yes, no, ask or accept-new");
        };
    }

    /** name's settings; user and port (null: not given) are passed on as ssh's -l and -p, which win. */
    static Resolved resolve(String name, String user, Integer port, Path configFile) {
        if (!Cluster.isHost(name)) {
            throw Cli.fail(Cli.USAGE, Cluster.shown(name) + " is not a host name or ssh_config alias "
                + "(letters, digits, '-' and '.')");
        }
        if (configFile != null && !Files.isReadable(configFile)) {
            throw Cli.fail(Cli.USAGE, "--ssh-config " + configFile + " does not exist or is not readable");
        }
        Map<String, List<String>> settings = ssh != null && Files.isExecutable(ssh)
            ? sshG(name, user, port, configFile) : jschParse(name, configFile);
        String host = first(settings, "hostname", name);
        String login = user != null ? user : first(settings, "user", System.getProperty("user.name"));
        int resolvedPort;
        try {
            resolvedPort = port != null ? port : Integer.parseInt(first(settings, "port", "22"));
        } catch (NumberFormatException e) {
            throw Cli.fail(Cli.USAGE, "ssh_config gives " + name + " Port " + Cluster.shown(first(settings, "port", ""))
                + ": not a port number (1-65535)");
        }
        List<Path> keys = new ArrayList<>();
        for (String file : settings.getOrDefault("identityfile", defaultIdentities())) {
            keys.add(Path.of(expand(file, name, host, login, resolvedPort)));
        }
        String knownHostsFiles = first(settings, "userknownhostsfile", null);
        Path knownHosts = null;
        if (knownHostsFiles != null && !knownHostsFiles.isBlank()) {
            // ssh reads them all and writes to the first; JSch reads one: the first
            String firstFile = knownHostsFiles.strip().split("\\s+")[0];
            knownHosts = Path.of(expand(firstFile, name, host, login, resolvedPort));
        }
        String jump = first(settings, "proxyjump", null);
        String command = first(settings, "proxycommand", null);
        if (command != null && command.equalsIgnoreCase("none")) command = null;
        return new Resolved(host, resolvedPort, login, List.copyOf(keys), jump, command,
            first(settings, "stricthostkeychecking", null), knownHosts);
    }

    /** ssh -G: the settings exactly as ssh would use them, one "keyword value" a line, keywords in lower case. */
    private static Map<String, List<String>> sshG(String name, String user, Integer port, Path configFile) {
        List<String> command = new ArrayList<>(List.of(ssh.toString(), "-G"));
        if (configFile != null) command.addAll(List.of("-F", configFile.toString()));
        if (user != null) command.addAll(List.of("-l", user));
        if (port != null) command.addAll(List.of("-p", String.valueOf(port)));
        command.add(name); // checked by isHost: it cannot start with '-' and be read as an option
        String shown = "ssh -G" + (configFile == null ? "" : " -F " + configFile) + " " + name;
        try {
            Process process = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            byte[] out;
            byte[] err;
            var errText = CompletableFuture.supplyAsync(() -> readAll(process.getErrorStream()));
            out = process.getInputStream().readAllBytes();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw Cli.fail(Cli.FAILED, shown + " did not finish within 30 s: "
                    + "check the ssh_config's Match exec lines");
            }
            err = errText.join();
            if (process.exitValue() != 0) {
                throw Cli.fail(Cli.USAGE, shown + " failed (exit " + process.exitValue() + "): "
                    + Cli.lastLines(new String(err, StandardCharsets.UTF_8), 3) + "; fix the ssh_config");
            }
            Map<String, List<String>> settings = new LinkedHashMap<>();
            for (String line : new String(out, StandardCharsets.UTF_8).split("\n")) {
                int space = line.indexOf(' ');
                if (space <= 0) continue;
                settings.computeIfAbsent(line.substring(0, space).toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                    .add(line.substring(space + 1).strip());
            }
            return settings;
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot run " + shown + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Cli.fail(Cli.FAILED, "interrupted");
        }
    }

    private static byte[] readAll(InputStream in) {
        try {
            return in.readAllBytes();
        } catch (IOException e) {
            return new byte[0];
        }
    }

    /** Without the OpenSSH client: JSch's parser, for a file it can read right (no Match, no Include). */
    private static Map<String, List<String>> jschParse(String name, Path configFile) {
        Path file = configFile != null ? configFile : Path.of(System.getProperty("user.home"), ".ssh", "config");
        Map<String, List<String>> settings = new LinkedHashMap<>();
        if (!Files.isRegularFile(file)) return settings;
        try {
            String text = Files.readString(file);
            for (String line : text.split("\n")) {
                String word = line.strip().split("[\\s=]", 2)[0].toLowerCase(Locale.ROOT);
                if (word.equals("match") || word.equals("include")) {
                    throw Cli.fail(Cli.USAGE, file + " uses " + line.strip().split("[\\s=]", 2)[0] + ", which only "
                        + "OpenSSH's own client resolves, and ssh is not installed here: install the OpenSSH client "
                        + "(e.g. apt-get install openssh-client), "
                        + "or pass --ssh-config with a file without Match and Include");
                }
            }
            OpenSSHConfig.Config config = OpenSSHConfig.parse(text).getConfig(name);
            for (String keyword : List.of("HostName", "User", "Port", "IdentityFile", "ProxyJump", "ProxyCommand",
                    "StrictHostKeyChecking", "UserKnownHostsFile")) {
                String[] values = config.getValues(keyword);
                if (values != null && values.length > 0) {
                    settings.put(keyword.toLowerCase(Locale.ROOT), List.of(values));
                }
            }
            return settings;
        } catch (IOException e) {
            throw Cli.fail(Cli.USAGE, "cannot read " + file + ": " + e.getMessage());
        }
    }

    private static List<String> defaultIdentities() {
        return SshAgent.usableDefaultNames().stream().map(name -> "~/.ssh/" + name).toList();
    }

    private static String first(Map<String, List<String>> settings, String key, String otherwise) {
        List<String> values = settings.get(key);
        return values == null || values.isEmpty() ? otherwise : values.get(0);
    }

    /** ssh's "~" and %-tokens of a file name (ssh -G prints IdentityFile unexpanded); an unknown token is refused. */
    static String expand(String file, String alias, String host, String user, int port) {
        String home = System.getProperty("user.home");
        String path = file.length() >= 2 && file.startsWith("\"") && file.endsWith("\"")
            ? file.substring(1, file.length() - 1) : file;
        if (path.equals("~") || path.startsWith("~/")) path = home + path.substring(1);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c != '%') {
                out.append(c);
                continue;
            }
            char token = i + 1 < path.length() ? path.charAt(++i) : ' ';
            switch (token) {
                case '%' -> out.append('%');
                case 'd' -> out.append(home);
                case 'u' -> out.append(System.getProperty("user.name"));
                case 'r' -> out.append(user);
                case 'h' -> out.append(host);
                case 'n' -> out.append(alias);
                case 'p' -> out.append(port);
                default -> throw Cli.fail(Cli.USAGE, "ssh_config's file name " + Cluster.shown(file) + " for " + alias
                    + " uses %" + token + ", which k3s-join does not expand: write the path out");
            }
        }
        if (!Cluster.isPath(out.toString())) {
            throw Cli.fail(Cli.USAGE, "ssh_config's file name " + Cluster.shown(file) + " for " + alias
                + " is not a usable path (no control characters)");
        }
        return out.toString();
    }

    private static Path onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) continue;
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate)) return candidate;
        }
        return null;
    }
}
