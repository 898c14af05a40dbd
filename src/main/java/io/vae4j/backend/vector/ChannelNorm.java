package io.vae4j.backend.vector;

import io.vae4j.tensor.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
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
    /** Indexes into a pair of vectors for {@code selectFrom}: lane t of phase q takes source float 6t + q. */
    private static final FloatVector[] SIXTH = sixthIndexes();
    private static final VectorMask<Float>[] SIXTH_IN_23 = sixthMasks(1);
    private static final VectorMask<Float>[] SIXTH_IN_45 = sixthMasks(2);

    private static float[] pairIndexes(int first) {
        float[] idx = new float[L];
        for (int i = 0; i < L; i++) {
            idx[i] = 2 * i + first;
        }
        return idx;
    }

    /**
     * The vector loops' formula for one float, the same operations in the same order (VectorMath's scalar exp), so
     * that a value computed here has the bits it would have in a vector lane.
     */
    float apply(float x) {
        float y = Math.fma(x, scale, shift);
        return silu ? y / (VectorMath.exp(-y) + 1f) : y;
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
                y = VectorMath.silu(y);
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
                y = VectorMath.silu(y);
            }
            y.intoMemorySegment(dst, to + 4L * j, LE);
        }
        for (; j < n; j++) {
            dst.set(DType.FLOAT, to + 4L * j, apply(src.get(DType.FLOAT, from + 8L * j)));
        }
    }

    /**
     * The s stride-s phases of one row at once, s = 4 (F(4x4)'s planes) or 6 (F(6x6)'s): dst_q[j] = f(src[s·j + q])
     * for j in [0, n) and q < s, where dst_q is at {@code to[q]}, and 0 where s·j + q is past the {@code valid}
     * source floats (the row's right padding, which the reference pads after normalising). Each step loads s
     * vectors and picks every phase out of them with two-table permutes ({@link #quarters}, {@link #sixths}). The
     * ragged end is one more whole step, zeros written over its padding columns after, when that step stays inside
     * the tensor and ends the row, else {@link #phasesTail}: an SD size's planes at s = 4 are a vector and one
     * column wide (17, 33, 65, 129), so every row of them ends there.
     */
    void applyPhases(int s, MemorySegment src, long from, int valid, MemorySegment dst, long[] to, int n) {
        int whole = Math.max(0, Math.min(n, valid / s) / L * L);
        long stepBytes = 4L * s * L;
        // The one more step reads a few floats past the row: the next row's, harmless, as they are zeroed after.
        boolean overRead = n - whole == L && from + 4L * s * whole + stepBytes <= src.byteSize();
        for (int j = 0; j < (overRead ? n : whole); j += L) {
            step(s, src, from + 4L * s * j, dst, to, 4L * j);
        }
        if (overRead) {
            long avail = Math.max(0, valid - (long) s * whole);
            for (int q = 0; q < s; q++) {
                for (long c = Math.clamp((avail + s - 1 - q) / s, 0, L); c < L; c++) {
                    dst.set(DType.FLOAT, to[q] + 4L * (whole + c), 0f);
                }
            }
        } else if (whole < n) {
            phasesTail(s, src, from, valid, dst, to, n, whole);
        }
    }

    private void step(int s, MemorySegment src, long at, MemorySegment dst, long[] to, long off) {
        if (s == 4) {
            quarters(src, at, dst, to, off);
        } else {
            sixths(src, at, dst, to, off);
        }
    }

    /**
     * One step of four phases: 4L source floats at byte {@code at} to L values of each, at bytes to[q] + off of dst.
     * Two rounds of even/odd selection: 8 two-table permutes for 4 vectors (picking every fourth column phase by
     * phase took 16 loads and 12 permutes). SiLU goes over the stored vectors in a loop, one copy of it in the
     * code: four in a row outgrew C2's inlining budget (NodeCountInliningCutoff), and the calls it left out passed
     * their vectors boxed to the Vector API's Java fallback, allocating gigabytes a warm SD decode.
     */
    private void quarters(MemorySegment src, long at, MemorySegment dst, long[] to, long off) {
        FloatVector a = FloatVector.broadcast(S, scale), b = FloatVector.broadcast(S, shift);
        FloatVector v0 = FloatVector.fromMemorySegment(S, src, at, LE);
        FloatVector v1 = FloatVector.fromMemorySegment(S, src, at + 4L * L, LE);
        FloatVector v2 = FloatVector.fromMemorySegment(S, src, at + 8L * L, LE);
        FloatVector v3 = FloatVector.fromMemorySegment(S, src, at + 12L * L, LE);
        FloatVector even01 = EVEN_OF_PAIR.selectFrom(v0, v1), odd01 = ODD_OF_PAIR.selectFrom(v0, v1);
        FloatVector even23 = EVEN_OF_PAIR.selectFrom(v2, v3), odd23 = ODD_OF_PAIR.selectFrom(v2, v3);
        EVEN_OF_PAIR.selectFrom(even01, even23).fma(a, b).intoMemorySegment(dst, to[0] + off, LE);
        EVEN_OF_PAIR.selectFrom(odd01, odd23).fma(a, b).intoMemorySegment(dst, to[1] + off, LE);
        ODD_OF_PAIR.selectFrom(even01, even23).fma(a, b).intoMemorySegment(dst, to[2] + off, LE);
        ODD_OF_PAIR.selectFrom(odd01, odd23).fma(a, b).intoMemorySegment(dst, to[3] + off, LE);
        if (silu) {
            for (int q = 0; q < 4; q++) {
                long p = to[q] + off;
                VectorMath.silu(FloatVector.fromMemorySegment(S, dst, p, LE)).intoMemorySegment(dst, p, LE);
            }
        }
    }

    /**
     * One step of six phases: 6L source floats at byte {@code at} to L values of each, at bytes to[q] + off of
     * dst. Phase q's lane t is source float 6t + q, in the pair of loaded vectors 6t + q falls in: one permute of
     * each pair, two blends.
     */
    private void sixths(MemorySegment src, long at, MemorySegment dst, long[] to, long off) {
        FloatVector a = FloatVector.broadcast(S, scale), b = FloatVector.broadcast(S, shift);
        long lb = 4L * L;
        FloatVector v0 = FloatVector.fromMemorySegment(S, src, at, LE);
        FloatVector v1 = FloatVector.fromMemorySegment(S, src, at + lb, LE);
        FloatVector v2 = FloatVector.fromMemorySegment(S, src, at + 2 * lb, LE);
        FloatVector v3 = FloatVector.fromMemorySegment(S, src, at + 3 * lb, LE);
        FloatVector v4 = FloatVector.fromMemorySegment(S, src, at + 4 * lb, LE);
        FloatVector v5 = FloatVector.fromMemorySegment(S, src, at + 5 * lb, LE);
        for (int q = 0; q < 6; q++) {
            FloatVector idx = SIXTH[q];
            FloatVector y = idx.selectFrom(v0, v1).blend(idx.selectFrom(v2, v3), SIXTH_IN_23[q])
                    .blend(idx.selectFrom(v4, v5), SIXTH_IN_45[q]).fma(a, b);
            if (silu) {
                y = VectorMath.silu(y);
            }
            y.intoMemorySegment(dst, to[q] + off, LE);
        }
    }

    /**
     * The ragged end, from plane column j0, one float at a time ({@link #apply(float)}, the vector step's bits):
     * 0 for the columns past the source (the right padding, which the reference pads after normalising). Mostly
     * one column of each phase: staged through {@link #step} instead, in a zeroed buffer, it took five copies and
     * fills and a small array allocated for every row of an SD decode's planes.
     */
    private void phasesTail(int s, MemorySegment src, long from, int valid, MemorySegment dst, long[] to, int n,
                            int j0) {
        for (int q = 0; q < s; q++) {
            for (int j = j0; j < n; j++) {
                long at = (long) s * j + q;
                // (Past the last row of a tensor, from + 4·at may lie beyond its end: no read then.)
                float v = at < valid ? apply(src.get(DType.FLOAT, from + 4 * at)) : 0f;
                dst.set(DType.FLOAT, to[q] + 4L * j, v);
            }
        }
    }

    private static FloatVector[] sixthIndexes() {
        FloatVector[] idx = new FloatVector[6];
        for (int q = 0; q < 6; q++) {
            float[] lanes = new float[L];
            for (int t = 0; t < L; t++) {
                lanes[t] = (6 * t + q) % (2 * L);
            }
            idx[q] = FloatVector.fromArray(S, lanes, 0);
        }
        return idx;
    }

    /** For each phase, the lanes whose source float lies in the pair of vectors from {@code pair}·2L on. */
    @SuppressWarnings("unchecked")
    private static VectorMask<Float>[] sixthMasks(int pair) {
        VectorMask<Float>[] masks = (VectorMask<Float>[]) new VectorMask<?>[6];
        for (int q = 0; q < 6; q++) {
            boolean[] lanes = new boolean[L];
            for (int t = 0; t < L; t++) {
                lanes[t] = (6 * t + q) / (2 * L) == pair;
            }
            masks[q] = VectorMask.fromArray(S, lanes, 0);
        }
        return masks;
    }
}
