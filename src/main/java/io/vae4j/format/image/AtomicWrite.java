package io.vae4j.format.image;

import io.vae4j.VaeException;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a file so that readers see either the old file or the complete new one, never a partial one: the bytes go
 * to a hidden temporary file in the same directory ({@code .NAME.tmp-RANDOM}), which is synced and then renamed over
 * the target. Any failure deletes the temporary file and becomes a {@link VaeException} naming the target.
 *
 * <p>Private to this package for now; meant to be replaced by the project-wide atomic file helper.
 */
final class AtomicWrite {

    @FunctionalInterface
    interface Body {
        void writeTo(OutputStream out) throws IOException;
    }

    private AtomicWrite() {
    }

    static void write(Path target, Body body) {
        Path dir = target.toAbsolutePath().getParent();
        if (Files.isDirectory(target)) {
            throw new VaeException("cannot write " + target + ": it is a directory");
        }
        if (dir == null || !Files.isDirectory(dir)) {
            throw new VaeException("cannot write " + target + ": directory " + dir + " does not exist");
        }
        Path tmp = null;
        try {
            tmp = createTemp(dir, target.getFileName().toString());
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
                body.writeTo(out);
                out.flush();
                ch.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException | RuntimeException e) {
            if (e instanceof VaeException v) {
                throw v;
            }
            throw new VaeException("cannot write " + target + ": " + reason(e), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // Best effort: the write already failed and that is the error to report.
                }
            }
        }
    }

    private static Path createTemp(Path dir, String name) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + name + ".tmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
            try {
                // Not Files.createTempFile: that makes the file owner-only, and the rename would keep those rights.
                Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
                return tmp;
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 10) {
                    throw e;
                }
            }
        }
    }

    /** A short human-readable reason for an I/O failure. */
    static String reason(Throwable e) {
        return switch (e) {
            case AccessDeniedException a -> "permission denied";
            case NoSuchFileException n -> "no such file or directory";
            case FileSystemException f when f.getReason() != null -> f.getReason();
            default -> e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        };
    }
}
