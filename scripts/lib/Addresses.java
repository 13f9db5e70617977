//SOURCES Cli.java

import java.util.regex.Pattern;

/** The form of an IPv4 address users type; the cluster's address rules are in provision/settings.yaml. */
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
}
