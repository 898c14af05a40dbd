package io.vae4j.format;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.TimeUnit;

/**
 * Which file a path names and which version of its contents: real path, size, modification and status-change
 * times, and the file system's key (device and inode). Any write to the file moves its status-change time, which,
 * unlike the modification time, no user call can set back; so an unchanged identity means unchanged bytes, as far
 * as the file system can tell.
 */
public record FileIdentity(Path path, long size, long modifiedNanos, long changedNanos, String fileKey) {
    /** The identity of the file at {@code path} now, or null where the file system cannot give all of it. */
    public static FileIdentity of(Path path) {
        try {
            BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
            Object key = a.fileKey();
            if (key == null || !a.isRegularFile()) {
                return null;
            }
            FileTime changed = (FileTime) Files.getAttribute(path, "unix:ctime");
            return new FileIdentity(path.toRealPath(), a.size(), a.lastModifiedTime().to(TimeUnit.NANOSECONDS),
                    changed.to(TimeUnit.NANOSECONDS), key.toString());
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            return null;
        }
    }

    /** All of it on one line (a path's line breaks escaped), for keys. */
    public String describe() {
        return path.toString().replace("\\", "\\\\").replace("\n", "\\n") + " size " + size + " mtime "
                + modifiedNanos + " ctime " + changedNanos + " key " + fileKey;
    }
}
