//SOURCES Cli.java
//SOURCES Ssh.java

import java.time.Duration;

/**
 * Whether a host's user may run commands as root with sudo -n (no terminal, no password), asked
 * before anything is changed there: a sudo that wants a password failed only after the token and
 * the binary were uploaded, and the "already joined" check read the failure as "not joined".
 * k3s-vagrant never asks for, passes or stores a sudo password.
 */
final class Sudo {
    private Sudo() {}

    static void require(Ssh host, String sudo) {
        Ssh.Result result = host.exec(sudo + " -n true", null, Duration.ofSeconds(30));
        if (result.ok()) return;
        String user = host.target.user();
        String where = host.target.label();
        String asRoot = "or connect as root (k3s-join --host root@" + host.target.host() + ")";
        // 127: the shell found no sudo (minimal Alpine or Debian images have none)
        if (result.exitStatus() == 127) {
            throw Cli.fail(Cli.SSH_FAILED, "sudo is not installed on " + where + ", and " + user
                + " is not root, so K3s cannot be installed or read there; nothing was changed. Install sudo there "
                + "and let " + user + " use it without a password, " + asRoot);
        }
        String said = Cli.lastLines(result.stderr().isBlank() ? result.stdout() : result.stderr(), 1).strip();
        throw Cli.fail(Cli.SSH_FAILED, user + " on " + where + " cannot use sudo without a password (sudo -n true: "
            + (said.isEmpty() ? "exit " + result.exitStatus() : said) + "); k3s-vagrant runs commands as root "
            + "with sudo -n and never asks for a password, so nothing was changed there. Allow " + user
            + " sudo without a password (on the host, as root: echo '" + user + " ALL=(ALL) NOPASSWD: ALL' > "
            + "/etc/sudoers.d/k3s-vagrant && chmod 440 /etc/sudoers.d/k3s-vagrant), " + asRoot);
    }
}
