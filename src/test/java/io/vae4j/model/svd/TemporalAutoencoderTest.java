package io.vae4j.model.svd;

import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.format.npy.Npy;
import io.vae4j.format.safetensors.SafetensorsFile;
import io.vae4j.model.Fixtures;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The temporal decoder beyond the fixture's own files (whose tests run through the CLI, in SvdCliTest): batches of
 * videos, and the VAE inside a whole SVD checkpoint.
 */
class TemporalAutoencoderTest {
    private static final String CASE = "svd_temporal_decoder";

    /** Frames of different videos never mix: two videos decoded in one batch are the two decoded alone. */
    @Test
    void videosOfABatchAreDecodedApart() {
        Path dir = Fixtures.caseDir(CASE);
        try (VectorBackend b = new VectorBackend(2);
             Model model = ModelLoader.load(dir.resolve("model.safetensors"), b, null);
             Tensor z = Npy.read(dir.resolve("decode_f4_8x8.z.npy"))) {
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

    /** A real SVD checkpoint keeps the VAE under first_stage_model., next to the UNet and the conditioner. */
    @Test
    void loadsFromAWholeCheckpoint(@TempDir Path tmp) {
        Path dir = Fixtures.caseDir(CASE);
        Path ckpt = tmp.resolve("svd.safetensors");
        try (SafetensorsFile vae = SafetensorsFile.open(dir.resolve("model.safetensors"));
             Tensor other = Tensor.allocate(2, 2)) {
            SequencedMap<String, Tensor> all = new LinkedHashMap<>();
            all.put("model.diffusion_model.input_blocks.0.0.weight", other);
            vae.tensors().forEach((name, t) -> all.put("first_stage_model." + name, t));
            all.put("conditioner.embedders.0.weight", other);
            SafetensorsFile.write(ckpt, all, null);
        }
        Map<String, Object> test = Fixtures.tests(Fixtures.manifest(dir)).get(1);
        try (VectorBackend b = new VectorBackend(2); Model model = ModelLoader.load(ckpt, b, null);
             Tensor z = Fixtures.input(dir, test, "z");
             Tensor image = ((TemporalAutoencoder) model.vae()).decode(z, ((Number) test.get("num_frames")).intValue())) {
            assertTrue(model.info().layout().startsWith("sgm under 'first_stage_model.'"), model.info().layout());
            Fixtures.assertOutput(dir, test, "image", image, "checkpoint " + test.get("name"));
        }
    }
}
