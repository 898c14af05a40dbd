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
 *
 * <p>The planes may hold a band of output rows only (plane rows {@code rowFrom} onwards), so a convolution runs band
 * by band in memory proportional to the band, not the image; flat indices are then relative to the band.
 */
final class ConvPlanes {
    final int channels;
    final int stride;
    final int hq;
    final int wq;
    final int outHeight;
    final int outWidth;
    /** First output row of the band, and how many output rows it has. */
    final int rowFrom;
    final int outRows;
    /** Plane rows held: the band's output rows plus the rows the taps reach below them. */
    final int rows;
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
        this(g, channels, inHeight, inWidth, upsample, 0, Integer.MAX_VALUE);
    }

    /** Planes for output rows [rowFrom, rowFrom + outRows) (clipped to the output). */
    ConvPlanes(ConvGeometry g, int channels, int inHeight, int inWidth, int upsample, int rowFrom, int outRows) {
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
        this.rowFrom = rowFrom;
        this.outRows = Math.min(outRows, outHeight - rowFrom);
        this.rows = Math.min(hq - rowFrom, this.outRows + (k - 1) / stride);
        long plane = (long) rows * wq;
        this.bRow = new long[channels * k * k];
        for (int ci = 0; ci < channels; ci++) {
            for (int ky = 0; ky < k; ky++) {
                for (int kx = 0; kx < k; kx++) {
                    int phase = (ky % stride) * stride + kx % stride;
                    bRow[(ci * k + ky) * k + kx] = ((long) ci * stride * stride + phase) * plane
                            + (long) (ky / stride) * wq + kx / stride;
                }
            }
        }
        this.filled = (long) stride * stride * channels * plane;
        this.floats = filled + GemmKernel.NR + 2L * k + 64;
    }

    /**
     * Winograd F(m x m, 3x3)'s (m + 2)-wide tiles at stride m as a convolution geometry: the padded image of
     * m·tiles + 2 rows and columns, one zero border before, the rest after.
     */
    static ConvGeometry winogradTiles(int m, int outH, int outW) {
        int tilesY = (outH + m - 1) / m, tilesX = (outW + m - 1) / m;
        return new ConvGeometry(m + 2, m, 1, 1, m * tilesY + 1 - outH, m * tilesX + 1 - outW);
    }

    /**
     * For kernel-sized tiles read from these planes (Winograd's, stride m): the offset of tile element (r, c), at
     * kernel·r + c, from the tile's flat index in channel 0.
     */
    long[] tileTaps() {
        int k = g.kernel(), s = stride;
        long[] tap = new long[k * k];
        for (int r = 0; r < k; r++) {
            for (int c = 0; c < k; c++) {
                tap[k * r + c] = planeOffset((r % s) * s + c % s, 0) + (long) (r / s) * wq + c / s;
            }
        }
        return tap;
    }

    /** Flat output positions of the band: outRows rows of wq columns. */
    long flatOut() {
        return (long) outRows * wq;
    }

    /** Floats of one channel's phase plane in the band. */
    long planeSize() {
        return (long) rows * wq;
    }

    /**
     * Where the plane of (phase, channel ci) starts, in floats. Channel-major: a channel's phase planes are
     * adjacent, so a Winograd tile's reads (every phase of one channel) stay within a few pages.
     */
    long planeOffset(int phase, int ci) {
        return ((long) ci * stride * stride + phase) * planeSize();
    }

    /** Writes channel ci of one image (in: [C][H][W] at inOff floats) into every phase plane. */
    void fill(MemorySegment in, long inOff, int ci, MemorySegment planes) {
        fill(in, inOff, ci, planes, null);
    }

    /**
     * Writes channel ci of one image into every phase plane, passing each value through {@code norm} first when
     * it is not null (a GroupNorm's per-channel affine and SiLU, fused here so the normalised tensor never
     * exists). Padding stays zero, as it is in the reference, which pads the normalised tensor.
     */
    void fill(MemorySegment in, long inOff, int ci, MemorySegment planes, ChannelNorm norm) {
        // Each path a method of its own: a decode meets the second one late (its RGB output convolution), and the
        // deoptimised caller is then this small one, not a loop that went on in the interpreter.
        if ((stride == 4 || stride == 6) && upsample == 1) {
            fillPhases(in, inOff, ci, planes, norm == null ? ChannelNorm.IDENTITY : norm);
        } else {
            fillRows(in, inOff, ci, planes, norm);
        }
    }

    /** {@link #fill} for any stride and upsampling, plane row by plane row ({@link #fillRow}). */
    private void fillRows(MemorySegment in, long inOff, int ci, MemorySegment planes, ChannelNorm norm) {
        int s = stride, u = upsample;
        int hu = inHeight * u, wu = inWidth * u;
        long src = (inOff + (long) ci * inHeight * inWidth) * 4;
        for (int py = 0; py < s; py++) {
            int y0 = realFrom(py), y1 = realTo(py, hu);
            for (int px = 0; px < s; px++) {
                long dst = planeOffset(py * s + px, ci) * 4;
                zeroRows(planes, dst, y0, y1);
                for (int y = y0; y < y1; y++) {
                    int sy = (rowFrom + y) * s + py - g.padTop();
                    fillRow(in, src + (long) (sy / u) * inWidth * 4, planes, dst + (long) y * wq * 4, px, wu, norm);
                }
            }
        }
    }

    /**
     * The first plane row of phase row py whose source row, (rowFrom + y)·s + py - padTop, is inside the (upsampled)
     * input's {@code height} rows; {@link #realTo} ends them. The rows outside are padding. Worked out once, not
     * tested row by row: the bottom padding is met only in a convolution's last band, after C2 had compiled the
     * loop without that case, and a test for it sent the rest of the fill to the interpreter (1.4-1.6 s of an SD
     * encode).
     */
    private int realFrom(int py) {
        return Math.clamp((long) Math.ceilDiv(g.padTop() - py, stride) - rowFrom, 0, rows);
    }

    private int realTo(int py, int height) {
        return Math.clamp((long) Math.ceilDiv(height + g.padTop() - py, stride) - rowFrom, 0, rows);
    }

    /** Zeroes the plane rows (from byte offset dst) before y0 and from y1 on; either run may be empty. */
    private void zeroRows(MemorySegment planes, long dst, int y0, int y1) {
        planes.asSlice(dst, (long) y0 * wq * 4).fill((byte) 0);
        planes.asSlice(dst + (long) y1 * wq * 4, (long) (rows - y1) * wq * 4).fill((byte) 0);
    }

    /**
     * {@link #fill} for the stride-4 or stride-6 planes of an input that is not upsampled (Winograd F(4x4), F(6x6)):
     * the s column phases of a plane row come from one pass over the source row ({@link ChannelNorm#applyPhases}),
     * from the first plane column whose s source columns s·x - pad .. s·x - pad + s - 1 are all at or right of the
     * row's start; the columns before it are done one by one, zero where they fall in the padding.
     */
    private void fillPhases(MemorySegment in, long inOff, int ci, MemorySegment planes, ChannelNorm norm) {
        int s = stride, pl = g.padLeft();
        int xa = Math.min(wq, ceilDiv(pl, s));
        long src = (inOff + (long) ci * inHeight * inWidth) * 4;
        long[] to = new long[s];
        for (int py = 0; py < s; py++) {
            int y0 = realFrom(py), y1 = realTo(py, inHeight);
            for (int px = 0; px < s; px++) {
                zeroRows(planes, planeOffset(py * s + px, ci) * 4, y0, y1);
            }
            for (int y = y0; y < y1; y++) {
                int sy = (rowFrom + y) * s + py - g.padTop();
                for (int px = 0; px < s; px++) {
                    to[px] = (planeOffset(py * s + px, ci) + (long) y * wq) * 4;
                }
                long srcRow = src + (long) sy * inWidth * 4;
                if (pl == 1 && srcRow >= 4) {
                    // The usual one-column pad: whole vector steps from one float before the row (the previous
                    // row's last, or whatever lies before it), the padding column they filled zeroed after.
                    norm.applyPhases(s, in, srcRow - 4, inWidth + 1, planes, to, wq);
                    planes.set(DType.FLOAT, to[0], 0f);
                    continue;
                }
                for (int px = 0; px < s; px++) {
                    for (int x = 0; x < xa; x++) {
                        int sx = s * x + px - pl;
                        float v = sx < 0 || sx >= inWidth ? 0f : norm.apply(in.get(DType.FLOAT, srcRow + sx * 4L));
                        planes.set(DType.FLOAT, to[px] + x * 4L, v);
                    }
                    to[px] += xa * 4L;
                }
                int first = s * xa - pl;
                norm.applyPhases(s, in, srcRow + first * 4L, inWidth - first, planes, to, wq - xa);
            }
        }
    }

    /** One plane row: destination column x holds padded column x·s + px, i.e. source column (x·s + px - pad) / u. */
    private void fillRow(MemorySegment in, long srcRow, MemorySegment planes, long row, int px, int wu,
                         ChannelNorm norm) {
        int s = stride, u = upsample, pl = g.padLeft();
        // Destination columns whose source is inside the image: 0 <= x·s + px - pl < wu.
        int x0 = Math.max(0, ceilDiv(pl - px, s)), x1 = Math.min(wq, ceilDiv(wu + pl - px, s));
        if (x1 <= x0) {
            planes.asSlice(row, wq * 4L).fill((byte) 0);
            return;
        }
        planes.asSlice(row, x0 * 4L).fill((byte) 0);
        planes.asSlice(row + x1 * 4L, (wq - x1) * 4L).fill((byte) 0);
        int n = x1 - x0;
        long dst = row + x0 * 4L;
        if (s == u) {
            // Stride and upsampling cancel: a contiguous run of the source row.
            long from = srcRow + (long) Math.floorDiv(x0 * s + px - pl, u) * 4;
            if (norm == null) {
                MemorySegment.copy(in, from, planes, dst, n * 4L);
            } else {
                norm.apply(in, from, planes, dst, n);
            }
        } else if (s == 2 * u) {
            // Stride twice the upsampling (F(2x2) planes without it, F(4x4) planes with it): every other source column.
            norm = norm == null ? ChannelNorm.IDENTITY : norm;
            norm.applyEveryOther(in, srcRow + (long) Math.floorDiv(x0 * s + px - pl, u) * 4, planes, dst, n);
        } else {
            for (int x = x0; x < x1; x++) {
                float v = in.get(DType.FLOAT, srcRow + (long) ((x * s + px - pl) / u) * 4);
                planes.set(DType.FLOAT, row + x * 4L, norm == null ? v : norm.apply(v));
            }
        }
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
