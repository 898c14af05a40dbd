package io.vae4j.backend.vector;

import io.vae4j.tensor.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * y = x·scale + shift, then SiLU when asked: one channel's GroupNorm once its statistics are known. Applied while
 * copying a convolution's input, so the normalised activation is never written out on its own.
 */
record ChannelNorm(float scale, float shift, boolean silu) {
    static final ChannelNorm IDENTITY = new ChannelNorm(1f, 0f, false);

    private static final VectorSpecies<Float> S = GemmKernel.SPECIES;
    static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Lane i takes lane 2i of the pair (a, b): lanes below L from a, the rest (exceptional indexes) from b. */
    private static final VectorShuffle<Float> EVEN = VectorShuffle.fromOp(S, i -> 2 * i < L ? 2 * i : 2 * i - 2 * L);
    /** Indexes into the pair (a, b) for {@code selectFrom}: lane i takes element 2i, or 2i + 1, of a then b. */
    private static final FloatVector EVEN_OF_PAIR = FloatVector.fromArray(S, pairIndexes(0), 0);
    private static final FloatVector ODD_OF_PAIR = FloatVector.fromArray(S, pairIndexes(1), 0);

    private static float[] pairIndexes(int first) {
        float[] idx = new float[L];
        for (int i = 0; i < L; i++) {
            idx[i] = 2 * i + first;
        }
        return idx;
    }

    float apply(float x) {
        float y = x * scale + shift;
        return silu ? (float) (y / (1 + Math.exp(-y))) : y;
    }

    // The vector loops below repeat the formula instead of calling a helper that takes a vector: a helper the JIT
    // declines to inline would box every vector it is passed.

    /** dst[0..n) = f(src[0..n)); offsets in bytes. */
    void apply(MemorySegment src, long from, MemorySegment dst, long to, int n) {
        int j = 0;
        FloatVector a = FloatVector.broadcast(S, scale), b = FloatVector.broadcast(S, shift);
        for (; j + L <= n; j += L) {
            FloatVector y = FloatVector.fromMemorySegment(S, src, from + 4L * j, LE).fma(a, b);
            if (silu) {
                y = y.div(y.neg().lanewise(VectorOperators.EXP).add(1f));
            }
            y.intoMemorySegment(dst, to + 4L * j, LE);
        }
        for (; j < n; j++) {
            dst.set(DType.FLOAT, to + 4L * j, apply(src.get(DType.FLOAT, from + 4L * j)));
        }
    }

    /** dst[0..n) = f(src[0, 2, 4, ...]): the even columns of a row, for stride-2 phase planes. */
    void applyEveryOther(MemorySegment src, long from, MemorySegment dst, long to, int n) {
        int j = 0;
        FloatVector a = FloatVector.broadcast(S, scale), b = FloatVector.broadcast(S, shift);
        // Each vector step reads 2L source floats; keep it inside the 2n - 1 that belong to this row.
        for (; j + L <= n && 2 * (j + L) <= 2 * n - 1; j += L) {
            FloatVector lo = FloatVector.fromMemorySegment(S, src, from + 8L * j, LE);
            FloatVector hi = FloatVector.fromMemorySegment(S, src, from + 8L * j + 4L * L, LE);
            FloatVector y = lo.rearrange(EVEN, hi).fma(a, b);
            if (silu) {
                y = y.div(y.neg().lanewise(VectorOperators.EXP).add(1f));
            }
            y.intoMemorySegment(dst, to + 4L * j, LE);
        }
        for (; j < n; j++) {
            dst.set(DType.FLOAT, to + 4L * j, apply(src.get(DType.FLOAT, from + 8L * j)));
        }
    }

    /**
     * The four stride-4 phases of one row at once: dst_q[j] = f(src[4j + q]) for j in [0, n) and q = 0..3, where
     * dst_q is at {@code to[q]}, and 0 where 4j + q is past the {@code valid} source floats (the row's right
     * padding, which the reference pads after normalising). Four loads feed all four phases through two rounds of
     * even/odd selection (8 two-table permutes for 4 vectors; picking every fourth column phase by phase took 16
     * loads and 12 permutes), and the ragged end goes through the same vector step rather than a scalar loop with
     * a scalar exp per value: one more whole step, zeros written over its padding columns after, when that step
     * stays inside the tensor and ends the row (every SD size), else {@link #quartersTail}.
     */
    void applyQuarters(MemorySegment src, long from, int valid, MemorySegment dst, long[] to, int n) {
        int whole = Math.max(0, Math.min(n, valid / 4) / L * L);
        // The one more step reads a few floats past the row: the next row's, harmless, as they are zeroed after.
        boolean overRead = n - whole == L && from + 16L * whole + 16L * L <= src.byteSize();
        for (int j = 0; j < (overRead ? n : whole); j += L) {
            quarters(src, from + 16L * j, dst, to[0] + 4L * j, to[1] + 4L * j, to[2] + 4L * j, to[3] + 4L * j);
        }
        if (overRead) {
            long avail = Math.max(0, valid - 4L * whole);
            for (int q = 0; q < 4; q++) {
                for (long c = Math.clamp((avail + 3 - q) / 4, 0, L); c < L; c++) {
                    dst.set(DType.FLOAT, to[q] + 4L * (whole + c), 0f);
                }
            }
        } else if (whole < n) {
            quartersTail(src, from, valid, dst, to, n, whole);
        }
    }

    /** One step: 4L source floats at byte {@code at} to L values of each phase, at bytes t0..t3 of dst. */
    private void quarters(MemorySegment src, long at, MemorySegment dst, long t0, long t1, long t2, long t3) {
        FloatVector a = FloatVector.broadcast(S, scale), b = FloatVector.broadcast(S, shift);
        FloatVector v0 = FloatVector.fromMemorySegment(S, src, at, LE);
        FloatVector v1 = FloatVector.fromMemorySegment(S, src, at + 4L * L, LE);
        FloatVector v2 = FloatVector.fromMemorySegment(S, src, at + 8L * L, LE);
        FloatVector v3 = FloatVector.fromMemorySegment(S, src, at + 12L * L, LE);
        FloatVector even01 = EVEN_OF_PAIR.selectFrom(v0, v1), odd01 = ODD_OF_PAIR.selectFrom(v0, v1);
        FloatVector even23 = EVEN_OF_PAIR.selectFrom(v2, v3), odd23 = ODD_OF_PAIR.selectFrom(v2, v3);
        FloatVector y0 = EVEN_OF_PAIR.selectFrom(even01, even23).fma(a, b);
        FloatVector y1 = EVEN_OF_PAIR.selectFrom(odd01, odd23).fma(a, b);
        FloatVector y2 = ODD_OF_PAIR.selectFrom(even01, even23).fma(a, b);
        FloatVector y3 = ODD_OF_PAIR.selectFrom(odd01, odd23).fma(a, b);
        if (silu) {
            y0 = y0.div(y0.neg().lanewise(VectorOperators.EXP).add(1f));
            y1 = y1.div(y1.neg().lanewise(VectorOperators.EXP).add(1f));
            y2 = y2.div(y2.neg().lanewise(VectorOperators.EXP).add(1f));
            y3 = y3.div(y3.neg().lanewise(VectorOperators.EXP).add(1f));
        }
        y0.intoMemorySegment(dst, t0, LE);
        y1.intoMemorySegment(dst, t1, LE);
        y2.intoMemorySegment(dst, t2, LE);
        y3.intoMemorySegment(dst, t3, LE);
    }

    /**
     * The ragged end, from plane column j0: each step's real source floats are staged in a zeroed buffer, run
     * through {@link #quarters}, and copied out, with 0 for the columns past the source (the right padding, which
     * the reference pads after normalising). Staging keeps one small vector method for both paths: a masked copy of
     * it outgrew C1's register allocator, which left it boxed and a bf16 decode 3x slower.
     */
    private void quartersTail(MemorySegment src, long from, int valid, MemorySegment dst, long[] to, int n, int j0) {
        MemorySegment stage = Scratch.stage(8L * L);
        long out = 16L * L;
        for (int j = j0; j < n; j += L) {
            int rem = Math.min(L, n - j), avail = Math.clamp(valid - 4L * j, 0, 4 * rem);
            stage.fill((byte) 0);
            if (avail > 0) {
                // (Past the last row of a tensor, from + 16j may lie beyond its end: no copy then.)
                MemorySegment.copy(src, from + 16L * j, stage, 0, 4L * avail);
            }
            quarters(stage, 0, stage, out, out + 4L * L, out + 8L * L, out + 12L * L);
            for (int q = 0; q < 4; q++) {
                // Phase q's column i read source float 4i + q: real below avail.
                int real = Math.clamp((avail + 3 - q) / 4, 0, rem);
                long at = to[q] + 4L * j;
                MemorySegment.copy(stage, out + 4L * L * q, dst, at, 4L * real);
                dst.asSlice(at + 4L * real, 4L * (rem - real)).fill((byte) 0);
            }
        }
    }
}
