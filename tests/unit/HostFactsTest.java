import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Each host's facts, on Linux: a Windows, a macOS and a Linux host, each with its own file
 * system laid out as an installer leaves it (Jimfs, shaped like that host), where the
 * steps must find vagrant, VirtualBox, libvirt and the kubeconfig kubectl reads.
 */
class HostFactsTest {
    /** Windows as VirtualBox's and Vagrant's installers leave it: Vagrant on Path, VirtualBox not. */
    static HostFacts windows(FileSystem fs, Map<String, String> extra) throws IOException {
        Path vbox = fs.getPath("C:\\Program Files\\Oracle\\VirtualBox");
        Path vagrant = fs.getPath("C:\\Program Files\\Vagrant\\bin");
        Files.createDirectories(vbox);
        Files.createDirectories(vagrant);
        Files.createDirectories(fs.getPath("C:\\Users\\wil"));
        for (Path exe : new Path[] {vbox.resolve("VBoxManage.exe"), vagrant.resolve("vagrant.exe")}) {
            if (!Files.exists(exe)) Files.createFile(exe);
        }
        Map<String, String> env = new java.util.HashMap<>(Map.of(
            "Path", "C:\\Windows\\system32;\"C:\\Program Files\\Vagrant\\bin\";C:\\Windows",
            "PATHEXT", ".COM;.EXE;.BAT;.CMD;.VBS;.JS",
            "VBOX_MSI_INSTALL_PATH", "C:\\Program Files\\Oracle\\VirtualBox\\",
            "USERPROFILE", "C:\\Users\\wil"));
        env.putAll(extra);
        return new HostFacts("Windows 11", env, fs.getPath("C:\\Users\\wil"));
    }

    static FileSystem windowsFs() {
        return Jimfs.newFileSystem(Configuration.windows());
    }

    @Test
    void windowsFindsVagrantExeOnPathAndVirtualBoxWhereItsInstallerSaysNotOnPath() throws IOException {
        try (FileSystem fs = windowsFs()) {
            HostFacts host = windows(fs, Map.of());
            assertEquals(Optional.of(fs.getPath("C:\\Program Files\\Vagrant\\bin\\vagrant.exe")),
                HostTools.find("vagrant", host));
            assertEquals(Optional.of(fs.getPath("C:\\Program Files\\Oracle\\VirtualBox\\VBoxManage.exe")),
                HostTools.find("VBoxManage", host));
            assertEquals(Optional.empty(), HostTools.find("virsh", host), "no libvirt on Windows");
        }
    }

    @Test
    void windowsOlderVirtualBoxSetsVboxInstallPath() throws IOException {
        try (FileSystem fs = windowsFs()) {
            HostFacts host = windows(fs, Map.of("VBOX_MSI_INSTALL_PATH", "",
                "VBOX_INSTALL_PATH", "C:\\Program Files\\Oracle\\VirtualBox"));
            assertEquals(Optional.of(fs.getPath("C:\\Program Files\\Oracle\\VirtualBox\\VBoxManage.exe")),
                HostTools.find("VBoxManage", host));
        }
    }

    @Test
    void windowsWithoutVirtualBoxSaysItIsMissing() throws IOException {
        try (FileSystem fs = windowsFs()) {
            HostFacts host = windows(fs, Map.of("VBOX_MSI_INSTALL_PATH", "C:\\nowhere"));
            Files.delete(fs.getPath("C:\\Program Files\\Oracle\\VirtualBox\\VBoxManage.exe"));
            assertEquals(Optional.empty(), HostTools.find("VBoxManage", host));
        }
    }

    @Test
    void macAndLinuxFindBareNamesOnPathOnly() throws IOException {
        for (String os : new String[] {"Mac OS X", "Linux"}) {
            try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
                Files.createDirectories(fs.getPath("/usr/local/bin"));
                Files.createDirectories(fs.getPath("/opt/vbox"));
                Files.createFile(fs.getPath("/usr/local/bin/vagrant"));
                Files.createFile(fs.getPath("/opt/vbox/VBoxManage"));
                // a .exe is no command here, and VirtualBox's Windows variable means nothing
                Files.createFile(fs.getPath("/usr/local/bin/VBoxManage.exe"));
                HostFacts host = new HostFacts(os, Map.of("PATH", "/usr/bin:/usr/local/bin", "PATHEXT", ".EXE",
                    "VBOX_MSI_INSTALL_PATH", "/opt/vbox"), fs.getPath("/home/wil"));
                assertEquals(Optional.of(fs.getPath("/usr/local/bin/vagrant")), HostTools.find("vagrant", host), os);
                assertEquals(Optional.empty(), HostTools.find("VBoxManage", host), os);
            }
        }
    }

    @Test
    void kubeconfigDefaultOnWindowsIsUserProfileAndKubeconfigSplitsOnSemicolons() throws IOException {
        try (FileSystem fs = windowsFs()) {
            HostFacts host = windows(fs, Map.of());
            assertEquals(fs.getPath("C:\\Users\\wil\\.kube\\config"), KubeconfigFile.defaultPath(host));
            HostFacts listed = windows(fs, Map.of("KUBECONFIG", ";D:\\kube\\a;C:\\Users\\wil\\b"));
            // ':' is part of a Windows path (D:\), so only ';' separates the entries
            assertEquals(fs.getPath("D:\\kube\\a"), KubeconfigFile.defaultPath(listed));
            HostFacts noProfile = windows(fs, Map.of("USERPROFILE", ""));
            assertEquals(fs.getPath("C:\\Users\\wil\\.kube\\config"), KubeconfigFile.defaultPath(noProfile));
        }
    }

    @Test
    void kubeconfigDefaultOnMacAndLinuxIsHomeAndKubeconfigSplitsOnColons() {
        for (String os : new String[] {"Mac OS X", "Linux"}) {
            Path home = Path.of("/Users/wil");
            assertEquals(home.resolve(".kube/config"), KubeconfigFile.defaultPath(
                new HostFacts(os, Map.of("USERPROFILE", "/elsewhere"), home)), os);
            assertEquals(Path.of("/x/a"), KubeconfigFile.defaultPath(
                new HostFacts(os, Map.of("KUBECONFIG", ":/x/a:/x/b"), home)), os);
        }
    }

    @Test
    void factsNameTheirHost() {
        Path home = Path.of("/h");
        assertTrue(new HostFacts("Windows Server 2022", Map.of(), home).windows());
        assertTrue(new HostFacts("Mac OS X", Map.of(), home).mac());
        HostFacts linux = new HostFacts("Linux", Map.of("PATHEXT", ".EXE"), home);
        assertTrue(!linux.windows() && !linux.mac());
        assertEquals(java.util.List.of(""), linux.pathExt(), "no endings are tried off Windows");
        assertEquals(java.util.List.of(".COM", ".EXE", ".BAT", ".CMD"),
            new HostFacts("Windows 10", Map.of(), home).pathExt(), "cmd.exe's default without PATHEXT");
    }

    /** Issue 15, Apple Silicon: VirtualBox 7.1 runs arm64 guests only; k3s-up says which box that needs. */
    @Test
    void anArm64HostOnTheDefaultBoxIsToldTheBoxNeedsAnArm64BuildAndHowToPickOne() {
        for (String arch : new String[] {"aarch64", "arm64"}) {
            String note = Vagrant.armHostBoxNote(arch, "virtualbox", true).orElseThrow();
            assertTrue(note.contains("arm64 build") && note.contains("--box NAME")
                && note.contains("vagrant box add NAME --architecture arm64 --provider virtualbox"), note);
        }
        assertEquals(Optional.empty(), Vagrant.armHostBoxNote("aarch64", "virtualbox", false), "a box the user named");
        assertEquals(Optional.empty(), Vagrant.armHostBoxNote("amd64", "virtualbox", true), "an Intel Mac or a PC");
        assertEquals(Optional.empty(), Vagrant.armHostBoxNote("x86_64", "libvirt", true));
    }
}
