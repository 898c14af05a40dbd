package io.vae4j.backend.vector;

import io.vae4j.tensor.DType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A row split into its stride-4 and stride-6 phases gives every value the bits the vector formula gives it, in the
 * whole vector steps and in the ragged end alike, and zeros past the source (the right padding).
 */
class ChannelNormTest {
    private static final int L = ChannelNorm.L;

    @Test
    void everyPhaseValueHasTheVectorFormulasBits() {
        Random r = new Random(5);
        try (Arena arena = Arena.ofConfined()) {
            for (int s : new int[]{4, 6}) {
                for (boolean silu : new boolean[]{false, true}) {
                    ChannelNorm norm = new ChannelNorm(1.7f, -0.3f, silu);
                    // Plane widths of an SD size at s = 4 (a vector and one column), a whole number of vectors,
                    // and ragged ones; valid source floats short of, equal to and past s·n.
                    for (int n : new int[]{1, 3, L, L + 1, 2 * L + 1, 2 * L + 5, 4 * L + 1}) {
                        for (int valid : new int[]{s * n - s - 1, s * n - 1, s * n, s * n + 3}) {
                            if (valid < 0) {
                                continue;
                            }
                            check(arena, r, norm, s, n, valid);
                        }
                    }
                }
            }
        }
    }

    private static void check(Arena arena, Random r, ChannelNorm norm, int s, int n, int valid) {
        // The source row is followed by more floats (the next row's), as inside a tensor.
        int length = Math.max(valid, s * n) + 4 * s * L;
        MemorySegment src = arena.allocate(4L * length, 64);
        for (int i = 0; i < length; i++) {
            src.setAtIndex(DType.FLOAT, i, (float) (r.nextGaussian() * 4));
        }
        // The vector formula over every source float, in whole vectors (length rounded up, so no scalar tail).
        int rounded = VectorBackend.roundUp(length, L);
        MemorySegment padded = arena.allocate(4L * rounded, 64);
        MemorySegment.copy(src, 0, padded, 0, 4L * length);
        MemorySegment expected = arena.allocate(4L * rounded, 64);
        norm.apply(padded, 0, expected, 0, rounded);

        MemorySegment dst = arena.allocate(4L * s * n, 64);
        dst.fill((byte) 0x7f);
        long[] to = new long[s];
        for (int q = 0; q < s; q++) {
            to[q] = 4L * q * n;
        }
        norm.applyPhases(s, src, 0, valid, dst, to, n);
        for (int phase = 0; phase < s; phase++) {
            for (int column = 0; column < n; column++) {
                int q = phase, j = column, at = s * j + q;
                float want = at < valid ? expected.getAtIndex(DType.FLOAT, at) : 0f;
                float got = dst.getAtIndex(DType.FLOAT, (long) q * n + j);
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got),
                        () -> "s=" + s + " silu=" + norm.silu() + " n=" + n + " valid=" + valid + ": phase " + q
                                + ", column " + j + ": " + got + " against " + want);
            }
        }
    }
}
