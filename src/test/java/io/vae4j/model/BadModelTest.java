package io.vae4j.model;

import io.vae4j.VaeException;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.format.MemoryWeights;
import io.vae4j.model.kl.KlConfig;
import io.vae4j.model.kl.KlShapes;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Weight sets that are not the model they claim to be: each refused with a message naming the tensor or field. */
class BadModelTest {
    private static final KlConfig SMALL = new KlConfig(new int[]{32, 64}, 1, 4, 3, true, true, true, true, true,
            true);

    private static String loadError(Consumer<SequencedMap<String, Tensor>> damage, Map<String, Object> config) {
        MemoryWeights w = RandomWeights.of("small.safetensors", KlShapes.of(SMALL), 1);
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>(w.tensors());
        damage.accept(tensors);
        MemoryWeights damaged = new MemoryWeights("small.safetensors", tensors);
        VaeException e = assertThrows(VaeException.class,
                () -> ModelLoader.load(damaged, config, new ScalarBackend(), null).close());
        w.close();
        return e.getMessage();
    }

    @Test
    void intactSmallModelLoads() {
        MemoryWeights w = RandomWeights.of("small.safetensors", KlShapes.of(SMALL), 1);
        try (Model m = ModelLoader.load(w, null, new ScalarBackend(), null)) {
            assertEquals(SMALL, ((io.vae4j.model.kl.AutoencoderKL) m.vae()).config());
        }
    }

    @Test
    void missingTensor() {
        String msg = loadError(t -> t.remove("decoder.up.1.block.0.norm2.bias"), null);
        assertTrue(msg.contains("small.safetensors") && msg.contains("missing tensor 'decoder.up.1.block.0.norm2.bias'"),
                msg);
    }

    @Test
    void extraTensor() {
        String msg = loadError(t -> t.put("decoder.up.1.block.0.extra.weight", Tensor.allocate(3)), null);
        assertTrue(msg.contains("unexpected tensor") && msg.contains("decoder.up.1.block.0.extra.weight"), msg);
    }

    @Test
    void wrongShape() {
        String msg = loadError(t -> t.put("decoder.conv_out.weight", Tensor.allocate(3, 32, 1, 1)), null);
        assertTrue(msg.contains("'decoder.conv_out.weight' has shape [3, 32, 1, 1], expected [3, 32, 3, 3]"), msg);
    }

    @Test
    void configThatDisagrees() {
        String msg = loadError(t -> { }, Map.of("block_out_channels", java.util.List.of(32L, 128L),
                "latent_channels", 16L));
        assertTrue(msg.contains("config.json disagrees") && msg.contains("block_out_channels")
                && msg.contains("latent_channels 16"), msg);
    }

    @Test
    void notAVae() {
        String msg = loadError(t -> {
            t.clear();
            t.put("model.diffusion_model.input_blocks.0.0.weight", Tensor.allocate(4));
        }, null);
        assertTrue(msg.contains("not a known VAE layout") && msg.contains("input_blocks"), msg);
    }

    @Test
    void familyThatDoesNotFit() {
        MemoryWeights w = RandomWeights.of("small.safetensors", KlShapes.of(SMALL), 1);
        VaeException e = assertThrows(VaeException.class,
                () -> ModelLoader.load(w, null, new ScalarBackend(), Family.FLUX1).close());
        assertTrue(e.getMessage().contains("--family flux1 needs a 16-channel model"), e.getMessage());
    }
}
