import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One table of good and bad settings (settings-cases.yaml) through both entry points: k3s-up's flags and the
 * Vagrantfile's environment. Both read provision/settings.yaml, so a bad value gets one message, named as each
 * entry point names the setting. A case's env (the host's proxy variables) reaches both as their environment.
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
    void goodSettingsPassBothEntryPoints(JsonNode good) throws IOException {
        // a case with the host's environment holds its settings apart; the others are only settings
        JsonNode settings = good.has("env") ? good.path("settings") : good;
        Repo.Run up = k3sUp(settings, good.path("env"));
        assertEquals(0, up.exit(), good + ": " + up.stderr());
        Repo.Run vagrant = vagrantfile(settings, good.path("env"));
        assertEquals(0, vagrant.exit(), settings + ": " + vagrant.stderr());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bad")
    void badSettingsGetTheSameMessageFromBothEntryPoints(JsonNode bad) throws IOException {
        JsonNode settings = bad.path("settings");
        String message = bad.path("message").asText();
        Repo.Run up = k3sUp(settings, bad.path("env"));
        assertEquals(Cli.USAGE, up.exit(), bad + ": " + up.stderr());
        String forUp = named(message, Settings::flagOf);
        assertTrue(up.stderr().contains("k3s-up: " + forUp) || up.stderr().contains(forUp),
            "'" + forUp + "' in: " + up.stderr());
        Repo.Run vagrant = vagrantfile(settings, bad.path("env"));
        assertTrue(vagrant.exit() != 0, bad + " refused by the Vagrantfile: " + vagrant.stdout());
        String forVagrant = named(message, env -> "K3S_VAGRANT_" + env);
        assertTrue(vagrant.stderr().contains("k3s-vagrant: ") && vagrant.stderr().contains(forVagrant),
            "'" + forVagrant + "' in: " + vagrant.stderr());
        // a proxy URL may hold a password: no message shows one
        bad.path("env").properties().stream().filter(e -> !e.getKey().equalsIgnoreCase("NO_PROXY"))
            .forEach(e -> assertFalse((up.stderr() + vagrant.stderr()).contains(e.getValue().asText()),
                e.getKey() + "'s URL shown: " + up.stderr() + vagrant.stderr()));
    }

    private static String named(String message, Function<String, String> name) {
        String out = message;
        for (JsonNode setting : Settings.table().path("settings")) {
            String env = setting.path("env").asText();
            out = out.replace("{" + env + "}", name.apply(env));
        }
        return out;
    }

    private static Repo.Run k3sUp(JsonNode settings, JsonNode hostEnv) {
        List<String> args = new ArrayList<>(List.of("--dry-run", "--provider", "libvirt"));
        settings.properties().forEach(e -> args.add(Settings.flagOf(e.getKey()) + "=" + e.getValue().asText()));
        // the step reads the proxy variables from here: only the case's, never the caller's own
        Proxy.environment = textOf(hostEnv);
        try {
            return Repo.step(new up(), args.toArray(String[]::new));
        } finally {
            Proxy.environment = null;
        }
    }

    private static Map<String, String> textOf(JsonNode variables) {
        Map<String, String> text = new HashMap<>();
        variables.properties().forEach(e -> text.put(e.getKey(), e.getValue().asText()));
        return text;
    }

    /** Loads the Vagrantfile (a copy, so its tokens land in the test's folder) without booting anything. */
    private Repo.Run vagrantfile(JsonNode settings, JsonNode hostEnv) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("provision"));
        try (Stream<Path> files = Files.list(Repo.root().resolve("provision"))) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                Files.copy(file, dir.resolve(file.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Path harness = tmp.resolve("harness.rb");
        Repo.vagrantfileRecorder(harness, "nil");
        Map<String, String> env = textOf(hostEnv);
        settings.properties().forEach(e -> env.put("K3S_VAGRANT_" + e.getKey(), e.getValue().asText()));
        List<String> command = new ArrayList<>(List.of("env"));
        // the caller's own settings and proxy must not change the result
        System.getenv().keySet().stream().filter(key -> (key.startsWith("K3S_VAGRANT_")
                || key.toUpperCase(Locale.ROOT).matches("HTTPS?_PROXY|NO_PROXY")) && !env.containsKey(key))
            .forEach(key -> command.addAll(List.of("-u", key)));
        command.addAll(List.of("VAGRANT_DEFAULT_PROVIDER=libvirt", "ruby", harness.toString(),
            dir.resolve("Vagrantfile").toString()));
        return Repo.exec(command, dir, env, null, 60);
    }
}
