package io.vae4j.backend.vector;

import io.vae4j.backend.ConvGeometry;
import io.vae4j.backend.Parallel;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Winograd F(2x2, 3x3) for stride-1, padding-1 3x3 convolutions: each 2x2 block of output costs 16 products per
 * (input, output channel) pair instead of 36. Weights are transformed once (U = G·g·Gᵀ, 16 matrices [out][in]);
 * for each block of TILES output tiles the input tiles are transformed (V = Bᵀ·d·B), the 16 products U·V run on
 * {@link GemmKernel}, and the results are transformed back (Y = Aᵀ·M·A). The transforms use only ±1 and ½, so the
 * rounding stays close to the direct convolution's.
 *
 * <p>Input tiles are read from stride-2 phase planes of the padded input ({@link ConvPlanes}), where the 4x4 tile
 * of tile (ty, tx) at row r, column c sits at a fixed offset from flat index ty·wq + tx: whole vectors of
 * consecutive tiles load without gathers. Column tx = wq - 1 of that flat grid is junk and dropped.
 */
final class Winograd2x2 {
    private static final VectorSpecies<Float> S = GemmKernel.SPECIES;
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Interleave two vectors: lanes (a0, b0, a1, b1, ...) of the low halves, then of the high halves. */
    private static final VectorShuffle<Float> LOW = VectorShuffle.fromOp(S, i -> i % 2 == 0 ? i / 2 : i / 2 - L);
    private static final VectorShuffle<Float> HIGH = VectorShuffle.fromOp(S,
            i -> i % 2 == 0 ? L / 2 + i / 2 : L / 2 + i / 2 - L);
    /** Tiles per task: one register block of columns for the 16 products. */
    private static final int TILES = WinogradBands.TILES;

    private Winograd2x2() {
    }

    static boolean applies(ConvGeometry g, int in, int out) {
        return g.equals(ConvGeometry.same3x3()) && in >= 8 && out >= 8;
    }

    /** U[ξ][o][i] = (G·g[o][i]·Gᵀ)[ξ / 4][ξ % 4] for weights g [out][in][3][3] of any stored dtype. */
    static Tensor transformWeights(Tensor w) {
        int out = w.dim(0), in = w.dim(1);
        Tensor u = Tensor.uninitialized(16, out, in);
        MemorySegment dst = u.data();
        long plane = (long) out * in;
        double[] g = new double[9];
        double[] t = new double[12];
        for (long oi = 0; oi < plane; oi++) {
            for (int k = 0; k < 9; k++) {
                g[k] = w.get(oi * 9 + k);
            }
            // t = G·g (4x3), then U = t·Gᵀ (4x4); G rows: [1,0,0], [½,½,½], [½,-½,½], [0,0,1].
            for (int c = 0; c < 3; c++) {
                t[c] = g[c];
                t[3 + c] = (g[c] + g[3 + c] + g[6 + c]) / 2;
                t[6 + c] = (g[c] - g[3 + c] + g[6 + c]) / 2;
                t[9 + c] = g[6 + c];
            }
            for (int r = 0; r < 4; r++) {
                double a = t[3 * r], b = t[3 * r + 1], c = t[3 * r + 2];
                double[] row = {a, (a + b + c) / 2, (a - b + c) / 2, c};
                for (int j = 0; j < 4; j++) {
                    dst.set(DType.FLOAT, ((4 * r + j) * plane + oi) * 4, (float) row[j]);
                }
            }
        }
        return u;
    }

    /** out[n] = conv(in[n] (nearest-upsampled when upsample = 2)) + bias (+ residual[n]). */
    static void convolve(Parallel parallel, Tensor in, int n, Tensor u, float[] bias, Tensor residual, Tensor out,
                         int upsample, ChannelNorm[] norm) {
        int cin = in.dim(1), cout = out.dim(1);
        int outH = out.dim(2), outW = out.dim(3);
        int tilesX = (outW + 1) / 2;
        long outOff = (long) n * cout * outH * outW;
        long[] vRows = VectorBackend.rows(cin, TILES);
        WinogradBands.run(parallel, in, n, 2, outH, outW, upsample, cout, norm, (p, pl, tap, starts, o0, o1) -> {
            int rows = o1 - o0;
            MemorySegment scratch = Scratch.floats(16L * TILES * (cin + rows));
            long vBase = 0, mBase = 16L * cin * TILES;
            transformInput(pl, p.planeOffset(0, 1), cin, starts, tap, scratch, vBase);
            for (int xi = 0; xi < 16; xi++) {
                GemmKernel.multiply(u.data(), ((long) xi * cout + o0) * cin, cin, 0, rows, cin,
                        scratch, vBase + (long) xi * cin * TILES, vRows, 0, TILES, true,
                        scratch, mBase + (long) xi * rows * TILES, TILES);
            }
            transformOutput(scratch, mBase, rows, o0, bias, starts, p.flatOut(), p.wq, p.rowFrom, tilesX, outH,
                    outW, out.data(), outOff, residual);
        });
    }

    /**
     * V[ξ][ci][t] = (Bᵀ·d·B)[ξ] for the block's tiles (vectors of L from starts), every input channel. Written out
     * with one local per tile element: vectors kept in arrays or passed to methods the JIT does not inline get boxed.
     */
    private static void transformInput(MemorySegment pl, long channelStride, int cin, long[] starts, long[] tap,
                                       MemorySegment v, long vBase) {
        long step = (long) cin * TILES * 4;
        for (int ci = 0; ci < cin; ci++) {
            long base = ci * channelStride;
            for (int t = 0; t < TILES; t += L) {
                long at = (base + WinogradBands.readAt(starts[t / L])) * 4;
                FloatVector d00 = FloatVector.fromMemorySegment(S, pl, at + tap[0] * 4, LE);
                FloatVector d10 = FloatVector.fromMemorySegment(S, pl, at + tap[4] * 4, LE);
                FloatVector d20 = FloatVector.fromMemorySegment(S, pl, at + tap[8] * 4, LE);
                FloatVector d30 = FloatVector.fromMemorySegment(S, pl, at + tap[12] * 4, LE);
                FloatVector t00 = d00.sub(d20), t10 = d10.add(d20);
                FloatVector t20 = d20.sub(d10), t30 = d10.sub(d30);
                FloatVector d01 = FloatVector.fromMemorySegment(S, pl, at + tap[1] * 4, LE);
                FloatVector d11 = FloatVector.fromMemorySegment(S, pl, at + tap[5] * 4, LE);
                FloatVector d21 = FloatVector.fromMemorySegment(S, pl, at + tap[9] * 4, LE);
                FloatVector d31 = FloatVector.fromMemorySegment(S, pl, at + tap[13] * 4, LE);
                FloatVector t01 = d01.sub(d21), t11 = d11.add(d21);
                FloatVector t21 = d21.sub(d11), t31 = d11.sub(d31);
                FloatVector d02 = FloatVector.fromMemorySegment(S, pl, at + tap[2] * 4, LE);
                FloatVector d12 = FloatVector.fromMemorySegment(S, pl, at + tap[6] * 4, LE);
                FloatVector d22 = FloatVector.fromMemorySegment(S, pl, at + tap[10] * 4, LE);
                FloatVector d32 = FloatVector.fromMemorySegment(S, pl, at + tap[14] * 4, LE);
                FloatVector t02 = d02.sub(d22), t12 = d12.add(d22);
                FloatVector t22 = d22.sub(d12), t32 = d12.sub(d32);
                FloatVector d03 = FloatVector.fromMemorySegment(S, pl, at + tap[3] * 4, LE);
                FloatVector d13 = FloatVector.fromMemorySegment(S, pl, at + tap[7] * 4, LE);
                FloatVector d23 = FloatVector.fromMemorySegment(S, pl, at + tap[11] * 4, LE);
                FloatVector d33 = FloatVector.fromMemorySegment(S, pl, at + tap[15] * 4, LE);
                FloatVector t03 = d03.sub(d23), t13 = d13.add(d23);
                FloatVector t23 = d23.sub(d13), t33 = d13.sub(d33);
                long row = (vBase + (long) ci * TILES + t) * 4;
                t00.sub(t02).intoMemorySegment(v, row + 0 * step, LE);
                t01.add(t02).intoMemorySegment(v, row + 1 * step, LE);
                t02.sub(t01).intoMemorySegment(v, row + 2 * step, LE);
                t01.sub(t03).intoMemorySegment(v, row + 3 * step, LE);
                t10.sub(t12).intoMemorySegment(v, row + 4 * step, LE);
                t11.add(t12).intoMemorySegment(v, row + 5 * step, LE);
                t12.sub(t11).intoMemorySegment(v, row + 6 * step, LE);
                t11.sub(t13).intoMemorySegment(v, row + 7 * step, LE);
                t20.sub(t22).intoMemorySegment(v, row + 8 * step, LE);
                t21.add(t22).intoMemorySegment(v, row + 9 * step, LE);
                t22.sub(t21).intoMemorySegment(v, row + 10 * step, LE);
                t21.sub(t23).intoMemorySegment(v, row + 11 * step, LE);
                t30.sub(t32).intoMemorySegment(v, row + 12 * step, LE);
                t31.add(t32).intoMemorySegment(v, row + 13 * step, LE);
                t32.sub(t31).intoMemorySegment(v, row + 14 * step, LE);
                t31.sub(t33).intoMemorySegment(v, row + 15 * step, LE);
            }
        }
    }

    /** Y = Aᵀ·M·A + bias (+ residual), written to the 2x2 output pixels of every real tile. */
    private static void transformOutput(MemorySegment m, long mBase, int rows, int o0, float[] bias, long[] starts,
                                        long flat, int wq, int bandFrom, int tilesX, int outH, int outW,
                                        MemorySegment out, long outOff, Tensor residual) {
        float[] y = new float[4 * L];
        int vectors = WinogradBands.present(starts);
        for (int o = 0; o < rows; o++) {
            long plane = outOff + (long) (o0 + o) * outH * outW;
            FloatVector b = FloatVector.broadcast(S, bias[o0 + o]);
            long step = (long) rows * TILES * 4;
            for (int t = 0; t < vectors * L; t += L) {
                long first = starts[t / L];
                long at = (mBase + (long) o * TILES + t) * 4;
                FloatVector s0 = FloatVector.fromMemorySegment(S, m, at + 0 * step, LE);
                FloatVector s1 = FloatVector.fromMemorySegment(S, m, at + 1 * step, LE);
                FloatVector s2 = FloatVector.fromMemorySegment(S, m, at + 2 * step, LE);
                FloatVector s3 = FloatVector.fromMemorySegment(S, m, at + 3 * step, LE);
                FloatVector s4 = FloatVector.fromMemorySegment(S, m, at + 4 * step, LE);
                FloatVector s5 = FloatVector.fromMemorySegment(S, m, at + 5 * step, LE);
                FloatVector s6 = FloatVector.fromMemorySegment(S, m, at + 6 * step, LE);
                FloatVector s7 = FloatVector.fromMemorySegment(S, m, at + 7 * step, LE);
                FloatVector s8 = FloatVector.fromMemorySegment(S, m, at + 8 * step, LE);
                FloatVector s9 = FloatVector.fromMemorySegment(S, m, at + 9 * step, LE);
                FloatVector s10 = FloatVector.fromMemorySegment(S, m, at + 10 * step, LE);
                FloatVector s11 = FloatVector.fromMemorySegment(S, m, at + 11 * step, LE);
                FloatVector s12 = FloatVector.fromMemorySegment(S, m, at + 12 * step, LE);
                FloatVector s13 = FloatVector.fromMemorySegment(S, m, at + 13 * step, LE);
                FloatVector s14 = FloatVector.fromMemorySegment(S, m, at + 14 * step, LE);
                FloatVector s15 = FloatVector.fromMemorySegment(S, m, at + 15 * step, LE);
                // Rows: Aᵀ·M with Aᵀ = [1,1,1,0; 0,1,-1,-1]; then the columns the same way.
                FloatVector a0 = s0.add(s4).add(s8), a1 = s1.add(s5).add(s9);
                FloatVector a2 = s2.add(s6).add(s10), a3 = s3.add(s7).add(s11);
                FloatVector e0 = s4.sub(s8).sub(s12), e1 = s5.sub(s9).sub(s13);
                FloatVector e2 = s6.sub(s10).sub(s14), e3 = s7.sub(s11).sub(s15);
                FloatVector y00 = a0.add(a1).add(a2).add(b), y01 = a1.sub(a2).sub(a3).add(b);
                FloatVector y10 = e0.add(e1).add(e2).add(b), y11 = e1.sub(e2).sub(e3).add(b);
                int rowTy = bandFrom + (int) (first / wq), rowTx = (int) (first % wq);
                if (rowTx + L <= tilesX && 2 * rowTy + 1 < outH && 2 * (rowTx + L) <= outW && first + L <= flat) {
                    // All L tiles are whole and in one tile row: two rows of 2L pixels, interleaved in registers.
                    long idx = plane + (long) (2 * rowTy) * outW + 2L * rowTx;
                    FloatVector lo0 = y00.rearrange(LOW, y01), hi0 = y00.rearrange(HIGH, y01);
                    FloatVector lo1 = y10.rearrange(LOW, y11), hi1 = y10.rearrange(HIGH, y11);
                    if (residual != null) {
                        MemorySegment r = residual.data();
                        lo0 = lo0.add(FloatVector.fromMemorySegment(S, r, idx * 4, LE));
                        hi0 = hi0.add(FloatVector.fromMemorySegment(S, r, (idx + L) * 4, LE));
                        lo1 = lo1.add(FloatVector.fromMemorySegment(S, r, (idx + outW) * 4, LE));
                        hi1 = hi1.add(FloatVector.fromMemorySegment(S, r, (idx + outW + L) * 4, LE));
                    }
                    lo0.intoMemorySegment(out, idx * 4, LE);
                    hi0.intoMemorySegment(out, (idx + L) * 4, LE);
                    lo1.intoMemorySegment(out, (idx + outW) * 4, LE);
                    hi1.intoMemorySegment(out, (idx + outW + L) * 4, LE);
                    continue;
                }
                y00.intoArray(y, 0);
                y01.intoArray(y, L);
                y10.intoArray(y, 2 * L);
                y11.intoArray(y, 3 * L);
                for (int lane = 0; lane < L; lane++) {
                    long f = first + lane;
                    if (f >= flat) {
                        break;
                    }
                    int ty = bandFrom + (int) (f / wq), tx = (int) (f % wq);
                    if (tx >= tilesX) {
                        continue;
                    }
                    for (int dy = 0; dy < 2; dy++) {
                        int oy = 2 * ty + dy;
                        if (oy >= outH) {
                            break;
                        }
                        for (int dx = 0; dx < 2; dx++) {
                            int ox = 2 * tx + dx;
                            if (ox >= outW) {
                                break;
                            }
                            long idx = plane + (long) oy * outW + ox;
                            float v = y[(2 * dy + dx) * L + lane];
                            if (residual != null) {
                                v += residual.data().get(DType.FLOAT, idx * 4);
                            }
                            out.set(DType.FLOAT, idx * 4, v);
                        }
                    }
                }
            }
        }
    }
}
