package io.vae4j.backend;

import io.vae4j.backend.onednn.OneDnn;
import io.vae4j.backend.onednn.OneDnnBackend;
import io.vae4j.backend.onednn.OneDnnProducts;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.tensor.ScratchSpace;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The bf16 Winograd F(4x4) path (Vector API transforms, products on oneDNN's bf16 matmul) against the float32
 * Vector API backend on random data. bf16 rounds the transformed tiles and weights, not the operands, so there is
 * no exact twin: the bound is a PSNR over the float32 result's range, measured here (about 48-52 dB on these
 * cases) less a margin. Sizes include ones that are not multiples of 4 (partial edge tiles) and several bands
 * (the last ones 2 bands of 512+ tiles, the second partial).
 */
class Bf16WinogradTest {
    private static final VectorBackend FP32 = new VectorBackend(2);
    private static OneDnnProducts products;
    private static VectorBackend bf16;

    /** The Winograd kernel itself, in bf16 at every channel count (whatever -Dvae4j.bf16.winogradMinChannels). */
    private static synchronized VectorBackend bf16() {
        assumeTrue(OneDnn.hasBf16Kernels(), () -> "bf16 Winograd not tested: " + (OneDnn.available()
                ? OneDnn.describe() + " has no avx512_core_bf16 kernels" : OneDnn.unavailableReason()));
        if (bf16 == null) {
            products = new OneDnnProducts(2);
            bf16 = new VectorBackend(2, products, 0);
        }
        return bf16;
    }

    @AfterAll
    static void close() {
        FP32.close();
        if (bf16 != null) {
            bf16.close();
            products.close();
        }
    }

    /** The oneDNN backend in bf16 runs stride-1 3x3 convolutions so. */
    @Test
    void oneDnnBackendUsesIt() {
        bf16();
        try (OneDnnBackend b = new OneDnnBackend(1, OneDnnBackend.Options.DEFAULT, Precision.BF16, 0, true)) {
            assertTrue(b.bf16Winograd());
            assertEquals(Precision.BF16, b.vector().precision());
            Random4 r = new Random4(11);
            ConvParams p = new ConvParams("conv", r.normal(0.05f, 256, 256, 3, 3), r.normal(0.5f, 256),
                    ConvGeometry.same3x3());
            try (Tensor in = r.normal(1f, 1, 256, 10, 9); PreparedConv a = FP32.prepareConv(p);
                 PreparedConv c = b.prepareConv(p); Tensor expected = FP32.conv2d(in, a, null);
                 Tensor actual = b.conv2d(in, c, null)) {
                check("256->256 10x9 via the oneDNN backend", expected, actual);
            }
        }
    }

    /** PSNR in dB of {@code actual} against {@code expected}, peak: expected's range. */
    static double psnr(Tensor actual, Tensor expected) {
        assertArrayEquals(expected.shape(), actual.shape());
        double lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE, se = 0;
        for (long i = 0; i < expected.numel(); i++) {
            double e = expected.get(i), d = actual.get(i) - e;
            lo = Math.min(lo, e);
            hi = Math.max(hi, e);
            se += d * d;
        }
        return 10 * Math.log10((hi - lo) * (hi - lo) * expected.numel() / se);
    }

    private static void check(String what, Tensor expected, Tensor actual) {
        double db = psnr(actual, expected);
        System.out.printf("bf16 Winograd vs fp32 %-40s PSNR %6.2f dB%n", what, db);
        assertTrue(db >= 42, what + ": PSNR " + db + " dB < 42 dB");
    }

    @ParameterizedTest(name = "{0}->{1} {2}x{3} up{4} residual {5} norm {6}")
    @CsvSource({
            "16, 8, 8, 8, 1, false, false",
            "32, 24, 13, 7, 1, true, false",
            "8, 16, 9, 11, 2, false, false",
            "64, 32, 67, 70, 1, true, true",
            "24, 40, 21, 5, 2, false, false",
            "128, 128, 33, 130, 1, false, true",
            "16, 16, 70, 150, 1, true, false",
            "8, 8, 40, 75, 2, false, false",
            "16, 24, 70, 150, 2, false, false",
            "12, 20, 23, 41, 2, false, false",
            "16, 16, 200, 64, 1, true, true",
            "16, 16, 9, 60, 2, false, false",
            "16, 8, 30, 124, 1, false, false",
    })
    void matchesFloat32(int cin, int cout, int h, int w, int up, boolean residual, boolean norm) {
        VectorBackend b = bf16();
        Random4 r = new Random4(cin * 131L + h * 7L + w);
        ConvParams p = new ConvParams("conv", r.normal(0.1f, cout, cin, 3, 3), r.normal(0.5f, cout),
                ConvGeometry.same3x3());
        GroupNormSpec gn = norm ? new GroupNormSpec(r.normal(1f, cin), r.normal(0.5f, cin), 8, 1e-6f, true) : null;
        try (Tensor in = r.normal(1f, 2, cin, h, w); PreparedConv a = FP32.prepareConv(p);
             PreparedConv c = b.prepareConv(p)) {
            Tensor res = residual ? r.normal(1f, Checks.convOutShape(in, a, up)) : null;
            String what = cin + "->" + cout + " " + h + "x" + w + (up == 2 ? " up" : "") + (residual ? " res" : "")
                    + (norm ? " norm" : "");
            try (Tensor expected = up == 2 ? FP32.upsampleConv2d(in, a)
                    : norm ? FP32.normConv2d(in, gn, a, res) : FP32.conv2d(in, a, res);
                 Tensor actual = up == 2 ? b.upsampleConv2d(in, c)
                         : norm ? b.normConv2d(in, gn, c, res) : b.conv2d(in, c, res)) {
                check(what, expected, actual);
            }
        }
    }

    /** In place over the residual, as the decoder's resnet blocks call it. */
    @Test
    void normConvOverResidual() {
        VectorBackend b = bf16();
        Random4 r = new Random4(3);
        ConvParams p = new ConvParams("conv", r.normal(0.1f, 32, 32, 3, 3), r.normal(0.5f, 32),
                ConvGeometry.same3x3());
        GroupNormSpec gn = new GroupNormSpec(r.normal(1f, 32), r.normal(0.5f, 32), 8, 1e-6f, true);
        try (Tensor in = r.normal(1f, 1, 32, 19, 23); PreparedConv a = FP32.prepareConv(p);
             PreparedConv c = b.prepareConv(p); Tensor res = r.normal(1f, 1, 32, 19, 23);
             Tensor expected = FP32.normConv2d(in, gn, a, res)) {
            Tensor own = Tensor.allocate(res.shape());
            for (long i = 0; i < res.numel(); i++) {
                own.set(i, res.get(i));
            }
            try (Tensor actual = b.normConv2dOverResidual(in, gn, c, own)) {
                check("32->32 19x23 norm over residual", expected, actual);
            }
        }
    }

    /** The upsampling phases' transform in bf16 (100 per channel pair, 2 bytes each) is what a scratch run keeps. */
    @Test
    void theUpsamplingTransformKeptInScratchIsWhatTheEstimateCounts(@TempDir Path dir) {
        VectorBackend b = bf16();
        Random4 r = new Random4(5);
        ConvParams p = new ConvParams("conv", r.normal(0.1f, 16, 24, 3, 3), r.normal(0.5f, 16),
                ConvGeometry.same3x3());
        long bytes = b.scratchWeightBytes(ConvGeometry.same3x3(), 24, 16, true);
        assertEquals(100L * 16 * 24 * 2, bytes);
        try (Tensor in = r.normal(1f, 1, 24, 9, 11); PreparedConv c = b.prepareConv(p);
             ScratchSpace space = new ScratchSpace(dir, 0, 0)) {
            space.run(() -> b.upsampleConv2d(in, c)).close();
            assertEquals(bytes, space.liveBytes(), "the transform is the space's one mapping left");
        }
    }
}
