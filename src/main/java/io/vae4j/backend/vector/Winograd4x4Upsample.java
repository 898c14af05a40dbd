package io.vae4j.backend.vector;

import io.vae4j.backend.Parallel;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * A 3x3 convolution (stride 1, padding 1) of a nearest-2x-upsampled input, run on the input as it is: output pixel
 * (2i + a, 2j + b) reads upsampled rows 2i + a - 1 .. 2i + a + 1, which are input rows i - 1 + a and i + a only, so
 * each of the four output phases (a, b) is a 2x2 convolution of the input, with the 3x3 kernel's rows (and columns)
 * summed into two: {w0, w1 + w2} for phase 0, {w0 + w1, w2} for phase 1. Each phase runs as Winograd F(4x4, 2x2):
 * 25 products per 4x4 block of its outputs, so 100 per 8x8 block of output, where F(4x4, 3x3) on the upsampled
 * input ({@link Winograd4x4}) needs 144; the input transforms shrink alike, and the upsampled tensor is never made.
 *
 * <p>The transforms come from Toom-Cook interpolation at 0, 1, -1, 2 and ∞ (smaller coefficients than F(4x4, 3x3)'s,
 * and less float rounding: {@code Winograd4x4UpsampleTest}). Input tiles are the same 6x6 windows at stride 4 as
 * {@link Winograd4x4}'s, read from the same stride-4 phase planes of the padded input ({@link ConvPlanes}); phase
 * (a, b) reads the 5x5 window at (a, b) in them. The column pass of the input transform is shared by the two column
 * phases, and the output transform writes both column phases of an output row together, interleaved in registers
 * into pixel order.
 */
final class Winograd4x4Upsample {
    private static final VectorSpecies<Float> S = GemmKernel.SPECIES;
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int TILES = WinogradBands.TILES;
    /** Output channels transformed back together: bounds the per-thread buffer of products (2·25·64·TILES floats). */
    private static final int OUT_BLOCK = 64;
    /** Products per phase: the 5x5 transformed tile. */
    static final int XI = 25;
    /** Floats of the weight transform per (output, input) channel pair: 4 phases of 25. */
    static final int TRANSFORM_FLOATS = 4 * XI;

    private Winograd4x4Upsample() {
    }

    /** Whether a convolution with {@code out} output channels runs here (the products use 8-row weight panels). */
    static boolean applies(int out) {
        return Winograd4x4.packed(out);
    }

    /** The rows of G: [1, p] / Π(p - other finite points) for 0, 1, -1, 2, and [0, 1] for ∞. */
    static double[][] g() {
        double[] pts = {0, 1, -1, 2};
        double[][] g = new double[5][];
        for (int i = 0; i < 4; i++) {
            double norm = 1;
            for (int j = 0; j < 4; j++) {
                if (j != i) {
                    norm *= pts[i] - pts[j];
                }
            }
            g[i] = new double[]{1 / norm, pts[i] / norm};
        }
        g[4] = new double[]{0, 1};
        return g;
    }

    /** Which 3x3 taps each of the two 2x2 taps of phase 0 and phase 1 sums: [phase][tap][k]. */
    private static final double[][][] SUMS = {{{1, 0, 0}, {0, 1, 1}}, {{1, 1, 0}, {0, 0, 1}}};

    /**
     * U[(2a + b)·25 + ξ] = (G·k_ab·Gᵀ)[ξ / 5][ξ % 5], where k_ab is phase (a, b)'s 2x2 kernel of the weights g
     * [out][in][3][3] (any stored dtype): 100 matrices [out][in], each in 8-row panels ([out / 8][in][8]).
     */
    static Tensor transformWeights(Tensor w, Parallel parallel) {
        return transformWeights(w, true, parallel);
    }

    /** The same, with the 100 matrices plain row-major [out][in] unless {@code pack} (for oneDNN's matmul). */
    static Tensor transformWeights(Tensor w, boolean pack, Parallel parallel) {
        int out = w.dim(0), in = w.dim(1);
        if (pack && !applies(out)) {
            throw new IllegalArgumentException("upsampling Winograd needs a multiple of 8 output channels, not " + out);
        }
        Tensor u = Tensor.uninitialized(TRANSFORM_FLOATS, out, in);
        MemorySegment dst = u.data();
        long plane = (long) out * in;
        double[][] gm = g();
        // One task per 8 output channels, as in Winograd4x4.transformWeights (and for the same reason).
        parallel.forEach(VectorBackend.ceilDiv(out, 8), panel -> {
            double[] k = new double[9];
            double[] k2 = new double[4];
            double[] t = new double[10];
            for (long oi = (long) 8 * panel * in; oi < (long) Math.min(out, 8 * panel + 8) * in; oi++) {
                for (int j = 0; j < 9; j++) {
                    k[j] = w.get(oi * 9 + j);
                }
                long packedAt = pack ? GemmKernel.panelIndex(oi / in, oi % in, in) : oi;
                for (int a = 0; a < 2; a++) {
                    for (int b = 0; b < 2; b++) {
                        for (int ty = 0; ty < 2; ty++) {
                            for (int tx = 0; tx < 2; tx++) {
                                double sum = 0;
                                for (int ky = 0; ky < 3; ky++) {
                                    for (int kx = 0; kx < 3; kx++) {
                                        sum += SUMS[a][ty][ky] * SUMS[b][tx][kx] * k[3 * ky + kx];
                                    }
                                }
                                k2[2 * ty + tx] = sum;
                            }
                        }
                        for (int i = 0; i < 5; i++) {
                            for (int c = 0; c < 2; c++) {
                                t[2 * i + c] = gm[i][0] * k2[c] + gm[i][1] * k2[2 + c];
                            }
                        }
                        for (int i = 0; i < 5; i++) {
                            for (int j = 0; j < 5; j++) {
                                double v = t[2 * i] * gm[j][0] + t[2 * i + 1] * gm[j][1];
                                long at = ((2L * a + b) * XI + 5L * i + j) * plane + packedAt;
                                dst.set(DType.FLOAT, at * 4, (float) v);
                            }
                        }
                    }
                }
            }
        });
        return u;
    }

    /** out[n] = conv(nearest-upsampled in[n]) + bias, in[n] passed through {@code norm} first when not null. */
    static void convolve(Parallel parallel, Tensor in, int n, Tensor u, float[] bias, Tensor out, ChannelNorm[] norm) {
        int cin = in.dim(1), cout = out.dim(1);
        int h = in.dim(2), w = in.dim(3);
        int outH = out.dim(2), outW = out.dim(3);
        int tilesX = (w + 3) / 4;
        long outOff = (long) n * cout * outH * outW;
        WinogradBands.run(parallel, in, n, 4, h, w, 1, cout, norm, (p, pl, tap, starts, o0, o1) ->
                block(pl, p.planeOffset(0, 1), cin, cout, starts, tap, u, o0, o1,
                        new Band(p.wq, p.rowFrom, tilesX, p.flatOut(), outH, outW, out.data(), outOff, bias)));
    }

    /** What the output transform needs to know of the band: where its tiles' pixels go. */
    record Band(int wq, int tyFrom, int tilesX, long flat, int outH, int outW, MemorySegment out, long outOff,
                float[] bias) {
    }

    /** The block's tiles (vectors of L from starts), output channels [o0, o1): both row phases, one after another. */
    private static void block(MemorySegment pl, long channelStride, int cin, int cout, long[] starts, long[] tap,
                              Tensor u, int o0, int o1, Band band) {
        int block = Math.min(OUT_BLOCK, o1 - o0);
        long vStep = (long) XI * cin * TILES, mBase = 2 * vStep, mStep = (long) XI * block * TILES;
        long tBase = mBase + 2 * mStep;
        MemorySegment scratch = Scratch.floats(tBase + 56L * L);
        for (int a = 0; a < 2; a++) {
            transformInput(pl, channelStride, cin, starts, tap, a, scratch, vStep, tBase);
            for (int oc = o0; oc < o1; oc += block) {
                int rows = Math.min(block, o1 - oc);
                for (int b = 0; b < 2; b++) {
                    for (int xi = 0; xi < XI; xi++) {
                        GemmKernel.multiplyPacked(u.data(), (((2L * a + b) * XI + xi) * cout + oc) * cin, rows, cin,
                                scratch, b * vStep + (long) xi * cin * TILES,
                                scratch, mBase + b * mStep + (long) xi * rows * TILES, TILES);
                    }
                }
                transformOutput(scratch, mBase, mBase + mStep, TILES, rows * TILES * 4L, starts, scratch, tBase,
                        rows, oc, a, band);
            }
        }
    }

    /**
     * V_ab[ξ][ci][t] = (Bᵀ·d_ab·B)[ξ] for row phase a, both column phases b (V_a0 at float 0, V_a1 at v1), for the
     * block's tiles (vectors of L from starts), every input channel.
     */
    private static void transformInput(MemorySegment pl, long channelStride, int cin, long[] starts, long[] tap,
                                       int a, MemorySegment v, long v1, long tBase) {
        long step = (long) cin * TILES * 4;
        for (int ci = 0; ci < cin; ci++) {
            long base = ci * channelStride;
            for (int t = 0; t < TILES; t += L) {
                long row = ((long) ci * TILES + t) * 4;
                inputColumns(pl, (base + WinogradBands.readAt(starts[t / L])) * 4, tap, a, v, tBase * 4);
                inputRows(v, tBase * 4, 0, row, step);
                inputRows(v, tBase * 4, 1, v1 * 4 + row, step);
            }
        }
    }

    /** Bᵀ·d for L tiles: window rows a .. a + 4 of all six window columns c into tmp[6·i + c]. */
    static void inputColumns(MemorySegment pl, long at, long[] tap, int a, MemorySegment v, long tmp) {
        long lb = 4L * L;
        int r0 = 6 * a;
        for (int c = 0; c < 6; c++) {
            FloatVector d0 = FloatVector.fromMemorySegment(S, pl, at + tap[r0 + c] * 4, LE);
            FloatVector d1 = FloatVector.fromMemorySegment(S, pl, at + tap[r0 + 6 + c] * 4, LE);
            FloatVector d2 = FloatVector.fromMemorySegment(S, pl, at + tap[r0 + 12 + c] * 4, LE);
            FloatVector d3 = FloatVector.fromMemorySegment(S, pl, at + tap[r0 + 18 + c] * 4, LE);
            FloatVector d4 = FloatVector.fromMemorySegment(S, pl, at + tap[r0 + 24 + c] * 4, LE);
            // The five rows of Bᵀ·d, six vectors apart (one tmp row per i). Written out here and in inputRows: a
            // shared helper taking the five vectors was not inlined, and its boxed vectors cost 5% of the layer.
            long o = tmp + c * lb, step = 6 * lb;
            FloatVector d32 = d3.sub(d2), d31 = d3.sub(d1);
            d0.sub(d2).mul(2f).add(d31).intoMemorySegment(v, o, LE);
            d1.mul(-2f).add(d32).intoMemorySegment(v, o + step, LE);
            d1.sub(d2).mul(2f).add(d32).intoMemorySegment(v, o + 2 * step, LE);
            d31.intoMemorySegment(v, o + 3 * step, LE);
            d31.mul(-2f).add(d4.sub(d2)).intoMemorySegment(v, o + 4 * step, LE);
        }
    }

    /** (Bᵀ·d)·B for column phase b: columns b .. b + 4 of each row i of tmp into V[5·i + j] at row + (5·i + j)·step. */
    static void inputRows(MemorySegment v, long tmp, int b, long row, long step) {
        long lb = 4L * L;
        for (int i = 0; i < 5; i++) {
            long o = tmp + (6L * i + b) * lb;
            FloatVector d0 = FloatVector.fromMemorySegment(S, v, o, LE);
            FloatVector d1 = FloatVector.fromMemorySegment(S, v, o + lb, LE);
            FloatVector d2 = FloatVector.fromMemorySegment(S, v, o + 2 * lb, LE);
            FloatVector d3 = FloatVector.fromMemorySegment(S, v, o + 3 * lb, LE);
            FloatVector d4 = FloatVector.fromMemorySegment(S, v, o + 4 * lb, LE);
            long at = row + 5L * i * step;
            FloatVector d32 = d3.sub(d2), d31 = d3.sub(d1);
            d0.sub(d2).mul(2f).add(d31).intoMemorySegment(v, at, LE);
            d1.mul(-2f).add(d32).intoMemorySegment(v, at + step, LE);
            d1.sub(d2).mul(2f).add(d32).intoMemorySegment(v, at + 2 * step, LE);
            d31.intoMemorySegment(v, at + 3 * step, LE);
            d31.mul(-2f).add(d4.sub(d2)).intoMemorySegment(v, at + 4 * step, LE);
        }
    }

    /**
     * Y = Aᵀ·M·A + bias for row phase a, output channels [oc, oc + rows), both column phases (their products M_0 at
     * float m0, M_1 at m1, rows TILES floats apart and products {@code step} bytes), written to the output rows
     * 8·ty + 2·r + a of every real tile.
     */
    static void transformOutput(MemorySegment m, long m0, long m1, long ldm, long step, long[] starts,
                                MemorySegment t, long tBase, int rows, int oc, int a, Band band) {
        float[] row = new float[8 * L];
        long lb = 4L * L;
        long tmp0 = tBase * 4, tmp1 = tmp0 + 20 * lb, pix = tmp1 + 20 * lb, stage = pix + 8 * lb;
        int outH = band.outH, outW = band.outW;
        var at = Winograd4x4.Placement.of(8, starts, band.flat, band.wq, band.tyFrom, band.tilesX, outH, outW);
        int vectors = at.start().length;
        for (int o = 0; o < rows; o++) {
            long plane = band.outOff + (long) (oc + o) * outH * outW;
            float bias = band.bias[oc + o];
            for (int v = 0; v < vectors; v++) {
                outputColumns(m, (m0 + o * ldm + (long) v * L) * 4, step, t, tmp0);
                outputColumns(m, (m1 + o * ldm + (long) v * L) * 4, step, t, tmp1);
                for (int r = 0; r < 4; r++) {
                    long idx = at.start()[v] >= 0 ? plane + at.start()[v] + (long) (2 * r + a) * outW : -1;
                    outputRow(t, tmp0 + 5L * r * lb, 0, bias, pix);
                    outputRow(t, tmp1 + 5L * r * lb, 1, bias, pix);
                    interleave(t, pix, idx < 0 ? t : band.out, idx < 0 ? stage : idx * 4);
                    if (idx < 0) {
                        for (int k = 0; k < 8; k++) {
                            FloatVector.fromMemorySegment(S, t, stage + k * lb, LE).intoArray(row, k * L);
                        }
                        Winograd4x4.storeRuns(row, 8, 2 * r + a, at.runs()[v], outH, outW, band.out, plane, null,
                                false);
                    }
                }
            }
        }
    }

    /** Aᵀ·M for L tiles: column c of M (at byte offset at, products ξ apart by step) into t at tmp[5·k + c]. */
    private static void outputColumns(MemorySegment m, long at, long step, MemorySegment t, long tmp) {
        long lb = 4L * L;
        for (int c = 0; c < 5; c++) {
            FloatVector m0 = FloatVector.fromMemorySegment(S, m, at + c * step, LE);
            FloatVector m1 = FloatVector.fromMemorySegment(S, m, at + (5 + c) * step, LE);
            FloatVector m2 = FloatVector.fromMemorySegment(S, m, at + (10 + c) * step, LE);
            FloatVector m3 = FloatVector.fromMemorySegment(S, m, at + (15 + c) * step, LE);
            FloatVector m4 = FloatVector.fromMemorySegment(S, m, at + (20 + c) * step, LE);
            FloatVector s = m1.add(m2), d = m1.sub(m2);
            long dst = tmp + c * lb;
            m0.add(s).add(m3).intoMemorySegment(t, dst, LE);
            m3.mul(2f).add(d).intoMemorySegment(t, dst + 5 * lb, LE);
            m3.mul(4f).add(s).intoMemorySegment(t, dst + 10 * lb, LE);
            m3.mul(8f).add(d).add(m4).intoMemorySegment(t, dst + 15 * lb, LE);
        }
    }

    /**
     * (Aᵀ·M)·A + bias for one output row of L tiles and column phase b (the tmp row at byte offset src): its four
     * columns j into the buffer at {@code dst} as vectors 2·j + b, the order of the tile's eight output pixels.
     */
    private static void outputRow(MemorySegment t, long src, int b, float bias, long dst) {
        long lb = 4L * L;
        FloatVector m0 = FloatVector.fromMemorySegment(S, t, src, LE);
        FloatVector m1 = FloatVector.fromMemorySegment(S, t, src + lb, LE);
        FloatVector m2 = FloatVector.fromMemorySegment(S, t, src + 2 * lb, LE);
        FloatVector m3 = FloatVector.fromMemorySegment(S, t, src + 3 * lb, LE);
        FloatVector m4 = FloatVector.fromMemorySegment(S, t, src + 4 * lb, LE);
        FloatVector s = m1.add(m2), d = m1.sub(m2);
        long at = dst + b * lb;
        m0.add(s).add(m3).add(bias).intoMemorySegment(t, at, LE);
        m3.mul(2f).add(d).add(bias).intoMemorySegment(t, at + 2 * lb, LE);
        m3.mul(4f).add(s).add(bias).intoMemorySegment(t, at + 4 * lb, LE);
        m3.mul(8f).add(d).add(m4).add(bias).intoMemorySegment(t, at + 6 * lb, LE);
    }

    /**
     * Pixel 8·t + k = v_k[t] for the L tiles t, from the eight vectors v_k at byte offset src of t, stored from byte
     * offset {@code at} of {@code to}. Three rounds of pairing lanes (k distance 4, 2, then 1 apart) leave tiles 2q
     * and 2q + 1 in the q-th result.
     */
    private static void interleave(MemorySegment t, long src, MemorySegment to, long at) {
        long lb = 4L * L;
        var lo = Winograd4x4.LOW;
        var hi = Winograd4x4.HIGH;
        FloatVector v0 = FloatVector.fromMemorySegment(S, t, src, LE);
        FloatVector v1 = FloatVector.fromMemorySegment(S, t, src + lb, LE);
        FloatVector v2 = FloatVector.fromMemorySegment(S, t, src + 2 * lb, LE);
        FloatVector v3 = FloatVector.fromMemorySegment(S, t, src + 3 * lb, LE);
        FloatVector v4 = FloatVector.fromMemorySegment(S, t, src + 4 * lb, LE);
        FloatVector v5 = FloatVector.fromMemorySegment(S, t, src + 5 * lb, LE);
        FloatVector v6 = FloatVector.fromMemorySegment(S, t, src + 6 * lb, LE);
        FloatVector v7 = FloatVector.fromMemorySegment(S, t, src + 7 * lb, LE);
        // Round 1: lanes k, k + 4 of tiles 0..7 (x) and 8..15 (y).
        FloatVector x0 = v0.rearrange(lo, v4), y0 = v0.rearrange(hi, v4);
        FloatVector x1 = v1.rearrange(lo, v5), y1 = v1.rearrange(hi, v5);
        FloatVector x2 = v2.rearrange(lo, v6), y2 = v2.rearrange(hi, v6);
        FloatVector x3 = v3.rearrange(lo, v7), y3 = v3.rearrange(hi, v7);
        // Round 2: k = 0, 2, 4, 6 (e) and 1, 3, 5, 7 (o) of tiles 0..3, 4..7, 8..11, 12..15.
        FloatVector e0 = x0.rearrange(lo, x2), e1 = x0.rearrange(hi, x2);
        FloatVector o0 = x1.rearrange(lo, x3), o1 = x1.rearrange(hi, x3);
        FloatVector e2 = y0.rearrange(lo, y2), e3 = y0.rearrange(hi, y2);
        FloatVector o2 = y1.rearrange(lo, y3), o3 = y1.rearrange(hi, y3);
        e0.rearrange(lo, o0).intoMemorySegment(to, at, LE);
        e0.rearrange(hi, o0).intoMemorySegment(to, at + lb, LE);
        e1.rearrange(lo, o1).intoMemorySegment(to, at + 2 * lb, LE);
        e1.rearrange(hi, o1).intoMemorySegment(to, at + 3 * lb, LE);
        e2.rearrange(lo, o2).intoMemorySegment(to, at + 4 * lb, LE);
        e2.rearrange(hi, o2).intoMemorySegment(to, at + 5 * lb, LE);
        e3.rearrange(lo, o3).intoMemorySegment(to, at + 6 * lb, LE);
        e3.rearrange(hi, o3).intoMemorySegment(to, at + 7 * lb, LE);
    }
}
