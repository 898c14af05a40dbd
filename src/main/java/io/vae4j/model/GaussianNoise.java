package io.vae4j.model;

import io.vae4j.tensor.Tensor;

import java.util.SplittableRandom;

/**
 * The project's one standard-normal generator, for every seeded draw (encode's --sample, the consistency decoder's
 * noise): {@link SplittableRandom} (SplitMix64, specified by the JDK, so a seed gives the same values on every JVM)
 * turned normal by Box–Muller, one pair of uniforms per value, cosine branch. It is not torch's generator: the same
 * seed gives other values than PyTorch's.
 */
public final class GaussianNoise {
    private GaussianNoise() {
    }

    /** The next standard-normal value from {@code random}. */
    public static double next(SplittableRandom random) {
        double u = random.nextDouble(Double.MIN_NORMAL, 1), v = random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    /** A new float32 tensor of this shape filled, in NCHW order, with values from {@code random}. */
    public static Tensor draw(SplittableRandom random, int... shape) {
        Tensor out = Tensor.allocate(shape);
        for (long i = 0; i < out.numel(); i++) {
            out.set(i, (float) next(random));
        }
        return out;
    }
}
