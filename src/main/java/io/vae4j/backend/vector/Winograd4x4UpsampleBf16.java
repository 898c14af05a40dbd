package io.vae4j.backend.vector;

import io.vae4j.backend.ConvGeometry;
import io.vae4j.backend.Parallel;
import io.vae4j.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * {@link Winograd4x4Upsample} with its products in bf16 on {@link WinogradProducts}, as {@link Winograd4x4Bf16} does
 * for F(4x4, 3x3): band by band of tiles, each input channel's transform (float32, Java) rounded to bf16 into V,
 * then per row phase the 50 products of both column phases as batched matmuls, then the output transform of
 * {@link Winograd4x4Upsample}.
 */
final class Winograd4x4UpsampleBf16 {
    private static final int L = GemmKernel.L;
    private static final int XI = Winograd4x4Upsample.XI;
    /** Tiles per band, at least: each input tile here makes 8x8 output pixels, against 4x4 in Winograd4x4Bf16. */
    private static final int BAND_TILES = Math.max(L, Winograd4x4Bf16.BAND_TILES / 2);
    private static final int OUT_BLOCK = 16;
    /** Batches the 50 products of a row phase are cut into: enough for two threads to share evenly. */
    private static final int PRODUCT_CHUNKS = 10;

    private Winograd4x4UpsampleBf16() {
    }

    /** U in bf16, plain [100][out][in]: the transform {@link Winograd4x4Upsample} makes, rounded once. */
    static Tensor transformWeights(Tensor w, Parallel parallel) {
        try (Tensor u = Winograd4x4Upsample.transformWeights(w, false, parallel)) {
            return Winograd4x4Bf16.toBf16(u);
        }
    }

    /** out[n] = conv(nearest-upsampled in[n]) + bias, in[n] passed through {@code norm} first when not null. */
    static void convolve(Parallel parallel, WinogradProducts products, Tensor in, int n, Tensor ub, float[] bias,
                         Tensor out, ChannelNorm[] norm) {
        int cin = in.dim(1), cout = out.dim(1);
        int h = in.dim(2), w = in.dim(3);
        int outH = out.dim(2), outW = out.dim(3);
        int tilesY = (h + 3) / 4, tilesX = (w + 3) / 4;
        ConvGeometry g = ConvPlanes.winogradTiles(4, h, w);
        long inOff = (long) n * cin * h * w;
        long outOff = (long) n * cout * outH * outW;
        int wq = tilesX + 1;
        int bandRows = Math.max(1, Math.min(tilesY, VectorBackend.ceilDiv(BAND_TILES, wq)));
        int tiles = VectorBackend.roundUp(bandRows * wq, L);
        ConvPlanes first = new ConvPlanes(g, cin, h, w, 1, 0, bandRows);
        long vStride = (long) cin * tiles, mStride = (long) cout * tiles;
        try (Tensor planes = VectorBackend.bandBuffer(first.floats + tiles);
             Tensor v = VectorBackend.bandBuffer((2L * XI * vStride + 1) / 2);
             Tensor m = VectorBackend.bandBuffer(2L * XI * mStride)) {
            MemorySegment pl = planes.data(), vb = v.data(), mb = m.data();
            // Columns past a band's last tile are never written; zero them once so that the product reads numbers.
            vb.fill((byte) 0);
            for (int ty0 = 0; ty0 < tilesY; ty0 += bandRows) {
                ConvPlanes p = ty0 == 0 ? first : new ConvPlanes(g, cin, h, w, 1, ty0, bandRows);
                long channelStride = p.planeOffset(0, 1);
                long[] starts = WinogradBands.vectorStarts(p, tilesX);
                long[] tap = p.tileTaps();
                pl.asSlice(p.filled * 4).fill((byte) 0);
                parallel.forEach(cin, ci -> p.fill(in.data(), inOff, ci, pl, norm == null ? null : norm[ci]));
                var band = new Winograd4x4Upsample.Band(p.wq, ty0, tilesX, p.flatOut(), outH, outW, out.data(),
                        outOff, bias);
                for (int a = 0; a < 2; a++) {
                    int phase = a;
                    parallel.forEach(cin, ci -> transformChannel(pl, ci * channelStride, tap, phase, starts, vb,
                            (long) ci * tiles, vStride));
                    int per = 2 * XI / PRODUCT_CHUNKS;
                    long uFrom = 2L * XI * a;
                    parallel.forEach(PRODUCT_CHUNKS, c -> products.multiplyBf16(per, cout, cin, tiles,
                            ub.data().asSlice(2L * (uFrom + (long) c * per) * cout * cin),
                            vb.asSlice(2L * c * per * vStride), mb.asSlice(4L * c * per * mStride)));
                    int blocks = VectorBackend.ceilDiv(cout, OUT_BLOCK);
                    parallel.forEach(blocks, blk -> {
                        int oc = blk * OUT_BLOCK, rows = Math.min(OUT_BLOCK, cout - oc);
                        MemorySegment t = Scratch.floats(56L * L);
                        Winograd4x4Upsample.transformOutput(mb, (long) oc * tiles, XI * mStride + (long) oc * tiles,
                                tiles, mStride * 4, starts, t, 0, rows, oc, phase, band);
                    });
                }
            }
        }
    }

    /**
     * V_ab[ξ][ci][t] for row phase a, both column phases (b·25 + ξ), the band's vectors of L tiles of one channel
     * (its planes from float {@code base}), rounded to bf16: element (b·25 + ξ, ci, t) is the short at
     * vBase + (b·25 + ξ)·step + t, where tile t is lane t % L of vector t / L.
     */
    private static void transformChannel(MemorySegment pl, long base, long[] tap, int a, long[] starts,
                                         MemorySegment v, long vBase, long step) {
        MemorySegment tmp = Scratch.floats(55L * L);
        long lb = 4L * L;
        for (int t = 0; t < starts.length * L; t += L) {
            Winograd4x4Upsample.inputColumns(pl, (base + starts[t / L]) * 4, tap, a, tmp, 0);
            for (int b = 0; b < 2; b++) {
                Winograd4x4Upsample.inputRows(tmp, 0, b, 30 * lb, lb);
                Winograd4x4Bf16.toBf16Rows(tmp, 30 * lb, XI, v, (vBase + (long) b * XI * step + t) * 2, step * 2);
            }
        }
    }
}
