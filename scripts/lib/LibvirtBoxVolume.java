//DEPS com.fasterxml.jackson.core:jackson-databind:2.20.1
//SOURCES Cli.java
//SOURCES Interruption.java
//SOURCES LibvirtShared.java
//SOURCES Plan.java
//SOURCES Log.java

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The box's disk image as a volume of libvirt's storage pool, put there before `vagrant up`.
 * vagrant-libvirt uploads it on first use (handle_box_image.rb) under a lock that holds
 * within one process only: two vagrant processes starting the same box at once both upload
 * it and one fails ("volume ... exists already"), or one finds the volume the other is still
 * writing and boots a machine from half a disk, which never gets an address. Here the volume
 * is made and filled under the host-wide lock, named as vagrant-libvirt names it, so that
 * vagrant-libvirt only finds it; a volume another process is still writing is waited for.
 *
 * Only a box already on this host (version-1 box format: one box.img) is handled; anything
 * else (a box vagrant up will download, a multi-disk box, a version constraint) is left to
 * vagrant-libvirt as before.
 */
final class LibvirtBoxVolume {
    private LibvirtBoxVolume() {}

    /** The box the Vagrantfile uses on libvirt when none is given (provision/Vagrantfile, libvirt_box). */
    static final String DEFAULT_BOX = Plan.defaultBox("libvirt");

    /** How long a volume another process is writing may stay the same size before it counts as abandoned. */
    static final long STALLED_MILLIS = 60_000;

    /** A box image on this host and the volume vagrant-libvirt would upload it as. */
    record Image(Path file, String volume, long capacityBytes) { }

    /**
     * The image Vagrant would use for box (at version, or the newest installed when version is
     * empty), or null when it is not on this host in a form handled here.
     */
    static Image find(Path vagrantHome, String box, String version, String arch) {
        Path versions = vagrantHome.resolve("boxes").resolve(
            box.replace("/", "-VAGRANTSLASH-").replace(":", "-VAGRANTCOLON-"));
        if (!Files.isDirectory(versions)) return null;
        List<String> candidates = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(versions)) {
            dirs.filter(Files::isDirectory).map(dir -> dir.getFileName().toString())
                .filter(name -> version.isEmpty() || name.equals(version))
                .filter(name -> providerDir(versions.resolve(name), arch) != null)
                .forEach(candidates::add);
        } catch (IOException e) {
            return null;
        }
        if (candidates.isEmpty()) return null;
        candidates.sort(LibvirtBoxVolume::compareVersions);
        String chosen = candidates.get(candidates.size() - 1);
        Path dir = providerDir(versions.resolve(chosen), arch);
        try {
            JsonNode metadata = new ObjectMapper().readTree(dir.resolve("metadata.json").toFile());
            Path file = dir.resolve("box.img");
            if (metadata.has("disks") || !"qcow2".equals(metadata.path("format").asText())
                || !metadata.path("virtual_size").canConvertToLong() || !Files.isRegularFile(file)) {
                return null;
            }
            String volumeVersion = chosen.isEmpty() || chosen.equals("0")
                ? "0_" + Files.getLastModifiedTime(file).toMillis() / 1000 : chosen;
            return new Image(file, volumeName(box, volumeVersion, "box"),
                metadata.path("virtual_size").asLong() * 1024 * 1024 * 1024);
        } catch (IOException e) {
            return null;
        }
    }

    /** handle_box_image.rb, get_volume_name. */
    static String volumeName(String box, String version, String disk) {
        return box.replace("/", "-VAGRANTSLASH-") + "_vagrant_box_image_" + version + "_"
            + disk.replace("/", "-SLASH-") + ".img";
    }

    /** A version's folder for libvirt: Vagrant 2.4 may put an architecture folder in between. */
    private static Path providerDir(Path versionDir, String arch) {
        for (Path dir : List.of(versionDir.resolve("libvirt"), versionDir.resolve(arch).resolve("libvirt"))) {
            if (Files.isRegularFile(dir.resolve("metadata.json"))) return dir;
        }
        return null;
    }

    /** Gem::Version's order, for the versions box folders have (numbers separated by dots). */
    static int compareVersions(String a, String b) {
        String[] x = a.split("\\."), y = b.split("\\.");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            String p = i < x.length ? x[i] : "0", q = i < y.length ? y[i] : "0";
            int order = p.matches("\\d{1,18}") && q.matches("\\d{1,18}")
                ? Long.compare(Long.parseLong(p), Long.parseLong(q)) : p.compareTo(q);
            if (order != 0) return order;
        }
        return 0;
    }

    /** The box a k3s-up cluster folder's Vagrantfile boots on libvirt: the environment wins, as there. */
    static String box(Map<String, String> env, Map<String, String> settings) {
        String set = env.containsKey("K3S_VAGRANT_BOX") ? env.get("K3S_VAGRANT_BOX") : settings.getOrDefault("BOX", "");
        return set.isEmpty() ? DEFAULT_BOX : set;
    }

    /**
     * ensure() for the box a cluster folder boots (its recorded settings; the environment wins),
     * when that box is on this host for arch.
     */
    static void ensureFor(Map<String, String> recorded, String arch, Log log) {
        Map<String, String> env = System.getenv();
        String version = env.getOrDefault("K3S_VAGRANT_BOX_VERSION", recorded.getOrDefault("BOX_VERSION", ""));
        Image image = find(vagrantHome(), box(env, recorded), version, arch);
        if (image != null) ensure(image, log);
    }

    /** Where Vagrant keeps its boxes: $VAGRANT_HOME, else ~/.vagrant.d. */
    static Path vagrantHome() {
        String home = System.getenv("VAGRANT_HOME");
        return home != null && !home.isEmpty() ? Path.of(home) : Path.of(System.getProperty("user.home"), ".vagrant.d");
    }

    /**
     * Makes sure the image's volume is in the pool "default" and whole before vagrant up: made
     * and filled here when missing, waited for when another process is still writing it.
     */
    static void ensure(Image image, Log log) {
        long size;
        try {
            size = Files.size(image.file());
        } catch (IOException e) {
            return; // vagrant up reports a box it cannot read
        }
        try (LibvirtShared.HostLock lock = LibvirtShared.HostLock.take(LibvirtShared.HOST_LOCK, log)) {
            Long physical = physicalSize(image.volume());
            if (physical != null && physical == size) return;
            if (physical == null) {
                upload(image, size, log);
                return;
            }
        }
        awaitWhole(image, size, log);
    }

    private static void upload(Image image, long size, Log log) {
        // the volume as fog-libvirt defines it for vagrant-libvirt (owner root: qemu:///system)
        String xml = "<volume>\n  <name>" + image.volume() + "</name>\n"
            + "  <allocation unit='M'>" + size / 1024 / 1024 + "</allocation>\n"
            + "  <capacity unit='B'>" + image.capacityBytes() + "</capacity>\n"
            + "  <target>\n    <format type='qcow2'/>\n"
            + "    <permissions><owner>0</owner><group>0</group><mode>0744</mode><label>virt_image_t</label>"
            + "</permissions>\n  </target>\n</volume>\n";
        Path file = null;
        try {
            file = Files.createTempFile("k3s-vagrant-volume", ".xml");
            Files.writeString(file, xml);
            LibvirtShared.Result made = LibvirtShared.virsh("vol-create", "default", file.toString());
            if (made.exit() != 0) {
                throw Cli.fail(Cli.FAILED, "cannot make the volume " + image.volume() + " in libvirt's storage pool "
                    + "default for the box image " + image.file() + ": " + made.text().strip());
            }
            LibvirtShared.Result sent = LibvirtShared.virsh("vol-upload", image.volume(), image.file().toString(),
                "--pool", "default");
            if (sent.exit() != 0) {
                LibvirtShared.virsh("vol-delete", image.volume(), "--pool", "default"); // ours, and half written
                throw Cli.fail(Cli.FAILED, "cannot upload the box image " + image.file() + " into libvirt's storage "
                    + "pool default: " + sent.text().strip());
            }
            log.info("put the box image into libvirt's storage pool default as " + image.volume()
                + ", as vagrant-libvirt would");
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot write a temporary file: " + e.getMessage());
        } finally {
            if (file != null) file.toFile().delete();
        }
    }

    /** Waits while another process writes the volume; one that stops growing was abandoned. */
    private static void awaitWhole(Image image, long size, Log log) {
        log.info("waiting for another vagrant process to finish putting the box image into libvirt's pool ("
            + image.volume() + ")");
        long lastSize = -1, lastChange = System.currentTimeMillis();
        while (true) {
            Long physical = physicalSize(image.volume());
            if (physical == null) { // the other process gave up and removed it: make it here
                ensure(image, log);
                return;
            }
            if (physical == size) return;
            if (physical != lastSize) {
                lastSize = physical;
                lastChange = System.currentTimeMillis();
            } else if (System.currentTimeMillis() - lastChange > STALLED_MILLIS) {
                throw Cli.fail(Cli.FAILED, "the box image's volume " + image.volume() + " in libvirt's storage pool "
                    + "default holds " + physical + " of " + size + " bytes and has not grown for "
                    + STALLED_MILLIS / 1000 + " s: a vagrant up that was uploading it stopped. Machines booted from it "
                    + "never start: remove it ('virsh -c " + LibvirtShared.URI + " vol-delete " + image.volume()
                    + " --pool default', once no machine uses it) and run k3s-up again");
            }
            Interruption.pause(1000, "for the box image's volume");
        }
    }

    /** The volume's size on disk, or null when the pool has no such volume. */
    private static Long physicalSize(String volume) {
        LibvirtShared.Result info =
            LibvirtShared.virsh("vol-info", volume, "--pool", "default", "--bytes", "--physical");
        if (info.exit() != 0) return null;
        Matcher m = Pattern.compile("Physical:\\s+(\\d+)").matcher(info.text());
        return m.find() ? Long.parseLong(m.group(1)) : null;
    }
}
