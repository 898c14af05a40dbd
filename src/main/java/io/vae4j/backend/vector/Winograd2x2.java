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
    private static final int TILES = GemmKernel.NR;

    private Winograd2x2() {
    }

    static boolean applies(ConvGeometry g, int in, int out) {
        return g.equals(ConvGeometry.same3x3()) && in >= 8 && out >= 8;
    }

    /** U[ξ][o][i] = (G·g[o][i]·Gᵀ)[ξ / 4][ξ % 4] for float32 weights g [out][in][3][3]. */
    static Tensor transformWeights(Tensor w) {
        int out = w.dim(0), in = w.dim(1);
        Tensor u = Tensor.uninitialized(16, out, in);
        MemorySegment src = w.data(), dst = u.data();
        long plane = (long) out * in;
        double[] g = new double[9];
        double[] t = new double[12];
        for (long oi = 0; oi < plane; oi++) {
            for (int k = 0; k < 9; k++) {
                g[k] = src.get(DType.FLOAT, (oi * 9 + k) * 4);
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
        int tilesY = (outH + 1) / 2, tilesX = (outW + 1) / 2;
        // Padded image of 2·tiles + 2 rows and columns: one zero border before, the rest after.
        ConvGeometry g = new ConvGeometry(4, 2, 1, 1, 2 * tilesY + 1 - outH, 2 * tilesX + 1 - outW);
        long inOff = (long) n * cin * in.dim(2) * in.dim(3);
        long outOff = (long) n * cout * outH * outW;
        ConvPlanes first = new ConvPlanes(g, cin, in.dim(2), in.dim(3), upsample, 0,
                VectorBackend.bandRows(4L * cin, tilesX + 1, tilesY));
        long[] vRows = VectorBackend.rows(cin, TILES);
        try (Tensor planes = VectorBackend.bandBuffer(first.floats + TILES)) {
            MemorySegment pl = planes.data();
            for (int ty0 = 0; ty0 < tilesY; ty0 += first.outRows) {
                ConvPlanes p = ty0 == 0 ? first
                        : new ConvPlanes(g, cin, in.dim(2), in.dim(3), upsample, ty0, first.outRows);
                int wq = p.wq;
                long planeSize = p.planeSize();
                long flat = p.flatOut();
                pl.asSlice(p.filled * 4).fill((byte) 0);
                parallel.forEach(cin, ci -> p.fill(in.data(), inOff, ci, pl, norm == null ? null : norm[ci]));
                long[] tapOffset = new long[16];
                for (int r = 0; r < 4; r++) {
                    for (int c = 0; c < 4; c++) {
                        tapOffset[4 * r + c] = ((long) ((r % 2) * 2 + c % 2) * cin) * planeSize
                                + (long) (r / 2) * wq + c / 2;
                    }
                }
                int blocks = (int) VectorBackend.ceilDiv(flat, TILES);
                int groups = blocks >= 4 * parallel.threads() ? 1
                        : Math.max(1, Math.min(VectorBackend.ceilDiv(4 * parallel.threads(), blocks), cout / 8));
                int groupSize = VectorBackend.roundUp(VectorBackend.ceilDiv(cout, groups), 8);
                int bandFrom = ty0;
                parallel.forEach(blocks * groups, task -> {
                    long f0 = (long) (task / groups) * TILES;
                    int o0 = (task % groups) * groupSize, o1 = Math.min(cout, o0 + groupSize);
                    if (o0 >= o1) {
                        return;
                    }
                    int rows = o1 - o0;
                    MemorySegment scratch = Scratch.floats(16L * TILES * (cin + rows));
                    long vBase = 0, mBase = 16L * cin * TILES;
                    transformInput(pl, planeSize, cin, f0, tapOffset, scratch, vBase);
                    for (int xi = 0; xi < 16; xi++) {
                        GemmKernel.multiply(u.data(), ((long) xi * cout + o0) * cin, cin, 0, rows, cin,
                                scratch, vBase + (long) xi * cin * TILES, vRows, 0, TILES, true,
                                scratch, mBase + (long) xi * rows * TILES, TILES);
                    }
                    transformOutput(scratch, mBase, rows, o0, bias, f0, flat, wq, bandFrom, tilesX, outH, outW,
                            out.data(), outOff, residual);
                });
            }
        }
    }

    /** V[ξ][ci][t] = (Bᵀ·d·B)[ξ] for the TILES tiles from flat index f0, every input channel. */
    private static void transformInput(MemorySegment pl, long planeSize, int cin, long f0, long[] tap,
                                       MemorySegment v, long vBase) {
        FloatVector[] d = new FloatVector[16];
        for (int ci = 0; ci < cin; ci++) {
            long base = ci * planeSize + f0;
            for (int t = 0; t < TILES; t += L) {
                for (int k = 0; k < 16; k++) {
                    d[k] = FloatVector.fromMemorySegment(S, pl, (base + tap[k] + t) * 4, LE);
                }
                for (int c = 0; c < 4; c++) {
                    // Rows: Bᵀ·d with Bᵀ = [1,0,-1,0; 0,1,1,0; 0,-1,1,0; 0,1,0,-1].
                    FloatVector r0 = d[c].sub(d[8 + c]), r1 = d[4 + c].add(d[8 + c]);
                    FloatVector r2 = d[8 + c].sub(d[4 + c]), r3 = d[4 + c].sub(d[12 + c]);
                    d[c] = r0;
                    d[4 + c] = r1;
                    d[8 + c] = r2;
                    d[12 + c] = r3;
                }
                for (int r = 0; r < 4; r++) {
                    FloatVector a = d[4 * r], b = d[4 * r + 1], c = d[4 * r + 2], e = d[4 * r + 3];
                    long row = vBase + ((long) (4 * r) * cin + ci) * TILES + t;
                    long step = (long) cin * TILES * 4;
                    a.sub(c).intoMemorySegment(v, row * 4, LE);
                    b.add(c).intoMemorySegment(v, row * 4 + step, LE);
                    c.sub(b).intoMemorySegment(v, row * 4 + 2 * step, LE);
                    b.sub(e).intoMemorySegment(v, row * 4 + 3 * step, LE);
                }
            }
        }
    }

    /** Y = Aᵀ·M·A + bias (+ residual), written to the 2x2 output pixels of every real tile. */
    private static void transformOutput(MemorySegment m, long mBase, int rows, int o0, float[] bias, long f0,
                                        long flat, int wq, int bandFrom, int tilesX, int outH, int outW,
                                        MemorySegment out,
                                        long outOff, Tensor residual) {
        float[] y = new float[4 * L];
        FloatVector[] s = new FloatVector[16];
        for (int o = 0; o < rows; o++) {
            long plane = outOff + (long) (o0 + o) * outH * outW;
            for (int t = 0; t < TILES; t += L) {
                for (int k = 0; k < 16; k++) {
                    s[k] = FloatVector.fromMemorySegment(S, m, (mBase + ((long) k * rows + o) * TILES + t) * 4, LE);
                }
                FloatVector b = FloatVector.broadcast(S, bias[o0 + o]);
                FloatVector[] yv = new FloatVector[4];
                for (int r = 0; r < 2; r++) {
                    // Rows: Aᵀ·M with Aᵀ = [1,1,1,0; 0,1,-1,-1]; then columns the same way.
                    FloatVector c0, c1, c2, c3;
                    if (r == 0) {
                        c0 = s[0].add(s[4]).add(s[8]);
                        c1 = s[1].add(s[5]).add(s[9]);
                        c2 = s[2].add(s[6]).add(s[10]);
                        c3 = s[3].add(s[7]).add(s[11]);
                    } else {
                        c0 = s[4].sub(s[8]).sub(s[12]);
                        c1 = s[5].sub(s[9]).sub(s[13]);
                        c2 = s[6].sub(s[10]).sub(s[14]);
                        c3 = s[7].sub(s[11]).sub(s[15]);
                    }
                    yv[2 * r] = c0.add(c1).add(c2).add(b);
                    yv[2 * r + 1] = c1.sub(c2).sub(c3).add(b);
                }
                long first = f0 + t;
                int rowTy = bandFrom + (int) (first / wq), rowTx = (int) (first % wq);
                if (rowTx + L <= tilesX && 2 * rowTy + 1 < outH && 2 * (rowTx + L) <= outW && first + L <= flat) {
                    // All L tiles are whole and in one tile row: two rows of 2L pixels, interleaved in registers.
                    for (int dy = 0; dy < 2; dy++) {
                        long idx = plane + (long) (2 * rowTy + dy) * outW + 2L * rowTx;
                        FloatVector lo = yv[2 * dy].rearrange(LOW, yv[2 * dy + 1]);
                        FloatVector hi = yv[2 * dy].rearrange(HIGH, yv[2 * dy + 1]);
                        if (residual != null) {
                            lo = lo.add(FloatVector.fromMemorySegment(S, residual.data(), idx * 4, LE));
                            hi = hi.add(FloatVector.fromMemorySegment(S, residual.data(), (idx + L) * 4, LE));
                        }
                        lo.intoMemorySegment(out, idx * 4, LE);
                        hi.intoMemorySegment(out, (idx + L) * 4, LE);
                    }
                    continue;
                }
                for (int k = 0; k < 4; k++) {
                    yv[k].intoArray(y, k * L);
                }
                for (int lane = 0; lane < L; lane++) {
                    long f = f0 + t + lane;
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
