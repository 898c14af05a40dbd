package io.vae4j.backend.vector;

import io.vae4j.backend.GroupNormSpec;
import io.vae4j.backend.Random4;
import io.vae4j.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernels' own exp, SiLU and tanh: within an ulp or two of Math's, equal bit for bit to the scalar twin in
 * whatever code runs them, so that GroupNorm + SiLU and attention give the same bits on their first call (run by
 * the interpreter) as once C2 has compiled them, and on any number of threads.
 */
class VectorMathTest {
    private static final int L = GemmKernel.L;

    private static float[] lanes(float[] xs, int from, java.util.function.UnaryOperator<FloatVector> f) {
        float[] out = new float[L];
        f.apply(FloatVector.fromArray(GemmKernel.SPECIES, xs, from)).intoArray(out, 0);
        return out;
    }

    @Test
    void expIsWithinTwoUlpsOfMathsAndEqualsItsScalarTwin() {
        SplittableRandom r = new SplittableRandom(5);
        int n = 1 << 16;
        float[] xs = new float[n];
        for (int i = 0; i < n; i++) {
            xs[i] = (float) (r.nextDouble() * 174 - 87);
        }
        xs[0] = 0;
        xs[1] = -0f;
        xs[2] = 1e-30f;
        xs[3] = -87.3f;
        xs[4] = 88.3f;
        double worst = 0;
        for (int i = 0; i + L <= n; i += L) {
            float[] v = lanes(xs, i, VectorMath::exp);
            for (int k = 0; k < L; k++) {
                float x = xs[i + k];
                assertEquals(Float.floatToRawIntBits(VectorMath.exp(x)), Float.floatToRawIntBits(v[k]),
                        "vector lane and scalar twin at x = " + x);
                float want = (float) Math.exp(x);
                worst = Math.max(worst, Math.abs(v[k] - want) / Math.ulp(want));
            }
        }
        assertTrue(worst <= 2, "worst error " + worst + " ulp");
    }

    @Test
    void theEdgesClampAndNanStaysNan() {
        assertEquals(VectorMath.exp(-87.33654f), VectorMath.exp(-1000f));
        assertTrue(VectorMath.exp(-1000f) > 0 && VectorMath.exp(-1000f) < 1.3e-38f);
        assertTrue(VectorMath.exp(1000f) > 2e38f && Float.isFinite(VectorMath.exp(1000f)));
        assertTrue(Float.isNaN(VectorMath.exp(Float.NaN)));
        float[] xs = new float[L];
        Arrays.fill(xs, Float.NaN);
        assertTrue(Float.isNaN(lanes(xs, 0, VectorMath::exp)[0]));
        xs[0] = -200;
        xs[1] = 200;
        xs[2] = 0;
        float[] t = lanes(xs, 0, VectorMath::tanh), s = lanes(xs, 0, VectorMath::silu);
        assertEquals(-1f, t[0]);
        assertEquals(1f, t[1]);
        assertEquals(0f, t[2]);
        assertEquals(0f, s[0], 1e-30f);
        assertEquals(200f, s[1]);
    }

    @Test
    void siluAndTanhAreCloseToMaths() {
        float[] xs = new float[1024];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = (i - 512) / 40f;
        }
        for (int i = 0; i < xs.length; i += L) {
            float[] s = lanes(xs, i, VectorMath::silu), t = lanes(xs, i, VectorMath::tanh);
            for (int k = 0; k < L; k++) {
                double x = xs[i + k];
                assertEquals(x / (1 + Math.exp(-x)), s[k], 2e-6 * Math.max(1, Math.abs(x)), "silu " + x);
                assertEquals(Math.tanh(x), t[k], 2e-7, "tanh " + x);
            }
        }
    }

    /** The first calls run interpreted, the later ones compiled: every call must give the first one's bits. */
    @Test
    void groupNormSiluAndAttentionGiveTheSameBitsCompiledOrNot() {
        Random4 r = new Random4(9);
        try (VectorBackend b = new VectorBackend(2);
             Tensor x = r.normal(2f, 1, 32, 16, 24); Tensor gamma = r.normal(1f, 32); Tensor beta = r.normal(0.3f, 32)) {
            GroupNormSpec spec = new GroupNormSpec(gamma, beta, 8, 1e-6f, true, null, null);
            float[] norm = null, attn = null;
            for (int i = 0; i < 300; i++) {
                try (Tensor n = b.groupNorm(x, spec); Tensor a = b.attention(x, x, x)) {
                    if (norm == null) {
                        norm = n.toFloatArray();
                        attn = a.toFloatArray();
                    } else {
                        assertArrayEquals(norm, n.toFloatArray(), "group norm + SiLU, call " + i);
                        assertArrayEquals(attn, a.toFloatArray(), "attention, call " + i);
                    }
                }
            }
            for (int threads : new int[]{1, 3}) {
                try (VectorBackend other = new VectorBackend(threads);
                     Tensor n = other.groupNorm(x, spec); Tensor a = other.attention(x, x, x)) {
                    assertArrayEquals(norm, n.toFloatArray(), "group norm + SiLU on " + threads + " thread(s)");
                    assertArrayEquals(attn, a.toFloatArray(), "attention on " + threads + " thread(s)");
                }
            }
        }
    }
}
