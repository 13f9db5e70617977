import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What k3s-up and k3s-down need of libvirt's shared objects, without libvirt: the race's
 * words recognised, how the Vagrantfile picks its networks, the networks' XML, and the
 * host-wide lock held by another process. Making the networks for real, racing a plain
 * vagrant up: tests/vm/NetworkRaceTest.
 */
class LibvirtSharedTest {
    @TempDir Path tmp;

    @Test
    void libvirtsWordsForALostRaceAreRecognisedAndOtherFailuresAreNot() {
        // as vagrant-libvirt 0.11.2 printed them here, racing another vagrant up
        for (String raced : List.of(
            "Error occurred while creating new network: Call to virNetworkDefineXML failed: internal error: "
                + "bridge name 'virbr2' already in use..",
            "Error while activating network: Call to virNetworkCreate failed: error creating bridge interface virbr2: "
                + "File exists.",
            "There was error while creating Libvirt storage pool: Call to virStoragePoolDefineXML failed: operation "
                + "failed: "
                + "pool 'default' already exists with uuid 000ec573-51e8-49c8-925e-5fbb6747d8ac",
            "Error while activating network: Call to virNetworkCreate failed: internal error: Network is already in "
                + "use "
                + "by interface virbr3.")) {
            assertTrue(LibvirtShared.raced(raced), raced);
        }
        for (String other : List.of("The box 'k3s-vagrant/none' could not be found or could not be accessed",
            "Error while activating network: Call to virNetworkCreate failed: Permission denied", "")) {
            assertFalse(LibvirtShared.raced(other), other);
        }
    }

    @Test
    void theVagrantfileFindsEachNetworkByItsAddressAndDestroysOnlyOneVagrantMade() throws Exception {
        // a name would tie the machine to one network: with another project's network on the subnet,
        // vagrant-libvirt uses that one (found by address) yet attaches the machine by name, which fails
        // provision/Vagrantfile run by Ruby under a recorder standing for Vagrant's configuration object
        Path harness = tmp.resolve("record.rb");
        Repo.vagrantfileRecorder(harness, """
            puts "#{options[:ip]} #{options[:libvirt__network_name]} #{options[:libvirt__always_destroy]}" \
            if name == :network
            """);
        Repo.Run run = Repo.exec(List.of("ruby", harness.toString(),
            Repo.root().resolve("provision/Vagrantfile").toString()), tmp,
            Map.of("K3S_VAGRANT_WORKERS", "2", "K3S_VAGRANT_WORKER_IP", "192.168.57.11", "K3S_VAGRANT_LOGIN", "t",
                "K3S_VAGRANT_SERVER_IP", "192.168.57.110",
                "K3S_VAGRANT_TOKEN_FILE", tmp.resolve("token").toString()), null, 60);
        assertEquals(0, run.exit(), run.stderr());
        assertEquals(List.of("192.168.57.110  false", "192.168.57.11  false", "192.168.57.12  false"),
            run.stdout().lines().toList());
        assertEquals("k3s-vagrant-192.168.57.0-24", LibvirtShared.privateNetwork("192.168.57.11").name());
    }

    @Test
    void theNetworksAreVagrantsNatWithDhcpOnABridgeVagrantNeverPicks() {
        List<LibvirtShared.Subnet> needed = LibvirtShared.needed(List.of("192.168.56.110", "192.168.56.111",
            "10.255.255.9"));
        assertEquals(List.of("vagrant-libvirt", "k3s-vagrant-192.168.56.0-24", "k3s-vagrant-10.255.255.0-24"),
            needed.stream().map(LibvirtShared.Subnet::name).toList(), "the management network first, then one a /24");
        for (LibvirtShared.Subnet subnet : needed) {
            String xml = subnet.xml();
            String bridge = xml.replaceAll("(?s).*<bridge name='([^']+)'.*", "$1");
            assertTrue(bridge.length() <= 15 && bridge.startsWith("k3sv-"), "a Linux interface name of ours: "
                + bridge);
            assertTrue(xml.contains("<forward mode='nat'/>")
                && xml.contains("<ip address='" + subnet.prefix() + ".1' netmask='255.255.255.0'>")
                && xml.contains("<dhcp>"), xml);
        }
        assertEquals("k3sv-c0a838",
            LibvirtShared.privateNetwork("192.168.56.110").xml().replaceAll("(?s).*<bridge name='([^']+)'.*", "$1"));
    }

    @Test
    void theHostLockWaitsForAnotherProcessThatHoldsItAndSaysSo() throws Exception {
        Path lockFile = tmp.resolve("networks.lock");
        Path holder = tmp.resolve("Holder.java");
        Files.writeString(holder, """
            import java.nio.channels.FileChannel;
            import java.nio.file.Path;
            import java.nio.file.StandardOpenOption;
            class Holder {
                public static void main(String[] args) throws Exception {
                    try (FileChannel channel = FileChannel.open(Path.of(args[0]), StandardOpenOption.CREATE, \
            StandardOpenOption.WRITE);
                         var lock = channel.lock()) {
                        System.out.println("locked");
                        System.out.flush();
                        Thread.sleep(2000);
                    }
                }
            }
            """);
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process other = new ProcessBuilder(javaBin, holder.toString(),
            lockFile.toString()).redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(other.getInputStream()))) {
            assertEquals("locked", out.readLine(), "the other process holds the lock");
            StringWriter said = new StringWriter();
            Log log = new Log(new PrintWriter(said, true), "test", null);
            try (LibvirtShared.HostLock lock = LibvirtShared.HostLock.take(lockFile, log)) {
                // taken: the first try found it held (the line below), so it was taken once the other let it go
                assertTrue(said.toString().contains("waiting for another k3s-vagrant step"), said.toString());
            }
        } finally {
            other.destroyForcibly();
        }
        assertEquals("rw-rw-rw-", PosixFilePermissions.toString(Files.getPosixFilePermissions(lockFile)),
            "any user's k3s-up may lock it");
    }
}
