import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which box image k3s-up puts into libvirt's pool before vagrant up, and under which name:
 * vagrant-libvirt must find it there and upload nothing (two vagrant processes uploading one
 * box at once broke the VM tier in CI). Without libvirt; the upload itself: tests/vm.
 */
class LibvirtBoxVolumeTest {
    @TempDir Path tmp;

    @Test
    void aVersionlessBoxIsNamedAfterItsImagesTimeAsVagrantLibvirtNamesIt() throws Exception {
        Path dir = box("k3s-vagrant/debian12-test", "0", null);
        Files.setLastModifiedTime(dir.resolve("box.img"), FileTime.fromMillis(1_764_351_480_123L));
        LibvirtBoxVolume.Image image = LibvirtBoxVolume.find(tmp, "k3s-vagrant/debian12-test", "", "amd64");
        // the name vagrant-libvirt 0.11.2 gave this box's volume here (/var/lib/libvirt/images/...)
        assertEquals("k3s-vagrant-VAGRANTSLASH-debian12-test_vagrant_box_image_0_1764351480_box.img", image.volume());
        assertEquals(3L * 1024 * 1024 * 1024, image.capacityBytes());
        assertEquals(dir.resolve("box.img"), image.file());
    }

    @Test
    void theNewestInstalledVersionIsTakenUnlessOneIsAskedFor() throws Exception {
        box("debian/trixie64", "13.20250901.1", null);
        box("debian/trixie64", "13.9.0", null);
        box("debian/trixie64", "13.20251101.1", "amd64"); // Vagrant 2.4 puts the architecture in between
        assertEquals("debian-VAGRANTSLASH-trixie64_vagrant_box_image_13.20251101.1_box.img",
            LibvirtBoxVolume.find(tmp, "debian/trixie64", "", "amd64").volume());
        assertEquals("debian-VAGRANTSLASH-trixie64_vagrant_box_image_13.9.0_box.img",
            LibvirtBoxVolume.find(tmp, "debian/trixie64", "13.9.0", "amd64").volume());
        assertNull(LibvirtBoxVolume.find(tmp, "debian/trixie64", "14.0", "amd64"),
            "not installed: vagrant up fetches it");
        assertNull(LibvirtBoxVolume.find(tmp, "debian/bookworm64", "", "amd64"),
            "not installed: vagrant up fetches it");
    }

    @Test
    void boxesThisDoesNotHandleAreLeftToVagrantLibvirt() throws Exception {
        Path multiDisk = box("acme/two-disks", "1.0", null);
        Files.writeString(multiDisk.resolve("metadata.json"),
            "{\"provider\":\"libvirt\",\"disks\":[{\"path\":\"a.qcow2\"}]}");
        assertNull(LibvirtBoxVolume.find(tmp, "acme/two-disks", "", "amd64"));
        Path virtualBox = tmp.resolve("boxes/acme-VAGRANTSLASH-vbox/1.0/virtualbox");
        Files.createDirectories(virtualBox);
        Files.writeString(virtualBox.resolve("metadata.json"), "{\"provider\":\"virtualbox\"}");
        assertNull(LibvirtBoxVolume.find(tmp, "acme/vbox", "", "amd64"));
    }

    @Test
    void versionsAreOrderedAsRubyGemsOrdersThem() {
        assertTrue(LibvirtBoxVolume.compareVersions("1.10.0", "1.9.9") > 0);
        assertTrue(LibvirtBoxVolume.compareVersions("2", "1.99") > 0);
        assertEquals(0, LibvirtBoxVolume.compareVersions("1.0", "1"));
    }

    @Test
    void theBoxIsTheOneTheVagrantfileBootsWithTheEnvironmentFirst() throws Exception {
        assertEquals("k3s-vagrant/x",
            LibvirtBoxVolume.box(Map.of("K3S_VAGRANT_BOX", "k3s-vagrant/x"), Map.of("BOX", "a/b")));
        assertEquals("a/b", LibvirtBoxVolume.box(Map.of(), Map.of("BOX", "a/b")));
        assertEquals(LibvirtBoxVolume.DEFAULT_BOX,
            LibvirtBoxVolume.box(Map.of("K3S_VAGRANT_BOX", ""), Map.of("BOX", "a/b")));
        // one default, in settings.yaml's boxes, which the Vagrantfile reads too
        String vagrantfile = Files.readString(Repo.root().resolve("provision/Vagrantfile"));
        assertTrue(vagrantfile.contains("PLAN[\"boxes\"][\"libvirt\"]"), "the Vagrantfile's box comes from the table");
        assertEquals("debian/trixie64", LibvirtBoxVolume.DEFAULT_BOX);
    }

    @Test
    void rubysBacktraceIsKeptOutOfTheFailureMessageBothWaysVagrantPrintsIt() {
        // as vagrant up printed them in CI when two processes uploaded one box: the error line came before 40 of these
        for (String line : List.of(
            "/usr/share/rubygems-integration/all/gems/fog-core-2.3.0/lib/fog/core/collection.rb:50:in `create'",
            "\tfrom /usr/share/rubygems-integration/all/gems/vagrant-2.3.4/lib/vagrant/action/warden.rb:48:in "
                + "`call'")) {
            assertTrue(Vagrant.rubyBacktrace(line), line);
        }
        for (String line : List.of("==> vmtS: Uploading base box image as volume into Libvirt storage...",
            "Error while creating volume for box image: Call to virStorageVolCreateXML failed: storage volume "
                + "'x_box.img' exists already")) {
            assertFalse(Vagrant.rubyBacktrace(line), line);
        }
    }

    /** A box as `vagrant box add` leaves it under VAGRANT_HOME. */
    private Path box(String name, String version, String arch) throws Exception {
        Path dir = tmp.resolve("boxes").resolve(name.replace("/", "-VAGRANTSLASH-")).resolve(version);
        if (arch != null) dir = dir.resolve(arch);
        dir = Files.createDirectories(dir.resolve("libvirt"));
        Files.writeString(dir.resolve("metadata.json"),
            "{\"provider\":\"libvirt\",\"format\":\"qcow2\",\"virtual_size\":3}");
        Files.writeString(dir.resolve("box.img"), "QFI\u00fb not a real image");
        return dir;
    }
}
