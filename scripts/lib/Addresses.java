//SOURCES Cli.java

import java.util.regex.Pattern;

/** The IPv4 form (settings.yaml's ipv4 word, for Java); the cluster's address rules are in settings.yaml. */
final class Addresses {
    private Addresses() {}

    private static final Pattern IPV4 =
        Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");

    static boolean isIpv4(String text) {
        return text != null && IPV4.matcher(text).matches();
    }

    static String requireIpv4(String text, String option) {
        if (!isIpv4(text)) {
            throw Cli.fail(Cli.USAGE, option + " '" + text + "' is not an IPv4 address (e.g. 192.168.56.110)");
        }
        return text;
    }

    static long toLong(String ip) {
        long value = 0;
        for (String octet : ip.split("\\.")) value = value << 8 | Integer.parseInt(octet);
        return value;
    }

    static String ipOf(long value) {
        return (value >> 24 & 255) + "." + (value >> 16 & 255) + "." + (value >> 8 & 255) + "." + (value & 255);
    }

    /** Whether an IPv4 address lies in a network given as ADDRESS/BITS; false for anything else. */
    static boolean inCidr(String ip, String cidr) {
        String[] parts = cidr.split("/", 2);
        if (parts.length != 2 || !isIpv4(ip) || !isIpv4(parts[0]) || !parts[1].matches("\\d{1,2}")) return false;
        int bits = Integer.parseInt(parts[1]);
        if (bits > 32) return false;
        long mask = bits == 0 ? 0 : (0xffffffffL << (32 - bits)) & 0xffffffffL;
        return (toLong(ip) & mask) == (toLong(parts[0]) & mask);
    }
}
