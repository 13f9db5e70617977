//SOURCES Cli.java
//SOURCES Vagrant.java

import java.util.List;

/** The Vagrant provider k3s-up uses: --provider, else $VAGRANT_DEFAULT_PROVIDER, else whichever is installed. */
final class Provider {
    private Provider() {}

    static final List<String> SUPPORTED = List.of("virtualbox", "libvirt");

    /**
     * The flag's provider, else detected(); null when there is none (the caller checks its other flags
     * first, then throws none()). One that is not supported is refused, naming where it came from.
     */
    static String chosen(String flag) {
        String chosen = flag != null ? flag : detected();
        if (chosen != null && !SUPPORTED.contains(chosen)) {
            throw Cli.fail(Cli.USAGE, "provider '" + chosen + "' (" + (flag != null ? "--provider"
                : "$VAGRANT_DEFAULT_PROVIDER") + ") is not supported: use virtualbox or libvirt");
        }
        return chosen;
    }

    /** $VAGRANT_DEFAULT_PROVIDER, else VirtualBox or libvirt when installed; null when there is none. */
    static String detected() {
        String fromEnv = System.getenv("VAGRANT_DEFAULT_PROVIDER");
        if (fromEnv != null && !fromEnv.isBlank()) return fromEnv;
        if (Vagrant.onPath("VBoxManage")) return "virtualbox";
        if (Vagrant.onPath("virsh")) return "libvirt";
        return null;
    }

    static Cli.Failure none() {
        return Cli.fail(Cli.MISSING_TOOL, "no Vagrant provider found: install VirtualBox (https://www.virtualbox.org) "
            + "or libvirt with vagrant-libvirt (Debian: apt-get install libvirt-daemon-system vagrant-libvirt), "
            + "or pass --provider");
    }
}
