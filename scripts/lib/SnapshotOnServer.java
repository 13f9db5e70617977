//SOURCES Cli.java
//SOURCES Log.java
//SOURCES Ssh.java
//SOURCES Shell.java
//SOURCES Cluster.java
//SOURCES Snapshots.java

import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A K3s server's datastore saved and put back over SSH, as K3s documents it (docs.k3s.io, "etcd-snapshot";
 * pkg/etcd/snapshot.go): etcd with `k3s etcd-snapshot save`, restored with `k3s server --cluster-reset
 * --cluster-reset-restore-path` while K3s is stopped; SQLite (a single server without --cluster-init) as the
 * files of server/db/state.db, copied while K3s is stopped. Bytes travel as base64 over the SSH channel.
 */
final class SnapshotOnServer {
    private SnapshotOnServer() {}

    static final String DB = "/var/lib/rancher/k3s/server/db";
    static final String ETCD_SNAPSHOTS = DB + "/snapshots";
    private static final String SQLITE_FILES = "state.db*";
    /** The service's env file (systemd, openrc): K3S_TOKEN for the reset, never on a command line. */
    private static final String ENV_FILES = "/etc/systemd/system/k3s.service.env /etc/rancher/k3s/k3s.env";
    private static final Duration LONG = Duration.ofMinutes(10);

    /** etcd when the server runs embedded etcd, SQLite when it keeps state.db; refused otherwise. */
    static Snapshots.Kind kind(Ssh server) {
        String found = server.run(server.sudo() + "sh -c " + Shell.quote("if [ -d " + DB + "/etcd ]; then echo etcd;"
            + " elif [ -e " + DB + "/state.db ]; then echo sqlite; else echo none; fi"), "reading " + DB).strip();
        return switch (found) {
            case "etcd" -> Snapshots.Kind.ETCD;
            case "sqlite" -> Snapshots.Kind.SQLITE;
            default -> throw Cli.fail(Cli.FAILED, server.target.label() + " has neither embedded etcd (" + DB
                + "/etcd) nor SQLite (" + DB + "/state.db): an external datastore is backed up with its own tools");
        };
    }

    /** `k3s etcd-snapshot save --name NAME` on the server; the file K3s wrote (NAME-NODE-UNIXTIME), read back. */
    static byte[] saveEtcd(Ssh server, String name, Log log) {
        // the file K3s adds: NAME- alone could also begin an older snapshot's name (NAME-2-NODE-TIME)
        Set<String> before = etcdSnapshots(server);
        server.run(server.sudo() + "k3s etcd-snapshot save --name " + Shell.quote(name), "k3s etcd-snapshot save");
        String file = etcdSnapshots(server).stream().filter(f -> f.startsWith(name + "-") && !before.contains(f))
            .findFirst().orElseThrow(() ->
            Cli.fail(Cli.FAILED, "k3s etcd-snapshot save wrote no " + name + "-* in " + ETCD_SNAPSHOTS + " on "
                + server.target.label()));
        log.info("copying " + ETCD_SNAPSHOTS + "/" + file + " from " + server.target.label());
        return base64(server.run(server.sudo() + "base64 " + Shell.quote(ETCD_SNAPSHOTS + "/" + file),
            "reading the snapshot"));
    }

    private static Set<String> etcdSnapshots(Ssh server) {
        String listed = server.run(server.sudo() + "sh -c " + Shell.quote("if [ -d " + ETCD_SNAPSHOTS + " ];"
            + " then ls -1 " + ETCD_SNAPSHOTS + "; fi"), "listing " + ETCD_SNAPSHOTS);
        return listed.lines().map(String::strip).filter(f -> !f.isEmpty()).collect(Collectors.toSet());
    }

    /** state.db and its -wal, -shm as one tar, copied with K3s stopped (SQLite changes them as it runs). */
    static byte[] saveSqlite(Ssh server, Log log) {
        stop(server, log);
        try {
            return base64(server.run(server.sudo() + "sh -c " + Shell.quote("cd " + DB + " && tar -cf - "
                + SQLITE_FILES) + " | base64", "copying " + DB + "/state.db"));
        } finally {
            start(server, log);
        }
    }

    /**
     * K3s's etcd restore: every server stopped; on the first, the snapshot given to `k3s server --cluster-reset
     * --cluster-reset-restore-path` (K3s then exits), K3s started; the others' server/db removed and K3s started,
     * so they join the restored etcd afresh.
     */
    static void restoreEtcd(Ssh first, List<Ssh> others, String name, byte[] snapshot, Log log) {
        String path = ETCD_SNAPSHOTS + "/k3s-vagrant-restore-" + name;
        withUpload(first, snapshot, upload -> first.run(first.sudo() + "sh -c " + Shell.quote("mkdir -p "
            + ETCD_SNAPSHOTS + " && cp " + Shell.quote(upload) + " " + Shell.quote(path) + " && chmod 600 "
            + Shell.quote(path)), "placing the snapshot"));
        for (Ssh other : others) stop(other, log);
        stop(first, log);
        log.info("k3s server --cluster-reset on " + first.target.label());
        String reset = "set -a; for f in " + ENV_FILES + "; do if [ -f \"$f\" ]; then . \"$f\"; fi; done; set +a; "
            + "exec k3s server --cluster-reset --cluster-reset-restore-path=" + Shell.quote(path);
        Ssh.Result result = first.exec(first.sudo() + "sh -c " + Shell.quote(reset), null, LONG, log::detail);
        if (!result.ok()) {
            start(first, log);
            for (Ssh other : others) start(other, log);
            throw Cli.fail(Cli.FAILED, "k3s server --cluster-reset on " + first.target.label() + " failed (exit "
                + result.exitStatus() + "): " + Cli.lastLines(result.stderr() + result.stdout(), 5)
                + "; K3s was started again on the data it had");
        }
        start(first, log);
        for (Ssh other : others) {
            other.run(other.sudo() + "rm -rf " + DB, "removing " + DB + " (it rejoins the restored etcd)");
            start(other, log);
        }
    }

    /** SQLite: K3s stopped, state.db and its -wal, -shm replaced by the snapshot's (unpacked first), started. */
    static void restoreSqlite(Ssh server, byte[] snapshot, Log log) {
        withUpload(server, snapshot, upload -> {
            stop(server, log);
            try {
                String restore = DB + "/.k3s-vagrant-restore";
                server.run(server.sudo() + "sh -c " + Shell.quote("rm -rf " + restore + " && mkdir -m 700 " + restore
                    + " && tar -xf " + Shell.quote(upload) + " -C " + restore + " && cd " + DB + " && rm -f "
                    + SQLITE_FILES + " && mv " + restore + "/" + SQLITE_FILES + " . && rmdir " + restore),
                    "putting the snapshot's state.db in place");
            } finally {
                start(server, log);
            }
            return null;
        });
    }

    /** Runs use with the bytes in a file of a mode-700 temporary folder of the SSH user, removed after. */
    private static <T> T withUpload(Ssh server, byte[] content, Function<String, T> use) {
        String dir = server.run("mktemp -d /tmp/k3s-snapshot.XXXXXX", "making a temporary folder").strip();
        if (!dir.matches("/tmp/k3s-snapshot\\.[A-Za-z0-9]+")) {
            throw Cli.fail(Cli.FAILED, "mktemp on " + server.target.label() + " answered " + Cluster.shown(dir));
        }
        try {
            server.upload(content, dir + "/snapshot", "600");
            return use.apply(dir + "/snapshot");
        } finally {
            server.exec(server.sudo() + "rm -rf " + Shell.quote(dir), null, Duration.ofSeconds(30));
        }
    }

    private static void stop(Ssh server, Log log) {
        log.info("stopping K3s on " + server.target.label());
        service(server, "stop");
    }

    private static void start(Ssh server, Log log) {
        log.info("starting K3s on " + server.target.label());
        service(server, "start");
    }

    /**
     * The service K3s's installer made: openrc's where /sbin/openrc-run exists (it looks there first, as
     * k3s-common.sh's uses_openrc and AgentOnHost do), else systemd's; verb is one of ours, never the user's.
     */
    private static void service(Ssh server, String verb) {
        // systemd's unit is Type=notify: start returns once K3s is up, which may take minutes
        Ssh.Result result = server.exec(server.sudo() + "sh -c " + Shell.quote("if [ -x /sbin/openrc-run ];"
            + " then rc-service k3s " + verb + "; else systemctl " + verb + " k3s; fi"), null, LONG);
        if (!result.ok()) {
            throw Cli.fail(Cli.FAILED, verb + " K3s on " + server.target.label() + " failed: "
                + Cli.lastLines(result.stderr() + result.stdout(), 5));
        }
    }

    private static byte[] base64(String text) {
        return Base64.getMimeDecoder().decode(text);
    }
}
