package io.vae4j.backend;

import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** GroupNorm with frozen statistics: the vector backend (plain and fused into a convolution) against the scalar one. */
class FrozenNormTwinTest {
    private static final ScalarBackend REF = new ScalarBackend();
    private static final VectorBackend FAST = new VectorBackend(2);

    @AfterAll
    static void close() {
        FAST.parallel().close();
    }

    @Test
    void frozenStatisticsMatchScalar() {
        Random4 r = new Random4(3);
        int c = 32, groups = 8;
        float[] mean = new float[groups], rstd = new float[groups];
        for (int g = 0; g < groups; g++) {
            mean[g] = 0.3f * g - 1;
            rstd[g] = 0.5f + 0.1f * g;
        }
        GroupNormSpec frozen = new GroupNormSpec(r.normal(1f, c), r.normal(1f, c), groups, 1e-6f, true, mean, rstd);
        try (Tensor in = r.normal(2f, 2, c, 9, 7)) {
            Tensor want = REF.groupNorm(in, frozen), got = FAST.groupNorm(in, frozen);
            assertTrue(Random4.maxAbsDiff(want, got) < 2e-5f, "groupnorm " + Random4.maxAbsDiff(want, got));
            // The frozen statistics are really used: by hand for one element of group 2, batch item 1.
            int ch = 9;
            long i = ((long) c + ch) * 63 + 5;
            double y = (in.get(i) - mean[2]) * rstd[2] * frozen.gamma().get(ch) + frozen.beta().get(ch);
            assertTrue(Math.abs(want.get(i) - y / (1 + Math.exp(-y))) < 1e-5);
            ConvParams p = new ConvParams("conv", r.normal(0.2f, 16, c, 3, 3), r.normal(0.5f, 16), ConvGeometry.of(3));
            Tensor a = REF.normConv2d(in, frozen, REF.prepareConv(p), null);
            Tensor b = FAST.normConv2d(in, frozen, FAST.prepareConv(p), null);
            assertTrue(Random4.maxAbsDiff(a, b) < 2e-5f * 17, "norm+conv " + Random4.maxAbsDiff(a, b));
        }
    }
}
