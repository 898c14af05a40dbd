package io.vae4j.model.taesd;

import io.vae4j.VaeException;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.Fixtures;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.RandomWeights;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Previews (the decoder with its last upsamplings left out): their sizes, and on the real taef2 decoder with the
 * photos' latents, how close they are to the full decode box-downsampled to the same size.
 */
class TaesdPreviewTest {
    private static final VectorBackend BACKEND = new VectorBackend(2);
    /** Lowest PSNR against the downsampled full decode accepted at scale 2, 4, 8 (measured: 28.4, 22.1, 18.5). */
    private static final Map<Integer, Double> FLOOR_DB = Map.of(2, 27.0, 4, 21.0, 8, 17.5);

    /** Mean of each s x s block. */
    static Tensor boxDownsample(Tensor t, int s) {
        int h = t.dim(2) / s, w = t.dim(3) / s;
        Tensor out = Tensor.allocate(t.dim(0), t.dim(1), h, w);
        for (int plane = 0; plane < t.dim(0) * t.dim(1); plane++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    double sum = 0;
                    for (int dy = 0; dy < s; dy++) {
                        for (int dx = 0; dx < s; dx++) {
                            sum += t.get(((long) plane * t.dim(2) + y * s + dy) * t.dim(3) + x * s + dx);
                        }
                    }
                    out.set(((long) plane * h + y) * w + x, (float) (sum / (s * s)));
                }
            }
        }
        return out;
    }

    static Tensor clamp01(Tensor t) {
        Tensor out = t.copyF32();
        for (long i = 0; i < out.numel(); i++) {
            out.set(i, Math.min(1f, Math.max(0f, out.get(i))));
        }
        return out;
    }

    @AfterAll
    static void close() {
        BACKEND.parallel().close();
    }

    @Test
    void taef2PreviewsAreCloseToTheDownsampledFullDecode() {
        Path dir = Fixtures.caseDir("taef2");
        try (Model m = ModelLoader.load(dir.resolve("taef2_decoder.pth"), BACKEND, null)) {
            Taesd taesd = (Taesd) m.vae();
            assertEquals(8, taesd.maxPreviewScale());
            for (Map<String, Object> test : Fixtures.tests(Fixtures.manifest(dir))) {
                String name = (String) test.get("name");
                try (Tensor z = Npy.read(dir.resolve(name + ".z.npy")); Tensor full = taesd.decode(z);
                     Tensor same = taesd.decodePreview(z, 1)) {
                    assertTrue(io.vae4j.backend.Random4.maxAbsDiff(full, same) <= 2e-5f, "scale 1 is the full decode");
                    for (int s : new int[]{2, 4, 8}) {
                        try (Tensor preview = taesd.decodePreview(z, s); Tensor down = boxDownsample(full, s);
                             Tensor want = clamp01(down)) {
                            assertArrayEquals(new int[]{1, 3, z.dim(2) * 8 / s, z.dim(3) * 8 / s}, preview.shape());
                            double psnr = TaesdConformanceTest.psnr(preview, want);
                            System.out.printf("taef2 %-24s preview 1/%d %3dx%-3d PSNR vs downsampled full decode"
                                    + " %.2f dB%n", name, s, preview.dim(3), preview.dim(2), psnr);
                            assertTrue(psnr >= FLOOR_DB.get(s), name + " 1/" + s + ": " + psnr + " dB");
                        }
                    }
                }
            }
        }
    }

    @Test
    void sizesAndScalesOfEveryDecoder() {
        for (TaesdVariant v : new TaesdVariant[]{TaesdVariant.TAESD, TaesdVariant.TAESANA}) {
            try (Model m = ModelLoader.load(RandomWeights.of("random", TaesdShapes.decoder(TaesdShapes.config(v)),
                    3), null, BACKEND, null);
                 Tensor z = Tensor.allocate(1, m.vae().latentChannels(), 2, 3)) {
                Taesd taesd = (Taesd) m.vae();
                int f = taesd.downscale();
                assertEquals(f, taesd.maxPreviewScale());
                for (int s = 1; s <= f; s *= 2) {
                    try (Tensor image = taesd.decodePreview(z, s)) {
                        assertArrayEquals(new int[]{1, 3, 2 * f / s, 3 * f / s}, image.shape(), v + " 1/" + s);
                    }
                }
                for (int bad : new int[]{0, 3, 2 * f}) {
                    String msg = assertThrows(VaeException.class, () -> taesd.decodePreview(z, bad)).getMessage();
                    assertTrue(msg.contains("preview scale " + bad) && msg.contains("from 1 to " + f), msg);
                }
            }
        }
    }
}
