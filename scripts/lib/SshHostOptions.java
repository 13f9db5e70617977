//SOURCES Cli.java
//SOURCES K3s.java
//SOURCES Cluster.java

import java.nio.file.Path;
import java.util.function.Consumer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.ISetter;
import picocli.CommandLine.Model.OptionSpec;

/**
 * How to reach one SSH host: its key, port and jump hosts. The server's and the joining host's options are the
 * same three under their own names (--server-ssh-key, --ssh-key, ...): picocli's annotations take constant
 * names only, so they are built here, once, when the step's command line is made.
 */
final class SshHostOptions {
    /** Prefix of the option names ("server-" or ""), and the option that names the host (--server-host). */
    private final String prefix;
    private final String hostOption;

    Path key;
    Integer port;
    String jump;

    SshHostOptions(String prefix, String hostOption) {
        this.prefix = prefix;
        this.hostOption = hostOption;
    }

    String keyOption() {
        return "--" + prefix + "ssh-key";
    }

    String portOption() {
        return "--" + prefix + "ssh-port";
    }

    String jumpOption() {
        return "--" + prefix + "jump";
    }

    /** Adds the three options to a step's command. */
    void addTo(CommandSpec command) {
        command.addOption(OptionSpec.builder(keyOption()).paramLabel("FILE").type(Path.class)
            .description("Private key for " + hostOption + " (default: the keys of the ssh-agent at SSH_AUTH_SOCK, "
                + "then ~/.ssh/id_ed25519, id_ecdsa, id_rsa). One with a passphrase must be in the agent "
                + "(ssh-add FILE).")
            .setter(setter(value -> key = (Path) value)).build());
        command.addOption(OptionSpec.builder(portOption()).paramLabel("PORT").type(Integer.class)
            .description("SSH port of " + hostOption + " (default: ssh_config's Port, else 22).")
            .setter(setter(value -> port = (Integer) value)).build());
        command.addOption(OptionSpec.builder(jumpOption()).paramLabel("USER@HOST[:PORT]").type(String.class)
            .description("Reach " + hostOption + " through this jump host (ssh -J; several joined by ','; "
                + "default: ssh_config's ProxyJump).")
            .setter(setter(value -> jump = (String) value)).build());
    }

    /** Refuses values the cluster JSON could not hold later: a usage error naming the option. */
    void check(Path sshConfig) {
        if (key != null) K3s.requirePath(key, keyOption());
        K3s.requireSshFlags(port, portOption(), jump, jumpOption(), sshConfig);
    }

    /**
     * How the cluster JSON records reaching address (USER@ADDR or an ssh_config alias) with these options, and
     * the known_hosts file its key was checked in (null: OpenSSH's), so later steps check it there too.
     */
    Cluster.Access access(String address, String sshConfig, Path knownHosts) {
        return new Cluster.Access(null, address, port, key == null ? null : key.toAbsolutePath().toString(), jump,
            sshConfig, knownHosts == null ? null : knownHosts.toAbsolutePath().toString());
    }

    /** picocli's setter is generic in the value's type, so no lambda can be one: this adapts one. */
    private static ISetter setter(Consumer<Object> set) {
        return new ISetter() {
            @Override
            public <T> T set(T value) {
                set.accept(value);
                return null;
            }
        };
    }
}
