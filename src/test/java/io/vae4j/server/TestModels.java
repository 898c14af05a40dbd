package io.vae4j.server;

import io.vae4j.format.MemoryWeights;
import io.vae4j.format.safetensors.SafetensorsFile;
import io.vae4j.model.RandomWeights;
import io.vae4j.model.kl.KlConfig;
import io.vae4j.model.kl.KlShapes;
import io.vae4j.model.taesd.TaesdLayout;
import io.vae4j.model.taesd.TaesdShapes;
import io.vae4j.model.taesd.TaesdVariant;
import io.vae4j.tensor.Tensor;

import java.nio.file.Path;
import java.util.SplittableRandom;

/** Small random-weight models written as files, so the server's tests run without the conformance fixtures. */
final class TestModels {
    private TestModels() {
    }

    /** An 8x AutoencoderKL with 32-64 channels (the fixtures' kl_f8 size), z latent channels. */
    static Path kl(Path dir, int z) {
        KlConfig c = new KlConfig(new int[]{32, 32, 32, 64}, 1, z, 3, true, true, z == 4, z == 4, true, true);
        Path file = dir.resolve("kl" + z + ".safetensors");
        try (MemoryWeights w = RandomWeights.of("kl" + z, KlShapes.of(c), 7)) {
            SafetensorsFile.write(file, w.tensors(), null);
        }
        return file;
    }

    /** A TAESD (z = 4) with both halves in one file. */
    static Path taesd(Path dir) {
        Path file = dir.resolve("taesd.safetensors");
        TaesdLayout both = new TaesdLayout("test", "encoder.", "decoder.", 0);
        try (MemoryWeights w = RandomWeights.of("taesd", TaesdShapes.of(TaesdShapes.config(TaesdVariant.TAESD),
                both), 7)) {
            SafetensorsFile.write(file, w.tensors(), null);
        }
        return file;
    }

    /** Seeded values in [-scale, scale]. */
    static Tensor random(long seed, float scale, int... shape) {
        Tensor t = Tensor.allocate(shape);
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < t.numel(); i++) {
            t.set(i, (float) (r.nextDouble() * 2 - 1) * scale);
        }
        return t;
    }
}
