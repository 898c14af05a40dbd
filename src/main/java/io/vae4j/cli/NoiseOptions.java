package io.vae4j.cli;

import io.vae4j.VaeException;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.Vae;
import io.vae4j.model.consistency.ConsistencyDecoderVae;
import io.vae4j.model.consistency.DecoderNoise;
import io.vae4j.tensor.Tensor;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/** decode's --seed and --noise: the random draws of a model that samples (the consistency decoder). */
final class NoiseOptions {
    @Option(names = "--seed", paramLabel = "S", order = 60,
            description = "consistency decoder: its noise draws' seed (default: 0)")
    Long seed;

    @Option(names = "--noise", paramLabel = "FILE.npy", order = 61,
            description = "consistency decoder: one recorded draw, in order (default: none)")
    List<Path> noise = new ArrayList<>();

    /**
     * Runs {@code decode} with the draws these options ask for. A model that draws nothing is refused when they
     * ask for anything; a consistency decoder without them uses seed 0.
     *
     * @param latentShape the raw latent's shape, which sets the shape every draw must have
     */
    <T> T around(Vae vae, int[] latentShape, Supplier<T> decode) {
        if (seed != null && !noise.isEmpty()) {
            throw new UsageException("--seed and --noise exclude each other: recorded noise replaces the seeded draws");
        }
        if (!(vae instanceof ConsistencyDecoderVae consistency)) {
            if (seed != null || !noise.isEmpty()) {
                throw new VaeException((seed != null ? "--seed" : "--noise") + ": " + vae.info().source() + " ("
                        + vae.info().architecture().split(" ")[0] + ") draws no noise; --seed and --noise apply to"
                        + " the consistency decoder");
            }
            return decode.get();
        }
        if (noise.isEmpty()) {
            long s = seed != null ? seed : DecoderNoise.DEFAULT_SEED;
            Log.info("consistency decoder: noise seeded with " + s);
            return DecoderNoise.seeded(s).where(decode);
        }
        if (noise.size() != DecoderNoise.DRAWS) {
            throw new VaeException("--noise: " + noise.size() + " file(s) given, but the consistency decoder draws "
                    + DecoderNoise.DRAWS + " noise tensors, in this order: the initial noise at t=1008, then the noise"
                    + " its t=1008 step adds");
        }
        int[] want = consistency.imageShape(latentShape);
        List<Tensor> draws = new ArrayList<>();
        try {
            for (Path file : noise) {
                ModelOptions.requireFile(file, "--noise");
                Tensor t = Npy.read(file);
                draws.add(t);
                if (!Arrays.equals(t.shape(), want)) {
                    throw new VaeException("--noise " + file + ": shape " + Arrays.toString(t.shape()) + ", expected "
                            + Arrays.toString(want) + " (the decoded image's shape, [N, 3, H, W])");
                }
            }
            return DecoderNoise.recorded(draws).where(decode);
        } finally {
            draws.forEach(Tensor::close);
        }
    }
}
