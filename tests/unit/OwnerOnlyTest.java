import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.AclEntry;
import java.nio.file.attribute.AclEntryPermission;
import java.nio.file.attribute.AclEntryType;
import java.nio.file.attribute.AclFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Secrets restricted to their owner on both kinds of file system: POSIX modes here, and
 * a Windows-shaped one with ACLs and no modes (Jimfs with the acl view), where the ACL
 * must hold the owner alone. The steps' own writers (kubeconfig, known_hosts) run on it too.
 */
class OwnerOnlyTest {
    @TempDir Path tmp;

    static FileSystem windowsFs() {
        return Jimfs.newFileSystem(Configuration.windows().toBuilder()
            .setAttributeViews("basic", "owner", "dos", "acl", "user").build());
    }

    /** An ACL a file may inherit on Windows: Everyone may read it. */
    static void readableByEveryone(Path path) throws IOException {
        AclFileAttributeView view = Files.getFileAttributeView(path, AclFileAttributeView.class);
        UserPrincipal everyone = path.getFileSystem().getUserPrincipalLookupService()
            .lookupPrincipalByName("Everyone");
        view.setAcl(List.of(
            AclEntry.newBuilder().setType(AclEntryType.ALLOW).setPrincipal(view.getOwner())
                .setPermissions(EnumSet.allOf(AclEntryPermission.class)).build(),
            AclEntry.newBuilder().setType(AclEntryType.ALLOW).setPrincipal(everyone)
                .setPermissions(AclEntryPermission.READ_DATA, AclEntryPermission.READ_ATTRIBUTES).build()));
    }

    static void assertOwnerAlone(Path path) throws IOException {
        AclFileAttributeView view = Files.getFileAttributeView(path, AclFileAttributeView.class);
        List<AclEntry> acl = view.getAcl();
        assertEquals(1, acl.size(), path + ": " + acl);
        assertEquals(view.getOwner(), acl.get(0).principal(), path + ": " + acl);
        assertEquals(AclEntryType.ALLOW, acl.get(0).type());
        assertEquals(EnumSet.allOf(AclEntryPermission.class), acl.get(0).permissions(), "the owner keeps all rights");
    }

    @Test
    void onAnAclFileSystemTheAclHoldsTheOwnerAlone() throws IOException {
        try (FileSystem fs = windowsFs()) {
            assertFalse(fs.supportedFileAttributeViews().contains("posix"), "this file system must have no modes");
            Path profile = fs.getPath("C:\\Users\\wil");
            Files.createDirectories(profile);
            Path old = Files.writeString(profile.resolve("token"), "secret");
            readableByEveryone(old);
            OwnerOnly.restrict(old);
            assertOwnerAlone(old);

            Path dir = profile.resolve(".k3s-vagrant\\clusters\\wil");
            OwnerOnly.createDirectories(dir);
            assertOwnerAlone(dir);
            assertOwnerAlone(dir.getParent());
            assertOwnerAlone(OwnerOnly.createFile(dir.resolve("k3s-token")));
            assertOwnerAlone(OwnerOnly.createTempFile(dir, ".part.", ".tmp"));
            Path program = Files.writeString(dir.resolve("server.sh"), "#!/bin/sh\n");
            readableByEveryone(program);
            OwnerOnly.restrictProgram(program);
            assertOwnerAlone(program);
        }
    }

    @Test
    void theKubeconfigAndKnownHostsWritersWorkOnAnAclFileSystem() throws IOException {
        try (FileSystem fs = windowsFs()) {
            Path kube = fs.getPath("C:\\Users\\wil\\.kube\\config");
            Files.createDirectories(fs.getPath("C:\\Users"));
            AtomicFile.write(kube, "apiVersion: v1\n");
            assertEquals("apiVersion: v1\n", Files.readString(kube));
            assertOwnerAlone(kube);
            assertOwnerAlone(kube.getParent());
            assertOwnerAlone(kube.getParent().getParent());
        }
    }

    @Test
    void onPosixTheModesAreAsBefore() throws IOException {
        Path file = Files.writeString(tmp.resolve("f"), "x");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        OwnerOnly.restrict(file);
        assertEquals("rw-------", mode(file));
        OwnerOnly.restrictProgram(file);
        assertEquals("rwx------", mode(file));
        Path dir = tmp.resolve("a/b");
        OwnerOnly.createDirectories(dir);
        assertEquals("rwx------", mode(dir));
        assertEquals("rwx------", mode(dir.getParent()));
        assertEquals("rw-------", mode(OwnerOnly.createFile(dir.resolve("c"))));
        assertEquals("rw-------", mode(OwnerOnly.createTempFile(dir, "d", ".tmp")));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        OwnerOnly.restrict(dir);
        assertEquals("rwx------", mode(dir));
    }

    @Test
    void aFileSystemWithNeitherModesNorAclsIsRefusedNotWrittenOpenly() throws IOException {
        try (FileSystem fs = Jimfs.newFileSystem(Configuration.windows())) {
            Path file = Files.writeString(fs.getPath("C:\\token"), "secret");
            IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                () -> OwnerOnly.restrict(file));
            assertEquals(file + " is on a file system that cannot restrict a file to its owner", e.getMessage());
        }
    }

    static String mode(Path path) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
    }
}
