package io.vae4j.tiles;

import io.vae4j.format.image.PixelRange;
import io.vae4j.tensor.Tensor;
import io.vae4j.tiles.io.ImageStripWriter;

import java.lang.foreign.MemorySegment;

/** An {@link ImageStripWriter} into a float tensor, unquantised: for comparing tiled and untiled decodes. */
class MemoryStripWriter implements ImageStripWriter {
    final Tensor image;
    private int rows;
    boolean closed;
    boolean aborted;

    MemoryStripWriter(int width, int height) {
        image = Tensor.allocate(1, 3, height, width);
    }

    @Override
    public int width() {
        return image.dim(3);
    }

    @Override
    public int height() {
        return image.dim(2);
    }

    @Override
    public int rowsWritten() {
        return rows;
    }

    @Override
    public long writeRows(Tensor strip, PixelRange range) {
        int n = strip.dim(2), w = width();
        if (rows + n > height() || strip.dim(3) != w) {
            throw new IllegalStateException("strip of " + n + " rows at " + rows);
        }
        for (int ch = 0; ch < 3; ch++) {
            MemorySegment.copy(strip.data(), (long) ch * n * w * 4, image.data(),
                    ((long) ch * height() + rows) * w * 4, (long) n * w * 4);
        }
        rows += n;
        return 0;
    }

    @Override
    public void close() {
        if (rows != height()) {
            throw new IllegalStateException(rows + " of " + height() + " rows");
        }
        closed = true;
    }

    @Override
    public void abort() {
        aborted = true;
    }
}
