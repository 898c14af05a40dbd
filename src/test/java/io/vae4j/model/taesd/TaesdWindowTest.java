package io.vae4j.model.taesd;

import io.vae4j.backend.Random4;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.RandomWeights;
import io.vae4j.tensor.Tensor;
import io.vae4j.tensor.Tensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Windowed decodes (each upsampling stage cropped to the core and its context) against the whole decode. */
class TaesdWindowTest {
    private static final VectorBackend BACKEND = new VectorBackend(2);

    @AfterAll
    static void close() {
        BACKEND.parallel().close();
    }

    static Model random(TaesdVariant v) {
        return ModelLoader.load(RandomWeights.of("random", TaesdShapes.decoder(TaesdShapes.config(v)), 5), null,
                BACKEND, null);
    }

    static Tensor latent(int c, int h, int w) {
        Tensor z = Tensor.allocate(1, c, h, w);
        SplittableRandom r = new SplittableRandom(11);
        for (long i = 0; i < z.numel(); i++) {
            z.set(i, (float) r.nextGaussian());
        }
        return z;
    }

    @Test
    void marginsAndFieldOfTheDecoders() {
        try (Model m = random(TaesdVariant.TAESD)) {
            Taesd t = (Taesd) m.vae();
            assertEquals(19, t.receptiveField());
            // 10 convolutions at the latent's resolution and 10, 10, 5 after each upsampling, walked back.
            assertArrayEquals(new int[]{9, 7, 3, 0}, t.decoderNet().windowMargins());
        }
        try (Model m = random(TaesdVariant.TAESANA)) {
            assertTrue(((Taesd) m.vae()).receptiveField() <= 24, "TAESana's default halo covers its field");
        }
    }

    @Test
    void windowsEqualTheWholeDecodeCropped() {
        for (TaesdVariant v : new TaesdVariant[]{TaesdVariant.TAESD, TaesdVariant.TAESANA}) {
            try (Model m = random(v)) {
                Taesd t = (Taesd) m.vae();
                int f = t.downscale(), halo = t.receptiveField();
                // TAESana's 32x decoder costs 16 times more per latent pixel: a smaller latent (windows clamp).
                int h = f == 8 ? 52 : 24, w = f == 8 ? 46 : 20;
                try (Tensor z = latent(t.latentChannels(), h, w); Tensor whole = t.decode(z)) {
                    // Interior, touching the top-left corner, the right edge, and a window as big as the latent.
                    int[][] cores = {{h / 2 - 3, w / 2 - 2, 7, 5}, {0, 0, 9, 6}, {h - 6, w - 3, 4, 3}, {0, 0, h, w}};
                    for (int[] c : cores) {
                        int iy = Math.max(0, c[0] - halo), ix = Math.max(0, c[1] - halo);
                        int iy1 = Math.min(h, c[0] + c[2] + halo), ix1 = Math.min(w, c[1] + c[3] + halo);
                        DecodeWindow win = new DecodeWindow(h, w, iy, ix, c[0], c[1], c[2], c[3]);
                        try (Tensor in = Tensors.crop(z, iy, ix, iy1 - iy, ix1 - ix);
                             Tensor got = t.decodeWindow(in, win);
                             Tensor want = Tensors.crop(whole, c[0] * f, c[1] * f, c[2] * f, c[3] * f)) {
                            assertArrayEquals(want.shape(), got.shape(), v + " " + win);
                            float diff = Random4.maxAbsDiff(want, got);
                            assertTrue(diff <= 1e-4f, v + " " + win + ": max abs difference " + diff);
                        }
                    }
                }
            }
        }
    }

    @Test
    void aWindowNeedsItsInputRegion() {
        try (Model m = random(TaesdVariant.TAESD); Tensor z = latent(4, 10, 10)) {
            Taesd t = (Taesd) m.vae();
            assertThrows(IllegalArgumentException.class,
                    () -> t.decodeWindow(z, new DecodeWindow(30, 30, 5, 5, 12, 12, 5, 5)));
            assertThrows(IllegalArgumentException.class, () -> new DecodeWindow(30, 30, 6, 5, 5, 5, 5, 5));
        }
    }

    @Test
    void windowMemoryGrowsWithTheCoreNotTheHalo() {
        try (Model m = random(TaesdVariant.TAESD)) {
            Taesd t = (Taesd) m.vae();
            long small = t.decodeWindowBytes(64, 64, 20), big = t.decodeWindowBytes(128, 128, 20);
            long core = 4L * 64 * 4 * (128 * 8) * (128 * 8);
            assertTrue(big > 3 * small && big < 4 * small, small + " " + big);
            // The 8x stage dominates; the earlier ones add about a third (areas a quarter of the next one's).
            assertTrue(big >= 1.3 * core && big < 1.45 * core, big + " vs " + core);
            assertTrue(t.decodeWindowBytes(128, 64, 20) == t.decodeWindowBytes(64, 128, 20));
        }
    }
}
