package io.vae4j.tiles;

import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.format.image.PixelRange;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.Moments;
import io.vae4j.model.Vae;
import io.vae4j.tensor.Tensor;
import io.vae4j.tiles.io.ImageStripReader;
import io.vae4j.tiles.io.StreamingTiffWriter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tiled encoding from a streamed image file against the untiled encode of the same pixels. */
class TiledEncoderTest {
    private static final VectorBackend BACKEND = new VectorBackend(2);

    @TempDir
    Path tmp;

    @AfterAll
    static void close() {
        BACKEND.parallel().close();
    }

    /** A smooth test image written as a 16-bit TIFF; returns the pixels as read back. */
    private Tensor image(Path file, int h, int w) {
        try (Tensor z = TiledDecoderTest.smoothLatent(3, h, w, 4)) {
            for (long i = 0; i < z.numel(); i++) {
                z.set(i, 0.5f + 0.2f * z.get(i));
            }
            try (StreamingTiffWriter wr = StreamingTiffWriter.open(file, w, h, 16)) {
                wr.writeRows(z, PixelRange.ZERO_ONE);
            }
        }
        try (ImageStripReader r = ImageStripReader.open(file, PixelRange.ZERO_ONE)) {
            return r.readRows(h);
        }
    }

    /** Measured max abs difference: 6e-4 at halo 12, float noise (2e-6) from 16 on; the default halo is 20. */
    @Test
    void taesdTiledEncodeEqualsUntiled() {
        Path dir = TiledDecoderTest.fixture("taesd_random");
        Path file = tmp.resolve("in.tif");
        try (Model m = ModelLoader.load(dir.resolve("taesd_encoder.safetensors"), BACKEND, null);
             Tensor pixels = image(file, 8 * 37, 8 * 22)) {
            Vae vae = m.vae();
            for (int halo = 12; halo <= 20; halo += 4) {
                TiledEncoder e = new TiledEncoder(vae, new TiledDecoder.Options(9, halo, 1L << 30));
                var plan = e.plan(8 * 37, 8 * 22);
                try (Moments full = vae.encode(pixels);
                     Tensor tiled = e.encode(file, PixelRange.ZERO_ONE, plan, TiledDecoderTest.quiet(plan.size()))) {
                    double d = TiledDecoderTest.maxAbsDiff(full.mean(), tiled);
                    System.err.printf("taesd encode halo %d, %s: max abs diff %.3g%n", halo, plan, d);
                    if (halo == 20) {
                        assertTrue(d < 1e-4, "max abs diff " + d);
                    }
                }
            }
        }
    }

    @Test
    void klTiledEncodeIsClose() {
        Path dir = TiledDecoderTest.fixture("kl_f8_sd");
        Path file = tmp.resolve("in.tif");
        try (Model m = ModelLoader.load(dir.resolve("model.safetensors"), BACKEND, null);
             Tensor pixels = image(file, 8 * 40, 8 * 32)) {
            Vae vae = m.vae();
            for (int i = 0; i < pixels.numel(); i++) {
                pixels.set(i, pixels.get(i) * 2 - 1);
            }
            TiledEncoder e = new TiledEncoder(vae, new TiledDecoder.Options(16, 16, 1L << 30));
            var plan = e.plan(8 * 40, 8 * 32);
            try (Moments full = vae.encode(pixels);
                 Tensor tiled = e.encode(file, PixelRange.MINUS_ONE_ONE, plan, TiledDecoderTest.quiet(plan.size()))) {
                double d = TiledDecoderTest.maxAbsDiff(full.mean(), tiled);
                double rms = 0, ref = 0;
                for (long i = 0; i < tiled.numel(); i++) {
                    double x = full.mean().get(i) - tiled.get(i);
                    rms += x * x;
                    ref += full.mean().get(i) * full.mean().get(i);
                }
                System.err.printf("kl encode %s: max abs diff %.3g, relative rms error %.3g%n", plan, d,
                        Math.sqrt(rms / ref));
                // Measured 0.131 (whole-image statistics; the encoder's mid attention sees one tile).
                assertTrue(Math.sqrt(rms / ref) < 0.2, "relative rms " + Math.sqrt(rms / ref));
            }
        }
    }
}
