package io.vae4j.backend.vector;

import io.vae4j.backend.ConvGeometry;
import io.vae4j.tensor.DType;

import java.lang.foreign.MemorySegment;

/**
 * The input of a strided, padded convolution rearranged so that the convolution becomes a GEMM over contiguous
 * rows: the zero-padded image (optionally nearest-upsampled first) is split into stride×stride phase planes, so that
 * output pixel (oy, ox), stored at flat index oy·wq + ox, reads tap (ky, kx) from phase plane (ky % s, kx % s) at
 * flat index oy·wq + ox + (ky / s)·wq + kx / s. Every tap is then a fixed offset, which {@link GemmKernel} takes as
 * a row of B. Columns ox ≥ outWidth of that flat grid are junk the caller drops.
 */
final class ConvPlanes {
    final int channels;
    final int stride;
    final int hq;
    final int wq;
    final int outHeight;
    final int outWidth;
    /** Row offsets of B in floats, one per (input channel, tap), in the weight's [in][ky][kx] order. */
    final long[] bRow;
    /** Floats the plane buffer needs, including the slack the unmasked column tail reads. */
    final long floats;
    /** Floats {@link #fill} writes: every phase plane of every channel; the slack after them is the caller's. */
    final long filled;

    private final ConvGeometry g;
    private final int upsample;
    private final int inHeight;
    private final int inWidth;

    ConvPlanes(ConvGeometry g, int channels, int inHeight, int inWidth, int upsample) {
        this.g = g;
        this.channels = channels;
        this.upsample = upsample;
        this.inHeight = inHeight;
        this.inWidth = inWidth;
        this.stride = g.stride();
        int hu = inHeight * upsample, wu = inWidth * upsample;
        this.outHeight = g.outHeight(hu);
        this.outWidth = g.outWidth(wu);
        this.hq = ceilDiv(hu + g.padTop() + g.padBottom(), stride);
        this.wq = ceilDiv(wu + g.padLeft() + g.padRight(), stride);
        int k = g.kernel();
        long plane = (long) hq * wq;
        this.bRow = new long[channels * k * k];
        for (int ci = 0; ci < channels; ci++) {
            for (int ky = 0; ky < k; ky++) {
                for (int kx = 0; kx < k; kx++) {
                    int phase = (ky % stride) * stride + kx % stride;
                    bRow[(ci * k + ky) * k + kx] = ((long) phase * channels + ci) * plane
                            + (long) (ky / stride) * wq + kx / stride;
                }
            }
        }
        this.filled = (long) stride * stride * channels * plane;
        this.floats = filled + GemmKernel.NR + 2L * k + 64;
    }

    /** Flat output positions: outHeight rows of wq columns. */
    long flatOut() {
        return (long) outHeight * wq;
    }

    /** Writes channel ci of one image (in: [C][H][W] at inOff floats) into every phase plane. */
    void fill(MemorySegment in, long inOff, int ci, MemorySegment planes) {
        int s = stride, u = upsample;
        int hu = inHeight * u, wu = inWidth * u;
        long plane = (long) hq * wq;
        long src = (inOff + (long) ci * inHeight * inWidth) * 4;
        for (int py = 0; py < s; py++) {
            for (int px = 0; px < s; px++) {
                long dst = (((long) (py * s + px)) * channels + ci) * plane * 4;
                for (int y = 0; y < hq; y++) {
                    int sy = y * s + py - g.padTop();
                    long row = dst + (long) y * wq * 4;
                    if (sy < 0 || sy >= hu) {
                        planes.asSlice(row, wq * 4L).fill((byte) 0);
                        continue;
                    }
                    long srcRow = src + (long) (sy / u) * inWidth * 4;
                    if (s == 1 && u == 1) {
                        // The common case: one bulk copy between two zero borders.
                        int left = g.padLeft();
                        planes.asSlice(row, left * 4L).fill((byte) 0);
                        MemorySegment.copy(in, srcRow, planes, row + left * 4L, inWidth * 4L);
                        planes.asSlice(row + (left + inWidth) * 4L, (wq - left - inWidth) * 4L).fill((byte) 0);
                        continue;
                    }
                    for (int x = 0; x < wq; x++) {
                        int sx = x * s + px - g.padLeft();
                        float v = sx < 0 || sx >= wu ? 0f : in.get(DType.FLOAT, srcRow + (long) (sx / u) * 4);
                        planes.set(DType.FLOAT, row + x * 4L, v);
                    }
                }
            }
        }
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
