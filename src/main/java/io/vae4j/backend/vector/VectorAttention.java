package io.vae4j.backend.vector;

import io.vae4j.backend.Parallel;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.ScratchSpace;
import io.vae4j.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Single-head attention over pixels, computed transposed and in blocks so that memory stays small and every
 * product runs from cache whatever the number of tokens.
 *
 * <p>Each task takes {@link #QUERIES} queries and walks the keys in chunks of {@link #KEYS} with an online softmax
 * (running column max and sum; the partial output is rescaled when the max grows), so the scores are never held
 * for more than one chunk. Everything is kept transposed — scores as [key][query], output as [channel][query] —
 * because then both products are {@link GemmKernel} calls whose B operand is a small contiguous block (the
 * packed queries, or one chunk of probabilities) that stays in L2, the softmax runs down columns with whole
 * vectors, and V is read in its own [channel][token] layout. Only K is transposed once, to [token][channel].
 * Where channels and tokens are multiples of 8 ({@link #packs}), K and V are instead copied once into the packed
 * micro-kernel's 8-row panels, and the B blocks are laid out as its [rows][NR] column panels. (Reading K or V
 * with a row stride of a power of two times 4 KiB maps every row onto the same few cache sets;
 * the previous row-block version fell to 16 GFLOP/s at 16k tokens for that reason.)
 */
final class VectorAttention {
    private static final VectorSpecies<Float> S = GemmKernel.SPECIES;
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Queries per task: two micro-kernel panels wide, so each streamed K or V row feeds 2 × NR columns. */
    static final int QUERIES = 2 * GemmKernel.NR;
    /** Keys per chunk: one chunk of scores (KEYS × QUERIES floats) is 192 KB, an L2-resident B operand. */
    static final int KEYS = 512;

    private final Parallel parallel;

    VectorAttention(Parallel parallel) {
        this.parallel = parallel;
    }

    Tensor compute(Tensor q, Tensor k, Tensor v) {
        int n = q.dim(0), c = q.dim(1), t = q.dim(2) * q.dim(3);
        Tensor out = Tensor.uninitialized(q.shape());
        float scale = (float) (1.0 / Math.sqrt(c));
        if (packs(c, t)) {
            try (Tensor kp = Tensor.uninitialized(t, c); Tensor vp = Tensor.uninitialized(c, t)) {
                for (int b = 0; b < n; b++) {
                    long off = (long) b * c * t;
                    copy(k.data(), off, c, t, Layout.TRANSPOSED_PANELS, kp.data());
                    copy(v.data(), off, c, t, Layout.PANELS, vp.data());
                    parallel.forEach(VectorBackend.ceilDiv(t, QUERIES), blk -> queryBlock(q.data(), kp.data(),
                            vp.data(), out.data(), off, c, t, blk * QUERIES, scale, null));
                }
            }
            return out;
        }
        long[] panelRows = VectorBackend.rows(Math.max(c, KEYS), QUERIES);
        try (Tensor kt = Tensor.uninitialized(t, c)) {
            for (int b = 0; b < n; b++) {
                long off = (long) b * c * t;
                copy(k.data(), off, c, t, Layout.TRANSPOSED, kt.data());
                parallel.forEach(VectorBackend.ceilDiv(t, QUERIES), blk -> queryBlock(q.data(), kt.data(),
                        v.data(), out.data(), off, c, t, blk * QUERIES, scale, panelRows));
            }
        }
        return out;
    }

    /**
     * Whether both products run on the packed micro-kernel: K and V in 8-row panels, which needs channels and tokens
     * in multiples of 8 (every SD size's latent: 64x64 at 512x512). Through the offset-table kernel they ran at about
     * a third of the FMA ceiling on Zen 3 (its 4x3 block spills on 16 registers), 7% of a 512x512 decode; packed,
     * 512 channels over 64x64 tokens took 353 ms against 499 (median, alternating in one JVM, 2 threads).
     */
    static boolean packs(int c, int t) {
        return c % 8 == 0 && t % 8 == 0;
    }

    /**
     * Output columns [i0, i0 + QUERIES) of one image (clipped to t): all keys, chunk by chunk. With panelRows, the
     * offset-table kernel reads K as [t][c] (kt) and V in place; without ({@link #packs}), the packed kernel reads
     * K as [t / 8][c][8] panels and V as [c / 8][t][8], and the B operands (queries, scores) are two [rows][NR]
     * column panels each.
     */
    private static void queryBlock(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out, long off,
                                   int c, int t, int i0, float scale, long[] panelRows) {
        boolean packed = panelRows == null;
        int nr = GemmKernel.NR, width = Math.min(QUERIES, t - i0);
        long qpSize = (long) c * QUERIES, otSize = qpSize, stSize = (long) KEYS * QUERIES;
        MemorySegment work = Scratch.floats(qpSize + otSize + otSize + stSize + 2L * QUERIES);
        long qp = 0, ot = qpSize, tmp = 2 * qpSize, st = 3 * qpSize, max = st + stSize, sum = max + QUERIES;
        // Queries of this block as a [c][QUERIES] B operand (packed: two [c][NR] panels), scaled by 1/sqrt(c);
        // missing columns are zero. Zeroed first, then filled to the width, with no test per column: only the last
        // block is narrower, and a test C2 compiled having never seen fail sent that block back to the interpreter.
        work.asSlice(qp * 4, qpSize * 4).fill((byte) 0);
        for (int ch = 0; ch < c; ch++) {
            long src = off + (long) ch * t + i0;
            for (int j = 0; j < width; j++) {
                long at = packed ? qp + (long) (j / nr) * c * nr + (long) ch * nr + j % nr
                        : qp + (long) ch * QUERIES + j;
                work.set(DType.FLOAT, at * 4, q.get(DType.FLOAT, (src + j) * 4) * scale);
            }
        }
        work.asSlice(ot * 4, otSize * 4).fill((byte) 0);
        for (int j = 0; j < QUERIES; j++) {
            work.set(DType.FLOAT, (max + j) * 4, Float.NEGATIVE_INFINITY);
            work.set(DType.FLOAT, (sum + j) * 4, 0f);
        }
        for (int k0 = 0; k0 < t; k0 += KEYS) {
            int keys = Math.min(KEYS, t - k0);
            // Scores, transposed: st[key][query] = Σ_ch k[key][ch] · qp[ch][query] (packed: two [KEYS][NR] panels).
            if (packed) {
                for (int h = 0; h < 2; h++) {
                    GemmKernel.multiplyPacked(k, GemmKernel.panelIndex(k0, 0, c), keys, c, work,
                            qp + (long) h * c * nr, work, st + (long) h * KEYS * nr, nr);
                }
            } else {
                GemmKernel.multiply(k, (long) k0 * c, c, 0, keys, c, work, qp, panelRows, 0, QUERIES, false,
                        work, st, QUERIES);
            }
            rescale(work, st, keys, max, sum, ot, c, packed);
            // This chunk's contribution: tmp[ch][query] = Σ_key v[ch][key] · st[key][query].
            if (packed) {
                for (int ch = 0; ch < c; ch += 8) {
                    for (int h = 0; h < 2; h++) {
                        GemmKernel.multiplyPacked(v, GemmKernel.panelIndex(ch, k0, t), 8, keys, work,
                                st + (long) h * KEYS * nr, work, tmp + (long) ch * QUERIES + (long) h * nr, QUERIES);
                    }
                }
            } else {
                GemmKernel.multiply(v, off + k0, t, 0, c, keys, work, st, panelRows, 0, QUERIES, false,
                        work, tmp, QUERIES);
            }
            for (long e = 0; e < otSize; e += L) {
                FloatVector.fromMemorySegment(S, work, (ot + e) * 4, LE)
                        .add(FloatVector.fromMemorySegment(S, work, (tmp + e) * 4, LE))
                        .intoMemorySegment(work, (ot + e) * 4, LE);
            }
        }
        for (int ch = 0; ch < c; ch++) {
            long src = ot + (long) ch * QUERIES, dst = off + (long) ch * t + i0;
            for (int j = 0; j < width; j++) {
                float inv = 1f / work.get(DType.FLOAT, (sum + j) * 4);
                out.set(DType.FLOAT, (dst + j) * 4, work.get(DType.FLOAT, (src + j) * 4) * inv);
            }
        }
        ScratchSpace.checkpoint();
    }

    /**
     * Online softmax step for one chunk of scores: raises each column's running max to cover the chunk, rescales
     * the running sum and the partial output by exp(old max − new max), replaces the scores with exp(score − max)
     * and adds them to the sums.
     */
    private static void rescale(MemorySegment w, long st, int keys, long max, long sum, long ot, int c,
                                boolean panels) {
        for (int j = 0; j < QUERIES; j += L) {
            // Score (key r, query j) at col + r·ld: in [KEYS][NR] column panels, or one [keys][QUERIES] matrix.
            int nr = GemmKernel.NR;
            long col = panels ? st + (long) (j / nr) * KEYS * nr + j % nr : st + j;
            long ld = panels ? nr : QUERIES;
            FloatVector m = FloatVector.fromMemorySegment(S, w, col * 4, LE);
            for (int r = 1; r < keys; r++) {
                m = m.max(FloatVector.fromMemorySegment(S, w, (col + r * ld) * 4, LE));
            }
            FloatVector old = FloatVector.fromMemorySegment(S, w, (max + j) * 4, LE);
            FloatVector now = old.max(m);
            // The scores' exp comes first in the code and the running sum takes them in a second pass: with the
            // factor's exp first, a compile could reach C2's inlining budget at the scores' one and leave every
            // score to the Vector API's Java fallback (docs/design.md). Same operations, same order.
            for (int r = 0; r < keys; r++) {
                long p = (col + r * ld) * 4;
                VectorMath.exp(FloatVector.fromMemorySegment(S, w, p, LE).sub(now)).intoMemorySegment(w, p, LE);
            }
            FloatVector factor = VectorMath.exp(old.sub(now));
            FloatVector s = FloatVector.fromMemorySegment(S, w, (sum + j) * 4, LE).mul(factor);
            for (int r = 0; r < keys; r++) {
                s = s.add(FloatVector.fromMemorySegment(S, w, (col + r * ld) * 4, LE));
            }
            for (int ch = 0; ch < c; ch++) {
                long p = (ot + (long) ch * QUERIES + j) * 4;
                FloatVector.fromMemorySegment(S, w, p, LE).mul(factor).intoMemorySegment(w, p, LE);
            }
            now.intoMemorySegment(w, max * 4 + j * 4L, LE);
            s.intoMemorySegment(w, sum * 4 + j * 4L, LE);
        }
    }

    /** Where {@link #copy} puts a [rows][cols] matrix's element (r, c). */
    private enum Layout {
        /** [cols][rows]: K for the offset-table kernel. */
        TRANSPOSED,
        /** [cols / 8][rows][8] panels of the transpose: K for the packed kernel (its rows are then tokens). */
        TRANSPOSED_PANELS,
        /** [rows / 8][cols][8] panels: V for the packed kernel. */
        PANELS
    }

    /**
     * A rows×cols matrix (from float srcOff) copied into dst in that layout, in cache-sized tiles. One loop per
     * layout, each a method of its own: one loop with a switch per element, compiled while K was copied, met V's
     * layout for the first time and went back to the interpreter.
     */
    private void copy(MemorySegment src, long srcOff, int rows, int cols, Layout layout, MemorySegment dst) {
        int tile = 32;
        int tilesR = VectorBackend.ceilDiv(rows, tile), tilesC = VectorBackend.ceilDiv(cols, tile);
        parallel.forEach(tilesR * tilesC, switch (layout) {
            case TRANSPOSED -> task -> transposed(src, srcOff, rows, cols, task / tilesC * tile,
                    task % tilesC * tile, tile, dst);
            case TRANSPOSED_PANELS -> task -> transposedPanels(src, srcOff, rows, cols, task / tilesC * tile,
                    task % tilesC * tile, tile, dst);
            case PANELS -> task -> panels(src, srcOff, rows, cols, task / tilesC * tile, task % tilesC * tile, tile,
                    dst);
        });
    }

    private static void transposed(MemorySegment src, long srcOff, int rows, int cols, int r0, int c0, int tile,
                                   MemorySegment dst) {
        for (int r = r0; r < Math.min(rows, r0 + tile); r++) {
            for (int c = c0; c < Math.min(cols, c0 + tile); c++) {
                dst.set(DType.FLOAT, ((long) c * rows + r) * 4,
                        src.get(DType.FLOAT, (srcOff + (long) r * cols + c) * 4));
            }
        }
    }

    private static void transposedPanels(MemorySegment src, long srcOff, int rows, int cols, int r0, int c0,
                                         int tile, MemorySegment dst) {
        for (int r = r0; r < Math.min(rows, r0 + tile); r++) {
            for (int c = c0; c < Math.min(cols, c0 + tile); c++) {
                dst.set(DType.FLOAT, GemmKernel.panelIndex(c, r, rows) * 4,
                        src.get(DType.FLOAT, (srcOff + (long) r * cols + c) * 4));
            }
        }
    }

    private static void panels(MemorySegment src, long srcOff, int rows, int cols, int r0, int c0, int tile,
                               MemorySegment dst) {
        for (int r = r0; r < Math.min(rows, r0 + tile); r++) {
            for (int c = c0; c < Math.min(cols, c0 + tile); c++) {
                dst.set(DType.FLOAT, GemmKernel.panelIndex(r, c, cols) * 4,
                        src.get(DType.FLOAT, (srcOff + (long) r * cols + c) * 4));
            }
        }
    }
}
