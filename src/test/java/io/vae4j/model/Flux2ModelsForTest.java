package io.vae4j.model;

import io.vae4j.format.MemoryWeights;
import io.vae4j.format.safetensors.SafetensorsFile;
import io.vae4j.model.kl.KlConfig;
import io.vae4j.model.kl.KlShapes;
import io.vae4j.tensor.Tensor;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.SequencedMap;
import java.util.SplittableRandom;

/**
 * A hand-made FLUX.2-shaped VAE: a small AutoencoderKL with 32 latent channels, quant convs and mid attention (as
 * AutoencoderKLFlux2), random weights, and random BatchNorm statistics over its 128 patched channels.
 */
public final class Flux2ModelsForTest {
    /** Two levels: 2x downscale, so a 16x16 image has an 8x8 raw latent and a 4x4 patched one. */
    public static final KlConfig CONFIG = new KlConfig(new int[]{32, 64}, 1, 32, 3, true, true, true, true, true,
            true);

    private Flux2ModelsForTest() {
    }

    /** The weights, bn.running_mean in [-2, 2] and bn.running_var in [0.25, 4] (seeded). */
    public static MemoryWeights weights(String name, boolean withStatistics) {
        MemoryWeights w = RandomWeights.of(name, KlShapes.of(CONFIG), 11);
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>(w.tensors());
        if (withStatistics) {
            SplittableRandom r = new SplittableRandom(5);
            Tensor mean = Tensor.allocate(128), var = Tensor.allocate(128);
            for (int i = 0; i < 128; i++) {
                mean.set(i, (float) r.nextDouble(-2, 2));
                var.set(i, (float) r.nextDouble(0.25, 4));
            }
            tensors.put("bn.running_mean", mean);
            tensors.put("bn.running_var", var);
        }
        return new MemoryWeights(name, tensors);
    }

    /** The model as a safetensors file. */
    public static Path write(Path dir) {
        Path file = dir.resolve("flux2_vae.safetensors");
        try (MemoryWeights w = weights(file.toString(), true)) {
            SafetensorsFile.write(file, w.tensors(), null);
        }
        return file;
    }
}
