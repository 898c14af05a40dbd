package io.vae4j.util;

import io.vae4j.VaeException;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes a file so that readers see either the old content or the complete new content, never a partial file:
 * the content goes to a hidden temporary file in the target's directory (same file system, so the rename cannot
 * turn into a copy) and is then renamed over the target. A failed write leaves the target untouched and removes
 * the temporary file (one a killed process left is deleted by the next write, see {@link PendingNames}). No fsync:
 * this protects against crashes of this process, not against power loss.
 */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /** Produces the file's content at {@code tmp}, which exists and is empty when called. */
    @FunctionalInterface
    public interface IoWriter {
        void write(Path tmp) throws IOException;
    }

    public static void write(Path target, IoWriter writer) {
        Path dir = target.toAbsolutePath().getParent();
        checkTarget(target, dir);
        Path tmp = createTemp(target, dir);
        boolean done = false;
        try {
            writer.write(tmp);
            move(tmp, target);
            done = true;
        } catch (IOException e) {
            throw new VaeException("cannot write " + target + ": " + describe(e), e);
        } finally {
            if (!done) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // The original failure is the one worth reporting.
                }
            }
        }
    }

    private static void checkTarget(Path target, Path dir) {
        if (dir == null || !Files.exists(dir)) {
            throw new VaeException("cannot write " + target + ": directory " + dir + " does not exist");
        }
        if (!Files.isDirectory(dir)) {
            throw new VaeException("cannot write " + target + ": " + dir + " is not a directory");
        }
        if (!Files.isWritable(dir)) {
            throw new VaeException("cannot write " + target + ": directory " + dir + " is not writable");
        }
        if (Files.isDirectory(target)) {
            throw new VaeException("cannot write " + target + ": it is a directory");
        }
    }

    /**
     * Files.createTempFile would make the file owner-only (0600) on POSIX, and the rename would carry that mode to
     * the user's output; creating it ourselves gives the usual umask-based permissions.
     */
    private static Path createTemp(Path target, Path dir) {
        PendingNames.sweep(dir, target);
        for (int attempt = 0; ; attempt++) {
            Path tmp = PendingNames.next(dir, target);
            try {
                return Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 10) {
                    throw new VaeException("cannot write " + target + ": cannot create a temporary file in " + dir, e);
                }
            } catch (IOException e) {
                throw new VaeException("cannot write " + target + ": cannot create a temporary file in " + dir
                        + ": " + describe(e), e);
            }
        }
    }

    private static void move(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException | FileAlreadyExistsException e) {
            // Some file systems cannot rename atomically, or refuse to rename over an existing file.
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** NIO exceptions often carry only the path as their message; add the exception kind so the line says why. */
    private static String describe(IOException e) {
        // A writer's wrapper ("I/O error writing PNG file!") hides what went wrong: a full disk, a file size limit.
        if (e.getCause() instanceof IOException cause) {
            return describe(cause);
        }
        if (e.getClass() == IOException.class && e.getMessage() != null) {
            return e.getMessage();
        }
        String kind = e.getClass().getSimpleName().replace("Exception", "");
        return e.getMessage() == null ? kind : kind + " (" + e.getMessage() + ")";
    }
}
