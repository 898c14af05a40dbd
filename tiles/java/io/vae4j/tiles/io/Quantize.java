package io.vae4j.tiles.io;

import io.vae4j.VaeException;
import io.vae4j.format.image.PixelRange;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Tensor rows to interleaved RGB samples. 8-bit samples are exactly {@link PixelRange#encode} (what
 * {@code Images.writePng} writes); 16-bit ones are {@link #encode16}.
 */
final class Quantize {
    private final int width;
    private final float[] r;
    private final float[] g;
    private final float[] b;

    Quantize(int width) {
        this.width = width;
        this.r = new float[width];
        this.g = new float[width];
        this.b = new float[width];
    }

    /**
     * The 16-bit sample of a tensor value: clamped to the range, scaled to [0, 65535] and rounded half to even,
     * in float32 like the 8-bit {@link PixelRange#encode}. NaN gives 0.
     */
    static int encode16(PixelRange range, float x) {
        float unit = range == PixelRange.ZERO_ONE ? x : x / 2f + 0.5f;
        if (!(unit > 0f)) {
            return 0; // also NaN
        }
        if (unit >= 1f) {
            return 65535;
        }
        return (int) Math.rint(unit * 65535f);
    }

    /** Checks that {@code strip} is {@code [1, 3, rows, width]} and returns its row count. */
    static int checkStrip(Object target, Tensor strip, int width) {
        if (strip.rank() != 4 || strip.dim(0) != 1 || strip.dim(1) != 3 || strip.dim(3) != width) {
            throw new VaeException("cannot write " + target + ": expected a strip [1, 3, rows, " + width + "], got "
                    + Arrays.toString(strip.shape()));
        }
        return strip.dim(2);
    }

    /** Loads row {@code y} of a strip of {@code rows} rows into the r, g, b buffers; returns its NaN count. */
    private long load(Tensor strip, int rows, int y) {
        MemorySegment seg = strip.data();
        long plane = (long) rows * width;
        long first = (long) y * width;
        float[][] dst = {r, g, b};
        if (strip.dtype() == DType.F32) {
            for (int c = 0; c < 3; c++) {
                MemorySegment.copy(seg, DType.FLOAT, (c * plane + first) * 4, dst[c], 0, width);
            }
        } else {
            DType dt = strip.dtype();
            for (int c = 0; c < 3; c++) {
                for (int x = 0; x < width; x++) {
                    dst[c][x] = dt.get(seg, c * plane + first + x);
                }
            }
        }
        long nans = 0;
        for (int x = 0; x < width; x++) {
            if (r[x] != r[x]) {
                nans++;
            }
            if (g[x] != g[x]) {
                nans++;
            }
            if (b[x] != b[x]) {
                nans++;
            }
        }
        return nans;
    }

    /** Row {@code y} as 8-bit RGB at {@code out[off..off+3*width)}; returns its NaN count. */
    long row8(Tensor strip, int rows, int y, PixelRange range, byte[] out, int off) {
        long nans = load(strip, rows, y);
        for (int x = 0, at = off; x < width; x++, at += 3) {
            out[at] = (byte) range.encode(r[x]);
            out[at + 1] = (byte) range.encode(g[x]);
            out[at + 2] = (byte) range.encode(b[x]);
        }
        return nans;
    }

    /** Row {@code y} as 16-bit RGB at {@code out[off..off+6*width)} in the given byte order; returns its NaN count. */
    long row16(Tensor strip, int rows, int y, PixelRange range, byte[] out, int off, boolean bigEndian) {
        long nans = load(strip, rows, y);
        int hi = bigEndian ? 0 : 1;
        int lo = 1 - hi;
        for (int x = 0, at = off; x < width; x++, at += 6) {
            int v = encode16(range, r[x]);
            out[at + hi] = (byte) (v >>> 8);
            out[at + lo] = (byte) v;
            v = encode16(range, g[x]);
            out[at + 2 + hi] = (byte) (v >>> 8);
            out[at + 2 + lo] = (byte) v;
            v = encode16(range, b[x]);
            out[at + 4 + hi] = (byte) (v >>> 8);
            out[at + 4 + lo] = (byte) v;
        }
        return nans;
    }
}
