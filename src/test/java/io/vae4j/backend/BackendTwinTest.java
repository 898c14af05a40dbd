package io.vae4j.backend;

import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every Vector API kernel against its scalar twin, on shapes that exercise the tails and odd sizes. */
class BackendTwinTest {
    private static final Backend REF = new ScalarBackend();
    private static final VectorBackend FAST = new VectorBackend(2, true);
    private static final VectorBackend DIRECT = new VectorBackend(2, false);

    @AfterAll
    static void close() {
        FAST.parallel().close();
        DIRECT.parallel().close();
    }

    private static void assertClose(Tensor expected, Tensor actual, float tol, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
        float d = Random4.maxAbsDiff(expected, actual);
        assertTrue(d <= tol, what + ": max abs diff " + d + " > " + tol);
    }

    @ParameterizedTest(name = "conv k{0} s{1} pad{2}{3}{4}{5} {6}->{7} {8}x{9} up{10} res{11}")
    @CsvSource({
            "3,1,1,1,1,1, 5,7, 9,11, 1,false",
            "3,1,1,1,1,1, 32,64, 8,8, 1,true",
            "3,1,1,1,1,1, 3,13, 33,17, 1,false",
            "3,1,1,1,1,1, 16,6, 7,5, 2,false",
            "3,1,1,1,1,1, 16,24, 7,5, 2,true",
            "3,1,1,1,1,1, 9,17, 13,6, 1,true",
            "3,1,1,1,1,1, 64,64, 64,64, 1,true",
            "3,2,0,0,1,1, 8,8, 16,16, 1,false",
            "3,2,0,0,1,1, 5,9, 13,11, 1,false",
            "3,2,1,1,1,1, 6,10, 15,12, 1,false",
            "1,1,0,0,0,0, 7,9, 5,13, 1,true",
            "1,1,0,0,0,0, 64,32, 16,16, 1,false",
            "1,1,0,0,0,0, 3,5, 4,4, 2,false",
    })
    void convolutionMatchesScalar(int k, int s, int pt, int pl, int pb, int pr, int cin, int cout, int h, int w,
                                  int up, boolean residual) {
        Random4 r = new Random4(k * 1000L + cin * 31L + h);
        ConvParams p = new ConvParams("conv", r.normal(0.2f, cout, cin, k, k), r.normal(0.5f, cout),
                new ConvGeometry(k, s, pt, pl, pb, pr));
        try (Tensor in = r.normal(1f, 2, cin, h, w)) {
            PreparedConv a = REF.prepareConv(p);
            Tensor res = null;
            if (residual) {
                res = r.normal(1f, Checks.convOutShape(in, a, up));
            }
            Tensor expected = up == 2 ? REF.upsampleConv2d(in, a) : REF.conv2d(in, a, res);
            for (VectorBackend fast : new VectorBackend[]{FAST, DIRECT}) {
                PreparedConv b = fast.prepareConv(p);
                Tensor actual = up == 2 ? fast.upsampleConv2d(in, b) : fast.conv2d(in, b, res);
                assertClose(expected, actual, 2e-5f * (float) Math.sqrt(cin * k * k), "conv");
            }
        }
    }

    @Test
    void groupNormWithAndWithoutSilu() {
        Random4 r = new Random4(7);
        Tensor in = r.normal(3f, 2, 64, 9, 7);
        for (int i = 0; i < in.numel(); i += 5) {
            in.set(i, in.get(i) + 4f);
        }
        Tensor gamma = r.normal(1f, 64), beta = r.normal(1f, 64);
        for (boolean silu : new boolean[]{false, true}) {
            assertClose(REF.groupNorm(in, gamma, beta, 32, 1e-6f, silu),
                    FAST.groupNorm(in, gamma, beta, 32, 1e-6f, silu), 2e-5f, "groupnorm silu=" + silu);
        }
        assertClose(REF.groupNorm(in, gamma, beta, 4, 1e-5f, false),
                FAST.groupNorm(in, gamma, beta, 4, 1e-5f, false), 2e-5f, "groupnorm 4 groups");
    }

    @ParameterizedTest(name = "norm+conv k{0} s{1} {2}->{3} {4}x{5} silu={6}")
    @CsvSource({"3,1, 64,32, 9,7, true", "3,1, 32,3, 16,16, true", "3,1, 32,40, 5,12, false", "1,1, 32,16, 6,6, true",
            "3,2, 32,32, 11,9, true"})
    void normalisedConvolutionMatchesScalar(int k, int s, int cin, int cout, int h, int w, boolean silu) {
        Random4 r = new Random4(cin * 7L + h);
        ConvGeometry g = s == 2 ? ConvGeometry.ldmDownsample() : ConvGeometry.of(k);
        ConvParams p = new ConvParams("conv", r.normal(0.2f, cout, cin, k, k), r.normal(0.5f, cout), g);
        GroupNormSpec norm = new GroupNormSpec(r.normal(1f, cin), r.normal(1f, cin), 8, 1e-6f, silu);
        try (Tensor in = r.normal(2f, 2, cin, h, w)) {
            Tensor res = r.normal(1f, Checks.convOutShape(in, REF.prepareConv(p), 1));
            Tensor expected = REF.normConv2d(in, norm, REF.prepareConv(p), res);
            for (VectorBackend fast : new VectorBackend[]{FAST, DIRECT}) {
                assertClose(expected, fast.normConv2d(in, norm, fast.prepareConv(p), res),
                        2e-5f * (float) Math.sqrt(cin * k * k), "norm+conv");
            }
        }
    }

    @Test
    void attentionMatchesScalar() {
        Random4 r = new Random4(11);
        for (int[] shape : new int[][]{{1, 16, 5, 7}, {2, 40, 8, 8}, {1, 8, 1, 1}}) {
            Tensor q = r.normal(1f, shape), k = r.normal(1f, shape), v = r.normal(1f, shape);
            assertClose(REF.attention(q, k, v), FAST.attention(q, k, v), 1e-5f, "attention");
        }
    }

    @Test
    void elementwiseMatchScalar() {
        Random4 r = new Random4(3);
        Tensor a = r.normal(4f, 1, 3, 17, 19), b = r.normal(1f, 1, 3, 17, 19);
        assertClose(REF.add(a, b), FAST.add(a, b), 0f, "add");
        assertClose(REF.upsampleNearest2x(a), FAST.upsampleNearest2x(a), 0f, "upsample");
        for (Backend.Activation act : Backend.Activation.values()) {
            assertClose(REF.map(a, act), FAST.map(a, act), 2e-6f, act.name());
        }
    }
}
