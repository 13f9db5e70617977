//SOURCES Cli.java
//SOURCES Cluster.java
//SOURCES Addresses.java
//SOURCES Shell.java
//SOURCES Ssh.java
//SOURCES Proxy.java
//SOURCES K3sRelease.java
//SOURCES K3sCache.java
//SOURCES InstallFolder.java
//SOURCES Interruption.java
//SOURCES Log.java
//SOURCES Settings.java

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Installs the K3s agent on a host: uploads agent.sh, k3s-common.sh, the air-gap files and
 * the token into the install's private folder on the host, runs agent.sh with sudo, and
 * removes the folder.
 */
final class AgentInstall {
    private AgentInstall() {
    }

    /**
     * What the install is told: the agent's address, the K3s version ("" for the installer's
     * default), the flags' air-gap folder, K3s source, API wait and agent flags (each may be null).
     */
    record Request(Cluster cluster, String ip, byte[] token, String version, Duration timeout, Path airgapDir,
            K3sRelease.Options k3sSource, Integer apiWait, String agentFlags) {
    }

    /** Installs into a new private folder that folder holds, removing it when done or interrupted. */
    static void run(Ssh agent, InstallFolder folder, Request request, Log log) {
        String dir = folder.make(agent);
        Runnable removeDir = () -> folder.remove(agent);
        try (Interruption onInterrupt = Interruption.on(log, "the install on " + agent.target.label()
                + " was stopped and its temporary files (with the token) removed: run k3s-join again to finish, "
                + "or k3s-leave to remove what it installed", removeDir)) {
            Proxy proxy = K3sRelease.proxy();
            Path source = airgapSource(agent, request, log);
            String airgap = "";
            if (source != null) {
                agent.run("mkdir -m 700 " + Shell.quote(dir + "/airgap"), "creating the air-gap folder");
                airgap = dir + "/airgap";
            }
            upload(agent, dir, source, proxy, request.token(), log);
            runAgentScript(agent, dir, airgap, proxy, request, log);
        } finally {
            try {
                removeDir.run();
            } catch (Cli.Failure e) {
                // the connection is gone: the next attempt removes the folder (the retry loop keeps it)
            }
        }
    }

    /** The --airgap-dir, else K3s fetched once on this machine for the host's architecture (null: the internet). */
    private static Path airgapSource(Ssh agent, Request request, Log log) {
        if (request.airgapDir() != null) return request.airgapDir();
        String arch = K3sRelease.arch(agent.run("uname -m", "reading the host's architecture").strip());
        String version = request.version().isEmpty() ? null : request.version();
        // no version (a server of unknown version): the channel k3s-up defaults to
        String channel = Settings.defaultOf("K3S_CHANNEL");
        // bounded like every other phase of the join by its --timeout (and by the idle timeout)
        K3sRelease.Fetched k3s = request.k3sSource().airgapDir(version, channel, arch,
            System.nanoTime() + request.timeout().toNanos(), log);
        return k3s == null ? null : k3s.dir();
    }

    private static void upload(Ssh agent, String dir, Path source, Proxy proxy, byte[] token, Log log) {
        for (String name : uploads(source, proxy)) {
            String remote = dir + "/" + name;
            if (name.equals("token")) {
                agent.upload(token, remote, "600");
            } else if (name.equals("proxy.env")) {
                agent.upload(proxy.machineFile().getBytes(StandardCharsets.UTF_8), remote, "600");
            } else if (name.startsWith("airgap/")) {
                Path file = source.resolve(name.substring("airgap/".length()));
                log.info("uploading " + file.getFileName() + " (" + size(file) / 1_000_000 + " MB)");
                agent.upload(file, remote, "700");
            } else {
                agent.upload(resource(name), remote, "700");
            }
        }
    }

    private static void runAgentScript(Ssh agent, String dir, String airgap, Proxy proxy, Request request,
            Log log) {
        Duration timeout = request.timeout();
        long apiWait = request.apiWait() != null ? request.apiWait() : Math.min(timeout.toSeconds(), 300);
        List<String> environment = new ArrayList<>(List.of(
            "NODE_IP=" + request.ip(), "SERVER_URL=" + request.cluster().serverUrl(), "TOKEN_FILE=" + dir + "/token",
            "TOKEN_FILE_REMOVE=1", "AIRGAP_DIR=" + airgap, "INSTALL_K3S_VERSION=" + request.version(),
            "API_WAIT=" + apiWait));
        if (request.agentFlags() != null) environment.add("EXTRA_FLAGS=" + request.agentFlags());
        environment.addAll(proxyEnvironment(proxy, dir, request.cluster()));
        StringBuilder command = new StringBuilder(agent.sudo()).append("env");
        for (String variable : environment) command.append(' ').append(Shell.quote(variable));
        command.append(" bash ").append(Shell.quote(dir + "/agent.sh"));
        Ssh.Result result = agent.exec(command.toString(), null, timeout, log::detail);
        if (!result.ok()) {
            throw Cli.fail(Cli.FAILED, "installing the K3s agent failed on " + agent.target.label() + " (exit "
                + result.exitStatus() + "); its last lines:\n" + Cli.lastLines(result.stdout() + result.stderr(), 12));
        }
    }

    /**
     * The --agent-flags recorded in cluster.json for an upgrade to run again, less a --token (-t) and its
     * value: no secret is written there, and the upgrade reads the agent token again from the server.
     */
    static String recordedFlags(String agentFlags) {
        if (agentFlags == null || agentFlags.isBlank()) return null;
        List<String> kept = new ArrayList<>();
        String[] words = agentFlags.strip().split("\\s+");
        for (int i = 0; i < words.length; i++) {
            if (words[i].equals("--token") || words[i].equals("-t")) {
                i++; // its value too
            } else if (!words[i].startsWith("--token=") && !words[i].startsWith("-t=")) {
                kept.add(words[i]);
            }
        }
        return kept.isEmpty() ? null : String.join(" ", kept);
    }

    /** What install uploads into its private folder, in order; airgapSource may be null. */
    static List<String> uploads(Path airgapSource, Proxy proxy) {
        List<String> names = new ArrayList<>(List.of("agent.sh", "k3s-common.sh"));
        if (airgapSource != null) {
            try (var files = Files.list(airgapSource)) {
                // another step's download in progress is a hidden .part file in the same folder
                files.filter(Files::isRegularFile)
                    .filter(file -> K3sCache.isReleaseFile(file.getFileName().toString()))
                    .map(file -> "airgap/" + file.getFileName()).sorted().forEach(names::add);
            } catch (IOException e) {
                throw Cli.fail(Cli.FAILED, "cannot read " + airgapSource + ": " + e.getMessage());
            }
        }
        if (!proxy.isEmpty()) names.add("proxy.env"); // a proxy URL may hold a password: a mode-600 file
        names.add("token"); // last: the secret lies on the host for the shortest time, not through the large uploads
        return names;
    }

    /**
     * What agent.sh is told of the proxy on its command line: the file's path only (the URLs, which may
     * hold a password, stay in the mode-600 file), and the cluster's addresses for NO_PROXY.
     */
    static List<String> proxyEnvironment(Proxy proxy, String dir, Cluster cluster) {
        if (proxy.isEmpty()) return List.of();
        return List.of("PROXY_FILE=" + dir + "/proxy.env", "NO_PROXY_ADDRESSES=" + String.join(",",
            cluster.nodes().stream().map(Cluster.Node::ip).filter(Addresses::isIpv4).toList()));
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot read " + file + ": " + e.getMessage());
        }
    }

    /** A provisioning script k3s-join carries (//FILES provision/...). */
    static byte[] resource(String file) {
        try (InputStream in = AgentInstall.class.getResourceAsStream("/provision/" + file)) {
            if (in == null) {
                throw Cli.fail(Cli.FAILED,
                    "provision/" + file + " is missing from this build: rebuild it (jbang build --fresh)");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot read provision/" + file + ": " + e.getMessage());
        }
    }
}
