//SOURCES Cli.java
//SOURCES Cluster.java
//SOURCES Settings.java

import java.nio.file.Files;
import java.nio.file.Path;

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

    /** A version of K3s's form (v1.31.4+k3s1), by settings.yaml's K3S_VERSION rule. */
    static boolean isVersion(String version) {
        return Settings.valid("K3S_VERSION", version);
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
}
