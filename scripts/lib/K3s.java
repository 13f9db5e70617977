//SOURCES Cli.java
//SOURCES Cluster.java

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The checks of K3s's and SSH's flags, shared by the steps: each refuses a bad value with a usage error. */
final class K3s {
    private K3s() {}

    /** Checks the flags that say how to reach an SSH host, as the cluster JSON will hold them. */
    static void requireSshFlags(Integer port, String portOption, String jump, String jumpOption, Path sshConfig) {
        if (port != null && (port < 1 || port > 65535)) {
            throw Cli.fail(Cli.USAGE, portOption + " " + port + " is not a port number (1-65535)");
        }
        if (jump != null) require(Cluster.isJumpList(jump), jumpOption, jump, Cluster.JUMP_RULE);
        if (sshConfig != null) {
            requirePath(sshConfig, "--ssh-config");
            if (!Files.isReadable(sshConfig)) {
                throw Cli.fail(Cli.USAGE, "--ssh-config " + sshConfig + " does not exist or is not readable: "
                    + "name an ssh_config file (as ssh -F takes it)");
            }
        }
    }

    /** Refuses a --k3s-version that is not of K3s's form (v1.31.4+k3s1); null means "the default". */
    static boolean isVersion(String version) {
        return version != null && version.matches("v\\d+\\.\\d+\\.\\d+(-rc\\d+)?\\+k3s\\d+");
    }

    static void requireVersion(String version, String option) {
        if (version != null && !isVersion(version)) {
            throw Cli.fail(Cli.USAGE, option + " '" + version + "' is not a K3s version: use the form v1.31.4+k3s1");
        }
    }

    /**
     * Refuses extra K3s flags holding what a shell on their way would read as code: Vagrant
     * hands them to the machines inside double quotes, where $, ` and \ are live, and K3s's
     * installer evals them (a line break starts a command there; cluster.env holds one per line).
     */
    static void requireFlags(String flags, String option) {
        if (flags == null) return;
        for (char c : flags.toCharArray()) {
            if (c < 0x20 || c > 0x7e || "'\"`$\\".indexOf(c) >= 0) {
                throw Cli.fail(Cli.USAGE, option + " " + Cluster.shown(flags) + " holds "
                    + Cluster.shown(String.valueOf(c)) + ": K3s flags are words separated by spaces, without quotes, "
                    + "'$', '`', '\\' or line breaks "
                    + "(e.g. \"--disable traefik --node-label team=a\")");
            }
        }
    }

    /** Refuses a value that the cluster JSON could not hold later (see Cluster's rules): a usage error, named. */
    static void require(boolean ok, String option, String value, String expected) {
        if (!ok) throw Cli.fail(Cli.USAGE, option + " " + Cluster.shown(value) + " is not " + expected);
    }

    static final String SSH_ADDRESS_RULE = "USER@ADDR (ADDR an IPv4 address or a DNS name)";

    /** Refuses a path with a control character: it would split the line of a file that records it. */
    static void requirePath(Path path, String option) {
        require(Cluster.isPath(path.toString()), option, path.toString(), "a usable path (no control characters)");
    }

    /** Refuses an air-gap folder without K3s's installer and binary; null means "download". */
    static void requireAirgapDir(Path dir, String option) {
        if (dir == null) return;
        for (String file : List.of("install.sh", "k3s")) {
            if (!Files.isRegularFile(dir.resolve(file))) {
                throw Cli.fail(Cli.USAGE, option + " " + dir + " has no " + file
                    + ": put K3s's install.sh (https://get.k3s.io) and the k3s binary of your version there");
            }
        }
    }
}
