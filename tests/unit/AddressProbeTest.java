import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Before anything boots, k3s-up asks whether a machine already holds one of its planned addresses (another
 * Vagrant project's machine on the same host-only network). Real sockets on loopback addresses stand for
 * machines; the VM tier's ClusterFlowTest refuses a cluster on the address of its running third machine.
 */
class AddressProbeTest {
    @Test
    void aMachineListeningOnTheAddressIsFound() throws IOException {
        try (ServerSocket machine = new ServerSocket(0, 5, InetAddress.getByName("127.0.0.21"))) {
            Map<String, String> taken = AddressProbe.answering(Map.of("wilS", "127.0.0.21"), machine.getLocalPort(),
                AddressProbe.TIMEOUT_MILLIS);
            assertEquals(Map.of("wilS", "127.0.0.21"), taken);
        }
    }

    @Test
    void aMachineThatRefusesTheConnectionHoldsTheAddressToo() throws IOException {
        int closedPort;
        try (ServerSocket gone = new ServerSocket(0, 5, InetAddress.getByName("127.0.0.22"))) {
            closedPort = gone.getLocalPort();
        }
        // a reset is a machine's answer: its sshd may be down, the address is still taken
        assertEquals(Map.of("wilSW", "127.0.0.22"),
            AddressProbe.answering(Map.of("wilSW", "127.0.0.22"), closedPort, AddressProbe.TIMEOUT_MILLIS));
    }

    @Test
    void anAddressOnNoNetworkOfThisHostIsNotProbed() {
        // 192.0.2.0/24 is TEST-NET-1: no interface of this host is on it, so no provider's machine can be
        assertEquals(Map.of(), AddressProbe.answering(Map.of("wilS", "192.0.2.10"), AddressProbe.PORT, 200));
    }

    @Test
    void machinesVagrantAlreadyMadeInTheFolderAreOursAndNotProbed(@TempDir Path folder) throws IOException {
        Path made = folder.resolve(".vagrant/machines/wilS/libvirt");
        Files.createDirectories(made);
        Files.writeString(made.resolve("id"), "a1b2\n");
        Files.createDirectories(folder.resolve(".vagrant/machines/wilSW/libvirt")); // begun, never made
        Map<String, String> planned = new java.util.LinkedHashMap<>();
        planned.put("wilS", "192.168.56.110");
        planned.put("wilSW", "192.168.56.111");
        planned.put("wilSW2", "192.168.56.112");
        assertEquals(Map.of("wilSW", "192.168.56.111", "wilSW2", "192.168.56.112"),
            AddressProbe.notMadeYet(folder, planned));
    }
}
