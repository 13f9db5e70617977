//SOURCES Cli.java

import java.util.List;
import java.util.regex.Pattern;

/** Checks of the addresses users type, before anything starts. */
final class Addresses {
    private Addresses() {}

    private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");

    static boolean isIpv4(String text) {
        return text != null && IPV4.matcher(text).matches();
    }

    static String requireIpv4(String text, String option) {
        if (!isIpv4(text)) {
            throw Cli.fail(Cli.USAGE, option + " '" + text + "' is not an IPv4 address (e.g. 192.168.56.110)");
        }
        return text;
    }

    static boolean sameSlash24(String a, String b) {
        return toLong(a) >> 8 == toLong(b) >> 8;
    }

    /** A machine's address: not the /24's network (.0) or broadcast (.255), nor .1, the host's own on it. */
    static void requireHostAddress(String ip, String option) {
        String last = ip.substring(ip.lastIndexOf('.') + 1);
        if (List.of("0", "1", "255").contains(last)) {
            throw Cli.fail(Cli.USAGE, ip + " (from " + option + ") ends in ." + last + ", which no machine may take"
                + " (.0 is the network's address, .255 its broadcast, .1 the host's own on the private network):"
                + " use addresses from .2 to .254");
        }
    }

    static long toLong(String ip) {
        long value = 0;
        for (String part : ip.split("\\.")) value = value * 256 + Integer.parseInt(part);
        return value;
    }

    /** VirtualBox (6.1.28+) allows host-only networks only in 192.168.56.0/21 by default. */
    static boolean inVirtualBoxHostOnlyRange(String ip) {
        long value = toLong(ip);
        return value >= toLong("192.168.56.0") && value <= toLong("192.168.63.255");
    }

    static boolean isPrivate(String ip) {
        long value = toLong(ip);
        return (value >= toLong("10.0.0.0") && value <= toLong("10.255.255.255"))
            || (value >= toLong("172.16.0.0") && value <= toLong("172.31.255.255"))
            || (value >= toLong("192.168.0.0") && value <= toLong("192.168.255.255"));
    }
}
