package io.vae4j.backend.vector;

import io.vae4j.backend.Parallel;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.ScratchSpace;
import io.vae4j.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Single-head attention over pixels, one block of query rows at a time: the score matrix is never held whole, only
 * ROWS × tokens floats per thread. Both products run on {@link GemmKernel}, which wants the shared dimension to
 * index rows of B, so Q and V are transposed to [tokens][C] first (Q scaled by 1/√C on the way).
 */
final class VectorAttention {
    private static final VectorSpecies<Float> S = GemmKernel.SPECIES;
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int ROWS = 32;

    private final Parallel parallel;

    VectorAttention(Parallel parallel) {
        this.parallel = parallel;
    }

    Tensor compute(Tensor q, Tensor k, Tensor v) {
        int n = q.dim(0), c = q.dim(1), t = q.dim(2) * q.dim(3);
        Tensor out = Tensor.uninitialized(q.shape());
        float scale = (float) (1.0 / Math.sqrt(c));
        long[] kRows = VectorBackend.rows(c, t);
        long[] vRows = VectorBackend.rows(t, c);
        try (Tensor qt = Tensor.uninitialized(t, c); Tensor vt = Tensor.uninitialized(t, c);
             Tensor ot = Tensor.uninitialized(t, c)) {
            for (int b = 0; b < n; b++) {
                long off = (long) b * c * t;
                transpose(q.data(), off, c, t, qt.data(), 0, scale);
                transpose(v.data(), off, c, t, vt.data(), 0, 1f);
                int blocks = VectorBackend.ceilDiv(t, ROWS);
                parallel.forEach(blocks, blk -> {
                    int i0 = blk * ROWS, rows = Math.min(ROWS, t - i0);
                    MemorySegment s = Scratch.floats((long) rows * t);
                    GemmKernel.multiply(qt.data(), (long) i0 * c, c, 0, rows, c, k.data(), off, kRows, 0, t, false,
                            s, 0, t);
                    float[] inv = new float[rows];
                    for (int r = 0; r < rows; r++) {
                        inv[r] = softmaxUnnormalised(s, (long) r * t, t);
                    }
                    GemmKernel.multiply(s, 0, t, 0, rows, t, vt.data(), 0, vRows, 0, c, false,
                            ot.data(), (long) i0 * c, c);
                    for (int r = 0; r < rows; r++) {
                        scaleRow(ot.data(), (long) (i0 + r) * c, c, inv[r]);
                    }
                    ScratchSpace.checkpoint();
                });
                transpose(ot.data(), 0, t, c, out.data(), off, 1f);
            }
        }
        return out;
    }

    /** Replaces row x with exp(x - max x) and returns 1 / Σ exp, which the caller applies after P·V. */
    private static float softmaxUnnormalised(MemorySegment s, long off, int n) {
        FloatVector mx = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < n; j += L) {
            VectorMask<Float> m = S.indexInRange(j, n);
            mx = mx.max(FloatVector.fromMemorySegment(S, s, (off + j) * 4, LE, m).blend(Float.NEGATIVE_INFINITY,
                    m.not()));
        }
        float max = mx.reduceLanes(VectorOperators.MAX);
        FloatVector sum = FloatVector.zero(S);
        for (int j = 0; j < n; j += L) {
            VectorMask<Float> m = S.indexInRange(j, n);
            FloatVector e = FloatVector.fromMemorySegment(S, s, (off + j) * 4, LE, m).sub(max)
                    .lanewise(VectorOperators.EXP);
            e.intoMemorySegment(s, (off + j) * 4, LE, m);
            sum = sum.add(e, m);
        }
        return (float) (1.0 / sum.reduceLanes(VectorOperators.ADD));
    }

    private static void scaleRow(MemorySegment s, long off, int n, float f) {
        for (int j = 0; j < n; j += L) {
            VectorMask<Float> m = S.indexInRange(j, n);
            FloatVector.fromMemorySegment(S, s, (off + j) * 4, LE, m).mul(f).intoMemorySegment(s, (off + j) * 4, LE, m);
        }
    }

    /** dst[c][r] = src[r][c] · scale for a rows×cols matrix, in cache-sized tiles; offsets in floats. */
    private void transpose(MemorySegment src, long srcOff, int rows, int cols, MemorySegment dst, long dstOff,
                           float scale) {
        int tile = 32;
        int tilesR = VectorBackend.ceilDiv(rows, tile), tilesC = VectorBackend.ceilDiv(cols, tile);
        parallel.forEach(tilesR * tilesC, task -> {
            int r0 = (task / tilesC) * tile, c0 = (task % tilesC) * tile;
            for (int r = r0; r < Math.min(rows, r0 + tile); r++) {
                for (int cc = c0; cc < Math.min(cols, c0 + tile); cc++) {
                    float x = src.get(DType.FLOAT, (srcOff + (long) r * cols + cc) * 4);
                    dst.set(DType.FLOAT, (dstOff + (long) cc * rows + r) * 4, x * scale);
                }
            }
        });
    }
}
