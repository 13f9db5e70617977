//DEPS org.zeroturnaround:zt-exec:1.12
//SOURCES Cli.java
//SOURCES Interruption.java
//SOURCES LibvirtLookups.java
//SOURCES Log.java

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.zeroturnaround.exec.ProcessExecutor;
import org.zeroturnaround.exec.ProcessResult;

/**
 * What vagrant-libvirt makes on demand and every Vagrant project of the host shares: the
 * storage pool "default", its management network and the private networks. Made here
 * before `vagrant up`, so that Vagrant only finds them: two vagrant processes booting at
 * once (two clusters, or a cluster and any other project) each find one missing and each
 * define it, and one fails ("pool 'default' already exists", "bridge name 'virbr2' already
 * in use"). vagrant-libvirt's own lock holds within one process; this one across the host.
 *
 * vagrant-libvirt finds a private network by its address, whatever its name: a network
 * another project made for the same /24 is used as it is. One we make is named after its
 * /24 (k3s-vagrant-192.168.56.0-24), on a bridge of our own name (vagrant picks the lowest
 * free virbrN, so ours never takes the one it is about to define), and k3s-down removes it
 * once no machine uses it.
 */
final class LibvirtShared {
    private LibvirtShared() {}

    /** vagrant-libvirt's connection and management network, by default. */
    static final String URI = "qemu:///system";
    static final String MANAGEMENT = "vagrant-libvirt";
    static final String MANAGEMENT_SUBNET = "192.168.121";

    /** Held while networks are looked at and made, by every k3s-up and k3s-down of this host. */
    static final Path HOST_LOCK = Path.of(System.getProperty("java.io.tmpdir"), "k3s-vagrant-libvirt-networks.lock");

    /** A /24 by its first three bytes ("192.168.56"), and the name of the network we make for it. */
    record Subnet(String prefix, String name) {
        String address() {
            return prefix + ".0/24";
        }

        /** vagrant-libvirt makes its networks with NAT and DHCP; ours match, so either serves the other's machines. */
        String xml() {
            String[] bytes = prefix.split("\\.");
            String bridge = name.equals(MANAGEMENT) ? "k3sv-mgmt" : String.format("k3sv-%02x%02x%02x",
                Integer.parseInt(bytes[0]), Integer.parseInt(bytes[1]), Integer.parseInt(bytes[2]));
            return "<network ipv6='yes'>\n  <name>" + name + "</name>\n"
                + "  <bridge name='" + bridge + "' stp='on' delay='0'/>\n"
                + "  <forward mode='nat'/>\n  <ip address='" + prefix + ".1' netmask='255.255.255.0'>\n"
                + "    <dhcp><range start='" + prefix + ".2' end='" + prefix + ".254'/></dhcp>\n  </ip>\n</network>\n";
        }
    }

    /** The private network we make for a machine at ip: named after its /24. */
    static Subnet privateNetwork(String ip) {
        String prefix = ip.substring(0, ip.lastIndexOf('.'));
        return new Subnet(prefix, "k3s-vagrant-" + prefix + ".0-24");
    }

    /** Every network machines at these addresses need: Vagrant's management network, then each private /24. */
    static List<Subnet> needed(List<String> ips) {
        Set<Subnet> subnets = new LinkedHashSet<>();
        subnets.add(new Subnet(MANAGEMENT_SUBNET, MANAGEMENT));
        ips.forEach(ip -> subnets.add(privateNetwork(ip)));
        return List.copyOf(subnets);
    }

    /** Makes sure the storage pool and each network exist and are active, under the host-wide lock. */
    static void ensure(List<Subnet> subnets, Log log) {
        try (HostLock lock = HostLock.take(HOST_LOCK, log)) {
            ensurePool(log);
            for (Subnet subnet : subnets) ensure(subnet, log);
        }
    }

    /** The pool vagrant-libvirt would make (handle_storage_pool.rb: a folder owned by root, mode 755). */
    static final String POOL_XML = "<pool type='dir'>\n  <name>default</name>\n  <target>\n"
        + "    <path>/var/lib/libvirt/images</path>\n"
        + "    <permissions><mode>0755</mode><owner>0</owner><group>0</group></permissions>\n  </target>\n</pool>\n";

    private static void ensurePool(Log log) {
        for (int attempt = 1; attempt <= 3; attempt++) {
            Result info = virsh("pool-info", "default");
            if (info.exit() == 0) {
                boolean running = info.text().matches("(?s).*State:\\s+running.*");
                if (running || virsh("pool-start", "default").exit() == 0) return;
            } else {
                if (virsh("pool-list", "--all").exit() != 0) throw LibvirtLookups.unreachable(info);
                String failure = LibvirtLookups.defineFrom(POOL_XML, "pool-define");
                if (failure == null) {
                    virsh("pool-build", "default");
                    Result start = virsh("pool-start", "default");
                    if (start.exit() != 0) {
                        throw Cli.fail(Cli.FAILED, "cannot start libvirt's storage pool default: "
                            + start.text().strip());
                    }
                    log.info("made libvirt's storage pool default (/var/lib/libvirt/images), as vagrant-libvirt would");
                    return;
                }
                if (!raced(failure)) {
                    throw Cli.fail(Cli.FAILED, "cannot make libvirt's storage pool default: " + failure.strip());
                }
            }
            // another process made or started it meanwhile: look again
            Interruption.pause(1000L * attempt, "for libvirt's storage pool and networks");
        }
        throw Cli.fail(Cli.FAILED, "libvirt's storage pool default could not be made or started: 'virsh -c " + URI
            + " pool-info default' says why");
    }

    private static void ensure(Subnet subnet, Log log) {
        for (int attempt = 1; attempt <= 3; attempt++) {
            LibvirtLookups.Network found = LibvirtLookups.bySubnet(subnet.prefix());
            if (found != null) {
                if (found.active() || LibvirtLookups.start(found.name()) == null) {
                    log.info("libvirt network " + found.name() + " (" + subnet.address() + ") is there");
                    return;
                }
            } else if (LibvirtLookups.defineFrom(subnet.xml(), "net-define") == null) {
                String failure = LibvirtLookups.start(subnet.name());
                if (failure == null) {
                    log.info("made libvirt network " + subnet.name() + " for " + subnet.address());
                    return;
                }
                // another process started a network on this /24 meanwhile: use that one
                virsh("net-undefine", subnet.name());
                if (!raced(failure)) throw cannotMake(subnet, failure);
            }
            // a define or start raced another process's: look again
            Interruption.pause(1000L * attempt, "for libvirt's storage pool and networks");
        }
        throw cannotMake(subnet, "another process kept making networks on the same subnet");
    }

    /**
     * Removes the networks we made for these machines once no libvirt domain (running or
     * not) is attached to them; a network another project still uses stays, and is named.
     */
    static List<String> removeUnused(List<String> ips, Log log) {
        List<String> removed = new ArrayList<>();
        try (HostLock lock = HostLock.take(HOST_LOCK, log)) {
            Set<String> names = new LinkedHashSet<>();
            ips.forEach(ip -> names.add(privateNetwork(ip).name()));
            Map<String, String> users = LibvirtLookups.domainsByNetwork();
            for (String name : names) {
                if (virsh("net-info", name).exit() != 0) continue; // not there (or never ours to make)
                if (users.containsKey(name)) {
                    log.info("keeping libvirt network " + name + ": " + users.get(name) + " still uses it");
                    continue;
                }
                virsh("net-destroy", name);
                Result undefine = virsh("net-undefine", name);
                if (undefine.exit() != 0) {
                    log.warn("cannot remove libvirt network " + name + ": " + undefine.text().strip()
                        + "; remove it with 'virsh -c " + URI + " net-undefine " + name + "'");
                    continue;
                }
                log.info("removed libvirt network " + name);
                removed.add(name);
            }
        }
        return removed;
    }

    /** Libvirt's words, quoted by vagrant-libvirt, when a define lost a race with another process's. */
    private static final Pattern RACE = Pattern.compile(
        "bridge name '[^']+' already in use|already in use by interface|(network|pool) '[^']+' already exists"
            + "|Network is already in use|error creating bridge interface \\S+: File exists");

    static boolean raced(String vagrantOrVirshOutput) {
        return RACE.matcher(vagrantOrVirshOutput).find();
    }

    record Result(int exit, String text) { }

    /** One virsh command on vagrant-libvirt's connection: its exit and its output and errors together. */
    static Result virsh(String... args) {
        List<String> command = new ArrayList<>(List.of("virsh", "-q", "-c", URI));
        command.addAll(List.of(args));
        try {
            ProcessResult result = new ProcessExecutor(command).readOutput(true).redirectErrorStream(true)
                .timeout(60, TimeUnit.SECONDS).execute();
            return new Result(result.getExitValue(), result.outputUTF8());
        } catch (IOException e) {
            throw Cli.fail(Cli.MISSING_TOOL, "cannot run virsh (libvirt's client): " + e.getMessage());
        } catch (TimeoutException e) {
            throw Cli.fail(Cli.FAILED, "virsh " + String.join(" ", args)
                + " did not answer within 60 s: is libvirtd running?");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Cli.fail(Cli.FAILED, "interrupted while asking libvirt about its networks");
        }
    }

    private static Cli.Failure cannotMake(Subnet subnet, String why) {
        return Cli.fail(Cli.FAILED, "cannot make the libvirt network " + subnet.name() + " for " + subnet.address()
            + ": "
            + why.strip() + "; 'virsh -c " + URI + " net-list --all' shows the networks there");
    }


    /**
     * The host-wide lock: a file in the temporary folder that every user may lock (it holds
     * nothing). Waits up to 2 minutes for another k3s-up or k3s-down, saying so.
     */
    static final class HostLock implements AutoCloseable {
        private final FileChannel channel;
        private final FileLock lock;

        private HostLock(FileChannel channel, FileLock lock) {
            this.channel = channel;
            this.lock = lock;
        }

        static HostLock take(Path file, Log log) {
            try {
                FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS);
                try {
                    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-rw-rw-"));
                } catch (IOException | UnsupportedOperationException e) {
                    // another user's lock file: locking it works all the same
                }
                long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
                boolean said = false;
                while (true) {
                    FileLock lock;
                    try {
                        lock = channel.tryLock();
                    } catch (OverlappingFileLockException e) {
                        lock = null; // held by another thread of this process: wait for it as for another process
                    }
                    if (lock != null) return new HostLock(channel, lock);
                    if (System.nanoTime() > deadline) {
                        channel.close();
                        throw Cli.fail(Cli.REFUSED, "another k3s-up or k3s-down has held " + file
                            + " for 2 minutes "
                            + "while making libvirt's pool and networks: let it finish, then run this step again");
                    }
                    if (!said) log.info("waiting for another k3s-vagrant step making libvirt's pool and networks");
                    said = true;
                    Thread.sleep(200);
                }
            } catch (IOException e) {
                throw Cli.fail(Cli.FAILED, "cannot lock " + file + ": " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw Cli.fail(Cli.FAILED, "interrupted while waiting for " + file);
            }
        }

        @Override
        public void close() {
            try {
                lock.release();
                channel.close();
            } catch (IOException e) {
                // the lock goes with the process anyway
            }
        }
    }
}
