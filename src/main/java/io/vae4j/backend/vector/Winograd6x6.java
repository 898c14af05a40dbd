package io.vae4j.backend.vector;

import io.vae4j.backend.Parallel;
import io.vae4j.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Winograd F(6x6, 3x3) for stride-1, padding-1 3x3 convolutions: each 6x6 block of output costs 64 products per
 * (input, output channel) pair, 1.78 per output pixel against {@link Winograd4x4}'s 2.25, on the same plan: weights
 * transformed once, input tiles (8x8, overlapping by 2, read from stride-6 phase planes) transformed per block of
 * TILES tiles, 64 products on {@link GemmKernel}, results transformed back and interleaved into pixel order.
 *
 * <p>The points are 0, ±1, ±2, ±½ and ∞, the usual choice: every transform coefficient is then exact in float32 and
 * the rounding about twice F(4x4)'s ({@code bench/winograd_error.py}), inside the conformance tolerances (see
 * {@code KlConformanceTest.winograd6x6}; the stride-6 planes are filled by {@link ChannelNorm#applyPhases}). As in
 * F(4x4), the symmetric points split each transform into even and odd halves.
 */
final class Winograd6x6 {
    private static final VectorSpecies<Float> S = GemmKernel.SPECIES;
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int TILES = WinogradBands.TILES;
    /** Output channels transformed back together: 64·32·TILES floats of products stay within L2. */
    private static final int OUT_BLOCK = 32;
    private static final int N = 8;
    private static final int XI = N * N;

    // Bᵀ: the row of point p holds the coefficients of Π(x - q) over the other finite points q. For the pair ±p
    // that is x·(x ± p)·(x² - q²)·(x² - r²), whose even and odd halves differ only by the sign of the odd one:
    // E = d6 - (q² + r²)·d4 + q²r²·d2, O = p·(d5 - (q² + r²)·d3 + q²r²·d1). Point 0 and ∞ take the full products.
    private static final float S1 = 1 + 4 + 0.25f;
    private static final float S2 = 4 + 0.25f + 1;
    /** (q² + r², q²r²) for p = 1, 2, ½ (q²r² = 1 for p = 1). */
    private static final float K1_1 = 4.25f;
    private static final float K1_2 = 1.25f, K2_2 = 0.25f;
    private static final float K1_H = 5, K2_H = 4;

    /** Output pixel k of a tile from lane t of y_k: the index (into a pair of y's) and the pair, per output vector. */
    private static final FloatVector[] ZIP = new FloatVector[6];
    private static final VectorMask<Float>[] ZIP_23 = masks();
    private static final VectorMask<Float>[] ZIP_45 = masks();

    static {
        for (int j = 0; j < 6; j++) {
            float[] zip = new float[L];
            boolean[] z23 = new boolean[L], z45 = new boolean[L];
            for (int i = 0; i < L; i++) {
                int f = L * j + i, t = f / 6, k = f % 6;
                zip[i] = t + (k % 2) * L;
                z23[i] = k / 2 == 1;
                z45[i] = k / 2 == 2;
            }
            ZIP[j] = FloatVector.fromArray(S, zip, 0);
            ZIP_23[j] = VectorMask.fromArray(S, z23, 0);
            ZIP_45[j] = VectorMask.fromArray(S, z45, 0);
        }
    }

    @SuppressWarnings("unchecked")
    private static VectorMask<Float>[] masks() {
        return (VectorMask<Float>[]) new VectorMask<?>[6];
    }

    private Winograd6x6() {
    }

    /** The rows of G for 0, 1, -1, 2, -2, ½, -½, then ∞ (the order of Bᵀ's rows below). */
    static double[][] g() {
        return Winograd4x4.g(0, 1, -1, 2, -2, 0.5, -0.5);
    }

    /** The 64 matrices of U, in 8-row panels when {@link Winograd4x4#packed}. */
    static Tensor transformWeights(Tensor w, Parallel parallel) {
        return Winograd4x4.transformWeights(w, g(), Winograd4x4.packed(w.dim(0)), parallel);
    }

    /** out[n] = conv(in[n] (nearest-upsampled when upsample = 2)) + bias (+ residual[n]). */
    static void convolve(Parallel parallel, Tensor in, int n, Tensor u, float[] bias, Tensor residual, Tensor out,
                         int upsample, ChannelNorm[] norm) {
        int cin = in.dim(1), cout = out.dim(1);
        int outH = out.dim(2), outW = out.dim(3);
        int tilesX = (outW + 5) / 6;
        long outOff = (long) n * cout * outH * outW;
        long[] vRows = VectorBackend.rows(cin, TILES);
        WinogradBands.run(parallel, in, n, 6, outH, outW, upsample, cout, norm, (p, pl, tap, starts, o0, o1) -> {
            int block = Math.min(OUT_BLOCK, o1 - o0);
            long vBase = 0, mBase = (long) XI * cin * TILES, tBase = mBase + (long) XI * block * TILES;
            MemorySegment scratch = Scratch.floats(tBase + (long) XI * L);
            transformInput(pl, p.planeOffset(0, 1), cin, starts, tap, scratch, vBase, tBase);
            for (int oc = o0; oc < o1; oc += block) {
                int rows = Math.min(block, o1 - oc);
                Winograd4x4.products(XI, u, cout, oc, rows, cin, scratch, vBase, mBase, vRows);
                transformOutput(scratch, mBase, rows * TILES * 4L, starts, tBase, rows, oc, bias, p, tilesX,
                        outH, outW, out.data(), outOff, residual);
            }
        });
    }

    /** V[ξ][ci][t] = (Bᵀ·d·B)[ξ] for the block's tiles, every input channel: columns into tBase, then rows into V. */
    private static void transformInput(MemorySegment pl, long channelStride, int cin, long[] starts, long[] tap,
                                       MemorySegment v, long vBase, long tBase) {
        long step = (long) cin * TILES * 4;
        for (int ci = 0; ci < cin; ci++) {
            long base = ci * channelStride;
            for (int t = 0; t < TILES; t += L) {
                inputColumns(pl, (base + WinogradBands.readAt(starts[t / L])) * 4, tap, v, tBase * 4);
                inputRows(v, tBase * 4, (vBase + (long) ci * TILES + t) * 4, step);
            }
        }
    }

    /** Bᵀ·d for L tiles: column c of the tiles at byte offset {@code at} into tmp[8·i + c]. */
    private static void inputColumns(MemorySegment pl, long at, long[] tap, MemorySegment v, long tmp) {
        long lb = 4L * L;
        for (int c = 0; c < N; c++) {
            FloatVector d0 = FloatVector.fromMemorySegment(S, pl, at + tap[c] * 4, LE);
            FloatVector d1 = FloatVector.fromMemorySegment(S, pl, at + tap[8 + c] * 4, LE);
            FloatVector d2 = FloatVector.fromMemorySegment(S, pl, at + tap[16 + c] * 4, LE);
            FloatVector d3 = FloatVector.fromMemorySegment(S, pl, at + tap[24 + c] * 4, LE);
            FloatVector d4 = FloatVector.fromMemorySegment(S, pl, at + tap[32 + c] * 4, LE);
            FloatVector d5 = FloatVector.fromMemorySegment(S, pl, at + tap[40 + c] * 4, LE);
            FloatVector d6 = FloatVector.fromMemorySegment(S, pl, at + tap[48 + c] * 4, LE);
            FloatVector d7 = FloatVector.fromMemorySegment(S, pl, at + tap[56 + c] * 4, LE);
            long dst = tmp + c * lb, step = N * lb;
            // (Coefficients of 1 are left out: p = 1, q²r² = 1 for p = 1, and s3 = 1.)
            FloatVector e1 = d4.fma(FloatVector.broadcast(S, -K1_1), d6.add(d2));
            FloatVector o1 = d3.fma(FloatVector.broadcast(S, -K1_1), d5.add(d1));
            FloatVector e2 = d4.fma(FloatVector.broadcast(S, -K1_2), d2.fma(FloatVector.broadcast(S, K2_2), d6));
            FloatVector o2 = d3.fma(FloatVector.broadcast(S, -2 * K1_2),
                    d1.fma(FloatVector.broadcast(S, 2 * K2_2), d5.mul(2f)));
            FloatVector eh = d4.fma(FloatVector.broadcast(S, -K1_H), d2.fma(FloatVector.broadcast(S, K2_H), d6));
            FloatVector oh = d3.fma(FloatVector.broadcast(S, -K1_H / 2),
                    d1.fma(FloatVector.broadcast(S, K2_H / 2), d5.mul(0.5f)));
            FloatVector nS1 = FloatVector.broadcast(S, -S1), vS2 = FloatVector.broadcast(S, S2);
            d4.fma(nS1, d2.fma(vS2, d6.sub(d0))).intoMemorySegment(v, dst, LE);
            e1.add(o1).intoMemorySegment(v, dst + step, LE);
            e1.sub(o1).intoMemorySegment(v, dst + 2 * step, LE);
            e2.add(o2).intoMemorySegment(v, dst + 3 * step, LE);
            e2.sub(o2).intoMemorySegment(v, dst + 4 * step, LE);
            eh.add(oh).intoMemorySegment(v, dst + 5 * step, LE);
            eh.sub(oh).intoMemorySegment(v, dst + 6 * step, LE);
            d5.fma(nS1, d3.fma(vS2, d7.sub(d1))).intoMemorySegment(v, dst + 7 * step, LE);
        }
    }

    /**
     * (Bᵀ·d)·B: row i of tmp into V[8·i + j] at byte offset row + (8·i + j)·step. The formulas are those of
     * {@link #inputColumns}, written out again: a helper taking the eight vectors was not always inlined, and then
     * every call boxed them.
     */
    private static void inputRows(MemorySegment v, long tmp, long row, long step) {
        long lb = 4L * L;
        for (int r = 0; r < N; r++) {
            long o = tmp + N * r * lb;
            FloatVector d0 = FloatVector.fromMemorySegment(S, v, o, LE);
            FloatVector d1 = FloatVector.fromMemorySegment(S, v, o + lb, LE);
            FloatVector d2 = FloatVector.fromMemorySegment(S, v, o + 2 * lb, LE);
            FloatVector d3 = FloatVector.fromMemorySegment(S, v, o + 3 * lb, LE);
            FloatVector d4 = FloatVector.fromMemorySegment(S, v, o + 4 * lb, LE);
            FloatVector d5 = FloatVector.fromMemorySegment(S, v, o + 5 * lb, LE);
            FloatVector d6 = FloatVector.fromMemorySegment(S, v, o + 6 * lb, LE);
            FloatVector d7 = FloatVector.fromMemorySegment(S, v, o + 7 * lb, LE);
            long dst = row + N * r * step;
            // (Coefficients of 1 are left out: p = 1, q²r² = 1 for p = 1, and s3 = 1.)
            FloatVector e1 = d4.fma(FloatVector.broadcast(S, -K1_1), d6.add(d2));
            FloatVector o1 = d3.fma(FloatVector.broadcast(S, -K1_1), d5.add(d1));
            FloatVector e2 = d4.fma(FloatVector.broadcast(S, -K1_2), d2.fma(FloatVector.broadcast(S, K2_2), d6));
            FloatVector o2 = d3.fma(FloatVector.broadcast(S, -2 * K1_2),
                    d1.fma(FloatVector.broadcast(S, 2 * K2_2), d5.mul(2f)));
            FloatVector eh = d4.fma(FloatVector.broadcast(S, -K1_H), d2.fma(FloatVector.broadcast(S, K2_H), d6));
            FloatVector oh = d3.fma(FloatVector.broadcast(S, -K1_H / 2),
                    d1.fma(FloatVector.broadcast(S, K2_H / 2), d5.mul(0.5f)));
            FloatVector nS1 = FloatVector.broadcast(S, -S1), vS2 = FloatVector.broadcast(S, S2);
            d4.fma(nS1, d2.fma(vS2, d6.sub(d0))).intoMemorySegment(v, dst, LE);
            e1.add(o1).intoMemorySegment(v, dst + step, LE);
            e1.sub(o1).intoMemorySegment(v, dst + 2 * step, LE);
            e2.add(o2).intoMemorySegment(v, dst + 3 * step, LE);
            e2.sub(o2).intoMemorySegment(v, dst + 4 * step, LE);
            eh.add(oh).intoMemorySegment(v, dst + 5 * step, LE);
            eh.sub(oh).intoMemorySegment(v, dst + 6 * step, LE);
            d5.fma(nS1, d3.fma(vS2, d7.sub(d1))).intoMemorySegment(v, dst + 7 * step, LE);
        }
    }

    /**
     * Y = Aᵀ·M·A + bias (+ residual) for output channels [oc, oc + rows), written to the 6x6 output pixels of every
     * real tile of the block, as {@link Winograd4x4#transformOutput} does for 4x4 ones.
     */
    private static void transformOutput(MemorySegment m, long mBase, long step, long[] starts, long tBase, int rows,
                                        int oc, float[] bias, ConvPlanes p, int tilesX, int outH, int outW,
                                        MemorySegment out, long outOff, Tensor residual) {
        float[] row = new float[6 * L];
        long tmp = tBase * 4;
        Winograd4x4.Placement at = Winograd4x4.Placement.of(6, starts, p.flatOut(), p.wq, p.rowFrom, tilesX, outH,
                outW);
        int vectors = at.start().length;
        for (int o = 0; o < rows; o++) {
            long plane = outOff + (long) (oc + o) * outH * outW;
            for (int v = 0; v < vectors; v++) {
                outputColumns(m, (mBase + (long) o * TILES + (long) v * L) * 4, step, m, tmp);
                for (int r = 0; r < 6; r++) {
                    long idx = at.start()[v] >= 0 ? plane + at.start()[v] + (long) r * outW : -1;
                    outputRow(m, tmp + (long) N * r * 4 * L, bias[oc + o], out, idx, residual, row);
                    if (idx < 0) {
                        Winograd4x4.storeRuns(row, 6, r, at.runs()[v], outH, outW, out, plane, residual, false);
                    }
                }
            }
        }
    }

    /** Aᵀ·M for L tiles: column c of M (at byte offset at, products ξ apart by step) into t at tmp[8·k + c]. */
    private static void outputColumns(MemorySegment m, long at, long step, MemorySegment t, long tmp) {
        long lb = 4L * L;
        FloatVector k2 = FloatVector.broadcast(S, 2f), kh = FloatVector.broadcast(S, 0.5f);
        FloatVector k4 = FloatVector.broadcast(S, 4f), kq = FloatVector.broadcast(S, 0.25f);
        FloatVector k8 = FloatVector.broadcast(S, 8f), ke = FloatVector.broadcast(S, 0.125f);
        FloatVector k16 = FloatVector.broadcast(S, 16f), k16th = FloatVector.broadcast(S, 0.0625f);
        FloatVector k32 = FloatVector.broadcast(S, 32f), k32th = FloatVector.broadcast(S, 0.03125f);
        for (int c = 0; c < N; c++) {
            FloatVector m0 = FloatVector.fromMemorySegment(S, m, at + c * step, LE);
            FloatVector m1 = FloatVector.fromMemorySegment(S, m, at + (8 + c) * step, LE);
            FloatVector m2 = FloatVector.fromMemorySegment(S, m, at + (16 + c) * step, LE);
            FloatVector m3 = FloatVector.fromMemorySegment(S, m, at + (24 + c) * step, LE);
            FloatVector m4 = FloatVector.fromMemorySegment(S, m, at + (32 + c) * step, LE);
            FloatVector m5 = FloatVector.fromMemorySegment(S, m, at + (40 + c) * step, LE);
            FloatVector m6 = FloatVector.fromMemorySegment(S, m, at + (48 + c) * step, LE);
            FloatVector m7 = FloatVector.fromMemorySegment(S, m, at + (56 + c) * step, LE);
            FloatVector s1 = m1.add(m2), d1 = m1.sub(m2), s2 = m3.add(m4), d2 = m3.sub(m4);
            FloatVector sh = m5.add(m6), dh = m5.sub(m6);
            long dst = tmp + c * lb;
            m0.add(s1).add(s2).add(sh).intoMemorySegment(t, dst, LE);
            d2.fma(k2, dh.fma(kh, d1)).intoMemorySegment(t, dst + N * lb, LE);
            s2.fma(k4, sh.fma(kq, s1)).intoMemorySegment(t, dst + 2 * N * lb, LE);
            d2.fma(k8, dh.fma(ke, d1)).intoMemorySegment(t, dst + 3 * N * lb, LE);
            s2.fma(k16, sh.fma(k16th, s1)).intoMemorySegment(t, dst + 4 * N * lb, LE);
            d2.fma(k32, dh.fma(k32th, d1.add(m7))).intoMemorySegment(t, dst + 5 * N * lb, LE);
        }
    }

    /**
     * (Aᵀ·M)·A + bias for one output row of L tiles (tmp row at byte offset src), interleaved into pixel order
     * (6 pixels a tile): stored at float index idx of out (plus residual) when idx ≥ 0, else into {@code row}.
     */
    private static void outputRow(MemorySegment m, long src, float bias, MemorySegment out, long idx,
                                  Tensor residual, float[] row) {
        long lb = 4L * L;
        FloatVector m0 = FloatVector.fromMemorySegment(S, m, src, LE);
        FloatVector m1 = FloatVector.fromMemorySegment(S, m, src + lb, LE);
        FloatVector m2 = FloatVector.fromMemorySegment(S, m, src + 2 * lb, LE);
        FloatVector m3 = FloatVector.fromMemorySegment(S, m, src + 3 * lb, LE);
        FloatVector m4 = FloatVector.fromMemorySegment(S, m, src + 4 * lb, LE);
        FloatVector m5 = FloatVector.fromMemorySegment(S, m, src + 5 * lb, LE);
        FloatVector m6 = FloatVector.fromMemorySegment(S, m, src + 6 * lb, LE);
        FloatVector m7 = FloatVector.fromMemorySegment(S, m, src + 7 * lb, LE);
        FloatVector s1 = m1.add(m2), d1 = m1.sub(m2), s2 = m3.add(m4), d2 = m3.sub(m4);
        FloatVector sh = m5.add(m6), dh = m5.sub(m6);
        FloatVector b = FloatVector.broadcast(S, bias), ds = d1.add(b), ss = s1.add(b);
        FloatVector y0 = m0.add(s1).add(s2).add(sh).add(b);
        FloatVector y1 = d2.fma(FloatVector.broadcast(S, 2f), dh.fma(FloatVector.broadcast(S, 0.5f), ds));
        FloatVector y2 = s2.fma(FloatVector.broadcast(S, 4f), sh.fma(FloatVector.broadcast(S, 0.25f), ss));
        FloatVector y3 = d2.fma(FloatVector.broadcast(S, 8f), dh.fma(FloatVector.broadcast(S, 0.125f), ds));
        FloatVector y4 = s2.fma(FloatVector.broadcast(S, 16f), sh.fma(FloatVector.broadcast(S, 0.0625f), ss));
        FloatVector y5 = d2.fma(FloatVector.broadcast(S, 32f),
                dh.fma(FloatVector.broadcast(S, 0.03125f), ds.add(m7)));
        for (int j = 0; j < 6; j++) {
            FloatVector zip = ZIP[j];
            FloatVector px = zip.selectFrom(y0, y1).blend(zip.selectFrom(y2, y3), ZIP_23[j])
                    .blend(zip.selectFrom(y4, y5), ZIP_45[j]);
            if (idx < 0) {
                px.intoArray(row, j * L);
                continue;
            }
            long at = (idx + (long) j * L) * 4;
            if (residual != null) {
                px = px.add(FloatVector.fromMemorySegment(S, residual.data(), at, LE));
            }
            px.intoMemorySegment(out, at, LE);
        }
    }
}
