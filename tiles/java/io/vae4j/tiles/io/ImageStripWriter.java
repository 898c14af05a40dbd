package io.vae4j.tiles.io;

import io.vae4j.format.image.PixelRange;
import io.vae4j.tensor.Tensor;

/**
 * An image file written top to bottom in horizontal strips of rows, so that the whole image is never in memory.
 * The file appears at its target only when {@link #close()} succeeds after exactly {@link #height()} rows; until
 * then it is a hidden temporary file in the same directory, which {@link #abort()}, any error, and a JVM shutdown
 * (Ctrl-C) delete.
 *
 * <p>Not thread-safe: one thread writes the strips in order.
 */
public interface ImageStripWriter extends AutoCloseable {

    int width();

    int height();

    /** Rows written so far. */
    int rowsWritten();

    /**
     * Appends the rows of {@code strip}, a {@code [1, 3, rows, width]} tensor (float32 is the fast path; other
     * dtypes are read element by element), quantised per {@code range}: values are clamped, and NaN is written
     * as 0.
     *
     * @return how many of the strip's values were NaN, for the caller to warn about
     * @throws io.vae4j.VaeException for a strip of the wrong shape, rows beyond {@link #height()}, or an I/O
     *                               failure; the writer is then aborted (no file is left behind)
     */
    long writeRows(Tensor strip, PixelRange range);

    /**
     * Finishes the file and renames it over the target.
     *
     * @throws io.vae4j.VaeException when fewer than {@link #height()} rows were written (the temporary file is
     *                               deleted and the target left as it was) or the final write fails
     */
    @Override
    void close();

    /** Abandons the file: the temporary file is deleted, the target left as it was. Idempotent. */
    void abort();
}
