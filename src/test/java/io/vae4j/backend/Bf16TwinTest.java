package io.vae4j.backend;

import io.vae4j.VaeException;
import io.vae4j.backend.onednn.OneDnn;
import io.vae4j.backend.onednn.OneDnnBackend;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * oneDNN's bf16 convolutions against their scalar twin: the float32 scalar convolution of the source and weights
 * rounded to bfloat16 (round to nearest even). Products of two bf16 values are exact in float32, so the two differ
 * only in the order of the float32 sums, and the tolerance is the fp32 twin test's.
 */
class Bf16TwinTest {
    private static final Backend REF = new ScalarBackend();
    private static OneDnnBackend bf16;

    private static synchronized Backend bf16() {
        assumeTrue(OneDnn.hasBf16Kernels(), () -> "bf16 convolutions not tested: " + (OneDnn.available()
                ? OneDnn.describe() + " has no avx512_core_bf16 kernels" : OneDnn.unavailableReason()));
        if (bf16 == null) {
            // Every convolution on oneDNN's direct bf16 kernels, whatever its channels: the kernels under test
            // (Bf16WinogradTest tests the Winograd path).
            bf16 = new OneDnnBackend(2, OneDnnBackend.Options.DEFAULT, Precision.BF16, 0, false);
        }
        return bf16;
    }

    @AfterAll
    static void close() {
        if (bf16 != null) {
            bf16.close();
        }
    }

    /** A float32 copy of {@code t} with every value rounded to the nearest bfloat16. */
    static Tensor roundedToBf16(Tensor t) {
        Tensor out = Tensor.allocate(t.shape());
        for (long i = 0; i < t.numel(); i++) {
            out.set(i, Float.intBitsToFloat(DType.floatToBf16(t.get(i)) << 16));
        }
        return out;
    }

    static Stream<Arguments> convCases() {
        return BackendTwinTest.convCases().filter(a -> a.get()[0].equals("java"));
    }

    @ParameterizedTest(name = "bf16 conv k{1} s{2} pad{3}{4}{5}{6} {7}->{8} {9}x{10} up{11} res{12}")
    @MethodSource("convCases")
    void convolutionMatchesScalarOnRoundedOperands(String unused, int k, int s, int pt, int pl, int pb, int pr,
                                                   int cin, int cout, int h, int w, int up, boolean residual) {
        Backend fast = bf16();
        Random4 r = new Random4(k * 1000L + cin * 31L + h);
        ConvParams p = new ConvParams("conv", r.normal(0.2f, cout, cin, k, k), r.normal(0.5f, cout),
                new ConvGeometry(k, s, pt, pl, pb, pr));
        try (Tensor in = r.normal(1f, 2, cin, h, w); Tensor inBf16 = roundedToBf16(in);
             Tensor wBf16 = roundedToBf16(p.weight())) {
            PreparedConv a = REF.prepareConv(new ConvParams("conv", wBf16, p.bias(), p.geometry()));
            PreparedConv b = fast.prepareConv(p);
            Tensor res = residual ? r.normal(1f, Checks.convOutShape(in, a, up)) : null;
            Tensor expected = up == 2 ? REF.upsampleConv2d(inBf16, a) : REF.conv2d(inBf16, a, res);
            Tensor actual = up == 2 ? fast.upsampleConv2d(in, b) : fast.conv2d(in, b, res);
            // An upsampling convolution rounds the sums of up to four 3x3 taps it computes with
            // (OneDnnConv.plainWeights), not each tap: up to 2^-9 of sums twice the weights' scale, in random
            // directions, which the scalar twin cannot reproduce.
            float tol = (up == 2 ? 4e-3f : 2e-5f) * (float) Math.sqrt(cin * k * k);
            assertArrayEquals(expected.shape(), actual.shape());
            float d = Random4.maxAbsDiff(expected, actual);
            assertTrue(d <= tol, "max abs diff " + d + " > " + tol);
            b.close();
        }
    }

    @Test
    void autoRunsBf16OnOneDnn() {
        bf16();
        try (Backend b = Backends.create("auto", 1, Precision.BF16)) {
            assertEquals("onednn", b.name());
            assertEquals(Precision.BF16, b.precision());
        }
    }

    @Test
    void float32OnlyBackendsRefuseBf16() {
        for (String name : new String[]{"java", "scalar"}) {
            VaeException e = assertThrows(VaeException.class, () -> Backends.create(name, 1, Precision.BF16));
            assertTrue(e.getMessage().contains("--precision bf16") && e.getMessage().contains(name)
                    && e.getMessage().contains("onednn"), e.getMessage());
        }
    }

    @Test
    void unknownPrecisionNamesTheOptionAndTheChoices() {
        VaeException e = assertThrows(VaeException.class, () -> Precision.parse("fp8"));
        assertTrue(e.getMessage().contains("--precision 'fp8'") && e.getMessage().contains(Precision.NAMES),
                e.getMessage());
        assertEquals(Precision.BF16, Precision.parse("BF16"));
        assertEquals(Precision.FP32, Backends.create("java", 1).precision());
    }

    @Test
    void withoutBf16KernelsAutoFallsBackToFp32() {
        assumeTrue(!OneDnn.hasBf16Kernels(), "this CPU has bf16 kernels; the fallback is not reachable");
        try (Backend b = Backends.create("auto", 1, Precision.BF16)) {
            assertEquals(Precision.FP32, b.precision());
        }
        assertTrue(Arrays.asList("bf16").contains(Precision.BF16.id()));
    }
}
