package io.vae4j;

import io.vae4j.cli.CliRunner;
import io.vae4j.format.npy.Npy;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The library facade against the CLI on the embedded default model (the real TAEF2 in models/, so this runs on any
 * machine): arrays in and out, diffusion scaling, images, a small memory budget, calls from two threads at once.
 */
class VaeModelTest {
    static final Path MODEL = Path.of("models", "taef2.safetensors");
    static final Path PHOTO = Path.of("examples", "astronaut.png");
    @TempDir
    static Path dir;
    static VaeModel vae;

    @BeforeAll
    static void load() {
        vae = VaeModel.load(MODEL, VaeModel.Options.defaults().withThreads(2));
    }

    @AfterAll
    static void close() {
        vae.close();
    }

    private static float[] cli(String... args) {
        Path out = dir.resolve("cli-" + System.nanoTime() + ".npy");
        String[] all = new String[args.length + 4];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--out";
        all[args.length + 1] = out.toString();
        all[args.length + 2] = "--threads";
        all[args.length + 3] = "2";
        CliRunner.Result r = CliRunner.run(all);
        assertEquals(0, r.status(), r.err());
        try (Tensor t = Npy.read(out)) {
            return t.toFloatArray();
        }
    }

    private static float maxDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    private static float[] latent(long seed, int h, int w) {
        float[] z = new float[32 * h * w];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < z.length; i++) {
            z[i] = (float) r.nextGaussian();
        }
        return z;
    }

    @Test
    void describesTheModel() {
        assertEquals(32, vae.latentChannels());
        assertEquals(8, vae.downscale());
        assertEquals("taesd", vae.family());
        assertEquals(1.0, vae.scalingFactor());
    }

    @Test
    void encodeAndDecodeEqualTheCliWithoutAModelArgument() throws IOException {
        // The CLI without --model takes the same embedded model.
        float[] cliLatent = cli("encode", "--image", PHOTO.toString(), "--quiet");
        float[] latent = vae.encode(ImageIO.read(PHOTO.toFile()));
        assertEquals(32 * 24 * 24, latent.length);
        assertTrue(maxDiff(cliLatent, latent) <= 5e-5f);

        Path z = dir.resolve("z.npy");
        try (Tensor t = Tensor.of(latent, 1, 32, 24, 24)) {
            Npy.write(z, t);
        }
        float[] cliImage = cli("decode", "--latent", z.toString(), "--quiet");
        float[] image = vae.decodeRaw(latent, 1, 24, 24);
        for (int i = 0; i < cliImage.length; i++) {
            cliImage[i] = 2 * cliImage[i] - 1; // TAESD's [0, 1] as the facade's [-1, 1]
        }
        // Two runs of one decoder in one JVM differ by a few 1e-6 while its kernels compile (README, exact mode),
        // doubled here by the mapping to [-1, 1].
        float di = maxDiff(cliImage, image);
        assertTrue(di <= 5e-5f, "image: " + di);
        BufferedImage png = vae.decodeImage(latent, 24, 24);
        assertEquals(192, png.getWidth());
        assertEquals(192, png.getHeight());
        // The round trip is the photo again, roughly: TAEF2 is a real autoencoder.
        BufferedImage photo = ImageIO.read(PHOTO.toFile());
        double err = 0;
        for (int y = 0; y < 192; y++) {
            for (int x = 0; x < 192; x++) {
                int a = photo.getRGB(x, y), b = png.getRGB(x, y);
                for (int s = 0; s < 24; s += 8) {
                    err += Math.abs((a >> s & 0xFF) - (b >> s & 0xFF));
                }
            }
        }
        assertTrue(err / (192 * 192 * 3) < 12, "mean abs error " + err / (192 * 192 * 3));
    }

    @Test
    void aSmallBudgetTilesAndGivesTheSameImage() {
        float[] z = latent(3, 40, 40);
        float[] whole = vae.decodeRaw(z, 1, 40, 40);
        try (VaeModel small = VaeModel.load(MODEL, VaeModel.Options.defaults().withThreads(2).withMemory(8L << 20))) {
            // TAESD tiles exactly (a halo covering the receptive field): the same image up to float rounding.
            assertTrue(maxDiff(whole, small.decodeRaw(z, 1, 40, 40)) <= 1e-4f);
        }
    }

    @Test
    void callsFromTwoThreadsAtOnceGetTheirOwnAnswers() throws Exception {
        float[] a = latent(1, 16, 16), b = latent(2, 16, 16);
        float[] wantA = vae.decodeRaw(a, 1, 16, 16), wantB = vae.decodeRaw(b, 1, 16, 16);
        for (int round = 0; round < 3; round++) {
            CompletableFuture<float[]> fa = CompletableFuture.supplyAsync(() -> vae.decodeRaw(a, 1, 16, 16));
            CompletableFuture<float[]> fb = CompletableFuture.supplyAsync(() -> vae.decodeRaw(b, 1, 16, 16));
            float da = maxDiff(wantA, fa.get()), db = maxDiff(wantB, fb.get());
            assertTrue(da <= 5e-5f && db <= 5e-5f, "a: " + da + ", b: " + db);
        }
    }

    @Test
    void badInputIsOneClearError() {
        VaeException e = assertThrows(VaeException.class, () -> vae.decodeRaw(new float[10], 1, 4, 4));
        assertTrue(e.getMessage().contains("needs 512"), e.getMessage());
        float[] z = latent(4, 4, 4);
        z[7] = Float.NaN;
        e = assertThrows(VaeException.class, () -> vae.decodeRaw(z, 1, 4, 4));
        assertTrue(e.getMessage().contains("NaN"), e.getMessage());
        e = assertThrows(VaeException.class, () -> VaeModel.load(dir.resolve("missing.safetensors")));
        assertTrue(e.getMessage().contains("missing.safetensors"), e.getMessage());
        e = assertThrows(VaeException.class, () -> VaeModel.load(MODEL, VaeModel.Options.defaults().withFamily("x")));
        assertTrue(e.getMessage().contains("unknown family 'x'"), e.getMessage());
    }
}
