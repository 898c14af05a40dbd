package io.vae4j.model.svd;

import io.vae4j.backend.Backend;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.model.Fixtures;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.Moments;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The temporal decoder's batches of videos (the fixture's tests run through the CLI, in SvdCliTest). */
class VideoBatchTest {
    private static final String CASE = "svd_temporal_decoder";

    /** Frames of different videos never mix: two videos decoded in one batch are the two decoded alone. */
    @Test
    void videosOfABatchAreDecodedApart() {
        Path dir = Fixtures.caseDir(CASE);
        try (VectorBackend b = new VectorBackend(2);
             Model model = ModelLoader.load(dir.resolve("model.safetensors"), b, null);
             Tensor z = io.vae4j.format.npy.Npy.read(dir.resolve("decode_f4_8x8.z.npy"))) {
            TemporalAutoencoder vae = (TemporalAutoencoder) model.vae();
            try (Tensor both = vae.decode(z, 2); Tensor first = vae.decode(z.slice0(0, 2), 2);
                 Tensor second = vae.decode(z.slice0(2, 2), 2); Tensor whole = vae.decode(z)) {
                long half = first.numel();
                for (long i = 0; i < half; i++) {
                    assertEquals(first.get(i), both.get(i), 1e-4f, "video 0 at " + i);
                    assertEquals(second.get(i), both.get(half + i), 1e-4f, "video 1 at " + i);
                }
                float diff = 0;
                for (long i = 0; i < whole.numel(); i++) {
                    diff = Math.max(diff, Math.abs(whole.get(i) - both.get(i)));
                }
                assertTrue(diff > 1e-3, "one 4-frame video differs from two 2-frame ones: " + diff);
            }
        }
    }
}
