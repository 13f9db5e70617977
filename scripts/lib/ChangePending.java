//SOURCES Cli.java
//SOURCES AtomicFile.java
//SOURCES ClusterFolder.java
//SOURCES ClusterSettingsFile.java

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A change k3s-up has begun and not finished. cluster.env takes the new settings before the upgrade, the
 * servers and the machines' own settings are carried out (the Vagrantfile must see them), so an interrupted
 * or failed change would leave cluster.env saying it was done. The settings before it are kept aside in
 * Vagrant's state folder until every node is Ready: the next k3s-up plans from them, and carries on.
 */
final class ChangePending {
    private ChangePending() {}

    static Path file(Path folder) {
        return folder.resolve(".vagrant").resolve("k3s-change-from.env");
    }

    /** The settings a plan starts from: those before a change that did not finish, else cluster.env's. */
    static Map<String, String> planFrom(Path folder, Map<String, String> recorded) {
        return Files.isRegularFile(file(folder)) ? ClusterSettingsFile.read(file(folder)) : recorded;
    }

    /** Keeps cluster.env as it is before a change; a change already pending keeps the settings before it. */
    static void begin(Path folder) {
        if (Files.isRegularFile(file(folder))) return;
        Path settings = folder.resolve(ClusterFolder.SETTINGS_FILE);
        try {
            AtomicFile.write(file(folder), Files.readString(settings), ClusterFolder.FIX_WRITE);
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot read " + settings + " (" + e.getMessage() + "): nothing was changed");
        }
    }

    /** Every node is Ready with the change carried out. */
    static void finish(Path folder) {
        try {
            Files.deleteIfExists(file(folder));
        } catch (IOException e) {
            throw Cli.fail(Cli.FAILED, "cannot remove " + file(folder) + " (" + e.getMessage() + "): the next"
                + " k3s-up would carry out the change again; remove the file by hand");
        }
    }
}
