import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One table of good and bad settings (settings-cases.yaml) through both entry points: k3s-up's flags and the
 * Vagrantfile's environment. Both read provision/settings.yaml, so a bad value gets one message, named as each
 * entry point names the setting.
 */
class SettingsTableTest {

    @TempDir Path tmp;

    static JsonNode cases() throws IOException {
        Path file = Repo.root().resolve("tests/unit/settings-cases.yaml");
        return new ObjectMapper(new YAMLFactory()).readTree(file.toFile());
    }

    static Stream<JsonNode> good() throws IOException {
        List<JsonNode> list = new ArrayList<>();
        cases().path("good").forEach(list::add);
        return list.stream();
    }

    static Stream<JsonNode> bad() throws IOException {
        List<JsonNode> list = new ArrayList<>();
        cases().path("bad").forEach(list::add);
        return list.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("good")
    void goodSettingsPassBothEntryPoints(JsonNode settings) throws IOException {
        Repo.Run up = k3sUp(settings);
        assertEquals(0, up.exit(), settings + ": " + up.stderr());
        Repo.Run vagrant = vagrantfile(settings);
        assertEquals(0, vagrant.exit(), settings + ": " + vagrant.stderr());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bad")
    void badSettingsGetTheSameMessageFromBothEntryPoints(JsonNode bad) throws IOException {
        JsonNode settings = bad.path("settings");
        String message = bad.path("message").asText();
        Repo.Run up = k3sUp(settings);
        assertEquals(Cli.USAGE, up.exit(), settings + ": " + up.stderr());
        String forUp = named(message, Settings::flagOf);
        assertTrue(up.stderr().contains("k3s-up: " + forUp) || up.stderr().contains(forUp),
            "'" + forUp + "' in: " + up.stderr());
        Repo.Run vagrant = vagrantfile(settings);
        assertTrue(vagrant.exit() != 0, settings + " refused by the Vagrantfile: " + vagrant.stdout());
        String forVagrant = named(message, env -> "K3S_VAGRANT_" + env);
        assertTrue(vagrant.stderr().contains("k3s-vagrant: ") && vagrant.stderr().contains(forVagrant),
            "'" + forVagrant + "' in: " + vagrant.stderr());
    }

    private static String named(String message, Function<String, String> name) {
        String out = message;
        for (JsonNode setting : Settings.table().path("settings")) {
            String env = setting.path("env").asText();
            out = out.replace("{" + env + "}", name.apply(env));
        }
        return out;
    }

    private static Repo.Run k3sUp(JsonNode settings) {
        List<String> args = new ArrayList<>(List.of("--dry-run", "--provider", "libvirt"));
        settings.properties().forEach(e -> args.add(Settings.flagOf(e.getKey()) + "=" + e.getValue().asText()));
        return Repo.step(new up(), args.toArray(String[]::new));
    }

    /** Loads the Vagrantfile (a copy, so its tokens land in the test's folder) without booting anything. */
    private Repo.Run vagrantfile(JsonNode settings) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("provision"));
        try (Stream<Path> files = Files.list(Repo.root().resolve("provision"))) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                Files.copy(file, dir.resolve(file.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Path harness = tmp.resolve("harness.rb");
        Repo.vagrantfileRecorder(harness, "nil");
        Map<String, String> env = new HashMap<>();
        settings.properties().forEach(e -> env.put("K3S_VAGRANT_" + e.getKey(), e.getValue().asText()));
        List<String> command = new ArrayList<>(List.of("env"));
        // the caller's own settings must not change the result
        System.getenv().keySet().stream().filter(key -> key.startsWith("K3S_VAGRANT_") && !env.containsKey(key))
            .forEach(key -> command.addAll(List.of("-u", key)));
        command.addAll(List.of("VAGRANT_DEFAULT_PROVIDER=libvirt", "ruby", harness.toString(),
            dir.resolve("Vagrantfile").toString()));
        return Repo.exec(command, dir, env, null, 60);
    }
}
