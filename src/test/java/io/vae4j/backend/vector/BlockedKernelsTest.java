package io.vae4j.backend.vector;

import io.vae4j.backend.GroupNormSpec;
import io.vae4j.backend.Parallel;
import io.vae4j.backend.Random4;
import io.vae4j.tensor.Layout;
import io.vae4j.tensor.Tensor;
import io.vae4j.tensor.Tensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The channel-blocked kernels against the NCHW ones, in both blocked layouts: the one whose block is this machine's
 * vector runs the vector code, the other its scalar twin, so every machine tests both.
 */
class BlockedKernelsTest {
    private static final VectorBackend NCHW = new VectorBackend(2);
    private static final Parallel PARALLEL = NCHW.parallel();

    @AfterAll
    static void close() {
        NCHW.close();
    }

    /** Within tol times the largest expected value (at least 1): float rounding grows with the values. */
    private static void assertClose(Tensor expected, Tensor blocked, float tol, String what) {
        float max = 1;
        for (long i = 0; i < expected.numel(); i++) {
            max = Math.max(max, Math.abs(expected.get(i)));
        }
        try (Tensor actual = BlockedKernels.toNchw(PARALLEL, blocked)) {
            float d = Random4.maxAbsDiff(expected, actual);
            assertTrue(d <= tol * max, what + ": max abs diff " + d + " > " + tol + " x " + max);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Layout.class, names = {"NCHW8C", "NCHW16C"})
    void valuesSitWhereLayoutIndexSays(Layout layout) {
        Random4 r = new Random4(1);
        try (Tensor x = r.normal(1f, 2, 32, 5, 7); Tensor b = BlockedKernels.fromNchw(PARALLEL, x, layout)) {
            assertEquals(layout, b.layout());
            int[] s = x.shape();
            for (int n = 0; n < 2; n++) {
                for (int c = 0; c < 32; c++) {
                    for (int y = 0; y < 5; y++) {
                        for (int i = 0; i < 7; i++) {
                            assertEquals(x.get(Layout.NCHW.index(s, n, c, y, i)),
                                    b.data().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT,
                                            layout.index(s, n, c, y, i)));
                        }
                    }
                }
            }
            assertClose(x, b, 0f, "round trip");
            assertThrows(IllegalStateException.class, () -> b.get(0), "NCHW element access refused");
            assertThrows(IllegalStateException.class, () -> b.toFloatArray(), "NCHW-ordered values refused");
            assertThrows(IllegalStateException.class, () -> b.reshape(2, 32, 35), "reshape refused");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Tensors.crop(b, 0, 0, 2, 2), "edge operations refuse it");
            assertTrue(e.getMessage().contains("Backend.toNchw"), e.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(value = Layout.class, names = {"NCHW8C", "NCHW16C"})
    void groupNormMatchesNchw(Layout layout) {
        Random4 r = new Random4(2);
        // 32 groups of 2, 4 of 16 and 2 of 32 channels: groups inside a block, one block, and across blocks.
        try (Tensor x = r.normal(3f, 2, 64, 33, 70)) {
            for (int i = 0; i < x.numel(); i += 3) {
                x.set(i, x.get(i) + 5f);
            }
            Tensor gamma = r.normal(1f, 64), beta = r.normal(1f, 64);
            try (Tensor b = BlockedKernels.fromNchw(PARALLEL, x, layout)) {
                for (int groups : new int[]{32, 4, 2}) {
                    for (boolean silu : new boolean[]{false, true}) {
                        GroupNormSpec norm = new GroupNormSpec(gamma, beta, groups, 1e-6f, silu);
                        try (Tensor e = NCHW.groupNorm(x, norm); Tensor a = BlockedKernels.groupNorm(PARALLEL, b, norm)) {
                            assertEquals(layout, a.layout());
                            assertClose(e, a, 4e-6f, groups + " groups silu=" + silu);
                        }
                    }
                }
                float[] mean = new float[4], rstd = new float[4];
                for (int g = 0; g < 4; g++) {
                    mean[g] = 0.5f * g - 1;
                    rstd[g] = 1 + g;
                }
                GroupNormSpec frozen = new GroupNormSpec(gamma, beta, 4, 1e-6f, true, mean, rstd);
                try (Tensor e = NCHW.groupNorm(x, frozen); Tensor a = BlockedKernels.groupNorm(PARALLEL, b, frozen)) {
                    assertClose(e, a, 4e-6f, "frozen statistics");
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Layout.class, names = {"NCHW8C", "NCHW16C"})
    void upsampleMatchesNchw(Layout layout) {
        Random4 r = new Random4(3);
        try (Tensor x = r.normal(1f, 2, 16, 3, 5); Tensor b = BlockedKernels.fromNchw(PARALLEL, x, layout);
             Tensor e = NCHW.upsampleNearest2x(x); Tensor a = BlockedKernels.upsampleNearest2x(PARALLEL, b)) {
            assertClose(e, a, 0f, "upsample");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Layout.class, names = {"NCHW8C", "NCHW16C"})
    void phasesInterleave(Layout layout) {
        Random4 r = new Random4(4);
        int n = 2, c = 16, h = 3, w = 5;
        // Phase k = 2·py + px at (y + py, x + px) of [N, 4C, H + 1, W + 1] goes to (2y + py, 2x + px).
        try (Tensor phases = r.normal(1f, n, 4 * c, h + 1, w + 1);
             Tensor blocked = BlockedKernels.fromNchw(PARALLEL, phases, layout);
             Tensor expected = Tensor.allocate(n, c, 2 * h, 2 * w);
             Tensor out = Tensor.uninitialized(layout, n, c, 2 * h, 2 * w)) {
            int[] ps = phases.shape(), es = expected.shape();
            for (int b = 0; b < n; b++) {
                for (int ch = 0; ch < c; ch++) {
                    for (int y = 0; y < 2 * h; y++) {
                        for (int x = 0; x < 2 * w; x++) {
                            int py = y % 2, px = x % 2;
                            expected.set(Layout.NCHW.index(es, b, ch, y, x), phases.get(Layout.NCHW.index(ps, b,
                                    (2 * py + px) * c + ch, y / 2 + py, x / 2 + px)));
                        }
                    }
                }
            }
            BlockedKernels.interleavePhases(PARALLEL, blocked.data(), out);
            assertClose(expected, out, 0f, "phases");
        }
    }
}
