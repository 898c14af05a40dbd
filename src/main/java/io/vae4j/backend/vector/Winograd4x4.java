package io.vae4j.backend.vector;

import io.vae4j.backend.Parallel;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Winograd F(4x4, 3x3) for stride-1, padding-1 3x3 convolutions: each 4x4 block of output costs 36 products per
 * (input, output channel) pair instead of 144, against 64 for {@link Winograd2x2}. Same plan as there: weights
 * transformed once (U = G·g·Gᵀ, 36 matrices [out][in]), input tiles transformed per block of TILES tiles
 * (V = Bᵀ·d·B), 36 products on {@link GemmKernel}, and the results transformed back (Y = Aᵀ·M·A).
 *
 * <p>The transforms come from Toom-Cook interpolation at the points 0, ±{@link #P}, ±{@link #Q} and ∞. Bigger tiles
 * mean bigger transform coefficients, and so more float rounding than F(2x2); the points are chosen to keep it inside
 * the conformance tolerances (see {@code KlConformanceTest}). With symmetric points, every transform splits into
 * even and odd halves, which is what the vector code below spells out.
 *
 * <p>Input tiles (6x6, overlapping by 2) are read from stride-4 phase planes of the padded input ({@link ConvPlanes}),
 * so tile element (r, c) of flat tile index ty·wq + tx sits at a fixed offset, and L consecutive tiles load as one
 * vector. Each 2-d transform runs as a column pass then a row pass through a small per-thread buffer, which keeps
 * the methods small enough for the JIT and the live vectors within the register file.
 */
final class Winograd4x4 {
    private static final VectorSpecies<Float> S = GemmKernel.SPECIES;
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Interleave the low (high) halves of two vectors: a[0], b[0], a[1], b[1], ... */
    static final VectorShuffle<Float> LOW = VectorShuffle.fromOp(S, i -> i % 2 == 0 ? i / 2 : i / 2 - L);
    static final VectorShuffle<Float> HIGH = VectorShuffle.fromOp(S,
            i -> i % 2 == 0 ? L / 2 + i / 2 : L / 2 + i / 2 - L);
    private static final int TILES = WinogradBands.TILES;
    /** Output channels transformed back together: bounds the per-thread buffer of products (36·64·TILES floats). */
    private static final int OUT_BLOCK = 64;

    /**
     * The finite interpolation points besides 0 are ±P and ±Q. ±1, ±2 measured best against the conformance
     * atols (worst 0.44 of atol, vs 0.45 for ±1, ±½ and 0.48 for ±½, ±2).
     */
    static final double P = 1;
    static final double Q = 2;

    // Coefficients of Bᵀ (rows: the products of (x - point) over the other finite points) and Aᵀ (powers of points).
    static final float P2Q2 = (float) (P * P * Q * Q);
    static final float P2_PLUS_Q2 = (float) (P * P + Q * Q);
    static final float P2 = (float) (P * P);
    static final float Q2 = (float) (Q * Q);
    static final float PQ2 = (float) (P * Q * Q);
    static final float P2Q = (float) (P * P * Q);
    static final float PF = (float) P;
    static final float QF = (float) Q;
    private static final float P3 = (float) (P * P * P);
    private static final float Q3 = (float) (Q * Q * Q);

    private Winograd4x4() {
    }

    /** The rows of G: [1, p, p²] / Π(p - other finite points) for 0, P, -P, Q, -Q, and [0, 0, 1] for ∞. */
    static double[][] g() {
        return g(0, P, -P, Q, -Q);
    }

    /** G for any finite points, in their order, then ∞. */
    static double[][] g(double... pts) {
        double[][] g = new double[pts.length + 1][];
        for (int i = 0; i < pts.length; i++) {
            double norm = 1;
            for (int j = 0; j < pts.length; j++) {
                if (j != i) {
                    norm *= pts[i] - pts[j];
                }
            }
            g[i] = new double[]{1 / norm, pts[i] / norm, pts[i] * pts[i] / norm};
        }
        g[pts.length] = new double[]{0, 0, 1};
        return g;
    }

    /**
     * Whether U's products are stored in panels of 8 output channels ({@link GemmKernel#multiplyPacked}): the 8
     * weights each step of the micro-kernel broadcasts then share a cache line instead of sitting a row apart
     * (measured 8-14% less CPU time per convolution at 128-512 channels).
     */
    static boolean packed(int out) {
        return out % 8 == 0;
    }

    /**
     * U[ξ] = (G·g·Gᵀ)[ξ / 6][ξ % 6] for weights g [out][in][3][3] of any stored dtype: 36 matrices [out][in], each
     * in 8-row panels ([out / 8][in][8]) when {@link #packed}, as {@link #convolve} reads them.
     */
    static Tensor transformWeights(Tensor w, Parallel parallel) {
        return transformWeights(w, packed(w.dim(0)), parallel);
    }

    /** The same, with the 36 matrices plain row-major [out][in] unless {@code pack} (for other GEMM engines). */
    static Tensor transformWeights(Tensor w, boolean pack, Parallel parallel) {
        return transformWeights(w, g(), pack, parallel);
    }

    /**
     * U[ξ] = (G·g·Gᵀ)[ξ / n][ξ % n] for the n x 3 matrix G of any Winograd tile (F(6x6)'s too): n² matrices
     * [out][in], in 8-row panels ([out / 8][in][8]) when {@code pack}. One task per 8 output channels, whose
     * values of each matrix lie together (one panel): made one (output, input) pair at a time over the whole
     * weight, the n² scattered stores missed the caches, and a model's first run spent seconds here.
     */
    static Tensor transformWeights(Tensor w, double[][] gm, boolean pack, Parallel parallel) {
        int out = w.dim(0), in = w.dim(1), n = gm.length;
        Tensor u = Tensor.uninitialized(n * n, out, in);
        MemorySegment dst = u.data();
        long plane = (long) out * in;
        parallel.forEach(VectorBackend.ceilDiv(out, 8), panel -> {
            double[] k = new double[9];
            double[] t = new double[3 * n];
            for (int o = 8 * panel; o < Math.min(out, 8 * panel + 8); o++) {
                for (int ci = 0; ci < in; ci++) {
                    long oi = (long) o * in + ci;
                    for (int j = 0; j < 9; j++) {
                        k[j] = w.get(oi * 9 + j);
                    }
                    for (int i = 0; i < n; i++) {
                        for (int c = 0; c < 3; c++) {
                            t[3 * i + c] = gm[i][0] * k[c] + gm[i][1] * k[3 + c] + gm[i][2] * k[6 + c];
                        }
                    }
                    long within = pack ? GemmKernel.panelIndex(o, ci, in) : oi;
                    for (int i = 0; i < n; i++) {
                        for (int j = 0; j < n; j++) {
                            double v = t[3 * i] * gm[j][0] + t[3 * i + 1] * gm[j][1] + t[3 * i + 2] * gm[j][2];
                            dst.set(DType.FLOAT, ((long) n * i + j) * plane * 4 + within * 4, (float) v);
                        }
                    }
                }
            }
        });
        return u;
    }

    /**
     * out[n] = conv(in[n] (nearest-upsampled when upsample = 2)) + bias (+ residual[n]), then ReLU when {@code relu},
     * applied as the output is stored (no pass of its own over it).
     */
    static void convolve(Parallel parallel, Tensor in, int n, Tensor u, float[] bias, Tensor residual, Tensor out,
                         int upsample, ChannelNorm[] norm, boolean relu) {
        int cin = in.dim(1), cout = out.dim(1);
        int outH = out.dim(2), outW = out.dim(3);
        int tilesX = (outW + 3) / 4;
        long outOff = (long) n * cout * outH * outW;
        long[] vRows = VectorBackend.rows(cin, TILES);
        WinogradBands.run(parallel, in, n, 4, outH, outW, upsample, cout, norm, (p, pl, tap, starts, o0, o1) -> {
            int block = Math.min(OUT_BLOCK, o1 - o0);
            long vBase = 0, mBase = 36L * cin * TILES, tBase = mBase + 36L * block * TILES;
            MemorySegment scratch = Scratch.floats(tBase + 36L * L);
            transformInput(pl, p.planeOffset(0, 1), cin, starts, tap, scratch, vBase, tBase);
            for (int oc = o0; oc < o1; oc += block) {
                int rows = Math.min(block, o1 - oc);
                products(36, u, cout, oc, rows, cin, scratch, vBase, mBase, vRows);
                transformOutput(scratch, mBase, TILES, rows * TILES * 4L, starts, scratch, tBase, rows, oc, bias,
                        p.flatOut(), p.wq, p.rowFrom, tilesX, outH, outW, out.data(), outOff, residual, relu);
            }
        });
    }

    /**
     * M[ξ] = U[ξ]·V[ξ] for the ξ &lt; points products of a block of TILES tiles, output channels [oc, oc + rows):
     * U's matrices [cout][cin] (in 8-row panels when {@link #packed}), V's [cin][TILES] from float vBase of the
     * scratch, M's [rows][TILES] from mBase. Shared by F(4x4) and F(6x6).
     */
    static void products(int points, Tensor u, int cout, int oc, int rows, int cin, MemorySegment scratch,
                         long vBase, long mBase, long[] vRows) {
        for (int xi = 0; xi < points; xi++) {
            if (packed(cout)) {
                GemmKernel.multiplyPacked(u.data(), ((long) xi * cout + oc) * cin, rows, cin,
                        scratch, vBase + (long) xi * cin * TILES, scratch, mBase + (long) xi * rows * TILES, TILES);
                continue;
            }
            GemmKernel.multiply(u.data(), ((long) xi * cout + oc) * cin, cin, 0, rows, cin,
                    scratch, vBase + (long) xi * cin * TILES, vRows, 0, TILES, true,
                    scratch, mBase + (long) xi * rows * TILES, TILES);
        }
    }

    /**
     * V[ξ][ci][t] = (Bᵀ·d·B)[ξ] for the block's tiles (vectors of L from {@code starts}), every input channel:
     * columns of d into the buffer at tBase, then its rows into V. Each pass is a method of its own: in one method,
     * C2 stops inlining the Vector API calls part way (node count) and boxes the rest.
     */
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

    /** Bᵀ·d for L tiles: column c of the tiles at byte offset {@code at} into tmp[6·i + c]. */
    static void inputColumns(MemorySegment pl, long at, long[] tap, MemorySegment v, long tmp) {
        long lb = 4L * L;
        for (int c = 0; c < 6; c++) {
            FloatVector d0 = FloatVector.fromMemorySegment(S, pl, at + tap[c] * 4, LE);
            FloatVector d1 = FloatVector.fromMemorySegment(S, pl, at + tap[6 + c] * 4, LE);
            FloatVector d2 = FloatVector.fromMemorySegment(S, pl, at + tap[12 + c] * 4, LE);
            FloatVector d3 = FloatVector.fromMemorySegment(S, pl, at + tap[18 + c] * 4, LE);
            FloatVector d4 = FloatVector.fromMemorySegment(S, pl, at + tap[24 + c] * 4, LE);
            FloatVector d5 = FloatVector.fromMemorySegment(S, pl, at + tap[30 + c] * 4, LE);
            FloatVector evenP = d2.mul(-Q2).add(d4), oddP = d3.mul(PF).sub(d1.mul(PQ2));
            FloatVector evenQ = d2.mul(-P2).add(d4), oddQ = d3.mul(QF).sub(d1.mul(P2Q));
            long o = tmp + c * lb;
            d0.mul(P2Q2).sub(d2.mul(P2_PLUS_Q2)).add(d4).intoMemorySegment(v, o, LE);
            evenP.add(oddP).intoMemorySegment(v, o + 6 * lb, LE);
            evenP.sub(oddP).intoMemorySegment(v, o + 12 * lb, LE);
            evenQ.add(oddQ).intoMemorySegment(v, o + 18 * lb, LE);
            evenQ.sub(oddQ).intoMemorySegment(v, o + 24 * lb, LE);
            d1.mul(P2Q2).sub(d3.mul(P2_PLUS_Q2)).add(d5).intoMemorySegment(v, o + 30 * lb, LE);
        }
    }

    /** (Bᵀ·d)·B: row i of tmp into V[6·i + j] at byte offset row + (6·i + j)·step. */
    static void inputRows(MemorySegment v, long tmp, long row, long step) {
        long lb = 4L * L;
        for (int r = 0; r < 6; r++) {
            long o = tmp + 6 * r * lb;
            FloatVector d0 = FloatVector.fromMemorySegment(S, v, o, LE);
            FloatVector d1 = FloatVector.fromMemorySegment(S, v, o + lb, LE);
            FloatVector d2 = FloatVector.fromMemorySegment(S, v, o + 2 * lb, LE);
            FloatVector d3 = FloatVector.fromMemorySegment(S, v, o + 3 * lb, LE);
            FloatVector d4 = FloatVector.fromMemorySegment(S, v, o + 4 * lb, LE);
            FloatVector d5 = FloatVector.fromMemorySegment(S, v, o + 5 * lb, LE);
            FloatVector evenP = d2.mul(-Q2).add(d4), oddP = d3.mul(PF).sub(d1.mul(PQ2));
            FloatVector evenQ = d2.mul(-P2).add(d4), oddQ = d3.mul(QF).sub(d1.mul(P2Q));
            long dst = row + 6 * r * step;
            d0.mul(P2Q2).sub(d2.mul(P2_PLUS_Q2)).add(d4).intoMemorySegment(v, dst, LE);
            evenP.add(oddP).intoMemorySegment(v, dst + step, LE);
            evenP.sub(oddP).intoMemorySegment(v, dst + 2 * step, LE);
            evenQ.add(oddQ).intoMemorySegment(v, dst + 3 * step, LE);
            evenQ.sub(oddQ).intoMemorySegment(v, dst + 4 * step, LE);
            d1.mul(P2Q2).sub(d3.mul(P2_PLUS_Q2)).add(d5).intoMemorySegment(v, dst + 5 * step, LE);
        }
    }

    /**
     * Y = Aᵀ·M·A + bias (+ residual), then ReLU when {@code relu}, for output channels [oc, oc + rows), written to
     * the 4x4 output pixels of every real tile: columns of M into the buffer at tBase (of {@code t}), then its rows,
     * interleaved into pixel order in registers. M's rows (one per output channel, from float mBase) are {@code ldm}
     * floats apart, its products {@code step} bytes; its columns are the vectors of L tiles from {@code starts}
     * ({@link WinogradBands}).
     */
    static void transformOutput(MemorySegment m, long mBase, long ldm, long step, long[] starts, MemorySegment t,
                                long tBase, int rows, int oc, float[] bias, long flat, int wq, int bandFrom,
                                int tilesX, int outH, int outW, MemorySegment out, long outOff, Tensor residual,
                                boolean relu) {
        float[] row = new float[4 * L];
        long tmp = tBase * 4;
        Placement at = Placement.of(4, starts, flat, wq, bandFrom, tilesX, outH, outW);
        int vectors = at.start().length;
        for (int o = 0; o < rows; o++) {
            long plane = outOff + (long) (oc + o) * outH * outW;
            for (int v = 0; v < vectors; v++) {
                outputColumns(m, (mBase + o * ldm + (long) v * L) * 4, step, t, tmp);
                for (int r = 0; r < 4; r++) {
                    long idx = at.start()[v] >= 0 ? plane + at.start()[v] + (long) r * outW : -1;
                    outputRow(t, tmp + 6L * r * 4 * L, bias[oc + o], out, idx, residual, row, relu);
                    if (idx < 0) {
                        storeRuns(row, 4, r, at.runs()[v], outH, outW, out, plane, residual, relu);
                    }
                }
            }
        }
    }

    /**
     * Where each vector of L tiles of a block goes, {@code px} output pixels a tile side: for a vector whose tiles
     * are whole, start[v], the pixel offset in its output channel of its first output row (L·px pixels a row,
     * written from registers), and -1 otherwise, with runs[v] its runs of real tiles ({@link #tileRuns}). Only the
     * vectors that are there ({@link WinogradBands#present}) have entries.
     */
    record Placement(long[] start, int[][] runs) {
        static Placement of(int px, long[] starts, long flat, int wq, int bandFrom, int tilesX, int outH, int outW) {
            int vectors = WinogradBands.present(starts);
            long[] start = new long[vectors];
            int[][] runs = new int[vectors][];
            for (int v = 0; v < vectors; v++) {
                long s = starts[v];
                runs[v] = tileRuns(px, s, flat, wq, bandFrom, tilesX, outH, outW);
                start[v] = runs[v] == null ? (long) px * (bandFrom + s / wq) * outW + px * (s % wq) : -1;
            }
            return new Placement(start, runs);
        }
    }

    /** Aᵀ·M for L tiles: column c of M (at byte offset at, products ξ apart by step) into t at tmp[6·k + c]. */
    private static void outputColumns(MemorySegment m, long at, long step, MemorySegment t, long tmp) {
        long lb = 4L * L;
        for (int c = 0; c < 6; c++) {
            FloatVector m0 = FloatVector.fromMemorySegment(S, m, at + c * step, LE);
            FloatVector m1 = FloatVector.fromMemorySegment(S, m, at + (6 + c) * step, LE);
            FloatVector m2 = FloatVector.fromMemorySegment(S, m, at + (12 + c) * step, LE);
            FloatVector m3 = FloatVector.fromMemorySegment(S, m, at + (18 + c) * step, LE);
            FloatVector m4 = FloatVector.fromMemorySegment(S, m, at + (24 + c) * step, LE);
            FloatVector m5 = FloatVector.fromMemorySegment(S, m, at + (30 + c) * step, LE);
            FloatVector sp = m1.add(m2), dp = m1.sub(m2), sq = m3.add(m4), dq = m3.sub(m4);
            long dst = tmp + c * lb;
            m0.add(sp).add(sq).intoMemorySegment(t, dst, LE);
            dp.mul(PF).add(dq.mul(QF)).intoMemorySegment(t, dst + 6 * lb, LE);
            sp.mul(P2).add(sq.mul(Q2)).intoMemorySegment(t, dst + 12 * lb, LE);
            dp.mul(P3).add(dq.mul(Q3)).add(m5).intoMemorySegment(t, dst + 18 * lb, LE);
        }
    }

    /**
     * (Aᵀ·M)·A + bias for one output row of L tiles (tmp row at byte offset src), in pixel order: stored at float
     * index idx of out (plus residual) when idx ≥ 0, else into {@code row} for {@link #storeRuns}.
     */
    private static void outputRow(MemorySegment m, long src, float bias, MemorySegment out, long idx,
                                  Tensor residual, float[] row, boolean relu) {
        long lb = 4L * L;
        FloatVector m0 = FloatVector.fromMemorySegment(S, m, src, LE);
        FloatVector m1 = FloatVector.fromMemorySegment(S, m, src + lb, LE);
        FloatVector m2 = FloatVector.fromMemorySegment(S, m, src + 2 * lb, LE);
        FloatVector m3 = FloatVector.fromMemorySegment(S, m, src + 3 * lb, LE);
        FloatVector m4 = FloatVector.fromMemorySegment(S, m, src + 4 * lb, LE);
        FloatVector m5 = FloatVector.fromMemorySegment(S, m, src + 5 * lb, LE);
        FloatVector sp = m1.add(m2), dp = m1.sub(m2), sq = m3.add(m4), dq = m3.sub(m4);
        FloatVector y0 = m0.add(sp).add(sq).add(bias);
        FloatVector y1 = dp.mul(PF).add(dq.mul(QF)).add(bias);
        FloatVector y2 = sp.mul(P2).add(sq.mul(Q2)).add(bias);
        FloatVector y3 = dp.mul(P3).add(dq.mul(Q3)).add(m5).add(bias);
        FloatVector lo02 = y0.rearrange(LOW, y2), hi02 = y0.rearrange(HIGH, y2);
        FloatVector lo13 = y1.rearrange(LOW, y3), hi13 = y1.rearrange(HIGH, y3);
        FloatVector p0 = lo02.rearrange(LOW, lo13), p1 = lo02.rearrange(HIGH, lo13);
        FloatVector p2 = hi02.rearrange(LOW, hi13), p3 = hi02.rearrange(HIGH, hi13);
        if (idx < 0) {
            // storeRuns adds the residual, then applies the ReLU.
            p0.intoArray(row, 0);
            p1.intoArray(row, L);
            p2.intoArray(row, 2 * L);
            p3.intoArray(row, 3 * L);
            return;
        }
        long at = idx * 4;
        if (residual != null) {
            MemorySegment res = residual.data();
            p0 = p0.add(FloatVector.fromMemorySegment(S, res, at, LE));
            p1 = p1.add(FloatVector.fromMemorySegment(S, res, at + lb, LE));
            p2 = p2.add(FloatVector.fromMemorySegment(S, res, at + 2 * lb, LE));
            p3 = p3.add(FloatVector.fromMemorySegment(S, res, at + 3 * lb, LE));
        }
        if (relu) {
            p0 = p0.max(0f);
            p1 = p1.max(0f);
            p2 = p2.max(0f);
            p3 = p3.max(0f);
        }
        p0.intoMemorySegment(out, at, LE);
        p1.intoMemorySegment(out, at + lb, LE);
        p2.intoMemorySegment(out, at + 2 * lb, LE);
        p3.intoMemorySegment(out, at + 3 * lb, LE);
    }

    /**
     * Where the L tiles from flat index {@code first} ({@code px} output pixels a side) go: null when they are whole,
     * in one tile row and inside the output (stretches of L·px pixels an output row), else the runs of real tiles
     * among them, each in one tile row and so one contiguous stretch of pixels: (first lane, tile row, first output
     * column, width in pixels) fours, for {@link #storeRuns}. {@code flat} ends the band's tiles.
     */
    static int[] tileRuns(int px, long first, long flat, int wq, int bandFrom, int tilesX, int outH, int outW) {
        int rowTy = bandFrom + (int) (first / wq), rowTx = (int) (first % wq);
        if (rowTx + L <= tilesX && px * rowTy + px - 1 < outH && px * (rowTx + L) <= outW && first + L <= flat) {
            return null;
        }
        int[] runs = new int[4 * L];
        int n = 0, lane = 0;
        while (lane < L && first + lane < flat) {
            long f = first + lane;
            int ty = bandFrom + (int) (f / wq), tx = (int) (f % wq);
            int count = Math.min(Math.min(L - lane, tilesX - tx), (int) (flat - f));
            if (count <= 0) {
                lane += Math.max(1, Math.min(L - lane, wq - tx));
                continue;
            }
            runs[n++] = lane;
            runs[n++] = ty;
            runs[n++] = px * tx;
            runs[n++] = Math.min(px * count, outW - px * tx);
            lane += count;
        }
        return Arrays.copyOf(runs, n);
    }

    /**
     * Stores one output row of L tiles, in pixel order in {@code row} ({@code px} pixels a tile), along the runs of
     * {@link #tileRuns}; the row is {@code rowInTile} of the px output rows each tile row covers. Each value gets its
     * residual, then ReLU when {@code relu}.
     */
    static void storeRuns(float[] row, int px, int rowInTile, int[] runs, int outH, int outW, MemorySegment out,
                          long plane, Tensor residual, boolean relu) {
        for (int k = 0; k < runs.length; k += 4) {
            int y = px * runs[k + 1] + rowInTile, width = runs[k + 3], from = px * runs[k];
            if (y >= outH) {
                continue;
            }
            long at = (plane + (long) y * outW + runs[k + 2]) * 4;
            int j = 0;
            for (; j + L <= width; j += L) {
                FloatVector v = FloatVector.fromArray(S, row, from + j);
                if (residual != null) {
                    v = v.add(FloatVector.fromMemorySegment(S, residual.data(), at + 4L * j, LE));
                }
                if (relu) {
                    v = v.max(0f);
                }
                v.intoMemorySegment(out, at + 4L * j, LE);
            }
            if (j < width) {
                VectorMask<Float> m = S.indexInRange(j, width);
                FloatVector v = FloatVector.fromArray(S, row, from + j, m);
                if (residual != null) {
                    v = v.add(FloatVector.fromMemorySegment(S, residual.data(), at + 4L * j, LE, m));
                }
                if (relu) {
                    v = v.max(0f);
                }
                v.intoMemorySegment(out, at + 4L * j, LE, m);
            }
        }
    }
}
