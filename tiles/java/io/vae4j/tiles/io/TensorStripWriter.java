package io.vae4j.tiles.io;

import io.vae4j.VaeException;
import io.vae4j.format.image.PixelRange;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Collects the strips of a tiled or exact decode into one float32 image {@code [1, 3, H, W]} in memory, values as
 * the decoder gave them (no clamping or quantisation; the range is ignored): for callers that want the image as
 * a tensor (a server's tensor response, a library's float array) rather than a file.
 */
public final class TensorStripWriter implements ImageStripWriter {
    private final Tensor image;
    private final int width;
    private final int height;
    private int rows;
    private boolean done;

    public TensorStripWriter(int width, int height) {
        this.width = width;
        this.height = height;
        this.image = Tensor.allocate(DType.F32, 1, 3, height, width);
    }

    @Override
    public int width() {
        return width;
    }

    @Override
    public int height() {
        return height;
    }

    @Override
    public int rowsWritten() {
        return rows;
    }

    @Override
    public long writeRows(Tensor strip, PixelRange range) {
        if (done) {
            throw new IllegalStateException("image already finished");
        }
        if (strip.rank() != 4 || strip.dim(0) != 1 || strip.dim(1) != 3 || strip.dim(3) != width) {
            throw new VaeException("expected a strip [1, 3, rows, " + width + "], got " + Arrays.toString(strip.shape()));
        }
        int n = strip.dim(2);
        if (rows + n > height) {
            throw new VaeException((rows + n) + " rows given for an image " + height + " rows high");
        }
        Tensor src = strip.dtype() == DType.F32 ? strip : strip.copyF32();
        try {
            MemorySegment in = src.data();
            MemorySegment out = image.data();
            long plane = (long) height * width;
            for (int c = 0; c < 3; c++) {
                MemorySegment.copy(in, (long) c * n * width * 4, out, (c * plane + (long) rows * width) * 4,
                        (long) n * width * 4);
            }
        } finally {
            if (src != strip) {
                src.close();
            }
        }
        rows += n;
        return 0;
    }

    /** Checks that every row came; the image stays open for {@link #image()}. */
    @Override
    public void close() {
        if (rows != height) {
            image.close();
            done = true;
            throw new VaeException("only " + rows + " of " + height + " rows were decoded");
        }
        done = true;
    }

    @Override
    public void abort() {
        if (!done) {
            done = true;
            image.close();
        }
    }

    /** The finished image, owned by the caller from now on. */
    public Tensor image() {
        if (!done || rows != height) {
            throw new IllegalStateException("image not finished");
        }
        return image;
    }
}
