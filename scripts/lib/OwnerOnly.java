import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.AclEntry;
import java.nio.file.attribute.AclEntryFlag;
import java.nio.file.attribute.AclEntryPermission;
import java.nio.file.attribute.AclEntryType;
import java.nio.file.attribute.AclFileAttributeView;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Restricts a secret's file or folder to its owner: mode 600 (700 for folders and
 * programs) where the file system has POSIX modes; where it has none (Windows's NTFS), an
 * ACL whose one entry grants the owner everything, which is what mode 600 means there.
 */
final class OwnerOnly {
    private OwnerOnly() {
    }

    /** A file 600, a folder 700, or the owner-only ACL. */
    static void restrict(Path path) throws IOException {
        set(path, Files.isDirectory(path) ? "rwx------" : "rw-------");
    }

    /** A program the owner alone runs (mode 700). */
    static void restrictProgram(Path file) throws IOException {
        set(file, "rwx------");
    }

    /** Creates dir and its missing parents, each restricted (700) from the start where the file system allows. */
    static void createDirectories(Path dir) throws IOException {
        if (posix(dir)) {
            Files.createDirectories(dir, mode("rwx------"));
            return;
        }
        List<Path> missing = new ArrayList<>();
        for (Path p = dir.toAbsolutePath(); p != null && !Files.exists(p); p = p.getParent()) missing.add(0, p);
        for (Path p : missing) {
            Files.createDirectory(p);
            restrict(p);
        }
    }

    /** Creates an empty file, restricted (600). */
    static Path createFile(Path file) throws IOException {
        if (posix(file)) return Files.createFile(file, mode("rw-------"));
        Files.createFile(file);
        restrict(file);
        return file;
    }

    /** Creates a new temporary file in dir, restricted (600). */
    static Path createTempFile(Path dir, String prefix, String suffix) throws IOException {
        if (posix(dir)) return Files.createTempFile(dir, prefix, suffix, mode("rw-------"));
        Path file = Files.createTempFile(dir, prefix, suffix);
        restrict(file);
        return file;
    }

    private static void set(Path path, String posixMode) throws IOException {
        if (posix(path)) {
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(posixMode));
            return;
        }
        AclFileAttributeView view = Files.getFileAttributeView(path, AclFileAttributeView.class);
        if (view == null) {
            // neither modes nor ACLs (FAT, exFAT): anyone could read the secret, so say so rather than write it
            throw new IOException(path + " is on a file system that cannot restrict a file to its owner");
        }
        Set<AclEntryFlag> inherit = Files.isDirectory(path)
            ? EnumSet.of(AclEntryFlag.FILE_INHERIT, AclEntryFlag.DIRECTORY_INHERIT) : Set.of();
        view.setAcl(List.of(AclEntry.newBuilder().setType(AclEntryType.ALLOW).setPrincipal(view.getOwner())
            .setPermissions(EnumSet.allOf(AclEntryPermission.class)).setFlags(inherit).build()));
    }

    private static boolean posix(Path path) {
        return path.getFileSystem().supportedFileAttributeViews().contains("posix");
    }

    private static FileAttribute<?> mode(String posixMode) {
        return PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(posixMode));
    }
}
