//DEPS org.zeroturnaround:zt-exec:1.12
//SOURCES Cli.java
//SOURCES HostFacts.java

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.zeroturnaround.exec.ProcessExecutor;
import org.zeroturnaround.exec.ProcessResult;

/** The tools this host has (vagrant, a provider's, kubectl), found as the host's shell finds them. */
final class HostTools {
    private HostTools() {
    }

    /** Fails with MISSING_TOOL, naming the fix, when vagrant is not installed; its version. */
    static String requireVagrant() {
        try {
            ProcessResult result = new ProcessExecutor("vagrant", "--version").readOutput(true)
                .redirectError(OutputStream.nullOutputStream()).timeout(60, TimeUnit.SECONDS).execute();
            if (result.getExitValue() == 0) {
                return result.outputUTF8().trim();
            }
        } catch (IOException | TimeoutException e) {
            // fall through: not installed or not runnable
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw Cli.fail(Cli.MISSING_TOOL, "vagrant is not installed or not on PATH: install it "
            + "(https://developer.hashicorp.com/vagrant/install, or 'apt-get install vagrant' on Debian) "
            + "and run again");
    }

    /** Fails with MISSING_TOOL, naming the fix, when the provider cannot run here. */
    static void requireProvider(String provider) {
        switch (provider) {
            case "virtualbox" -> {
                if (!onPath("VBoxManage")) {
                    throw Cli.fail(Cli.MISSING_TOOL, "the virtualbox provider needs VirtualBox, and VBoxManage "
                        + "is not on PATH: install VirtualBox (https://www.virtualbox.org/wiki/Downloads) or use "
                        + "--provider libvirt");
                }
            }
            case "libvirt" -> {
                if (!onPath("virsh")) {
                    throw Cli.fail(Cli.MISSING_TOOL, "the libvirt provider needs libvirt, and virsh is not on PATH: "
                        + "install it (Debian: apt-get install libvirt-daemon-system vagrant-libvirt) or use "
                        + "--provider virtualbox");
                }
                String plugins = runQuietly(List.of("vagrant", "plugin", "list"));
                if (!plugins.contains("vagrant-libvirt")) {
                    throw Cli.fail(Cli.MISSING_TOOL, "the libvirt provider needs the vagrant-libvirt plugin: "
                        + "install it ('vagrant plugin install vagrant-libvirt', or Debian's package vagrant-libvirt)");
                }
            }
            default -> throw Cli.fail(Cli.USAGE, "unknown provider '" + provider + "': use virtualbox or libvirt");
        }
    }

    static boolean onPath(String tool) {
        return find(tool, HostFacts.current()).isPresent();
    }

    /**
     * Where tool is on this host, as its shell would find it: PATH's folders, trying
     * PATHEXT's endings on Windows (vagrant.exe). VBoxManage there is then looked for where
     * Vagrant looks itself: VirtualBox's installer puts its folder in VBOX_MSI_INSTALL_PATH
     * (VBOX_INSTALL_PATH for old ones) and not on PATH.
     */
    static Optional<Path> find(String tool, HostFacts host) {
        List<String> folders = new ArrayList<>(host.list("PATH"));
        if (host.windows() && tool.equals("VBoxManage")) {
            for (String variable : List.of("VBOX_MSI_INSTALL_PATH", "VBOX_INSTALL_PATH")) {
                folders.addAll(host.list(variable));
            }
        }
        for (String folder : folders) {
            for (String ending : host.pathExt()) {
                Path candidate;
                try {
                    candidate = host.path(folder.replace("\"", "").strip(), tool + ending);
                } catch (InvalidPathException e) {
                    continue; // a PATH entry of another host's syntax: it holds nothing of ours
                }
                // Windows runs by ending, not by mode bits
                boolean runnable = host.windows() ? Files.isRegularFile(candidate)
                    : Files.isExecutable(candidate);
                if (runnable) return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    private static String runQuietly(List<String> command) {
        try {
            return new ProcessExecutor(command).readOutput(true).timeout(120, TimeUnit.SECONDS).execute().outputUTF8();
        } catch (IOException | TimeoutException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }
}
