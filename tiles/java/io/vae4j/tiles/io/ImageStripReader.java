package io.vae4j.tiles.io;

import io.vae4j.format.image.PixelRange;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;
import io.vae4j.util.IoErrors;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * An image read top to bottom in horizontal strips of rows, so that the whole image is never in memory: the
 * encoder's input for images too large for {@code Images.read}.
 *
 * <p>Values follow {@code Images.read}: samples map {@code v / (2^bits - 1)} into the {@link PixelRange} given at
 * open, grey is replicated to the three channels, alpha is dropped (not composited), palette entries are looked
 * up, and no colour management is applied.
 *
 * <p>Not thread-safe. Errors are {@link io.vae4j.VaeException}s reading "cannot read image FILE: REASON"; after one the
 * reader is closed.
 */
public interface ImageStripReader extends AutoCloseable {

    /** Opens a PNG, TIFF or BigTIFF file, chosen by its first bytes. */
    static ImageStripReader open(Path file, PixelRange range) {
        byte[] magic = new byte[8];
        int n = 0;
        if (Files.isDirectory(file)) {
            throw StripReaders.error(file, "it is a directory", null);
        }
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(magic, 0, magic.length);
        } catch (IOException e) {
            throw StripReaders.error(file, IoErrors.reason(e), e);
        }
        if (n > 0 && Arrays.equals(magic, 0, n, PngStripReader.SIGNATURE, 0, n)) {
            return PngStripReader.open(file, range);
        }
        if (n >= 2 && ((magic[0] == 'I' && magic[1] == 'I') || (magic[0] == 'M' && magic[1] == 'M'))) {
            return TiffStripReader.open(file, range);
        }
        throw StripReaders.error(file, "not a PNG or TIFF file (streaming reads only PNG, TIFF and BigTIFF)", null);
    }

    Path file();

    int width();

    int height();

    /** Rows read so far. */
    int rowsRead();

    default int rowsLeft() {
        return height() - rowsRead();
    }

    /** Reads the next {@code count} rows into a new owned float32 tensor {@code [1, 3, count, width]}. */
    default Tensor readRows(int count) {
        if (count < 0 || count > rowsLeft()) {
            throw new IllegalArgumentException("cannot read " + count + " rows of " + file() + ": " + rowsLeft()
                    + " of " + height() + " rows are left");
        }
        Tensor t = Tensor.allocate(DType.F32, 1, 3, count, width());
        try {
            readRows(t);
            return t;
        } catch (RuntimeException | Error e) {
            t.close();
            throw e;
        }
    }

    /** Reads the next {@code into.dim(2)} rows into {@code into}, a float32 {@code [1, 3, rows, width]} tensor. */
    void readRows(Tensor into);

    @Override
    void close();
}
