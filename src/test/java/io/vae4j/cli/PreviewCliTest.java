package io.vae4j.cli;

import io.vae4j.format.latent.LatentFiles;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.preview.LatentPreview;
import io.vae4j.model.preview.PreviewFactors;
import io.vae4j.model.Family;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ./vae4j preview: one pixel per family worked out by hand from ComfyUI's factors (pixel = round(255 · (v / 2 +
 * 0.5)), v = bias + Σ_k z_k · factor_k), sizes, enlargement, the family from a file's metadata, bad input.
 */
class PreviewCliTest {
    @TempDir
    Path tmp;

    private static String p(Path path) {
        return path.toString();
    }

    /**
     * A [1, C, 2, 3] diffusion-space latent, zero but for pixel (0, 0): SD-style (4 channels) z = (1, 0.5, -0.5,
     * 0.25); 16-channel z_0 = 1, z_15 = 0.5.
     */
    private Path latent(int channels, float scale) {
        Tensor z = Tensor.allocate(1, channels, 2, 3);
        float[] first = channels == 4 ? new float[]{1, 0.5f, -0.5f, 0.25f} : null;
        if (first != null) {
            for (int k = 0; k < 4; k++) {
                z.set(k * 6L, first[k] * scale);
            }
        } else {
            z.set(0, scale);
            z.set(15 * 6L, 0.5f * scale);
        }
        Path file = tmp.resolve("z" + channels + ".npy");
        try (z) {
            Npy.write(file, z);
        }
        return file;
    }

    private static int[] rgb(BufferedImage image, int x, int y) {
        int v = image.getRGB(x, y);
        return new int[]{(v >> 16) & 255, (v >> 8) & 255, v & 255};
    }

    private BufferedImage preview(String... args) throws IOException {
        Path out = tmp.resolve("preview.png");
        String[] all = new String[args.length + 3];
        all[0] = "preview";
        System.arraycopy(args, 0, all, 1, args.length);
        all[args.length + 1] = "--out";
        all[args.length + 2] = p(out);
        CliTest.Result r = CliTest.run(all);
        assertEquals(0, r.status(), r.err());
        return ImageIO.read(out.toFile());
    }

    @Test
    void aHandComputedPixelForEachFamily() throws IOException {
        // sd1 (and sd2, the same space): no bias.
        // R = 0.3512 + 0.5·0.3250 + (-0.5)(-0.2829) + 0.25(-0.2120) = 0.60215 -> 255 · 0.801075 = 204.27 -> 204
        // G = 0.2297 + 0.5·0.4974 + (-0.5)(0.1762) + 0.25(-0.2616) = 0.3249 -> 168.92 -> 169
        // B = 0.3227 + 0.5·0.2350 + (-0.5)(0.2721) + 0.25(-0.7177) = 0.124725 -> 143.40 -> 143
        // Elsewhere the bias alone: 0 -> 127.5, which rounds half to even: 128.
        expect("sd1", 4, new int[]{204, 169, 143}, new int[]{128, 128, 128});
        expect("sd2", 4, new int[]{204, 169, 143}, new int[]{128, 128, 128});
        // sdxl: R = 0.1084 + 0.3651 + 0.5(-0.2533) + (-0.5)(0.1076) + 0.25(-0.3165) = 0.213925 -> 154.77 -> 155
        // G = -0.0175 + 0.4232 - 0.0021 - 0.05555 - 0.0623 = 0.28575 -> 164.18 -> 164
        // B = -0.0011 + 0.4341 + 0.0534 + 0.0181 - 0.0547 = 0.4498 -> 184.85 -> 185
        // bias: 0.1084 -> 141.32 -> 141; -0.0175 -> 125.27 -> 125; -0.0011 -> 127.36 -> 127
        expect("sdxl", 4, new int[]{155, 164, 185}, new int[]{141, 125, 127});
        // sd3: R = 0.2394 - 0.0922 + 0.5(-0.1448) = 0.0748 -> 137.04 -> 137
        // G = 0.2135 - 0.0175 + 0.5(-0.1463) = 0.12285 -> 143.16 -> 143; B = 0.1925 + 0.0749 - 0.05945 = 0.20795 -> 154
        // bias: 0.2394 -> 158.02 -> 158; 0.2135 -> 154.72 -> 155; 0.1925 -> 152.04 -> 152
        expect("sd3", 16, new int[]{137, 143, 154}, new int[]{158, 155, 152});
        // flux1: R = -0.0329 - 0.0346 + 0.5(-0.1262) = -0.1306 -> 110.85 -> 111
        // G = -0.0718 + 0.0244 - 0.0491 = -0.0965 -> 115.20 -> 115; B = -0.0851 + 0.0681 - 0.0389 = -0.0559 -> 120
        // bias: -0.0329 -> 123.31 -> 123; -0.0718 -> 118.35 -> 118; -0.0851 -> 116.65 -> 117
        expect("flux1", 16, new int[]{111, 115, 120}, new int[]{123, 118, 117});
    }

    private void expect(String family, int channels, int[] first, int[] bias) throws IOException {
        BufferedImage image = preview("--latent", p(latent(channels, 1)), "--family", family, "--quiet");
        assertEquals(3, image.getWidth(), family);
        assertEquals(2, image.getHeight(), family);
        assertArrayEquals(first, rgb(image, 0, 0), family + " pixel (0, 0)");
        assertArrayEquals(bias, rgb(image, 2, 1), family + " pixel (2, 1)");
    }

    @Test
    void scaleRepeatsEachLatentPixel() throws IOException {
        BufferedImage image = preview("--latent", p(latent(4, 1)), "--family", "sd1", "--scale", "4", "--quiet");
        assertEquals(12, image.getWidth());
        assertEquals(8, image.getHeight());
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 12; x++) {
                int[] want = x < 4 && y < 4 ? new int[]{204, 169, 143} : new int[]{128, 128, 128};
                assertArrayEquals(want, rgb(image, x, y), "pixel " + x + ", " + y);
            }
        }
    }

    /** Raw latents (--raw, or a .latent file) are scaled into diffusion space first; a file may name its family. */
    @Test
    void rawLatentsAndTheFamilyFromMetadata() throws IOException {
        BufferedImage want = preview("--latent", p(latent(4, 1)), "--family", "sdxl", "--quiet");
        // raw = diffusion / 0.13025 for SDXL (no shift).
        Path raw = latent(4, 1 / 0.13025f);
        assertImagesEqual(want, preview("--latent", p(raw), "--family", "sdxl", "--raw", "--quiet"));
        Path comfy = tmp.resolve("z.latent");
        try (Tensor z = Npy.read(raw)) {
            LatentFiles.write(comfy, z, Map.of(LatentFiles.FAMILY_KEY, "sdxl"));
        }
        assertImagesEqual(want, preview("--latent", p(comfy)));
    }

    private static void assertImagesEqual(BufferedImage a, BufferedImage b) {
        assertEquals(a.getWidth(), b.getWidth());
        assertEquals(a.getHeight(), b.getHeight());
        for (int y = 0; y < a.getHeight(); y++) {
            for (int x = 0; x < a.getWidth(); x++) {
                assertEquals(a.getRGB(x, y), b.getRGB(x, y), "pixel " + x + ", " + y);
            }
        }
    }

    /** The projection itself stays unclamped (the PNG writer clamps): a zero latent gives the bias everywhere. */
    @Test
    void projectionOfZeroIsTheBiasAndLargeValuesSaturate() throws IOException {
        PreviewFactors flux = PreviewFactors.of(Family.FLUX1);
        try (Tensor zero = Tensor.allocate(2, 16, 3, 2); Tensor rgb = LatentPreview.project(zero, flux, 2)) {
            assertArrayEquals(new int[]{2, 3, 6, 4}, rgb.shape());
            for (int c = 0; c < 3; c++) {
                assertEquals(flux.bias()[c], rgb.get((3L + c) * 24 + 23), "channel " + c);
            }
        }
        BufferedImage image = preview("--latent", p(latent(4, 100)), "--family", "sd1", "--quiet");
        assertArrayEquals(new int[]{255, 255, 255}, rgb(image, 0, 0));
    }

    @Test
    void badInputGetsOneClearLine() {
        Path z4 = latent(4, 1);
        Path out = tmp.resolve("bad.png");
        CliTest.Result noFamily = CliTest.run("preview", "--latent", p(z4), "--out", p(out));
        assertEquals(2, noFamily.status(), noFamily.err());
        assertTrue(noFamily.err().contains("missing --family"), noFamily.err());
        CliTest.Result channels = CliTest.run("preview", "--latent", p(z4), "--family", "flux1", "--out", p(out));
        assertEquals(1, channels.status(), channels.err());
        assertTrue(channels.err().contains("4-channel latent, but flux1 latents have 16 channels"), channels.err());
        CliTest.Result scale = CliTest.run("preview", "--latent", p(z4), "--family", "sd1", "--scale", "0",
                "--out", p(out));
        assertEquals(2, scale.status(), scale.err());
        assertTrue(scale.err().contains("--scale must be 1 to 16"), scale.err());
        CliTest.Result flux2 = CliTest.run("preview", "--latent", p(z4), "--family", "flux2", "--out", p(out));
        assertEquals(2, flux2.status(), flux2.err());
        assertTrue(flux2.err().contains("--family flux2 has no linear preview"), flux2.err());
        CliTest.Result jpeg = CliTest.run("preview", "--latent", p(z4), "--family", "sd1", "--out",
                p(tmp.resolve("x.jpg")));
        assertEquals(1, jpeg.status(), jpeg.err());
        assertFalse(Files.exists(out));
    }
}
