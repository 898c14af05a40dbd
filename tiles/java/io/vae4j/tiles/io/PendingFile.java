package io.vae4j.tiles.io;

import io.vae4j.VaeException;
import io.vae4j.util.IoErrors;
import io.vae4j.util.PendingNames;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * An output file written over a long time and published all at once: the bytes go to a hidden temporary file in
 * the target's directory ({@code .NAME.tmp-PID-RANDOM}, same file system so the final rename cannot become a copy),
 * which {@link #commit()} syncs and renames over the target. {@link #discard()} (and any failure) deletes it.
 *
 * <p>While the file is pending a JVM shutdown hook is registered that deletes it, so Ctrl-C in the middle of a
 * long write does not leave a multi-gigabyte temporary file behind; the hook is removed on commit or discard.
 * (A {@code kill -9} or a crash still leaves it; the next write of the same target deletes it, see
 * {@link PendingNames}.)
 *
 * <p>Same conventions as the project's other atomic writers: the temporary file gets the usual umask-based
 * permissions (not {@code Files.createTempFile}'s owner-only ones), and errors are {@link VaeException}s that
 * name the target. Not thread-safe.
 */
public final class PendingFile implements ByteSink, AutoCloseable {
    private final Path target;
    private final Path tmp;
    private final FileChannel channel;
    private final Thread hook;
    private boolean done;

    private PendingFile(Path target, Path tmp, FileChannel channel) {
        this.target = target;
        this.tmp = tmp;
        this.channel = channel;
        this.hook = Thread.ofPlatform().unstarted(this::deleteQuietly);
    }

    /** Creates the temporary file for {@code target}; the target itself is not touched until {@link #commit()}. */
    public static PendingFile create(Path target) {
        Path dir = target.toAbsolutePath().getParent();
        if (Files.isDirectory(target)) {
            throw new VaeException("cannot write " + target + ": it is a directory");
        }
        if (dir == null || !Files.isDirectory(dir)) {
            throw new VaeException("cannot write " + target + ": directory " + dir + " does not exist");
        }
        Path tmp = null;
        try {
            PendingNames.sweep(dir, target);
            tmp = createTemp(dir, target);
            FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.READ);
            PendingFile f = new PendingFile(target, tmp, ch);
            Runtime.getRuntime().addShutdownHook(f.hook);
            tmp = null;
            return f;
        } catch (IOException e) {
            throw new VaeException("cannot write " + target + ": " + IoErrors.reason(e), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // The creation failure is the error to report.
                }
            }
        }
    }

    public Path target() {
        return target;
    }

    /** The temporary file (for tests and messages). */
    public Path temporary() {
        return tmp;
    }

    /** The open channel onto the temporary file, positioned where the last write ended. */
    public FileChannel channel() {
        return channel;
    }

    /** Writes all of {@code buf} at the channel's position. */
    @Override
    public void write(ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            channel.write(buf);
        }
    }

    /** Writes all of {@code buf} at absolute position {@code at}, leaving the channel's position alone. */
    public void writeAt(ByteBuffer buf, long at) throws IOException {
        while (buf.hasRemaining()) {
            at += channel.write(buf, at);
        }
    }

    /** Syncs the temporary file and renames it over the target. On failure the temporary file is deleted. */
    @Override
    public void commit() {
        if (done) {
            throw new IllegalStateException(target + " was already committed or discarded");
        }
        done = true;
        boolean moved = false;
        try {
            channel.force(true);
            channel.close();
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException | FileAlreadyExistsException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            moved = true;
        } catch (IOException e) {
            throw new VaeException("cannot write " + target + ": " + IoErrors.reason(e), e);
        } finally {
            if (!moved) {
                deleteQuietly();
            }
            removeHook();
        }
    }

    /** Closes and deletes the temporary file; the target is left as it was. Does nothing once done. */
    @Override
    public void discard() {
        if (done) {
            return;
        }
        done = true;
        deleteQuietly();
        removeHook();
    }

    public boolean isDone() {
        return done;
    }

    /** Same as {@link #discard()}: closing a file that was not committed throws it away. */
    @Override
    public void close() {
        discard();
    }

    private void deleteQuietly() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Deleting is what matters.
        }
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
            // Best effort: the write already failed or was abandoned.
        }
    }

    private void removeHook() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // The hook is running or about to: it only deletes what is already gone.
        }
    }

    private static Path createTemp(Path dir, Path target) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path tmp = PendingNames.next(dir, target);
            try {
                Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
                return tmp;
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 10) {
                    throw e;
                }
            }
        }
    }
}
