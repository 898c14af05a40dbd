package io.vae4j.model;

import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.format.MemoryWeights;
import io.vae4j.model.kl.KlConfig;
import io.vae4j.model.kl.KlShapes;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.SequencedMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The places a VAE hides: a pipeline folder's vae/ subfolder, and whole checkpoints under a "vae." prefix. */
class ModelPathsTest {

    @Test
    void pipelineFolderWithVaeSubfolder(@TempDir Path tmp) throws IOException {
        Path diffusers = Fixtures.caseDir("kl_f8_sd").resolve("diffusers");
        Path vae = Files.createDirectories(tmp.resolve("pipeline").resolve("vae"));
        for (String f : new String[]{"config.json", "diffusion_pytorch_model.safetensors"}) {
            Files.copy(diffusers.resolve(f), vae.resolve(f));
        }
        Files.writeString(tmp.resolve("pipeline").resolve("model_index.json"), "{}");
        try (Model m = ModelLoader.load(tmp.resolve("pipeline"), new ScalarBackend(), null)) {
            assertTrue(m.info().layout().startsWith("diffusers"), m.info().layout());
            assertEquals("config.json", m.info().latentSpace().source());
        }
    }

    @Test
    void wholeCheckpointUnderVaePrefix() {
        KlConfig small = new KlConfig(new int[]{32, 64}, 1, 4, 3, true, true, true, true, true, true);
        MemoryWeights w = RandomWeights.of("ckpt.safetensors", KlShapes.of(small), 3);
        SequencedMap<String, Tensor> prefixed = new LinkedHashMap<>();
        prefixed.put("unet.conv_in.weight", Tensor.allocate(4, 4, 3, 3));
        w.tensors().forEach((k, v) -> prefixed.put("vae." + k, v));
        try (Model m = ModelLoader.load(new MemoryWeights("ckpt.safetensors", prefixed), null, new ScalarBackend(),
                null)) {
            assertEquals("ldm under 'vae.'", m.info().layout());
            assertEquals(small, ((io.vae4j.model.kl.AutoencoderKL) m.vae()).config());
        }
    }
}
