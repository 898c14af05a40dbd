package io.vae4j.pipeline;

import io.vae4j.Conformance;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.Family;
import io.vae4j.model.LatentSpace;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The SD1/SDXL mismatch warning on latents drawn from each family's published per-channel statistics. */
public class LatentMismatchTest {
    /** Diffusion-space statistics, as in LatentMismatch's sources. */
    public static final double[] SD1_MEAN = {0.38862467, 0.02253063, 0.07381133, -0.0171294};
    public static final double[] SD1_STD = {0.9654121, 1.0440036, 0.76147926, 0.77022034};
    public static final double[] SDXL_MEAN = {-1.6574 * 0.13025, 1.886 * 0.13025, -1.383 * 0.13025, 2.5155 * 0.13025};
    public static final double[] SDXL_STD = {8.4927 * 0.13025, 5.9022 * 0.13025, 6.5498 * 0.13025, 5.2299 * 0.13025};

    /** A [1, 4, side, side] diffusion latent, Gaussian per channel, times {@code k}. */
    public static Tensor latent(long seed, double[] mean, double[] std, int side, double k) {
        Tensor t = Tensor.allocate(1, 4, side, side);
        SplittableRandom r = new SplittableRandom(seed);
        for (int c = 0; c < 4; c++) {
            for (int i = 0; i < side * side; i++) {
                t.set((long) c * side * side + i, (float) ((mean[c] + std[c] * gaussian(r)) * k));
            }
        }
        return t;
    }

    private static double gaussian(SplittableRandom r) {
        return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
    }

    private static final LatentSpace SD1 = LatentSpace.of(Family.SD1, "test");
    private static final LatentSpace SD2 = LatentSpace.of(Family.SD2, "test");
    private static final LatentSpace SDXL = LatentSpace.of(Family.SDXL, "test");

    /** Asserts the warning for a latent drawn from one family's statistics, times k, given to a model of space. */
    private static void assertWarns(LatentSpace space, double[] mean, double[] std, double k, String... fragments) {
        try (Tensor raw = latent(1, mean, std, 32, k)) {
            String w = String.valueOf(LatentMismatch.check(space, raw));
            for (String f : fragments) {
                assertTrue(w.contains(f), "expected '" + f + "' in: " + w);
            }
        }
    }

    @Test
    void sdxlLatentGivenToAnSd1ModelIsNamed() {
        // The file holds SDXL diffusion latents; the SD1 model undoes its own factor.
        assertWarns(SD1, SDXL_MEAN, SDXL_STD, 1 / Family.SD1.scale, "looks like SDXL's",
                "published latent statistics");
        // A ComfyUI .latent: SDXL's raw latent, given as raw.
        assertWarns(SD2, SDXL_MEAN, SDXL_STD, 1 / Family.SDXL.scale, "looks like SDXL's");
    }

    @Test
    void sd1LatentGivenToAnSdxlModelIsNamed() {
        assertWarns(SDXL, SD1_MEAN, SD1_STD, 1 / Family.SDXL.scale, "looks like SD1/SD2's", "family sdxl");
    }

    @Test
    void matchedLatentsAreQuiet() {
        for (long seed = 10; seed < 20; seed++) {
            try (Tensor sd1 = latent(seed, SD1_MEAN, SD1_STD, 32, 1 / Family.SD1.scale);
                 Tensor sd1Raw = latent(seed, SD1_MEAN, SD1_STD, 32, 1 / Family.SD1.scale);
                 Tensor sdxl = latent(seed, SDXL_MEAN, SDXL_STD, 32, 1 / Family.SDXL.scale)) {
                assertNull(LatentMismatch.check(SD1, sd1));
                assertNull(LatentMismatch.check(SD2, sd1Raw));
                assertNull(LatentMismatch.check(SDXL, sdxl));
            }
        }
    }

    /** The fixtures' and tests' latents are standard normal: close enough to both families to say nothing. */
    @Test
    void standardNormalRawOrScaledIsQuiet() {
        double[] zero = {0, 0, 0, 0}, one = {1, 1, 1, 1};
        for (LatentSpace space : new LatentSpace[]{SD1, SDXL}) {
            for (double k : new double[]{1, 1 / space.scale()}) {
                try (Tensor raw = latent(5, zero, one, 64, k)) {
                    assertNull(LatentMismatch.check(space, raw), space.family() + " x" + k);
                }
            }
        }
    }

    /**
     * The fixtures' 4-channel decode latents as the tests decode them (an assumed sd1 model, or --family sdxl):
     * quiet. Repeated 2x2 until big enough to be judged (repeating keeps their moments), as scaled or raw sd1
     * latents: still quiet. (As raw sdxl latents, 8x8 standard normal samples can come within a hair of the margin:
     * one image's moments say little, which is why latents under 16x16 are never judged.)
     */
    @Test
    void fixtureLatentsAreQuiet() throws IOException {
        Path root = Conformance.dirOrSkip();
        int checked = 0;
        try (var files = Files.walk(root, 2)) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("decode.*\\.z\\.npy"))
                    .sorted().toList()) {
                try (Tensor z = Npy.read(f)) {
                    if (z.rank() != 4 || z.dim(1) != 4) {
                        continue;
                    }
                    for (LatentSpace space : new LatentSpace[]{SD1, SDXL}) {
                        assertNull(LatentMismatch.check(space, z), f + " " + space.family());
                    }
                    Tensor big = z.copyF32();
                    while ((long) big.dim(0) * big.dim(2) * big.dim(3) < 4 * LatentMismatch.MIN_PIXELS) {
                        Tensor next = repeat2x2(big);
                        big.close();
                        big = next;
                    }
                    try (Tensor judged = big) {
                        for (double k : new double[]{1, 1 / SD1.scale()}) {
                            try (Tensor raw = scaled(judged, k)) {
                                assertNull(LatentMismatch.check(SD1, raw), f + " x" + k);
                            }
                        }
                    }
                    checked++;
                }
            }
        }
        assertTrue(checked >= 5, "fixture latents checked: " + checked);
    }

    private static Tensor repeat2x2(Tensor z) {
        int n = z.dim(0), c = z.dim(1), h = z.dim(2), w = z.dim(3);
        Tensor out = Tensor.allocate(n, c, 2 * h, 2 * w);
        for (int b = 0; b < n * c; b++) {
            for (int y = 0; y < 2 * h; y++) {
                for (int x = 0; x < 2 * w; x++) {
                    out.set(((long) b * 2 * h + y) * 2 * w + x, z.get(((long) b * h + y % h) * w + x % w));
                }
            }
        }
        return out;
    }

    private static Tensor scaled(Tensor z, double k) {
        Tensor out = Tensor.allocate(z.shape());
        for (long i = 0; i < z.numel(); i++) {
            out.set(i, (float) (z.get(i) * k));
        }
        return out;
    }

    @Test
    void smallLatentsAndOtherFamiliesAreQuiet() {
        try (Tensor small = latent(6, SDXL_MEAN, SDXL_STD, 15, 1 / Family.SD1.scale);
             Tensor big = latent(7, SDXL_MEAN, SDXL_STD, 32, 1)) {
            assertNull(LatentMismatch.check(SD1, small), "under 256 latent pixels");
            assertNull(LatentMismatch.check(LatentSpace.of(Family.TAESD, "test"), big));
            assertNull(LatentMismatch.check(LatentSpace.of(Family.OTHER, "test"), big));
        }
    }
}
