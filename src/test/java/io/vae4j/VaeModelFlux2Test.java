package io.vae4j;

import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.model.Flux2ModelsForTest;
import io.vae4j.model.LatentSpace;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The library's diffusion-space encode and decode on FLUX.2 go through the patched normalisation. */
class VaeModelFlux2Test {
    @TempDir
    Path tmp;

    @Test
    void encodeAndDecodeArePatchedAndNormalised() {
        Path file = Flux2ModelsForTest.write(tmp);
        BufferedImage image = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                image.setRGB(x, y, (x * 16) << 16 | (y * 16) << 8 | (x + y) * 7);
            }
        }
        try (VaeModel vae = VaeModel.load(file, VaeModel.Options.defaults().withThreads(1).withBackend("scalar"));
             Model m = ModelLoader.load(file, new ScalarBackend(), null)) {
            LatentSpace space = m.vae().latentSpace();
            assertEquals("flux2", vae.family());
            float[] raw = vae.encodeRaw(image), z = vae.encode(image);
            try (Tensor r = Tensor.of(raw, 1, 32, 8, 8); Tensor want = space.toDiffusion(r)) {
                assertEquals(128 * 4 * 4, z.length);
                assertArrayEquals(want.toFloatArray(), z, 1e-5f);
                try (Tensor back = space.toRaw(want)) {
                    assertArrayEquals(vae.decodeRaw(back.toFloatArray(), 1, 8, 8), vae.decode(z, 1, 4, 4), 1e-4f);
                }
            }
        }
    }
}
