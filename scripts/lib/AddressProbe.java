//SOURCES Cli.java
//SOURCES Addresses.java

import java.io.IOException;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.InterfaceAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Whether a machine already answers at an address a new cluster is about to take: a machine of another
 * Vagrant project (or any host) on the same private network. A provider's machines sit on a host-only or
 * libvirt network, which always gives this host an address of its own in that network; where the host has
 * none, nothing of a provider's can be running there, and nothing is probed (no packet leaves for an address
 * that is not on a network of this host's).
 */
final class AddressProbe {
    private AddressProbe() {}

    /** Vagrant machines run sshd: a connection, or a refusal (a TCP reset), means a machine holds the address. */
    static final int PORT = 22;
    static final int TIMEOUT_MILLIS = 1000;

    /**
     * The addresses among {@code ips} (name to address) where something answers on {@code port}, probed at once
     * and each for at most {@code timeoutMillis}; only those on a network this host has an address in.
     */
    static Map<String, String> answering(Map<String, String> ips, int port, int timeoutMillis) {
        List<InterfaceAddress> local = localIpv4Networks();
        Map<String, CompletableFuture<Boolean>> probes = new LinkedHashMap<>();
        ips.forEach((name, ip) -> {
            if (onALocalNetwork(ip, local)) {
                probes.put(name, CompletableFuture.supplyAsync(() -> answers(ip, port, timeoutMillis)));
            }
        });
        Map<String, String> found = new LinkedHashMap<>();
        probes.forEach((name, probe) -> {
            if (probe.join()) found.put(name, ips.get(name));
        });
        return found;
    }

    /** Refuses (exit 7) the planned machines (name to address) not yet made in the folder whose address answers. */
    static void refuseTaken(Path folder, Map<String, String> planned) {
        Map<String, String> taken = answering(notMadeYet(folder, planned), PORT, TIMEOUT_MILLIS);
        if (taken.isEmpty()) return;
        List<String> named = new ArrayList<>();
        taken.forEach((machine, ip) -> named.add(ip + " (planned for " + machine + ")"));
        throw Cli.fail(Cli.REFUSED, "a machine already answers at " + String.join(", ", named)
            + ": another Vagrant project's machine or a host on that network holds it. Choose another"
            + " --server-ip or --worker-ip, or stop that machine first (vagrant halt in its project)");
    }

    /** The machines of {@code planned} (name to address) that Vagrant has not made in {@code folder} yet. */
    static Map<String, String> notMadeYet(Path folder, Map<String, String> planned) {
        Map<String, String> left = new LinkedHashMap<>();
        planned.forEach((name, ip) -> {
            Path machine = folder.resolve(".vagrant").resolve("machines").resolve(name);
            boolean made = false;
            try (var providers = Files.list(machine)) {
                made = providers.anyMatch(provider -> Files.isRegularFile(provider.resolve("id")));
            } catch (IOException e) {
                made = false; // no folder: never made here
            }
            if (!made) left.put(name, ip);
        });
        return left;
    }

    static boolean answers(String ip, int port, int timeoutMillis) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getByName(ip), port), timeoutMillis);
            return true;
        } catch (ConnectException e) {
            // "Connection refused" is a machine's own reset; "No route to host" is nobody answering ARP
            return e.getMessage() != null && e.getMessage().contains("refused");
        } catch (IOException e) {
            return false; // timed out, unreachable
        }
    }

    static boolean onALocalNetwork(String ip, List<InterfaceAddress> local) {
        for (InterfaceAddress network : local) {
            int prefix = network.getNetworkPrefixLength();
            if (prefix <= 0) continue; // a default route's /0 is no network of this host's
            if (Addresses.inCidr(ip, network.getAddress().getHostAddress() + "/" + prefix)) return true;
        }
        return false;
    }

    private static List<InterfaceAddress> localIpv4Networks() {
        List<InterfaceAddress> found = new ArrayList<>();
        try {
            for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!nic.isUp()) continue;
                for (InterfaceAddress address : nic.getInterfaceAddresses()) {
                    if (address.getAddress() instanceof Inet4Address) found.add(address);
                }
            }
        } catch (SocketException e) {
            return List.of(); // interfaces unreadable: nothing can be said, nothing probed
        }
        return found;
    }
}
