//SOURCES Cli.java
//SOURCES LibvirtShared.java

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Element;
import org.xml.sax.InputSource;

/** What libvirt has (a /24's network, the domains on each network), and defining and starting from XML. */
final class LibvirtLookups {
    private LibvirtLookups() {
    }

    record Network(String name, boolean active) { }

    /** The network (active or not) whose address lies in prefix.0/24, as vagrant-libvirt looks networks up. */
    static Network bySubnet(String prefix) {
        LibvirtShared.Result list = LibvirtShared.virsh("net-list", "--all", "--name");
        if (list.exit() != 0) throw unreachable(list);
        for (String name : list.text().lines().map(String::strip).filter(n -> !n.isEmpty()).toList()) {
            LibvirtShared.Result xml = LibvirtShared.virsh("net-dumpxml", name);
            if (xml.exit() != 0) continue; // removed meanwhile
            Element network = parse(xml.text());
            var ips = network.getElementsByTagName("ip");
            for (int i = 0; i < ips.getLength(); i++) {
                String address = ((Element) ips.item(i)).getAttribute("address");
                Element ip = (Element) ips.item(i);
                boolean slash24 = ip.getAttribute("netmask").equals("255.255.255.0")
                    || ip.getAttribute("prefix").equals("24");
                if (address.startsWith(prefix + ".") && slash24) {
                    String info = LibvirtShared.virsh("net-info", name).text();
                    return new Network(name, info.matches("(?s).*Active:\\s+yes.*"));
                }
            }
        }
        return null;
    }

    /** Which domain is attached to each network (one name is enough to say why a network stays). */
    static Map<String, String> domainsByNetwork() {
        Map<String, String> users = new LinkedHashMap<>();
        LibvirtShared.Result domains = LibvirtShared.virsh("list", "--all", "--name");
        if (domains.exit() != 0) throw unreachable(domains);
        for (String domain : domains.text().lines().map(String::strip).filter(d -> !d.isEmpty()).toList()) {
            LibvirtShared.Result xml = LibvirtShared.virsh("dumpxml", "--inactive", domain);
            if (xml.exit() != 0) continue;
            var sources = parse(xml.text()).getElementsByTagName("source");
            for (int i = 0; i < sources.getLength(); i++) {
                String network = ((Element) sources.item(i)).getAttribute("network");
                if (!network.isEmpty()) users.putIfAbsent(network, "domain " + domain);
            }
        }
        return users;
    }

    /** null when defined (virsh net-define or pool-define), else libvirt's words. */
    static String defineFrom(String text, String verb) {
        try {
            Path xml = Files.createTempFile("k3s-vagrant-libvirt", ".xml");
            try {
                Files.writeString(xml, text);
                LibvirtShared.Result define = LibvirtShared.virsh(verb, xml.toString());
                return define.exit() == 0 ? null : define.text();
            } finally {
                Files.deleteIfExists(xml);
            }
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot write a temporary file for libvirt: " + e.getMessage());
        }
    }

    /** null when started, else libvirt's words. */
    static String start(String name) {
        LibvirtShared.Result start = LibvirtShared.virsh("net-start", name);
        return start.exit() == 0 ? null : start.text();
    }

    private static Element parse(String xml) {
        try {
            var factory = DocumentBuilderFactory.newInstance();
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            return factory.newDocumentBuilder().parse(new InputSource(new StringReader(xml))).getDocumentElement();
        } catch (Exception e) {
            throw Cli.fail(Cli.FAILED, "libvirt answered XML that cannot be read: " + e.getMessage());
        }
    }

    static Cli.Failure unreachable(LibvirtShared.Result result) {
        return Cli.fail(Cli.MISSING_TOOL, "cannot reach libvirt at " + LibvirtShared.URI + ": " + result.text().strip()
            + " (is libvirtd running, and may this user use it? e.g. add it to the group libvirt)");
    }
}
