package io.vae4j.model;

import io.vae4j.backend.Backend;
import io.vae4j.backend.Precision;
import io.vae4j.backend.onednn.OneDnn;
import io.vae4j.backend.onednn.OneDnnBackend;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.kl.KlShapes;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What --precision bf16 costs in quality: bf16 outputs against the fp32 (Vector API) outputs of the same model and
 * input, as PSNR, on the real TAEF2 with real photos, the kl_f8_sd fixture and the SD-size architecture with random
 * weights, every convolution in bf16 (the default); the SD-size model also with only its 512-channel convolutions
 * in bf16 (-Dvae4j.bf16.minChannels=512). The bounds are the values measured here less a margin (README,
 * "Precision"); a change that makes bf16 lose more than that fails.
 */
class Bf16QualityTest {
    private static final VectorBackend FP32 = new VectorBackend(2);
    private static OneDnnBackend allBf16;
    private static OneDnnBackend hybrid;

    private static synchronized Backend bf16(boolean all) {
        assumeTrue(OneDnn.hasBf16Kernels(), () -> "bf16 quality not measured: " + (OneDnn.available()
                ? OneDnn.describe() + " has no avx512_core_bf16 kernels" : OneDnn.unavailableReason()));
        if (allBf16 == null) {
            allBf16 = new OneDnnBackend(2, OneDnnBackend.Options.DEFAULT, Precision.BF16, 0);
            hybrid = new OneDnnBackend(2, OneDnnBackend.Options.DEFAULT, Precision.BF16, 512);
        }
        return all ? allBf16 : hybrid;
    }

    private static Backend bf16() {
        return bf16(true);
    }

    @AfterAll
    static void close() {
        FP32.close();
        if (allBf16 != null) {
            allBf16.close();
            hybrid.close();
        }
    }

    /** PSNR in dB of {@code image} against {@code reference}, both clamped to [lo, hi], peak hi - lo. */
    static double psnr(Tensor image, Tensor reference, double lo, double hi) {
        assertArrayEquals(reference.shape(), image.shape());
        double se = 0;
        for (long i = 0; i < image.numel(); i++) {
            double d = Math.clamp(image.get(i), lo, hi) - Math.clamp(reference.get(i), lo, hi);
            se += d * d;
        }
        return 10 * Math.log10((hi - lo) * (hi - lo) * image.numel() / se);
    }

    /** PSNR over the reference's own value range: for random-weight models, whose outputs have no fixed range. */
    static double psnrOwnRange(Tensor image, Tensor reference) {
        double lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE;
        for (long i = 0; i < reference.numel(); i++) {
            lo = Math.min(lo, reference.get(i));
            hi = Math.max(hi, reference.get(i));
        }
        return psnr(image, reference, lo, hi);
    }

    private static void report(String what, double db, double bound) {
        System.out.printf("bf16 vs fp32 %-48s PSNR %6.2f dB (bound %.0f dB)%n", what, db, bound);
        assertTrue(db >= bound, what + ": bf16 PSNR " + db + " dB < " + bound + " dB");
    }

    @Test
    void taef2OnPhotos() {
        Backend b = bf16();
        Path dir = Fixtures.caseDir("taef2");
        Path enc = dir.resolve("taef2_encoder.safetensors"), dec = dir.resolve("taef2_decoder.safetensors");
        try (Model enc32 = ModelLoader.load(enc, FP32, null); Model dec32 = ModelLoader.load(dec, FP32, null);
             Model enc16 = ModelLoader.load(enc, b, null); Model dec16 = ModelLoader.load(dec, b, null)) {
            for (Map<String, Object> test : Fixtures.tests(Fixtures.manifest(dir))) {
                String name = (String) test.get("name");
                try (Tensor image = Fixtures.input(dir, test, "image");
                     Tensor z = Npy.read(dir.resolve(name + ".z.npy"));
                     Tensor out32 = dec32.vae().decode(z); Tensor out16 = dec16.vae().decode(z);
                     Moments m32 = enc32.vae().encode(image); Moments m16 = enc16.vae().encode(image);
                     Tensor round16 = dec16.vae().decode(m16.mean())) {
                    report("taef2 decode " + name, psnr(out16, out32, 0, 1), 50);
                    report("taef2 encode " + name + " (latent, own range)", psnrOwnRange(m16.mean(), m32.mean()),
                            50);
                    // What a user sees: the photo's reconstruction loses next to nothing to bf16.
                    double stated = ((Number) test.get("psnr_db")).doubleValue(), db = psnr(round16, image, 0, 1);
                    System.out.printf("bf16 round trip %-45s PSNR %6.2f dB vs the photo (fp32: %.2f dB)%n", name,
                            db, stated);
                    assertTrue(db >= stated - 0.3, name + ": bf16 round trip " + db + " dB, fp32 " + stated);
                }
            }
        }
    }

    @Test
    void klFixture() {
        Backend b = bf16();
        Path dir = Fixtures.caseDir("kl_f8_sd");
        Path file = dir.resolve("model.safetensors");
        try (Model m32 = ModelLoader.load(file, FP32, null); Model m16 = ModelLoader.load(file, b, null)) {
            for (Map<String, Object> test : Fixtures.tests(Fixtures.manifest(dir))) {
                String name = (String) test.get("name");
                if (test.get("op").equals("decode")) {
                    try (Tensor z = Fixtures.input(dir, test, "z"); Tensor out32 = m32.vae().decode(z);
                         Tensor out16 = m16.vae().decode(z)) {
                        report("kl_f8_sd " + name, psnr(out16, out32, -1, 1), 44);
                    }
                } else if (test.get("op").equals("encode")) {
                    try (Tensor image = Fixtures.input(dir, test, "image"); Moments e32 = m32.vae().encode(image);
                         Moments e16 = m16.vae().encode(image)) {
                        report("kl_f8_sd " + name + " (mean, own range)", psnrOwnRange(e16.mean(), e32.mean()), 48);
                    }
                }
            }
        }
    }

    /** The real SD VAE's architecture (random weights): the depth over which bf16 rounding errors add up. */
    @ParameterizedTest(name = "all convolutions bf16: {0}")
    @ValueSource(booleans = {true, false})
    void sdSizeRandomWeights(boolean all) {
        Backend b = bf16(all);
        String mode = all ? "all bf16" : "512+ channels bf16";
        var shapes = KlShapes.of(KlShapes.sdConfig(4, true));
        try (Model m32 = ModelLoader.load(RandomWeights.of("random-sd", shapes, 42), null, FP32, null);
             Model m16 = ModelLoader.load(RandomWeights.of("random-sd", shapes, 42), null, b, null);
             Tensor z = random(1, 4, 16, 16); Tensor image = random(1, 3, 128, 128);
             Tensor out32 = m32.vae().decode(z); Tensor out16 = m16.vae().decode(z);
             Moments e32 = m32.vae().encode(image); Moments e16 = m16.vae().encode(image)) {
            report("SD-size random decode 16x16 -> 128x128, " + mode, psnrOwnRange(out16, out32), 54);
            report("SD-size random encode 128x128 (mean), " + mode, psnrOwnRange(e16.mean(), e32.mean()), 52);
        }
    }

    private static Tensor random(int... shape) {
        SplittableRandom r = new SplittableRandom(5);
        Tensor t = Tensor.allocate(shape);
        for (long i = 0; i < t.numel(); i++) {
            t.set(i, (float) r.nextDouble(-1, 1));
        }
        return t;
    }
}
