package io.vae4j.backend.vector;

import io.vae4j.tensor.DType;
import jdk.incubator.vector.FloatVector;
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
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Lane i takes lane 2i of the pair (a, b): lanes below L from a, the rest (exceptional indexes) from b. */
    private static final VectorShuffle<Float> EVEN = VectorShuffle.fromOp(S, i -> 2 * i < L ? 2 * i : 2 * i - 2 * L);

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

    /** dst[0..n) = f(src[0, 4, 8, ...]): every fourth column of a row, for stride-4 phase planes. */
    void applyEveryFourth(MemorySegment src, long from, MemorySegment dst, long to, int n) {
        int j = 0;
        FloatVector a = FloatVector.broadcast(S, scale), b = FloatVector.broadcast(S, shift);
        // Each vector step reads 4L source floats; keep it inside the 4n - 3 that belong to this row.
        for (; j + L <= n && 4 * (j + L) <= 4 * n - 3; j += L) {
            long at = from + 16L * j;
            FloatVector v0 = FloatVector.fromMemorySegment(S, src, at, LE);
            FloatVector v1 = FloatVector.fromMemorySegment(S, src, at + 4L * L, LE);
            FloatVector v2 = FloatVector.fromMemorySegment(S, src, at + 8L * L, LE);
            FloatVector v3 = FloatVector.fromMemorySegment(S, src, at + 12L * L, LE);
            FloatVector y = v0.rearrange(EVEN, v1).rearrange(EVEN, v2.rearrange(EVEN, v3)).fma(a, b);
            if (silu) {
                y = y.div(y.neg().lanewise(VectorOperators.EXP).add(1f));
            }
            y.intoMemorySegment(dst, to + 4L * j, LE);
        }
        for (; j < n; j++) {
            dst.set(DType.FLOAT, to + 4L * j, apply(src.get(DType.FLOAT, from + 16L * j)));
        }
    }
}
