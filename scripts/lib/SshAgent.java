//DEPS com.github.mwiede:jsch:2.28.8
//SOURCES Cli.java
//SOURCES Shell.java

import com.jcraft.jsch.AgentIdentityRepository;
import com.jcraft.jsch.AgentProxyException;
import com.jcraft.jsch.Identity;
import com.jcraft.jsch.IdentityRepository;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.KeyPair;
import com.jcraft.jsch.SSHAgentConnector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Vector;

/**
 * The keys SSH offers: those of the user's ssh-agent (SSH_AUTH_SOCK) and key files. A key
 * file with a passphrase is never decrypted here (no prompt, no passphrase flag, which would
 * put it on the command line): it is used through the agent that holds it, or refused with
 * the ssh-add that fixes it. Nothing is ever added to the agent.
 */
final class SshAgent {
    private SshAgent() {}

    /** The agent's socket, from SSH_AUTH_SOCK; tests point it at their own agent. */
    static String socket = System.getenv("SSH_AUTH_SOCK");

    /** OpenSSH's default key files in ~/.ssh, in ssh's order (readconf.c), as `ssh -G` lists them. */
    static final List<String> DEFAULT_KEY_NAMES =
        List.of("id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_xmss", "id_dsa");

    /** The default key names offered from files: JSch loads no security key (_sk) or XMSS key; sshd refuses DSA. */
    static List<String> usableDefaultNames() {
        return DEFAULT_KEY_NAMES.stream()
            .filter(name -> !name.endsWith("_sk") && !name.equals("id_xmss") && !name.equals("id_dsa")).toList();
    }

    /** OpenSSH's default key files that exist: used when no key is named. */
    static List<Path> defaultKeys() {
        Path home = Path.of(System.getProperty("user.home"), ".ssh");
        List<Path> keys = new ArrayList<>();
        for (String name : usableDefaultNames()) {
            if (Files.isReadable(home.resolve(name))) keys.add(home.resolve(name));
        }
        return keys;
    }

    /**
     * True when no key was named: every file is one of OpenSSH's default key files, in any order
     * (`ssh -G` lists more of them than defaultKeys).
     */
    static boolean onlyDefaults(List<Path> keyFiles) {
        Path home = Path.of(System.getProperty("user.home"), ".ssh");
        return keyFiles.stream().allMatch(key -> key.getParent() != null && key.getParent().equals(home)
            && DEFAULT_KEY_NAMES.contains(key.getFileName().toString()));
    }

    /**
     * Gives jsch the keys to offer for keyFiles. Named key files (--ssh-key, Vagrant's) are offered
     * alone, as ssh's IdentitiesOnly: an agent holding many keys would use up the host's MaxAuthTries
     * before them. With no key named (keyFiles are the defaults), every key of the agent is offered
     * first, then the default files without a passphrase, as ssh does.
     */
    static void offer(JSch jsch, List<Path> keyFiles, String where) throws JSchException {
        boolean named = !onlyDefaults(keyFiles);
        List<Identity> agentKeys = agentKeys();
        List<Identity> offered = new ArrayList<>(named ? List.of() : agentKeys);
        List<Path> locked = new ArrayList<>();
        JSch files = new JSch();
        for (Path file : keyFiles) {
            if (!Files.isReadable(file)) continue;
            KeyPair pair = KeyPair.load(jsch, file.toString());
            Identity inAgent = holding(agentKeys, pair.getPublicKeyBlob());
            boolean encrypted = pair.isEncrypted();
            pair.dispose();
            if (inAgent != null) {
                if (!offered.contains(inAgent)) offered.add(inAgent);
            } else if (encrypted) {
                locked.add(file);
            } else {
                files.addIdentity(file.toString());
            }
        }
        offered.addAll(files.getIdentityRepository().getIdentities());
        if (!locked.isEmpty() && (named || offered.isEmpty())) {
            throw Cli.fail(Cli.SSH_FAILED, "cannot log in to " + where + ": " + lockedAdvice(locked));
        }
        jsch.setIdentityRepository(new Offered(offered));
    }

    /** The keys offered for keyFiles, for an authentication failure: "key FILE", "the ssh-agent's keys and ...". */
    static String describe(List<Path> keyFiles) {
        boolean agent = onlyDefaults(keyFiles) && !agentKeys().isEmpty();
        String files = keyFiles.isEmpty() ? "" : (keyFiles.size() == 1 ? "key " : "keys ")
            + String.join(", ", keyFiles.stream().map(Path::toString).toList());
        if (agent) return "the ssh-agent's keys" + (files.isEmpty() ? "" : " and " + files);
        return files.isEmpty() ? "no key (none in ~/.ssh, and no ssh-agent holds any)" : files;
    }

    /** For an authentication failure: the default keys not offered for their passphrase, and how to offer them. */
    static String lockedHint(List<Path> keyFiles) {
        List<Identity> agentKeys = agentKeys();
        List<Path> locked = new ArrayList<>();
        for (Path file : keyFiles) {
            try {
                KeyPair pair = KeyPair.load(new JSch(), file.toString());
                boolean encrypted = pair.isEncrypted();
                if (encrypted && holding(agentKeys, pair.getPublicKeyBlob()) == null) locked.add(file);
                pair.dispose();
            } catch (JSchException e) {
                // unreadable here as when connecting: not a key we skipped
            }
        }
        return locked.isEmpty() ? "" : "; not offered: " + lockedAdvice(locked);
    }

    /** What to run so that the agent offers the locked key files; the passphrase is typed into ssh-add only. */
    private static String lockedAdvice(List<Path> locked) {
        String files = String.join(" ", locked.stream().map(file -> Shell.quote(file.toString())).toList());
        String which = locked.size() == 1 ? locked.get(0) + " has a passphrase, which k3s-vagrant never asks for"
            : files + " have passphrases, which k3s-vagrant never asks for";
        if (socket == null || socket.isEmpty()) {
            return which + ", and no ssh-agent runs (SSH_AUTH_SOCK is not set): start one and add the key, "
                + "eval \"$(ssh-agent)\" && ssh-add " + files + ", then run the step again in that shell";
        }
        if (connector() == null || !connector().isAvailable()) {
            return which + ", and no ssh-agent answers at SSH_AUTH_SOCK (" + socket + "): start one and add the key, "
                + "eval \"$(ssh-agent)\" && ssh-add " + files + ", then run the step again in that shell";
        }
        return which + ", and the ssh-agent at SSH_AUTH_SOCK does not hold " + (locked.size() == 1 ? "it" : "them")
            + ": add " + (locked.size() == 1 ? "it" : "them") + " with ssh-add " + files + ", then run the step again";
    }

    /** The agent's keys; none when no agent runs or it does not answer (as ssh, which then goes on without). */
    private static List<Identity> agentKeys() {
        SSHAgentConnector connector = connector();
        if (connector == null || !connector.isAvailable()) return List.of();
        return new ArrayList<>(new AgentIdentityRepository(connector).getIdentities());
    }

    private static SSHAgentConnector connector() {
        if (socket == null || socket.isEmpty()) return null;
        try {
            return new SSHAgentConnector(Path.of(socket));
        } catch (AgentProxyException | RuntimeException e) {
            return null; // no Unix socket support: taken as no agent
        }
    }

    private static Identity holding(List<Identity> keys, byte[] publicKey) {
        if (publicKey == null) return null;
        for (Identity key : keys) {
            if (Arrays.equals(key.getPublicKeyBlob(), publicKey)) return key;
        }
        return null;
    }

    /** A fixed list of keys: JSch would otherwise copy key files into the agent on add. */
    private static final class Offered implements IdentityRepository {
        private final List<Identity> keys;

        Offered(List<Identity> keys) {
            this.keys = List.copyOf(keys);
        }

        @Override public String getName() { return "k3s-vagrant"; }
        @Override public int getStatus() { return RUNNING; }
        @Override public Vector<Identity> getIdentities() { return new Vector<>(keys); }
        @Override public boolean add(byte[] identity) { return false; }
        @Override public boolean remove(byte[] blob) { return false; }
        @Override public void removeAll() { }
    }
}
